using System.Runtime.CompilerServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// y = W·x for ggml weight matrices straight from the mapped GGUF (<c>byte*</c> + row stride, so tensors over 2 GiB work):
/// W is [rows, cols] (ggml ne0 = cols), x is n activation rows [n, cols], y is [n, rows]. The activation is converted
/// once per call to the weight type's <see cref="ActivationFormat"/> (as ggml does), then the dot kernels of
/// <see cref="Kernels"/> run over output rows on <see cref="Pool"/>. Allocation-free once the scratch has grown.
/// One instance per driving thread (it owns a scratch buffer).
/// </summary>
public sealed unsafe class MatMul : IDisposable
{
    // Target sizes of the cache tiles for a batch: a chunk of weight rows is read from memory once and then stays in L2
    // while every activation tile passes over it.
    private const long WeightTileBytes = 256 * 1024;
    private const long ActivationTileBytes = 256 * 1024;

    private readonly QuantizedActivations _scratch = new();

    /// <summary>Creates a matmul driver on <paramref name="pool"/> with the kernels of <paramref name="isa"/>.</summary>
    public MatMul(WorkerPool pool, KernelIsa isa = KernelIsa.Auto)
    {
        Pool = pool ?? throw new ArgumentNullException(nameof(pool));
        Kernels = KernelSet.Create(isa);
    }

    /// <summary>Threads the work is spread over.</summary>
    public WorkerPool Pool { get; }

    /// <summary>The kernels in use (<see cref="KernelSet.Isa"/> says which family).</summary>
    public KernelSet Kernels { get; }

    /// <summary>One token: y[rows] = W[rows, cols] · x[cols].</summary>
    public void Gemv(GgmlType weightType, byte* w, long rowBytes, int rows, int cols, ReadOnlySpan<float> x, Span<float> y) =>
        Gemm(weightType, w, rowBytes, rows, cols, x, y, 1);

    /// <summary>A batch: y[n, rows] = x[n, cols] · W[rows, cols]ᵀ. Each weight row is read from memory once per call.</summary>
    public void Gemm(GgmlType weightType, byte* w, long rowBytes, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        Quantize(weightType, x, n, cols, _scratch);
        Gemm(weightType, w, rowBytes, rows, _scratch, y);
    }

    /// <summary>Converts x[n, cols] for weights of <paramref name="weightType"/> into <paramref name="dst"/> (reused buffer).</summary>
    public void Quantize(GgmlType weightType, ReadOnlySpan<float> x, int n, int cols, QuantizedActivations dst)
    {
        ArgumentNullException.ThrowIfNull(dst);
        if (n < 1 || cols < 1) throw new ArgumentOutOfRangeException(nameof(n), "n and cols must be positive");
        if (x.Length < (long)n * cols) throw new ArgumentException($"x holds {x.Length} values, need {n}×{cols}", nameof(x));
        int block = GgmlTypeInfo.BlockSize(ActivationFormat.For(weightType));
        if (cols % block != 0 || cols % GgmlTypeInfo.BlockSize(weightType) != 0)
            throw new ArgumentException($"{cols} columns is not a whole number of {GgmlTypeInfo.Name(weightType)} blocks", nameof(cols));
        dst.Reshape(weightType, n, cols);
        fixed (float* px = x)
        {
            var job = new QuantJob { Quantize = Kernels.Quantizer(weightType), X = px, Cols = cols, Dst = dst.Data, RowBytes = dst.RowBytes };
            if (n == 1) QuantTask(&job, 0);
            else Pool.Run(&QuantTask, &job, n);
        }
    }

