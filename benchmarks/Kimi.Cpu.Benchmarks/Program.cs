using BenchmarkDotNet.Running;

namespace Kimi.Cpu.Benchmarks;

public static class Program
{
    /// <summary>BenchmarkDotNet suites, <c>side-by-side MODEL …</c> (<see cref="Model.SideBySide"/>) or
    /// <c>bandwidth-ratio …</c> (<see cref="Kernels.BandwidthRatio"/>) or <c>dot-vs-ggml …</c> (<see cref="Kernels.DotVsGgml"/>).</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "side-by-side") return Model.SideBySide.Run(args[1..]);
        if (args.Length > 0 && args[0] == "bandwidth-ratio") return Kernels.BandwidthRatio.Run(args[1..]);
        if (args.Length > 0 && args[0] == "dot-vs-ggml") return Kernels.DotVsGgml.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
