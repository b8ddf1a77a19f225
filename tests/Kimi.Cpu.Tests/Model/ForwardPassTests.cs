using Kimi.Cpu.Gguf;
using Kimi.Cpu.Model;
using Kimi.Cpu.Synth;

namespace Kimi.Cpu.Tests.Model;

public class ForwardPassTests
{
    private static readonly int[] Prompt = [5, 17, 3, 90, 42, 42, 0, 61, 7, 33, 12, 80, 1, 95, 28, 50, 9, 70];

    private static void WithModel(GgmlType weights, bool legacy, Action<KimiModel> body, KimiModelOptions? options = null, int seed = 1)
    {
        string path = TinyModelFile.Write(weights, legacy, seed);
        try
        {
            using var m = KimiModel.Load(path, options ?? new KimiModelOptions { Threads = 2 });
            body(m);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(GgmlType.F32, GgmlType.F32)]
    [InlineData(GgmlType.F16, GgmlType.F16)]
    [InlineData(GgmlType.Q8_0, GgmlType.F16)]
    [InlineData(GgmlType.Q4_0, GgmlType.BF16)]
    [InlineData(GgmlType.BF16, GgmlType.F16)]
    public void BatchAndStepGiveIdenticalLogits(GgmlType weights, GgmlType kv)
    {
        // every output of the engine depends only on its own token's row and the cache, never on batch composition
        WithModel(weights, legacy: false, m =>
        {
            var batch = m.Logits(Prompt, LogitsMode.Batch);
            var step = m.Logits(Prompt, LogitsMode.Step);
            Assert.Equal(Prompt.Length, batch.Length);
            for (int i = 0; i < Prompt.Length; i++)
            {
                Assert.All(batch[i], v => Assert.True(float.IsFinite(v)));
                Assert.Equal(batch[i], step[i]);
            }
        }, new KimiModelOptions { Threads = 2, KvCacheType = kv });
    }

    /// <summary>Two contexts of one model driven from two threads at once (they share its thread pool) give the logits
    /// of running them one after the other. The synthetic tiny preset: its matmuls are big enough to go to the pool.</summary>
    [Fact]
    public void ContextsOnTwoThreadsGiveTheirSequentialLogits()
    {
        string path = Kimi.Cpu.Tests.Synth.SynthModelCache.Get(new SynthOptions { Preset = SynthPreset.Tiny, ExpertType = GgmlType.Q8_0, DenseType = GgmlType.Q8_0 });
        using var m = KimiModel.Load(path, new KimiModelOptions { Threads = 3, ContextLength = 64, BatchSize = 16 });
        var rng = new Random(8);
        int[][] prompts = [.. Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 24).Select(_ => rng.Next(SynthPreset.Tiny.VocabSize - SynthPreset.SpecialTokenCount)).ToArray())];
        float[] Run(int who)
        {
            using var ctx = m.CreateContext(contextLength: 64, batchSize: 16);
            var last = new float[ctx.VocabSize];
            var sum = new float[ctx.VocabSize];
            for (int rep = 0; rep < 15; rep++)
            {
                ctx.ClearSequence(0);
                ctx.Prefill(0, prompts[who], last);
                for (int step = 0; step < 4; step++) ctx.Decode(0, 100 + step, last);
                for (int v = 0; v < sum.Length; v++) sum[v] = rep == 0 ? last[v] : (sum[v] == last[v] ? sum[v] : float.NaN); // every repeat the same
            }
            return sum;
        }
        float[][] sequential = [Run(0), Run(1)];
        var concurrent = new float[2][];
        var threads = Enumerable.Range(0, 2).Select(who => new Thread(() => concurrent[who] = Run(who)) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        Assert.True(threads.All(t => t.Join(TimeSpan.FromSeconds(120))), "the two contexts did not finish");
        for (int who = 0; who < 2; who++)
        {
            Assert.All(sequential[who], v => Assert.False(float.IsNaN(v)));
            Assert.Equal(sequential[who], concurrent[who]);
        }
    }

