using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Model.Ops;

/// <summary>
/// The forward pass's <see cref="IMatMul"/> on the ISA-dispatched kernels of <see cref="KernelSet"/>: the activation is
/// converted once per call to the weight type's vec_dot format (into this object's scratch, all matrices of a stack at
/// once), then <see cref="MatMul.Run"/> — the library's one row-split driver — spreads output rows over the model's
/// <see cref="WorkerPool"/>; every weight row is read once per call and dotted with all tokens of the batch.
/// Weight types without a dot kernel (the IQ1/IQ2/IQ3 and TQ families) take a generic path:
/// activation to Q8_K and back to floats once per call, each weight row dequantized once per call (a per-thread row
/// buffer), float dots — the same products as ggml's integer kernels up to summation order.
/// </summary>
internal sealed unsafe class KernelMatMul : IMatMul, IWorkerTask, IDisposable
{
    private readonly KernelSet _kernels;
    private readonly WorkerPool? _pool;
    private readonly long _scratchBytes;
    private readonly byte* _scratch;
    private readonly ThreadLocal<float[]> _rowBuffers;
    private readonly byte[] _q8kRow;

    // current generic-path call, read by Execute on pool threads
    private WeightStack _w;
    private long _aStride;
    private int _tokens;
    private float* _y;
    private int _yStride, _yHeadOffset, _chunk;

    /// <param name="maxFloatsPerToken">most activation floats one token feeds into one call (widest input, or matrices × width for a stack)</param>
    /// <param name="maxTokens">most tokens of one call</param>
    /// <param name="maxCols">widest matrix input (sizes the generic path's row buffers)</param>
    /// <param name="pool">threads to split output rows over, or null for the calling thread only</param>
    /// <param name="kernels">the dot and activation kernels to use</param>
    public KernelMatMul(long maxFloatsPerToken, int maxTokens, int maxCols, WorkerPool? pool, KernelSet kernels)
    {
        _kernels = kernels;
        _pool = pool;
        // Every activation format takes at most 4 bytes per element (F32; Q8_0 with its sidecar ≈ 1.3).
        _scratchBytes = 4L * maxFloatsPerToken * maxTokens;
        _scratch = (byte*)NativeMemory.AlignedAlloc((nuint)(_scratchBytes + 64), 64);
        _rowBuffers = new ThreadLocal<float[]>(() => new float[maxCols]);
        _q8kRow = new byte[(maxCols + 255) / 256 * GgmlTypeInfo.TypeSize(GgmlType.Q8_K)];
    }

    /// <summary>True when <paramref name="type"/> weights can be multiplied (by a kernel or the generic path).</summary>
    public static bool Supports(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0
            or GgmlType.Q5_1 or GgmlType.IQ4_NL or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => true,
        _ => Quantizer.CanDequantize(type) && GgmlTypeInfo.BlockSize(type) == 256,
    };

    public void Multiply(in WeightMatrix w, float* x, int xStride, int tokens, float* y, int yStride) =>
        MultiplyStack(new WeightStack(w.Name, w.Data, w.Type, w.Cols, w.Rows, 1), x, 0, xStride, tokens, y, 0, yStride);

    public void MultiplyStack(in WeightStack w, float* x, int xHeadOffset, int xStride, int tokens, float* y, int yHeadOffset, int yStride)
    {
        if (tokens <= 0) return;
        bool kernel = _kernels.Supports(w.Type);
        int cols = w.Cols;
        long aStride = kernel ? ActivationFormat.RowBytes(w.Type, cols) : 4L * cols;
        if ((long)w.Count * tokens * aStride > _scratchBytes)
            throw new InvalidOperationException($"{w.Name}: {w.Count} × {tokens} tokens × {cols} columns exceed the activation scratch of {_scratchBytes} bytes");
        var quantize = kernel ? _kernels.Quantizers[(int)w.Type] : null; // indexed by weight type
        for (int h = 0; h < w.Count; h++)
        {
            for (int t = 0; t < tokens; t++)
            {
                float* src = x + (long)h * xHeadOffset + (long)t * xStride;
                byte* dst = _scratch + ((long)h * tokens + t) * aStride;
                if (kernel) quantize(src, dst, cols);
                else ToQ8_KAndBack(src, (float*)dst, cols);
            }
        }
        if (kernel)
        {
            var job = new MatMulJob
            {
                Dot = _kernels.Dots[(int)w.Type], Tile4x4 = _kernels.Tiles4x4[(int)w.Type], W = w.Data, RowBytes = w.RowBytes, Rows = w.Rows, Count = w.Count, Cols = cols,
                A = _scratch, ARowBytes = aStride, AMatrixStride = tokens * aStride, Tokens = tokens,
                Y = y, YTokenStride = yStride, YMatrixStride = yHeadOffset,
            };
            MatMul.Run(_pool, &job);
            return;
        }
        _w = w;
        _aStride = aStride;
        _tokens = tokens;
        _y = y;
        _yStride = yStride;
        _yHeadOffset = yHeadOffset;
        int threads = _pool?.ThreadCount ?? 1;
        long totalRows = (long)w.Rows * w.Count;
        _chunk = (int)Math.Max(4, (totalRows + 4 * threads - 1) / (4 * threads));
        int chunks = (int)((totalRows + _chunk - 1) / _chunk);
        if (_pool is null) for (int c = 0; c < chunks; c++) Execute(c);
        else _pool.Run(this, chunks);
    }

    /// <summary>Generic path, one chunk of output rows: dequantize each weight row once, float dots with every token.</summary>
    public void Execute(int index)
    {
        long g0 = (long)index * _chunk, g1 = Math.Min((long)_w.Rows * _w.Count, g0 + _chunk);
        int k = _w.Cols;
        float[] rowBuffer = _rowBuffers.Value!;
        for (long g = g0; g < g1; g++)
        {
            int h = (int)(g / _w.Rows), r = (int)(g % _w.Rows);
            byte* wr = _w.Data + ((long)h * _w.Rows + r) * _w.RowBytes;
            byte* a = _scratch + (long)h * _tokens * _aStride;
            float* y = _y + (long)h * _yHeadOffset + r;
            Quantizer.DequantizeRow(_w.Type, new ReadOnlySpan<byte>(wr, checked((int)_w.RowBytes)), rowBuffer.AsSpan(0, k));
            fixed (float* wf = rowBuffer)
            {
                for (int t = 0; t < _tokens; t++) y[(long)t * _yStride] = DotF32(wf, (float*)(a + t * _aStride), k);
            }
        }
    }

    /// <summary>The activation as ggml's K-quant dots see it: quantized to Q8_K, then the exact Q8_K values as floats.</summary>
    private void ToQ8_KAndBack(float* x, float* dst, int n)
    {
        var q = _q8kRow.AsSpan(0, n / 256 * GgmlTypeInfo.TypeSize(GgmlType.Q8_K));
        ActivationQuants.QuantizeQ8_K(new ReadOnlySpan<float>(x, n), q);
        ActivationQuants.DequantizeQ8_K(q, new Span<float>(dst, n));
    }

    private static float DotF32(float* w, float* x, int n)
    {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4)
        {
            s0 += w[i] * x[i];
            s1 += w[i + 1] * x[i + 1];
            s2 += w[i + 2] * x[i + 2];
            s3 += w[i + 3] * x[i + 3];
        }
        for (; i < n; i++) s0 += w[i] * x[i];
        return (s0 + s1) + (s2 + s3);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_scratch);
        _rowBuffers.Dispose();
    }
}
