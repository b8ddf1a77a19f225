using BenchmarkDotNet.Diagnosers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// GEMV (one token) at Kimi K2 shapes, reporting weight bytes per second. "ram" rotates over enough copies of the matrix
/// that the working set (≥ 1 GiB) is far beyond any cache; "cache" reuses one copy (8–16 MB: L3-resident at best).
/// Compare "ram" with <see cref="ReadBandwidthBenchmarks"/> at the same thread count.
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- --filter '*GemvBenchmarks*'
/// The full matrix is 160 cases; narrow it with comma lists in KIMI_BENCH_TYPES (q4_0,q8_0,...), KIMI_BENCH_CASES,
/// KIMI_BENCH_ISAS (avx512,avx2,...) and KIMI_BENCH_THREADS (1,2).
/// </summary>
[Config(typeof(Config))]
public unsafe class GemvBenchmarks : IBytesPerOperation
{
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8));
            AddColumn(new GigabytesPerSecondColumn());
            AddDiagnoser(MemoryDiagnoser.Default); // "Allocated": managed bytes per call (none expected on the hot path)
        }
    }

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    /// <summary>"cols x rows / source": expert/attention in (7168→2048), expert down (2048→7168), output head (7168→163840).</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "7168x2048/ram";

    [ParamsSource(nameof(Isas))]
    public KernelIsa Isa { get; set; }

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    public static IEnumerable<GgmlType> Types() =>
        Narrow("KIMI_BENCH_TYPES", [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K], s => GgmlTypeInfo.TryParse(s, out var t) ? t : throw new ArgumentException(s));

    public static IEnumerable<string> Cases() =>
        Narrow("KIMI_BENCH_CASES", ["7168x2048/ram", "7168x2048/cache", "2048x7168/ram", "2048x7168/cache", "7168x163840/ram"], s => s);

    public static IEnumerable<KernelIsa> Isas() => Narrow("KIMI_BENCH_ISAS", KernelIsas.Supported, KernelIsas.Resolve);

    public static IEnumerable<int> ThreadCounts() => Narrow("KIMI_BENCH_THREADS", [1, 2], int.Parse);

    private static IEnumerable<T> Narrow<T>(string variable, IEnumerable<T> all, Func<string, T> parse)
    {
        string? v = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(v) ? all : v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToArray();
    }

    private int Cols => int.Parse(Case.Split('x', '/')[0]);
    private int Rows => int.Parse(Case.Split('x', '/')[1]);
    private bool FromRam => Case.EndsWith("/ram", StringComparison.Ordinal);
    private long MatrixBytes => GgmlTypeInfo.RowBytes(Type, Cols) * Rows;

    public long BytesPerOperation => MatrixBytes;

    private byte* _w;
    private int _cols, _rows;
    private long _rowBytes, _matrixBytes;
    private int _copies, _next;
    private float[] _x = [], _y = [];
    private WorkerPool? _pool;
    private MatMul? _mm;

    [GlobalSetup]
    public void Setup()
    {
        long mat = MatrixBytes, rowBytes = GgmlTypeInfo.RowBytes(Type, Cols);
        // The shape once, as fields: parsing Case in the measured call allocated 720 bytes per GEMV.
        (_cols, _rows, _rowBytes, _matrixBytes) = (Cols, Rows, rowBytes, mat);
        _copies = FromRam ? (int)Math.Max(1, ((1L << 30) + mat - 1) / mat) : 1;
        _w = (byte*)NativeMemory.AlignedAlloc((nuint)(mat * _copies), 64);
        var rng = new Random(42);
        // 64 distinct random rows repeated: realistic bits, cheap to set up; every copy is its own memory.
        var rows = Enumerable.Range(0, Math.Min(64, Rows)).Select(_ => BenchData.WeightRow(rng, Type, Cols)).ToArray();
        for (long c = 0; c < _copies; c++)
            for (int r = 0; r < Rows; r++)
                rows[r % rows.Length].CopyTo(new Span<byte>(_w + c * mat + r * rowBytes, (int)rowBytes));
        _x = BenchData.Activations(rng, Cols);
        _y = new float[Rows];
        _pool = new WorkerPool(Threads);
        _mm = new MatMul(_pool, Isa);
        _next = 0;
    }

    [Benchmark]
    public void Gemv()
    {
        _mm!.Gemv(Type, _w + _matrixBytes * _next, _rowBytes, _rows, _cols, _x, _y);
        if (++_next == _copies) _next = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _mm?.Dispose();
        _pool?.Dispose();
        NativeMemory.AlignedFree(_w);
        _w = null;
    }
}