    /// <summary>y[xq.Rows, rows] = xq · W[rows, xq.Cols]ᵀ for activations already converted by <see cref="Quantize"/>
    /// (for this weight type or another one with the same <see cref="ActivationFormat"/>).</summary>
    public void Gemm(GgmlType weightType, byte* w, long rowBytes, int rows, QuantizedActivations xq, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(xq);
        GgmlType type = weightType;
        if (ActivationFormat.For(type) != xq.Format || xq.Rows == 0)
            throw new ArgumentException($"activations in {GgmlTypeInfo.Name(xq.Format)} cannot feed {GgmlTypeInfo.Name(type)} weights", nameof(xq));
        int n = xq.Rows, cols = xq.Cols;
        if (w == null) throw new ArgumentNullException(nameof(w));
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows));
        long minRowBytes = GgmlTypeInfo.RowBytes(type, cols);
        if (rowBytes < minRowBytes) throw new ArgumentException($"row stride {rowBytes} < {minRowBytes} bytes of {cols} {GgmlTypeInfo.Name(type)} values", nameof(rowBytes));
        if (y.Length < (long)n * rows) throw new ArgumentException($"y holds {y.Length} values, need {n}×{rows}", nameof(y));

        var job = new MatMulJob
        {
            Tiles = TileKernels.For(Kernels, type, cols), W = w, RowBytes = rowBytes, Rows = rows, Count = 1,
            A = xq.Data, ARowBytes = xq.RowBytes, Tokens = n, Y = null, YTokenStride = rows,
        };
        fixed (float* py = y)
        {
            job.Y = py;
            Run(Pool, &job);
        }
    }

    /// <summary>Frees the scratch.</summary>
    public void Dispose() => _scratch.Dispose();

    private struct QuantJob
    {
        public delegate*<float*, byte*, int, void> Quantize;
        public float* X;
        public int Cols;
        public byte* Dst;
        public long RowBytes;
    }

    private static void QuantTask(void* context, int row)
    {
        QuantJob* j = (QuantJob*)context;
        j->Quantize(j->X + (long)row * j->Cols, j->Dst + row * j->RowBytes, j->Cols);
    }

    /// <summary>
    /// Runs <paramref name="job"/> on <paramref name="pool"/> (or the calling thread when null): output rows of all
    /// matrices are split into tasks; within a task, each weight row is read once and dotted with every token, the tokens
    /// taken in cache-sized tiles. The one row-split driver of the library (the model's matmul uses it too).
    /// </summary>
    internal static void Run(WorkerPool? pool, MatMulJob* job)
    {
        int threads = pool?.ThreadCount ?? 1;
        long total = (long)job->Rows * job->Count;
        // Enough tasks per thread that a thread descheduled on a busy machine does not hold up the rest.
        long perTask = Math.Max(1, (total + threads * 8 - 1) / (threads * 8));
        if (job->Tokens > 1) perTask = Math.Clamp(WeightTileBytes / job->RowBytes, 1, perTask);
        bool tiled = job->Tiles.Tile4x4 != null && job->Tokens >= 4;
        if (tiled) perTask = (perTask + 3) & ~3L; // whole 4-row groups
        job->RowsPerTask = (int)perTask;
        job->ActTile = (int)Math.Clamp(ActivationTileBytes / job->ARowBytes, 1, job->Tokens);
        // With a tile kernel, token tiles are whole groups of 4: otherwise every token tile left its last 1-3 tokens to the
        // slower dot (with 18432-wide Q8_0 rows, 11-token tiles sent 3 of 11 tokens there; in a 615-token prefill of
        // k2slice 12 % of the time went to such dots).
        if (tiled) job->ActTile = Math.Max(4, job->ActTile & ~3);
        int tasks = (int)((total + perTask - 1) / perTask);
        if (pool is null || tasks == 1) for (int i = 0; i < tasks; i++) RunTask(job, i);
        else pool.Run(&RunTask, job, tasks);
    }

    [SkipLocalsInit]
    private static void RunTask(void* context, int task)
    {
        MatMulJob j = *(MatMulJob*)context;
        long g0 = (long)task * j.RowsPerTask, g1 = Math.Min((long)j.Rows * j.Count, g0 + j.RowsPerTask);
        if (j.Tiles.Tile4x4 != null && j.Tokens >= 4)
        {
            RunTiles(ref j, g0, g1);
            return;
        }
        long half = PairHalf(in j.Tiles, g1 - g0, j.RowBytes);
        for (int t0 = 0; t0 < j.Tokens; t0 += j.ActTile)
        {
            int t1 = Math.Min(j.Tokens, t0 + j.ActTile);
            for (long i = 0; i < half;)
            {
                // A run of pairs within one matrix on each side: rows ga.. and gb.., outputs side by side.
                long ga = g0 + i, gb = ga + half, ha = ga / j.Rows, hb = gb / j.Rows;
                long ra = ga - ha * j.Rows, rbw = gb - hb * j.Rows;
                int run = (int)Math.Min(half - i, Math.Min(j.Rows - ra, j.Rows - rbw));
                if (ha != hb && j.AMatrixStride != 0) // two matrices with their own activations: one row at a time
                {
                    for (int s = 0; s < run; s++)
                    {
                        RowDots(ref j, ga + s, t0, t1);
                        RowDots(ref j, gb + s, t0, t1);
                    }
                    i += run;
                    continue;
                }
                // One token: the whole run in one call; a few tokens: pair by pair, each pair's rows read once for all.
                int step = t1 - t0 == 1 ? run : 1;
                for (int s = 0; s < run; s += step)
                    for (int t = t0; t < t1; t++)
                        j.Tiles.PairDot(j.W + (ga + s) * j.RowBytes, j.W + (gb + s) * j.RowBytes, j.RowBytes, step,
                            j.A + ha * j.AMatrixStride + t * j.ARowBytes, j.Tiles.Cols,
                            j.Y + ha * j.YMatrixStride + t * j.YTokenStride + ra + s, j.Y + hb * j.YMatrixStride + t * j.YTokenStride + rbw + s);
                i += run;
            }
            for (long g = g0 + 2 * half; g < g1; g++) RowDots(ref j, g, t0, t1);
        }
    }

    /// <summary>Row g (over all matrices) against tokens [t0, t1), one dot each.</summary>
    private static void RowDots(ref MatMulJob j, long g, int t0, int t1)
    {
        long h = g / j.Rows;
        byte* wr = j.W + g * j.RowBytes, a = j.A + h * j.AMatrixStride;
        float* y = j.Y + h * j.YMatrixStride + (g - h * j.Rows);
        for (int t = t0; t < t1; t++) y[t * j.YTokenStride] = j.Tiles.Dot(wr, a + t * j.ARowBytes, j.Tiles.Cols);
    }

    /// <summary>Row streams closer than this ran slower as a pair than one at a time (Q4_0 GEMV from RAM, Zen 4: 16 KiB
    /// apart 15.8 GB/s, 64 KiB 21.9, against 24 for one stream and 27.5 from 256 KiB apart).</summary>
    internal const long PairDistance = 256 * 1024;

    /// <summary>How many rows of a run of <paramref name="rows"/> go in pairs with the <see cref="TileKernels.PairDot"/>
    /// (row i with row i + half, so the two streams are as far apart as the run allows); 0 when the kernel has no pair
    /// dot or the halves would be closer than <see cref="PairDistance"/>.</summary>
    private static long PairHalf(in TileKernels k, long rows, long rowBytes)
    {
        long half = rows / 2;
        return k.PairDot != null && half * rowBytes >= PairDistance ? half : 0;
    }

    /// <summary>Rows [g0, g1) with the register-blocked kernel: groups of 4 rows of one matrix (a short group repeats its
    /// last row) × 4 tokens; the tokens left over from whole tiles go through the dot kernel.</summary>
    [SkipLocalsInit]
    private static void RunTiles(ref MatMulJob j, long g0, long g1)
    {
        byte** wp = stackalloc byte*[4];
        float* rs = stackalloc float[j.Tiles.ScaleBuffer];
        for (int t0 = 0; t0 < j.Tokens; t0 += j.ActTile)
        {
            int t1 = Math.Min(j.Tokens, t0 + j.ActTile);
            for (long g = g0; g < g1;)
            {
                long h = g / j.Rows;
                int r = (int)(g - h * j.Rows);
                int cnt = (int)Math.Min(Math.Min(4, g1 - g), j.Rows - r);
                for (int i = 0; i < 4; i++) wp[i] = j.W + (g + Math.Min(i, cnt - 1)) * j.RowBytes;
                RowGroup(in j.Tiles, wp, cnt, j.A + h * j.AMatrixStride, null, j.ARowBytes, t0, t1, true, j.Y + h * j.YMatrixStride + r, j.YTokenStride, rs);
                g += cnt;
            }
        }
    }

    /// <summary>
    /// <paramref name="cnt"/> weight rows (wp[0..4), the last repeated when cnt &lt; 4) against tokens [t0, t1) — token i's
    /// activation row at <c>a + (aRows?[i] ?? i)·aRowBytes</c>, its outputs at <c>y + i·yStride</c> — in 4 × 4 tiles
    /// where <paramref name="tiles"/> allows (with a scaled tile, the rows' block scales converted into rs once for all
    /// the token groups), dots for the rest.
    /// </summary>
    [SkipLocalsInit]
    private static void RowGroup(in TileKernels k, byte** wp, int cnt, byte* a, int* aRows, long aRowBytes, int t0, int t1, bool tiles,
        float* y, long yStride, float* rs)
    {
        byte** ap = stackalloc byte*[4];
        float* o = stackalloc float[16];
        int t = t0;
        if (tiles && k.Tile4x4 != null && t1 - t0 >= 4)
        {
            bool scaled = k.ScaledTile4x4 != null && k.ScaleBuffer > 0 && t1 - t0 >= 8; // one tile call does not repay the conversion
            if (scaled)
                for (int i = 0; i < 4; i++) k.RowScales(wp[i], k.ScaleBlocks, rs + i * k.ScaleBlocks);
            for (; t + 4 <= t1; t += 4)
            {
                for (int q = 0; q < 4; q++) ap[q] = a + (aRows == null ? t + q : aRows[t + q]) * aRowBytes;
                if (scaled) k.ScaledTile4x4(wp, ap, k.Cols, o, rs);
                else k.Tile4x4(wp, ap, k.Cols, o);
                for (int i = 0; i < cnt; i++)
                    for (int q = 0; q < 4; q++) y[(t + q) * yStride + i] = o[4 * i + q];
            }
        }
        for (; t < t1; t++)
        {
            byte* at = a + (aRows == null ? t : aRows[t]) * aRowBytes;
            for (int i = 0; i < cnt; i++) y[t * yStride + i] = k.Dot(wp[i], at, k.Cols);
        }
    }

    /// <summary>
    /// Runs a grouped product (ggml's mul_mat_id: the routed experts of a batch): each group is one weight matrix against
    /// its own run of token rows. Tasks are cut to about equal cost (rows × (tokens + 1)), so a popular expert's rows spread
    /// over many tasks and a lightly used expert's over few; each (row, token) output is the same dot or tile as in
    /// <see cref="Run"/>, so results do not depend on the grouping. <paramref name="taskStart"/> (groups + 1 entries) and
    /// <paramref name="rowsPerTask"/> (groups) are the caller's scratch.
    /// </summary>
    internal static void RunGroups(WorkerPool? pool, GroupJob* job, int* taskStart, int* rowsPerTask)
    {
        int threads = pool?.ThreadCount ?? 1;
        long total = 0;
        int maxTokens = 1;
        for (int g = 0; g < job->GroupCount; g++)
        {
            total += (long)job->Rows * (job->Groups[g].Tokens + 1);
            maxTokens = Math.Max(maxTokens, job->Groups[g].Tokens);
        }
        long target = Math.Max(1, (total + threads * 8 - 1) / (threads * 8));
        bool tiles = job->Tiles.Tile4x4 != null;
        taskStart[0] = 0;
        for (int g = 0; g < job->GroupCount; g++)
        {
            int tokens = job->Groups[g].Tokens;
            long rows = Math.Clamp(target / (tokens + 1), 1, job->Rows);
            if (tokens > 1) rows = Math.Clamp(WeightTileBytes / job->RowBytes, 1, rows);
            if (tiles && tokens >= 4) rows = Math.Min(job->Rows, (rows + 3) & ~3L);
            rowsPerTask[g] = (int)rows;
            taskStart[g + 1] = taskStart[g] + (int)((job->Rows + rows - 1) / rows);
        }
        job->TaskStart = taskStart;
        job->RowsPerTask = rowsPerTask;
        job->ActTile = (int)Math.Clamp(ActivationTileBytes / job->ARowBytes, 1, maxTokens);
        if (tiles) job->ActTile = Math.Max(4, job->ActTile & ~3);
        int tasks = taskStart[job->GroupCount];
        if (pool is null || tasks == 1) for (int i = 0; i < tasks; i++) GroupTask(job, i);
        else pool.Run(&GroupTask, job, tasks);
    }

    [SkipLocalsInit]
    private static void GroupTask(void* context, int task)
    {
        GroupJob* j = (GroupJob*)context;
        int lo = 0, hi = j->GroupCount - 1; // the group whose tasks include this one
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (j->TaskStart[mid] <= task) lo = mid;
            else hi = mid - 1;
        }
        int r0 = (task - j->TaskStart[lo]) * j->RowsPerTask[lo];
        GroupRows(j, j->Groups + lo, r0, Math.Min(j->Rows, r0 + j->RowsPerTask[lo]));
    }

    /// <summary>Rows [r0, r1) of one group's matrix against its tokens: 4 × 4 tiles where there are 4 tokens, dots for the rest.</summary>
    [SkipLocalsInit]
    private static void GroupRows(GroupJob* j, MatMulGroup* grp, int r0, int r1)
    {
        byte** wp = stackalloc byte*[4];
        float* rs = stackalloc float[j->Tiles.ScaleBuffer];
        int s = grp->TokenStart, e = s + grp->Tokens;
        bool tiles = j->Tiles.Tile4x4 != null && grp->Tokens >= 4;
        int half = tiles ? 0 : (int)PairHalf(in j->Tiles, r1 - r0, j->RowBytes);
        for (int t0 = s; t0 < e; t0 += j->ActTile)
        {
            int t1 = Math.Min(e, t0 + j->ActTile);
            int step = t1 - t0 == 1 ? half : 1; // one token: all pairs in one call
            for (int i = 0; i < half; i += step)
                for (int t = t0; t < t1; t++)
                    j->Tiles.PairDot(grp->W + (r0 + i) * j->RowBytes, grp->W + (r0 + half + i) * j->RowBytes, j->RowBytes, step,
                        j->A + (j->ARows == null ? t : j->ARows[t]) * j->ARowBytes, j->Tiles.Cols,
                        grp->Y + t * j->YTokenStride + r0 + i, grp->Y + t * j->YTokenStride + r0 + half + i);
            for (int r = r0 + 2 * half; r < r1;)
            {
                int cnt = tiles ? Math.Min(4, r1 - r) : 1;
                for (int i = 0; i < 4; i++) wp[i] = grp->W + (r + Math.Min(i, cnt - 1)) * j->RowBytes;
                RowGroup(in j->Tiles, wp, cnt, j->A, j->ARows, j->ARowBytes, t0, t1, tiles, grp->Y + r, j->YTokenStride, rs);
                r += cnt;
            }
        }
    }
}