    [Fact]
    public void LogitsDependOnContext()
    {
        WithModel(GgmlType.F32, false, m =>
        {
            var a = m.Logits([1, 2, 3, 4], LogitsMode.Batch);
            var b = m.Logits([9, 2, 3, 4], LogitsMode.Batch);
            Assert.NotEqual(a[3], b[3]);
            Assert.Equal(m.Logits([1], LogitsMode.Batch)[0], a[0]); // causal: later tokens do not change earlier logits
        });
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public void SequencesInOneDecodeStepMatchSeparateRuns(GgmlType kv)
    {
        WithModel(GgmlType.F32, false, m =>
        {
            int[] s0 = [4, 8, 15, 16, 23, 42], s1 = [11, 7, 3];
            var solo0 = m.Logits(s0, LogitsMode.Step);
            var solo1 = m.Logits(s1, LogitsMode.Step);
            using var ctx = m.CreateContext(contextLength: 16, maxSequences: 3, batchSize: 4);
            int v = ctx.VocabSize;
            var last = new float[v];
            ctx.Prefill(0, s0.AsSpan(0, 4), last);                 // sequence 0: 4 tokens as one batch
            Assert.Equal(solo0[3], last);
            ctx.Prefill(2, [1, 2], last);                            // an unrelated sequence in between
            var two = new float[2 * v];
            ctx.Decode([1, 0], [s1[0], s0[4]], two);                 // seq 1 starts while seq 0 continues
            Assert.Equal(solo1[0], two[..v]);
            Assert.Equal(solo0[4], two[v..]);
            ctx.Decode([0, 1], [s0[5], s1[1]], two);
            Assert.Equal(solo0[5], two[..v]);
            Assert.Equal(solo1[1], two[v..]);
            Assert.Equal(6, ctx.SequenceLength(0));
            Assert.Equal(2, ctx.SequenceLength(1));
            ctx.ClearSequence(1);
            ctx.Decode(1, s1[0], last);
            Assert.Equal(solo1[0], last);
        }, new KimiModelOptions { Threads = 2, KvCacheType = kv });
    }

    [Fact]
    public void SeveralPromptsInOneStepMatchSeparateRuns()
    {
        WithModel(GgmlType.Q8_0, false, m =>
        {
            int[] a = [4, 8, 15, 16], b = [23, 42, 7];
            var soloA = m.Logits(a, LogitsMode.Batch);
            var soloB = m.Logits(b, LogitsMode.Batch);
            using var ctx = m.CreateContext(contextLength: 8, maxSequences: 2, batchSize: 8);
            int v = ctx.VocabSize;
            var rows = new float[7 * v];
            // interleaved: a0 b0 a1 a2 b1 b2 a3
            ctx.Decode([0, 1, 0, 0, 1, 1, 0], [a[0], b[0], a[1], a[2], b[1], b[2], a[3]], rows);
            int[] srcSeq = [0, 1, 0, 0, 1, 1, 0], srcPos = [0, 0, 1, 2, 1, 2, 3];
            for (int i = 0; i < 7; i++)
                Assert.Equal((srcSeq[i] == 0 ? soloA : soloB)[srcPos[i]], rows.AsSpan(i * v, v).ToArray());
            Assert.Equal((4, 3), (ctx.SequenceLength(0), ctx.SequenceLength(1)));
        });
    }

    [Fact]
    public void PromptLongerThanBatchIsSplit()
    {
        WithModel(GgmlType.F32, false, m =>
        {
            var whole = m.Logits(Prompt, LogitsMode.Batch);
            using var ctx = m.CreateContext(contextLength: 64, batchSize: 5);
            var all = new float[Prompt.Length * ctx.VocabSize];
            ctx.Prefill(0, Prompt, all, allPositions: true);
            for (int i = 0; i < Prompt.Length; i++) Assert.Equal(whole[i], all.AsSpan(i * ctx.VocabSize, ctx.VocabSize).ToArray());
        });
    }

    [Fact]
    public void ThreadCountDoesNotChangeResults()
    {
        float[][]? one = null;
        WithModel(GgmlType.Q8_0, false, m => one = m.Logits(Prompt, LogitsMode.Batch), new KimiModelOptions { Threads = 1 });
        WithModel(GgmlType.Q8_0, false, m =>
        {
            var three = m.Logits(Prompt, LogitsMode.Batch);
            for (int i = 0; i < Prompt.Length; i++) Assert.Equal(one![i], three[i]);
        }, new KimiModelOptions { Threads = 3 });
    }

    /// <summary>
    /// A batch of 64 tokens or more takes llama.cpp's tiled flash attention (F32 query and accumulator, 64-cell tiles),
    /// one token at a time the one-chunk loop: with an F32 cache both compute the same function in F32, so the logits
    /// agree to float rounding; with an F16 cache the one-chunk loop's fp16 accumulator differs more, within fp16 noise.
    /// A 130-token prompt crosses two tile boundaries; the legacy MHA layout (one head per work item) takes the same path.
    /// The synthetic tiny preset (a realistic router): on the hand-made TinyModelFile one token's expert choice sits on a
    /// near-tie that fp16 noise flips after ~70 positions, which says nothing about attention.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32, false, 1e-4, 256)]
    [InlineData(GgmlType.F16, false, 0.02, 256)]
    [InlineData(GgmlType.F32, true, 1e-4, 256)]
    [InlineData(GgmlType.F16, true, 0.02, 256)]
    [InlineData(GgmlType.F32, false, 1e-4, 65)] // two tiled batches of 65: the second starts at position 65
    public void LongBatchTiledAttentionMatchesSteps(GgmlType kv, bool legacy, double tolerance, int batchSize)
    {
        string path = Kimi.Cpu.Tests.Synth.SynthModelCache.Get(new SynthOptions
        {
            Preset = SynthPreset.Tiny, ExpertType = GgmlType.F32, DenseType = GgmlType.F32, Layout = legacy ? MlaLayout.Joined : MlaLayout.Split,
        });
        var rng = new Random(3);
        int[] prompt = Enumerable.Range(0, 130).Select(_ => rng.Next(SynthPreset.Tiny.VocabSize - SynthPreset.SpecialTokenCount)).ToArray();
        using var m = KimiModel.Load(path, new KimiModelOptions { Threads = 2, KvCacheType = kv, ContextLength = 256, BatchSize = batchSize });
        var batch = m.Logits(prompt, LogitsMode.Batch);
        var step = m.Logits(prompt, LogitsMode.Step);
        double maxDiff = 0;
        for (int i = 0; i < prompt.Length; i++)
            for (int v = 0; v < batch[i].Length; v++)
            {
                Assert.True(float.IsFinite(batch[i][v]));
                maxDiff = Math.Max(maxDiff, Math.Abs(batch[i][v] - step[i][v]) / (1 + Math.Abs(step[i][v])));
            }
        Assert.InRange(maxDiff, 0, tolerance);
        Assert.True(maxDiff > 0 || kv == GgmlType.F32, "the batch should not take the one-chunk path");
    }

    private static int[] LongPrompt(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(TinyModelFile.Vocab)).ToArray();
    }

