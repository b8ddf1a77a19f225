using System.Runtime.InteropServices;
using Kimi.Cpu.Cli;
using Kimi.Cpu.Oracle;
using Kimi.Cpu.Synth;
using Kimi.Cpu.Tests.Synth;

namespace Kimi.Cpu.Tests.Cli;

/// <summary><c>kimi-cpu logits</c> writes n_tokens × n_vocab float32 rows that match llama.cpp on the same file.</summary>
public class LogitsCommandTests
{
    [Theory]
    [InlineData("batch", LlamaEvalMode.Batch)]
    [InlineData("step", LlamaEvalMode.Step)]
    public void FileMatchesLlamaCpp(string mode, LlamaEvalMode llamaMode)
    {
        string model = SynthModelCache.Get(new SynthOptions { Preset = SynthPreset.Tiny });
        int[] tokens = SynthConditioningTests.Prompt(40, 3, 1024);
        string outPath = Path.Combine(Path.GetTempPath(), $"kimi-logits-{Guid.NewGuid():N}.bin");
        try
        {
            var err = new StringWriter();
            int code = CliApp.Run(["logits", "--model", model, "--tokens", string.Join(",", tokens), "--out", outPath, "--mode", mode, "--threads", "2"], new StringWriter(), err);
            Assert.True(code == 0, err.ToString());
            float[] flat = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(outPath)).ToArray();
            int vocab = SynthPreset.Tiny.VocabSize;
            Assert.Equal(tokens.Length * vocab, flat.Length);
            var ours = Enumerable.Range(0, tokens.Length).Select(i => flat.AsSpan(i * vocab, vocab).ToArray()).ToArray();
            using var llama = LlamaOracle.Load(model);
            var cmp = LogitComparison.Compare(llama.Logits(tokens, llamaMode), ours);
            // Same criteria as LlamaParityTests.AssertParity: close distributions, disagreements only at near ties.
            Assert.True(cmp.MeanKl <= 1e-3 && cmp.MaxKl <= 1e-2 && cmp.MaxMismatchMargin <= 0.1 && cmp.Top1Agreement >= 0.95, cmp.ToString());
        }
        finally
        {
            File.Delete(outPath);
        }
    }
}