/// <summary>
/// The kernels of one product for the drivers: the dot, the optional 4 × 4 tile, and the optional tile that takes its
/// rows' block scales in fp32 (<see cref="KernelSet.ScaledTiles4x4"/>) with the function that converts them.
/// </summary>
internal unsafe struct TileKernels
{
    public delegate*<byte*, byte*, int, float> Dot;
    public delegate*<byte*, byte*, long, int, byte*, int, float*, float*, void> PairDot;
    public delegate*<byte**, byte**, int, float*, void> Tile4x4;
    public delegate*<byte**, byte**, int, float*, float*, void> ScaledTile4x4;
    public delegate*<byte*, int, float*, void> RowScales;
    public int Cols;
    /// <summary>Block scales per row, and the floats a driver sets aside for 4 rows of them (0: no scaled tile, or rows
    /// too wide for a stack buffer).</summary>
    public int ScaleBlocks, ScaleBuffer;

    public static TileKernels For(KernelSet kernels, GgmlType type, int cols)
    {
        kernels = kernels.For(type, cols);
        var k = new TileKernels { Dot = kernels.Dot(type), PairDot = kernels.PairDots[(int)type], Tile4x4 = kernels.Tiles4x4[(int)type], Cols = cols };
        int blocks = cols / (int)GgmlTypeInfo.BlockSize(type);
        if (kernels.ScaledTiles4x4[(int)type] != null && blocks <= 4096)
        {
            k.ScaledTile4x4 = kernels.ScaledTiles4x4[(int)type];
            k.RowScales = kernels.RowScales[(int)type];
            k.ScaleBlocks = blocks;
            k.ScaleBuffer = 4 * blocks;
        }
        return k;
    }
}