    [Fact]
    public void TiledAttentionDoesNotDependOnThreadsOrSequenceMix()
    {
        int[] a = LongPrompt(70, 4), b = LongPrompt(40, 5);
        var opts = new KimiModelOptions { Threads = 1, KvCacheType = GgmlType.F16, ContextLength = 256, BatchSize = 256 };
        float[][]? one = null;
        WithModel(GgmlType.Q8_0, false, m => one = m.Logits(a, LogitsMode.Batch), opts);
        WithModel(GgmlType.Q8_0, false, m =>
        {
            var three = m.Logits(a, LogitsMode.Batch);
            for (int i = 0; i < a.Length; i++) Assert.Equal(one![i], three[i]);
            // a in one batch with b's 40 tokens interleaved (110 tokens: tiled for both): each row only depends on its
            // own sequence, so a's rows equal a alone (tiled too)
            using var ctx = m.CreateContext(contextLength: 128, maxSequences: 2, batchSize: 128);
            int v = ctx.VocabSize, n = a.Length + b.Length;
            var seqs = new int[n];
            var toks = new int[n];
            int ia = 0, ib = 0;
            for (int i = 0; i < n; i++)
            {
                bool takeB = ib < b.Length && (i % 3 == 1 || ia == a.Length);
                seqs[i] = takeB ? 1 : 0;
                toks[i] = takeB ? b[ib++] : a[ia++];
            }
            var rows = new float[n * v];
            ctx.Decode(seqs, toks, rows);
            for (int i = 0, pa = 0; i < n; i++)
                if (seqs[i] == 0) Assert.Equal(one![pa++], rows.AsSpan(i * v, v).ToArray());
        }, opts with { Threads = 3 });
    }

