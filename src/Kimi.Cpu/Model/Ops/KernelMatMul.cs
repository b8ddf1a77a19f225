using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Model.Ops;

/// <summary>
/// The forward pass's <see cref="IMatMul"/> on the ISA-dispatched kernels of <see cref="KernelSet"/>: the activation is
/// converted once per call to the weight type's vec_dot format (into this object's scratch, all matrices of a stack at
/// once), then <see cref="MatMul.Run"/> — the library's one row-split driver — spreads output rows over the model's
/// <see cref="WorkerPool"/>; every weight row is read once per call and dotted with all tokens of the batch. Every weight
/// type the model accepts has a dot kernel (at least the scalar reference), so there is no dequantize-a-row fallback.
/// </summary>
internal sealed unsafe class KernelMatMul : IMatMul, IDisposable
{
    private readonly KernelSet _kernels;
    private readonly WorkerPool? _pool;
    private readonly long _scratchBytes;
    private readonly byte* _scratch;

    /// <param name="maxFloatsPerToken">most activation floats one token feeds into one call (widest input, or matrices × width for a stack)</param>
    /// <param name="maxTokens">most tokens of one call</param>
    /// <param name="pool">threads to split output rows over, or null for the calling thread only</param>
    /// <param name="kernels">the dot and activation kernels to use</param>
    public KernelMatMul(long maxFloatsPerToken, int maxTokens, WorkerPool? pool, KernelSet kernels)
    {
        _kernels = kernels;
        _pool = pool;
        // Every activation format takes at most 4 bytes per element (F32; Q8_0 with its sidecar and pair copy ≈ 2.3, at most
        // 4 for a single block with its alignment padding).
        _scratchBytes = 4L * maxFloatsPerToken * maxTokens;
        _scratch = (byte*)NativeMemory.AlignedAlloc((nuint)(_scratchBytes + 64), 64);
    }

    /// <summary>True when <paramref name="type"/> weights can be multiplied.</summary>
    public static bool Supports(GgmlType type) => KernelSet.IsMatMulType(type);

    public void Multiply(in WeightMatrix w, float* x, int xStride, int tokens, float* y, int yStride) =>
        MultiplyStack(new WeightStack(w.Name, w.Data, w.Type, w.Cols, w.Rows, 1), x, 0, xStride, tokens, y, 0, yStride);

    public void MultiplyStack(in WeightStack w, float* x, int xHeadOffset, int xStride, int tokens, float* y, int yHeadOffset, int yStride)
    {
        if (tokens <= 0) return;
        int cols = w.Cols;
        long aStride = ActivationFormat.RowBytes(w.Type, cols);
        if ((long)w.Count * tokens * aStride > _scratchBytes)
            throw new InvalidOperationException($"{w.Name}: {w.Count} × {tokens} tokens × {cols} columns exceed the activation scratch of {_scratchBytes} bytes");
        var quantize = _kernels.Quantizer(w.Type);
        for (int h = 0; h < w.Count; h++)
            for (int t = 0; t < tokens; t++)
                quantize(x + (long)h * xHeadOffset + (long)t * xStride, _scratch + ((long)h * tokens + t) * aStride, cols);
        var job = new MatMulJob
        {
            Dot = _kernels.Dot(w.Type), Tile4x4 = _kernels.Tiles4x4[(int)w.Type], W = w.Data, RowBytes = w.RowBytes, Rows = w.Rows,
            Count = w.Count, Cols = cols, A = _scratch, ARowBytes = aStride, AMatrixStride = tokens * aStride, Tokens = tokens,
            Y = y, YTokenStride = yStride, YMatrixStride = yHeadOffset,
        };
        MatMul.Run(_pool, &job);
    }

    public void Dispose() => NativeMemory.AlignedFree(_scratch);
}
