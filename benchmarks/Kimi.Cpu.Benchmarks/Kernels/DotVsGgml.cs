using System.Diagnostics;
using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Oracle.Ggml;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// Each type's dot kernel against llama.cpp's own (ggml-cpu's vec_dot, from the LLamaSharp.Backend.Cpu native library), side
/// by side in one process: the same 64 weight rows of 7168 (in L2), each side with the activation quantized by its own
/// quantizer, one thread, the two timed alternately, best of the rounds. Prints GB/s of weights for both, their ratio, and
/// the relative difference of the two sums (they use different activation roundings, so not zero).
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- dot-vs-ggml [TYPES] [ROUNDS] [ISA]
/// e.g. <c>dot-vs-ggml iq1_s,iq2_xxs,q4_0 15 avx512</c>.
/// </summary>
public static unsafe class DotVsGgml
{
    private const int Cols = 7168, Rows = 64, CallsPerRound = 20_000;

    public static int Run(string[] args)
    {
        GgmlType[] types = (args.Length > 0 ? args[0] : "q4_0,q8_0,q4_k,q6_k").Split(',')
            .Select(s => GgmlTypeInfo.TryParse(s, out var t) ? t : throw new ArgumentException($"unknown type '{s}'")).ToArray();
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 15;
        var kernels = KernelSet.Create(args.Length > 2 ? KernelIsas.Resolve(args[2]) : KernelIsa.Auto);
        Console.WriteLine($"1 thread, {Rows} rows of {Cols} (in L2), best of {rounds} rounds; ggml-cpu from {GgmlNative.Directory}");
        Console.WriteLine($"{"type",-8} {"kimi.cpu dot",-28} {"GB/s",6} {"ggml GB/s",9} {"ratio",6} {"rel. diff",9}");
        foreach (var type in types) Measure(type, kernels, rounds);
        return 0;
    }

    private static void Measure(GgmlType type, KernelSet kernels, int rounds)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, Cols);
        GgmlType ggmlAct = GgmlNative.VecDotType(type);
        var rng = new Random(11);
        byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * Rows), 64);
        byte* ours = (byte*)NativeMemory.AlignedAlloc((nuint)ActivationFormat.RowBytes(type, Cols), 64);
        byte* theirs = (byte*)NativeMemory.AlignedAlloc((nuint)GgmlNative.RowSize(ggmlAct, Cols) + 64, 64);
        try
        {
            for (int r = 0; r < Rows; r++) BenchData.WeightRow(rng, type, Cols).CopyTo(new Span<byte>(w + r * rowBytes, (int)rowBytes));
            float[] x = BenchData.Activations(rng, Cols);
            fixed (float* px = x) kernels.Quantizer(type)(px, ours, Cols);
            GgmlNative.QuantizeRowCpu(ggmlAct, x, new Span<byte>(theirs, (int)GgmlNative.RowSize(ggmlAct, Cols)));
            var dot = kernels.Dot(type);
            var vecDot = GgmlNative.VecDotFunction(type);
            double a = 0, b = 0;
            for (int r = 0; r < Rows; r++)
            {
                a += dot(w + r * rowBytes, ours, Cols);
                float s;
                vecDot(Cols, &s, 0, w + r * rowBytes, 0, theirs, 0, 1);
                b += s;
            }
            // Warm-up: call the kernel for a while, then pause, twice, so the tiered JIT has installed its optimized code
            // (measured from cold, a kernel ran its first rounds at a tenth of its speed).
            for (int pass = 0; pass < 2; pass++)
            {
                var warm = Stopwatch.StartNew();
                float sink = 0;
                for (int i = 0; warm.ElapsedMilliseconds < 300; i++) sink += dot(w + (i % Rows) * rowBytes, ours, Cols);
                Thread.Sleep(150);
                if (sink == 1234.5f) Console.Write("");
            }
            double best = double.MaxValue, bestGgml = double.MaxValue;
            for (int round = 0; round < rounds; round++)
            {
                float sink = 0;
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < CallsPerRound; i++) sink += dot(w + (i % Rows) * rowBytes, ours, Cols);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                sw.Restart();
                for (int i = 0; i < CallsPerRound; i++)
                {
                    float s;
                    vecDot(Cols, &s, 0, w + (i % Rows) * rowBytes, 0, theirs, 0, 1);
                    sink += s;
                }
                bestGgml = Math.Min(bestGgml, sw.Elapsed.TotalSeconds);
                if (sink == 1234.5f) Console.Write("");
            }
            double gb = (double)CallsPerRound * rowBytes / 1e9;
            Console.WriteLine($"{GgmlTypeInfo.Name(type),-8} {kernels.DotName(type),-28} {gb / best,6:F2} {gb / bestGgml,9:F2} {bestGgml / best,6:F2} " +
                              $"{Math.Abs(a - b) / Math.Max(1e-30, Math.Abs(b)),9:E1}");
        }
        finally
        {
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(ours);
            NativeMemory.AlignedFree(theirs);
        }
    }
}