    /// <summary>One token at a time, the heads are grouped by batch size and thread count (1 thread: all 4 heads in one
    /// group; 3 threads: groups of 1): a head's scores and accumulator must not depend on its group.</summary>
    [Fact]
    public void StepLogitsDoNotDependOnThreadCount()
    {
        float[][]? one = null;
        WithModel(GgmlType.F16, false, m => one = m.Logits(Prompt, LogitsMode.Step), new KimiModelOptions { Threads = 1 });
        WithModel(GgmlType.F16, false, m =>
        {
            var three = m.Logits(Prompt, LogitsMode.Step);
            for (int i = 0; i < Prompt.Length; i++) Assert.Equal(one![i], three[i]);
        }, new KimiModelOptions { Threads = 3 });
    }

    [Theory]
    [InlineData(AttentionNumerics.Standard)]
    [InlineData(AttentionNumerics.Flash)]
    public void LegacyMhaLayoutComputesTheSameFunctionAsMla(AttentionNumerics numerics)
    {
        // the legacy file's attn_kv_b holds the same W_k/W_v as the MLA file's attn_k_b/attn_v_b: absorbed MLA
        // and decompressed MHA are the same mathematics, so with F32 weights and cache only rounding differs
        var opts = new KimiModelOptions { Threads = 2, KvCacheType = GgmlType.F32, Attention = numerics };
        float[][]? mla = null;
        WithModel(GgmlType.F32, legacy: false, m => { Assert.True(m.Config.IsMla); mla = m.Logits(Prompt, LogitsMode.Batch); }, opts);
        WithModel(GgmlType.F32, legacy: true, m =>
        {
            Assert.False(m.Config.IsMla);
            var mha = m.Logits(Prompt, LogitsMode.Step);
            for (int i = 0; i < Prompt.Length; i++)
                for (int v = 0; v < mha[i].Length; v++)
                    Assert.True(MathF.Abs(mha[i][v] - mla![i][v]) < 1e-3f * (1 + MathF.Abs(mla[i][v])), $"pos {i} logit {v}: {mha[i][v]} vs {mla[i][v]}");
        }, opts);
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public void FlashAndStandardAttentionAgreeClosely(GgmlType kv)
    {
        float[][]? std = null;
        // seed 2: with seed 1 one token's expert choice sits on a near-tie that the fp16 rounding difference flips
        WithModel(GgmlType.F32, false, m => std = m.Logits(Prompt, LogitsMode.Batch), new KimiModelOptions { Threads = 2, KvCacheType = kv, Attention = AttentionNumerics.Standard }, seed: 2);
        WithModel(GgmlType.F32, false, m =>
        {
            var fa = m.Logits(Prompt, LogitsMode.Batch);
            double maxDiff = 0;
            for (int i = 0; i < Prompt.Length; i++)
                for (int v = 0; v < fa[i].Length; v++) maxDiff = Math.Max(maxDiff, Math.Abs(fa[i][v] - std![i][v]));
            Assert.InRange(maxDiff, 0, kv == GgmlType.F32 ? 1e-4 : 0.02); // different fp16 roundings, same function
        }, new KimiModelOptions { Threads = 2, KvCacheType = kv, Attention = AttentionNumerics.Flash }, seed: 2);
    }
}

public class ModelLoadErrorTests
{
    private static GgufException LoadFails(string path)
    {
        try { return Assert.Throws<GgufException>(() => KimiModel.Load(path).Dispose()); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var e = LoadFails(TinyModelFile.Write(drop: "blk.1.ffn_down_exps.weight"));
        Assert.Contains("blk.1.ffn_down_exps.weight", e.Message);
        e = LoadFails(TinyModelFile.Write(legacy: true, drop: "blk.0.attn_kv_b.weight"));
        Assert.Contains("blk.0.attn_kv_b.weight", e.Message);
    }

    [Fact]
    public void WrongShapeIsNamedWithBothShapes()
    {
        var e = LoadFails(TinyModelFile.Write(transpose: "blk.2.attn_output.weight"));
        Assert.Contains("blk.2.attn_output.weight", e.Message);
        Assert.Contains($"[{TinyModelFile.Embd}, {TinyModelFile.Heads * TinyModelFile.VHead}]", e.Message);
        Assert.Contains($"expected [{TinyModelFile.Heads * TinyModelFile.VHead}, {TinyModelFile.Embd}]", e.Message);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        string path = TinyModelFile.Write();
        try
        {
            using var m = KimiModel.Load(path, new KimiModelOptions { Threads = 1 });
            using var ctx = m.CreateContext(contextLength: 4, maxSequences: 2, batchSize: 2);
            var logits = new float[ctx.VocabSize];
            Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Prefill(0, [TinyModelFile.Vocab], logits));
            Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Prefill(2, [1], logits));
            Assert.Throws<ArgumentException>(() => ctx.Prefill(0, [1], new float[3]));
            Assert.Throws<InvalidOperationException>(() => ctx.Prefill(0, [1, 2, 3, 4, 5], logits));
            Assert.Throws<ArgumentException>(() => ctx.Decode([1, 1, 1], [3, 4, 5], new float[3 * ctx.VocabSize])); // > batch size
            Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateContext(contextLength: 0));
            Assert.Equal(0, ctx.SequenceLength(0)); // failed calls leave the sequence untouched
        }
        finally { File.Delete(path); }
    }
}

