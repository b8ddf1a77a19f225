using BenchmarkDotNet.Diagnosers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// GEMM (a batch of tokens: prefill, several sequences) at a Kimi K2 expert/attention shape, 7168 → 2048, weights in
/// cache (each weight row is read once per call and reused for the whole batch, so this is compute-bound). Reports
/// tokens/s; <see cref="Tiles"/> = false runs the same product pair by pair through the one-token dots, to show what the
/// register-blocked 4 × 4 tiles (Tile.Avx2.cs) bring. Both give the same bits.
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- --filter '*GemmBenchmarks*'
/// Narrow with KIMI_BENCH_TYPES, KIMI_BENCH_ISAS, KIMI_BENCH_THREADS as for <see cref="GemvBenchmarks"/>.
/// </summary>
[Config(typeof(Config))]
public unsafe class GemmBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8));
            AddColumn(new TokensPerSecondColumn());
            AddDiagnoser(MemoryDiagnoser.Default); // "Allocated": managed bytes per call (none expected on the hot path)
        }
    }

    private const int Cols = 7168, Rows = 2048;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    [Params(16, 64)]
    public int Tokens { get; set; }

    [Params(true, false)]
    public bool Tiles { get; set; }

    [ParamsSource(nameof(Isas))]
    public KernelIsa Isa { get; set; }

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    public static IEnumerable<GgmlType> Types() => GemvBenchmarks.Types().Where(t => t is GgmlType.Q4_0 or GgmlType.Q8_0);

    public static IEnumerable<KernelIsa> Isas() => GemvBenchmarks.Isas();

    public static IEnumerable<int> ThreadCounts() => GemvBenchmarks.ThreadCounts();

    private byte* _w;
    private float[] _x = [], _y = [];
    private WorkerPool? _pool;
    private MatMul? _mm;

    [GlobalSetup]
    public void Setup()
    {
        long rowBytes = GgmlTypeInfo.RowBytes(Type, Cols);
        _w = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * Rows), 64);
        var rng = new Random(42);
        var rows = Enumerable.Range(0, 64).Select(_ => BenchData.WeightRow(rng, Type, Cols)).ToArray();
        for (int r = 0; r < Rows; r++) rows[r % rows.Length].CopyTo(new Span<byte>(_w + r * rowBytes, (int)rowBytes));
        _x = BenchData.Activations(rng, Cols * Tokens);
        _y = new float[Rows * Tokens];
        _pool = new WorkerPool(Threads);
        _mm = new MatMul(_pool, Isa);
        if (!Tiles) _mm.Kernels.Tiles4x4[(int)Type] = null;
    }

    [Benchmark]
    public void Gemm() => _mm!.Gemm(Type, _w, GgmlTypeInfo.RowBytes(Type, Cols), Rows, Cols, _x, _y, Tokens);

    [GlobalCleanup]
    public void Cleanup()
    {
        _mm?.Dispose();
        _pool?.Dispose();
        NativeMemory.AlignedFree(_w);
        _w = null;
    }

    /// <summary>Tokens per call ÷ mean time.</summary>
    private sealed class TokensPerSecondColumn : IColumn
    {
        public string Id => "tok/s";
        public string ColumnName => "tok/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "tokens per call / mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            object? tokens = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == nameof(Tokens))?.Value;
            return stats == null || tokens is not int n ? "-" : (n / (stats.Mean * 1e-9)).ToString("F0");
        }
    }
}