/// <summary>One matrix of a grouped product (<see cref="MatMul.RunGroups"/>): its weights and the job's token rows
/// [TokenStart, TokenStart + Tokens) it multiplies; token row i's outputs go to <c>Y + i·YTokenStride</c>.</summary>
internal unsafe struct MatMulGroup
{
    public byte* W;
    public float* Y;
    public int TokenStart, Tokens;
}

/// <summary>
/// A grouped product for <see cref="MatMul.RunGroups"/>: <see cref="GroupCount"/> matrices of one type and shape, each
/// against its own token rows; token row i reads activation row <c>ARows[i]</c> (or i when null) of A, already in the
/// weight type's <see cref="ActivationFormat"/>.
/// </summary>
internal unsafe struct GroupJob
{
    public TileKernels Tiles;
    public long RowBytes;
    public int Rows;
    public byte* A;
    public long ARowBytes;
    public int* ARows;
    public long YTokenStride;
    public MatMulGroup* Groups;
    public int GroupCount;
    // Set by MatMul.RunGroups.
    public int* TaskStart, RowsPerTask;
    public int ActTile;
}

/// <summary>
/// One product for <see cref="MatMul.Run"/>: <see cref="Count"/> weight matrices of <see cref="Rows"/> × <c>Tiles.Cols</c>
/// stored back to back (matrix h, row r at <c>W + (h·Rows + r)·RowBytes</c>), each against its own activation rows
/// (<c>A + h·AMatrixStride + t·ARowBytes</c>, already in the weight type's <see cref="ActivationFormat"/>):
/// <c>Y[h·YMatrixStride + t·YTokenStride + r] = Dot(W row, A row t)</c> for t &lt; <see cref="Tokens"/>.
/// </summary>
internal unsafe struct MatMulJob
{
    /// <summary>The dot, and the optional register-blocked kernels (<see cref="KernelSet.Tiles4x4"/>) for batches of 4
    /// tokens or more.</summary>
    public TileKernels Tiles;
    public byte* W;
    public long RowBytes;
    public int Rows, Count;
    public byte* A;
    public long ARowBytes, AMatrixStride;
    public int Tokens;
    public float* Y;
    public long YTokenStride, YMatrixStride;
    // Set by MatMul.Run.
    public int RowsPerTask, ActTile;
}
