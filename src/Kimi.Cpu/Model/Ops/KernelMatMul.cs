using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Model.Ops;

/// <summary>
/// The forward pass's <see cref="IMatMul"/> on the ISA-dispatched kernels of <see cref="KernelSet"/>: the activation is
/// converted once per call to the weight type's vec_dot format (into this object's scratch, all matrices of a stack at
/// once, once for both products of a pair; rows split over the pool when there are several), then
/// <see cref="MatMul.Run"/> — the library's one row-split driver — spreads output rows over the model's <see cref="WorkerPool"/>; every weight row is read once per call and dotted with all tokens of the batch. Every weight
/// type the model accepts has a dot kernel (at least the scalar reference), so there is no dequantize-a-row fallback.
/// </summary>
internal sealed unsafe class KernelMatMul : IMatMul, IDisposable
{
    private readonly KernelSet _kernels;
    private readonly WorkerPool? _pool;
    private readonly long _scratchBytes;
    private readonly byte* _scratch;
    private int* _groupTasks; // MatMul.RunGroups' task table: groups + 1 starts, then rows per task per group
    private int _groupCapacity;

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
        long aStride = Convert(w.Name, w.Type, w.Cols, w.Count, x, xHeadOffset, xStride, tokens);
        Run(w.Data, w.Type, w.RowBytes, w.Rows, w.Count, w.Cols, aStride, tokens, y, yHeadOffset, yStride);
    }

    public void MultiplyPair(in WeightMatrix a, float* ya, int yaStride, in WeightMatrix b, float* yb, int ybStride, float* x, int xStride, int tokens)
    {
        if (tokens <= 0) return;
        if (!SameConversion(a.Type, a.Cols, b.Type, b.Cols))
        {
            Multiply(a, x, xStride, tokens, ya, yaStride);
            Multiply(b, x, xStride, tokens, yb, ybStride);
            return;
        }
        long aStride = Convert(a.Name, a.Type, a.Cols, 1, x, 0, xStride, tokens);
        Run(a.Data, a.Type, a.RowBytes, a.Rows, 1, a.Cols, aStride, tokens, ya, 0, yaStride);
        Run(b.Data, b.Type, b.RowBytes, b.Rows, 1, b.Cols, aStride, tokens, yb, 0, ybStride);
    }

    public void MultiplyGroups(in WeightStack w, in WeightStack b, MatMulGroup* groups, int count, float* x, int xStride, int xRows, int* aRows, int yStride)
    {
        if (count <= 0 || xRows <= 0) return;
        bool pair = !b.IsNull;
        int all = pair ? 2 * count : count;
        if (all > _groupCapacity)
        {
            NativeMemory.Free(_groupTasks);
            _groupCapacity = Math.Max(all, 2 * _groupCapacity);
            _groupTasks = (int*)NativeMemory.Alloc((nuint)(2 * _groupCapacity + 1), sizeof(int));
        }
        long aStride = Convert(w.Name, w.Type, w.Cols, 1, x, 0, xStride, xRows);
        bool oneJob = pair && b.Type == w.Type && b.Cols == w.Cols && b.Rows == w.Rows;
        RunGroups(w, groups, oneJob ? all : count, aStride, aRows, yStride);
        if (!pair || oneJob) return;
        if (!SameConversion(w.Type, w.Cols, b.Type, b.Cols)) aStride = Convert(b.Name, b.Type, b.Cols, 1, x, 0, xStride, xRows);
        RunGroups(b, groups + count, count, aStride, aRows, yStride);
    }

    /// <summary>True when inputs for weights of types a and b are converted by the same routine into the same bytes
    /// (routines compared as addresses: at worst a false "different", which only converts twice).</summary>
    private bool SameConversion(GgmlType a, int colsA, GgmlType b, int colsB) =>
        colsA == colsB && (nint)_kernels.Quantizer(a) == (nint)_kernels.Quantizer(b)
        && ActivationFormat.RowBytes(a, colsA) == ActivationFormat.RowBytes(b, colsB);

    private void RunGroups(in WeightStack w, MatMulGroup* groups, int count, long aStride, int* aRows, int yStride)
    {
        var job = new GroupJob
        {
            Tiles = TileKernels.For(_kernels, w.Type, w.Cols), RowBytes = w.RowBytes, Rows = w.Rows,
            A = _scratch, ARowBytes = aStride, ARows = aRows, YTokenStride = yStride, Groups = groups, GroupCount = count,
        };
        MatMul.RunGroups(_pool, &job, _groupTasks, _groupTasks + count + 1);
    }

    /// <summary>Converts the input rows of every matrix into the scratch, in parallel when there are several rows (each
    /// row on its own, so the bytes do not depend on the split); returns the converted row stride.</summary>
    private long Convert(string name, GgmlType type, int cols, int count, float* x, int xHeadOffset, int xStride, int tokens)
    {
        long aStride = ActivationFormat.RowBytes(type, cols);
        if ((long)count * tokens * aStride > _scratchBytes)
            throw new InvalidOperationException($"{name}: {count} × {tokens} tokens × {cols} columns exceed the activation scratch of {_scratchBytes} bytes");
        var job = new ConvertJob
        {
            Quantize = _kernels.Quantizer(type), X = x, XHeadOffset = xHeadOffset, XStride = xStride, Tokens = tokens, Cols = cols,
            Dst = _scratch, RowBytes = aStride, Rows = count * tokens,
        };
        int threads = _pool?.ThreadCount ?? 1;
        // A task converts at least ~16K values: below that, handing rows to other threads costs more than it saves.
        job.PerTask = threads == 1 ? job.Rows : Math.Max(1, Math.Max(16384 / cols, (job.Rows + 4 * threads - 1) / (4 * threads)));
        int tasks = (job.Rows + job.PerTask - 1) / job.PerTask;
        if (tasks == 1) ConvertTask(&job, 0);
        else _pool!.Run(&ConvertTask, &job, tasks);
        return aStride;
    }

    private void Run(byte* w, GgmlType type, long rowBytes, int rows, int count, int cols, long aStride, int tokens, float* y, int yHeadOffset, int yStride)
    {
        var job = new MatMulJob
        {
            Tiles = TileKernels.For(_kernels, type, cols), W = w, RowBytes = rowBytes, Rows = rows, Count = count, A = _scratch, ARowBytes = aStride, AMatrixStride = tokens * aStride, Tokens = tokens,
            Y = y, YTokenStride = yStride, YMatrixStride = yHeadOffset,
        };
        MatMul.Run(_pool, &job);
    }

    private struct ConvertJob
    {
        public delegate*<float*, byte*, int, void> Quantize;
        public float* X;
        public int XHeadOffset, XStride, Tokens, Cols, Rows, PerTask;
        public byte* Dst;
        public long RowBytes;
    }

    private static void ConvertTask(void* context, int task)
    {
        ConvertJob* j = (ConvertJob*)context;
        int r1 = Math.Min(j->Rows, (task + 1) * j->PerTask);
        for (int r = task * j->PerTask; r < r1; r++)
        {
            int h = r / j->Tokens, t = r - h * j->Tokens; // scratch row r = h·tokens + t
            j->Quantize(j->X + (long)h * j->XHeadOffset + (long)t * j->XStride, j->Dst + r * j->RowBytes, j->Cols);
        }
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_scratch);
        NativeMemory.Free(_groupTasks);
        _groupTasks = null;
    }
}
