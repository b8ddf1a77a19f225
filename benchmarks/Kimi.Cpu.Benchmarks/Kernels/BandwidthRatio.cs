using System.Diagnostics;
using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// GEMV from RAM as a fraction of this machine's read bandwidth, measured side by side: each round streams the 1 GiB
/// read buffer (<see cref="ReadBandwidthBenchmarks"/>' loop) and then runs one GEMV per type over its own matrix
/// (at least 1 GiB, never in cache), on the same pool. The host's bandwidth drifts between runs by more than the
/// effects measured (two threads here: 34 to 60 GB/s), so the figure is the median of the per-round ratios, each
/// taken seconds apart, not a quotient of two separate runs.
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- bandwidth-ratio [THREADS] [TYPES] [ROUNDS] [ISA]
/// e.g. <c>bandwidth-ratio 2 q4_0,q8_0 15 avx512</c>.
/// </summary>
public static unsafe class BandwidthRatio
{
    private const long ReadSize = 1L << 30;
    private const int Cols = 7168, BaseRows = 163840; // Kimi K2's output head

    public static int Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0]) : 1;
        GgmlType[] types = (args.Length > 1 ? args[1] : "q4_0,q8_0").Split(',')
            .Select(s => GgmlTypeInfo.TryParse(s, out var t) ? t : throw new ArgumentException($"unknown type '{s}'")).ToArray();
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 15;
        KernelIsa isa = args.Length > 3 ? KernelIsas.Resolve(args[3]) : KernelIsa.Auto;

        using var pool = new WorkerPool(threads);
        using var mm = new MatMul(pool, isa);
        byte* buf = (byte*)NativeMemory.AlignedAlloc((nuint)ReadSize, 64);
        new Span<byte>(buf, (int)ReadSize).Fill(1);
        var mats = types.Select(t => Matrix.Create(t)).ToArray();
        var x = BenchData.Activations(new Random(7), Cols);
        var y = new float[mats.Max(m => m.Rows)];
        try
        {
            var read = new List<double>();
            var gemv = types.Select(_ => new List<double>()).ToArray();
            var ratio = types.Select(_ => new List<double>()).ToArray();
            for (int round = -1; round < rounds; round++) // round -1 warms up (JIT, page tables)
            {
                var sw = Stopwatch.StartNew();
                ReadBandwidthBenchmarks.ReadAll(pool, buf, ReadSize);
                double r = ReadSize / sw.Elapsed.TotalSeconds / 1e9;
                if (round >= 0) read.Add(r);
                for (int i = 0; i < mats.Length; i++)
                {
                    var m = mats[i];
                    sw.Restart();
                    mm.Gemv(m.Type, m.Data, m.RowBytes, m.Rows, Cols, x, y.AsSpan(0, m.Rows));
                    double g = m.Bytes / sw.Elapsed.TotalSeconds / 1e9;
                    if (round < 0) continue;
                    gemv[i].Add(g);
                    ratio[i].Add(g / r);
                }
            }
            Console.WriteLine($"{threads} thread(s), {rounds} rounds, ISA {mm.Kernels.Isa}; matrices {Cols} wide, ≥ 1 GiB each; read buffer 1 GiB; {PeakRss.Describe()}");
            Console.WriteLine($"read          {Median(read),6:F1} GB/s (min {read.Min():F1}, max {read.Max():F1})");
            for (int i = 0; i < types.Length; i++)
                Console.WriteLine($"{GgmlTypeInfo.Name(types[i]),-8} gemv {Median(gemv[i]),6:F1} GB/s   ratio median {Median(ratio[i]):P0} " +
                                  $"(min {ratio[i].Min():P0}, max {ratio[i].Max():P0})");
            return 0;
        }
        finally
        {
            foreach (var m in mats) NativeMemory.AlignedFree(m.Data);
            NativeMemory.AlignedFree(buf);
        }
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private readonly struct Matrix(GgmlType type, byte* data, long rowBytes, int rows)
    {
        public GgmlType Type { get; } = type;
        public byte* Data { get; } = data;
        public long RowBytes { get; } = rowBytes;
        public int Rows { get; } = rows;
        public long Bytes => RowBytes * Rows;

        /// <summary>The output head's shape, with rows added until the matrix is at least 1 GiB; 64 distinct rows repeated.</summary>
        public static Matrix Create(GgmlType type)
        {
            long rowBytes = GgmlTypeInfo.RowBytes(type, Cols);
            int rows = (int)Math.Max(BaseRows, (ReadSize + rowBytes - 1) / rowBytes);
            byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * rows), 64);
            var rng = new Random(42);
            var distinct = Enumerable.Range(0, 64).Select(_ => BenchData.WeightRow(rng, type, Cols)).ToArray();
            for (int r = 0; r < rows; r++) distinct[r % 64].CopyTo(new Span<byte>(data + r * rowBytes, (int)rowBytes));
            return new Matrix(type, data, rowBytes, rows);
        }
    }
}
