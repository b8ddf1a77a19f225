using System.CommandLine;
using System.Diagnostics;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Synth;

namespace Kimi.Cpu.Cli.Commands;

/// <summary><c>kimi-cpu synth --preset P --out FILE</c>: write a deterministic synthetic Kimi K2 GGUF.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "tiny | mini | wide | k2slice", DefaultValueFactory = _ => "tiny" };
        var output = new Option<string>("--out", "-o") { Description = "Output GGUF path", Required = true };
        var experts = new Option<string?>("--experts") { Description = "Routed-expert weight type (f32, f16, bf16, q8_0, q4_0, the K-quants, the i-quants, tq1_0, tq2_0; IQ2_XXS, IQ2_XS and IQ1_S with a uniform importance matrix); default f32, q4_0 for k2slice" };
        var dense = new Option<string?>("--dense") { Description = "Type of all other matrices; default f32, q8_0 for k2slice" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1 };
        var layout = new Option<string>("--kv-layout") { Description = "split (attn_k_b/attn_v_b, current) | joined (attn_kv_b, legacy)", DefaultValueFactory = _ => "split" };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var shapesOnly = new Option<bool>("--shapes-only") { Description = "All-zero weights in a sparse file: instant, for layout and loader checks" };
        var cmd = new Command("synth", "Write a synthetic model with Kimi K2's architecture") { preset, output, experts, dense, seed, layout, threads, shapesOnly };
        cmd.SetAction(r =>
        {
            var p = SynthPreset.Find(r.GetValue(preset)!) ?? throw new CliException($"unknown preset '{r.GetValue(preset)}' (tiny, mini, wide, k2slice)");
            bool big = p == SynthPreset.K2Slice;
            var options = new SynthOptions
            {
                Preset = p,
                ExpertType = ParseType(r.GetValue(experts), big ? GgmlType.Q4_0 : GgmlType.F32, "--experts"),
                DenseType = ParseType(r.GetValue(dense), big ? GgmlType.Q8_0 : GgmlType.F32, "--dense"),
                Seed = r.GetValue(seed),
                Layout = r.GetValue(layout)?.ToLowerInvariant() switch
                {
                    "split" => MlaLayout.Split,
                    "joined" => MlaLayout.Joined,
                    var s => throw new CliException($"unknown --kv-layout '{s}' (split, joined)"),
                },
                Threads = Math.Max(1, r.GetValue(threads)),
                ShapesOnly = r.GetValue(shapesOnly),
            };
            string path = r.GetValue(output)!;
            var sw = Stopwatch.StartNew();
            SyntheticModel.Write(path, options);
            r.InvocationConfiguration.Output.WriteLine(
                $"wrote {path}: {p.Name}, experts {GgmlTypeInfo.Name(options.ExpertType)}, dense {GgmlTypeInfo.Name(options.DenseType)}, " +
                $"{options.Layout.ToString().ToLowerInvariant()} layout, {new FileInfo(path).Length / 1e6:F1} MB in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }

    internal static GgmlType ParseType(string? s, GgmlType fallback, string option)
    {
        if (s is null) return fallback;
        if (!GgmlTypeInfo.TryParse(s, out var t)) throw new CliException($"{option}: unknown type '{s}'");
        return t;
    }
}
