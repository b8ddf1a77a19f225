using System.Collections.Concurrent;
using Kimi.Cpu.Synth;

namespace Kimi.Cpu.Tests.Synth;

/// <summary>
/// Synthetic models shared by all tests of one run: each distinct option set is written once into a temporary folder,
/// removed when the test assembly finishes (<see cref="TestTempDirectory"/>).
/// </summary>
public static class SynthModelCache
{
    private static readonly string Dir = TestTempDirectory.Create("synth");
    private static readonly ConcurrentDictionary<SynthOptions, Lazy<string>> Files = new();
    private static int _unique;

    public static string Get(SynthOptions options) => Files.GetOrAdd(options, o => new Lazy<string>(() =>
    {
        string template = o.ChatTemplate is null ? "" : $"-t{(uint)o.ChatTemplate.GetHashCode():x8}{Interlocked.Increment(ref _unique)}";
        string name = $"{o.Preset.Name}-{o.ExpertType}-{o.DenseType}-{o.Layout}-s{o.Seed}-b{o.CorrectionBiasScale}{(o.ShapesOnly ? "-shapes" : "")}{template}.gguf";
        string path = Path.Combine(Dir, name);
        SyntheticModel.Write(path, o);
        return path;
    })).Value;
}