public class ModelAllocationTests
{
    [Fact]
    public void DecodeAndPrefillAllocateNothingOnTheCallingThread()
    {
        string path = TinyModelFile.Write(GgmlType.Q8_0);
        try
        {
            using var m = KimiModel.Load(path, new KimiModelOptions { Threads = 1 });
            using var ctx = m.CreateContext(contextLength: 32, maxSequences: 2, batchSize: 8);
            var logits = new float[2 * ctx.VocabSize];
            int[] prompt = [1, 2, 3, 4, 5];
            ctx.Prefill(0, prompt, logits);          // warm-up (JIT, lazy tables)
            ctx.Decode(0, 7, logits);
            long before = GC.GetAllocatedBytesForCurrentThread();
            ctx.Prefill(1, prompt, logits);
            for (int i = 0; i < 5; i++) ctx.Decode(0, 10 + i, logits.AsSpan(0, ctx.VocabSize));
            ctx.Decode([0, 1], [20, 21], logits);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally { File.Delete(path); }
    }
}

public class PrefetchTests
{
    [Fact]
    public void PrefetchReportsMonotonicProgressToOne()
    {
        string path = Kimi.Cpu.Tests.Synth.SynthModelCache.Get(new SynthOptions { Preset = SynthPreset.Tiny });
        using var model = KimiModel.Load(path, new KimiModelOptions { Threads = 2 });
        foreach (bool experts in new[] { false, true })
        {
            var seen = new List<double>();
            model.Prefetch(experts, new SyncProgress(seen));
            Assert.Equal(0, seen[0]);
            Assert.Equal(1, seen[^1]);
            Assert.True(seen.Count >= 3, $"{seen.Count} reports");
            Assert.All(seen, v => Assert.InRange(v, 0, 1));
        }
    }

    private sealed class SyncProgress(List<double> seen) : IProgress<double>
    {
        public void Report(double value)
        {
            lock (seen) seen.Add(value);
        }
    }
}
