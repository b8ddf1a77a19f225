using Kimi.Cpu.Gguf;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Synth;

/// <summary>How multi-head latent attention's key/value up-projection is stored.</summary>
public enum MlaLayout
{
    /// <summary>Current mainline layout: <c>attn_k_b</c> / <c>attn_v_b</c>, head_count_kv 1, <c>*_mla</c> keys.</summary>
    Split,

    /// <summary>Legacy layout: one joined <c>attn_kv_b</c>, head_count_kv = head_count, no <c>*_mla</c> keys.</summary>
    Joined,
}

/// <summary>Options of <see cref="SyntheticModel.Write(string, SynthOptions)"/>.</summary>
public sealed record SynthOptions
{
    public SynthPreset Preset { get; init; } = SynthPreset.Tiny;

    /// <summary>Type of the routed-expert tensors.</summary>
    public GgmlType ExpertType { get; init; } = GgmlType.F32;

    /// <summary>Type of every other matrix (attention, dense and shared FFN, embeddings, output). Norms, router and bias stay F32.</summary>
    public GgmlType DenseType { get; init; } = GgmlType.F32;

    public ulong Seed { get; init; } = 1;

    public MlaLayout Layout { get; init; } = MlaLayout.Split;

    /// <summary>Multiplies the routing correction bias; 0 gives the same model with the bias zeroed (for tests).</summary>
    public float CorrectionBiasScale { get; init; } = 1f;

    /// <summary>
    /// Write every weight as zeros in a sparse file: right header, shapes and sizes, written instantly even for k2slice.
    /// For layout, loader and <c>info</c> checks only; the model computes nothing meaningful.
    /// </summary>
    public bool ShapesOnly { get; init; }

    /// <summary>Replaces the Kimi chat template written to <c>tokenizer.chat_template</c> (tests of other templates).</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Threads used to generate and quantize weights.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// Writes deterministic GGUF models with architecture <c>deepseek2</c> and Kimi K2's hyper-parameters (sigmoid gating
/// with correction bias, expert_weights_scale 2.827, normalized top-k, YaRN factor 32 over 4096, one leading dense layer,
/// one shared expert), a byte-level BPE vocabulary with Kimi's special tokens, pre-tokenizer <c>kimi-k2</c>, and the
/// Kimi chat template.
/// </summary>
/// <remarks>
/// The weights are scaled to make a well-conditioned network: each block adds a modest update to a residual stream of
/// unit scale (small output projections), the router and the head have moderate gains. Plain random weights make a chaotic
/// network in which one rounding difference flips the output, and then no comparison between engines means anything.
/// The gains below were tuned with llama.cpp on the mini preset (see tests/Kimi.Cpu.Tests/Synth).
/// </remarks>
public static class SyntheticModel
{
    // Kimi K2 (July 2025) hyper-parameters that are not shapes.
    public const uint ContextLength = 131072;
    public const float RopeFreqBase = 50000f;
    public const float YarnFactor = 32f;
    public const uint YarnOriginalContext = 4096;
    public const float YarnLogMultiplier = 0.1f;
    public const float RmsEps = 1e-6f;
    public const float ExpertWeightsScale = 2.827f;

    // Conditioning gains (std of an output element, for unit-scale inputs).
    internal const float EmbeddingStd = 1.0f;
    internal const float OutputGain = 4.5f;
    internal const float AttentionOutputGain = 0.08f;
    internal const float DenseDownGain = 0.12f;
    internal const float ExpertDownGain = 0.05f;
    internal const float RouterGain = 1.0f;
    internal const float CorrectionBiasRange = 0.8f;
    internal const float NormJitter = 0.1f;

    private const float Sqrt3 = 1.7320508f;

    /// <summary>Writes the model to <paramref name="path"/>.</summary>
    public static void Write(string path, SynthOptions options)
    {
        // a unique temporary name: several processes may create the same (deterministic) file at once; the rename is atomic
        string tmp = $"{path}.{Guid.NewGuid():N}.partial";
        try
        {
            using (var w = new GgufWriter(tmp))
            {
                Write(w, options);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Declares metadata and tensors on <paramref name="w"/> and streams all tensor data.</summary>
    public static void Write(GgufWriter w, SynthOptions options)
    {
        foreach (var t in new[] { options.ExpertType, options.DenseType })
            if (!Quantizer.CanQuantizeWithImportance(t)) throw new ArgumentException($"weight type {GgmlTypeInfo.Name(t)} cannot be generated");
        var p = options.Preset;
        var vocab = SynthVocabulary.Build(p.VocabSize, p.TrainedMerges);
        WriteMetadata(w, options, vocab);
        var specs = TensorSpecs(options);
        foreach (var s in specs) w.AddTensor(s.Name, s.Type, s.Shape);
        foreach (var s in specs)
        {
            if (options.ShapesOnly) w.SkipTensorData();
            else WriteTensor(w, s, options.Threads);
        }
        w.Finish();
    }

    private static void WriteMetadata(GgufWriter w, SynthOptions o, SynthVocabulary vocab)
    {
        var p = o.Preset;
        const string a = "deepseek2";
        w.AddMetadata("general.architecture", a);
        w.AddMetadata("general.name", $"Kimi-K2 synthetic {p.Name}");
        w.AddMetadata("general.file_type", ModelQuantizer.FileType(o.ExpertType));
        w.AddMetadata("general.quantization_version", 2u);
        w.AddMetadata($"{a}.context_length", ContextLength);
        w.AddMetadata($"{a}.embedding_length", (uint)p.EmbeddingLength);
        w.AddMetadata($"{a}.block_count", (uint)p.BlockCount);
        w.AddMetadata($"{a}.feed_forward_length", (uint)p.FeedForwardLength);
        w.AddMetadata($"{a}.attention.head_count", (uint)p.HeadCount);
        if (o.Layout == MlaLayout.Split)
        {
            w.AddMetadata($"{a}.attention.head_count_kv", 1u);
            w.AddMetadata($"{a}.attention.key_length", (uint)(p.KvLoraRank + p.QkRopeHeadDim));
            w.AddMetadata($"{a}.attention.value_length", (uint)p.KvLoraRank);
            w.AddMetadata($"{a}.attention.key_length_mla", (uint)(p.QkNopeHeadDim + p.QkRopeHeadDim));
            w.AddMetadata($"{a}.attention.value_length_mla", (uint)p.VHeadDim);
        }
        else
        {
            w.AddMetadata($"{a}.attention.head_count_kv", (uint)p.HeadCount);
            w.AddMetadata($"{a}.attention.key_length", (uint)(p.QkNopeHeadDim + p.QkRopeHeadDim));
            w.AddMetadata($"{a}.attention.value_length", (uint)p.VHeadDim);
        }
        w.AddMetadata($"{a}.rope.dimension_count", (uint)p.QkRopeHeadDim);
        w.AddMetadata($"{a}.rope.freq_base", RopeFreqBase);
        w.AddMetadata($"{a}.rope.scaling.type", "yarn");
        w.AddMetadata($"{a}.rope.scaling.factor", YarnFactor);
        w.AddMetadata($"{a}.rope.scaling.original_context_length", YarnOriginalContext);
        w.AddMetadata($"{a}.rope.scaling.yarn_log_multiplier", YarnLogMultiplier);
        w.AddMetadata($"{a}.attention.layer_norm_rms_epsilon", RmsEps);
        w.AddMetadata($"{a}.leading_dense_block_count", 1u);
        w.AddMetadata($"{a}.attention.q_lora_rank", (uint)p.QLoraRank);
        w.AddMetadata($"{a}.attention.kv_lora_rank", (uint)p.KvLoraRank);
        w.AddMetadata($"{a}.expert_feed_forward_length", (uint)p.ExpertFeedForwardLength);
        w.AddMetadata($"{a}.expert_count", (uint)p.ExpertCount);
        w.AddMetadata($"{a}.expert_used_count", (uint)p.ExpertUsedCount);
        w.AddMetadata($"{a}.expert_shared_count", 1u);
        w.AddMetadata($"{a}.expert_group_count", 1u);
        w.AddMetadata($"{a}.expert_group_used_count", 1u);
        w.AddMetadata($"{a}.expert_weights_scale", ExpertWeightsScale);
        w.AddMetadata($"{a}.expert_weights_norm", true);
        w.AddMetadata($"{a}.expert_gating_func", 2u);
        w.AddMetadata($"{a}.vocab_size", (uint)p.VocabSize);
        w.AddMetadata("tokenizer.ggml.model", "gpt2");
        w.AddMetadata("tokenizer.ggml.pre", "kimi-k2");
        w.AddMetadata("tokenizer.ggml.tokens", GgufValue.From(vocab.Tokens));
        w.AddMetadata("tokenizer.ggml.token_type", GgufValue.From(vocab.TokenTypes));
        w.AddMetadata("tokenizer.ggml.merges", GgufValue.From(vocab.Merges));
        w.AddMetadata("tokenizer.ggml.bos_token_id", (uint)vocab.BosId);
        w.AddMetadata("tokenizer.ggml.eos_token_id", (uint)vocab.EosId);
        w.AddMetadata("tokenizer.ggml.padding_token_id", (uint)vocab.PadId);
        w.AddMetadata("tokenizer.ggml.add_bos_token", false);
        w.AddMetadata("tokenizer.chat_template", o.ChatTemplate ?? SynthVocabulary.ReadResource("kimi-k2-chat-template.jinja"));
    }

    // ------------------------------------------------------------------ tensors

    /// <summary>One tensor to write: rows of <c>Shape[0]</c> values produced by <see cref="Fill"/>.</summary>
    private sealed record TensorSpec(string Name, GgmlType Type, long[] Shape, Func<long, int, float> Fill);

    private static List<TensorSpec> TensorSpecs(SynthOptions o)
    {
        var p = o.Preset;
        ulong seed = o.Seed;
        int n = p.EmbeddingLength, H = p.HeadCount, nope = p.QkNopeHeadDim, rope = p.QkRopeHeadDim, v = p.VHeadDim;
        int kvr = p.KvLoraRank, qr = p.QLoraRank, E = p.ExpertCount, fe = p.ExpertFeedForwardLength;
        var list = new List<TensorSpec>();

        // Generic dense weight: uniform with the given std; value depends only on (seed, name, flat index).
        TensorSpec Mat(string name, GgmlType type, float std, params long[] shape)
        {
            ulong key = SynthRandom.Key(seed, name);
            float amp = std * Sqrt3;
            return new TensorSpec(name, type, shape, (row, col) => amp * SynthRandom.Uniform(key, row * shape[0] + col));
        }

        TensorSpec Norm(string name, long len)
        {
            ulong key = SynthRandom.Key(seed, name);
            return new TensorSpec(name, GgmlType.F32, [len], (_, col) => 1f + NormJitter * SynthRandom.Uniform(key, col));
        }

        GgmlType dense = o.DenseType, experts = o.ExpertType;
        list.Add(Mat("token_embd.weight", dense, EmbeddingStd, n, p.VocabSize));
        for (int il = 0; il < p.BlockCount; il++)
        {
            string b = $"blk.{il}.";
            list.Add(Norm(b + "attn_norm.weight", n));
            list.Add(Mat(b + "attn_q_a.weight", dense, 1f / MathF.Sqrt(n), n, qr));
            list.Add(Norm(b + "attn_q_a_norm.weight", qr));
            list.Add(Mat(b + "attn_q_b.weight", dense, 1f / MathF.Sqrt(qr), qr, H * (nope + rope)));
            list.Add(Mat(b + "attn_kv_a_mqa.weight", dense, 1f / MathF.Sqrt(n), n, kvr + rope));
            list.Add(Norm(b + "attn_kv_a_norm.weight", kvr));

            // W_k[h][d][r] and W_v[h][e][r] as in the HF checkpoint's kv_b_proj; both layouts are views of these.
            ulong kKey = SynthRandom.Key(seed, b + "wk"), vKey = SynthRandom.Key(seed, b + "wv");
            float kvAmp = Sqrt3 / MathF.Sqrt(kvr);
            float Wk(long h, long d, long r) => kvAmp * SynthRandom.Uniform(kKey, (h * nope + d) * kvr + r);
            float Wv(long h, long e, long r) => kvAmp * SynthRandom.Uniform(vKey, (h * v + e) * kvr + r);
            if (o.Layout == MlaLayout.Split)
            {
                // attn_k_b {nope, kvr, H}: row = r + kvr·h, col = d.  attn_v_b {kvr, v, H}: row = e + v·h, col = r.
                list.Add(new TensorSpec(b + "attn_k_b.weight", dense, [nope, kvr, H], (row, d) => Wk(row / kvr, d, row % kvr)));
                list.Add(new TensorSpec(b + "attn_v_b.weight", dense, [kvr, v, H], (row, r) => Wv(row / v, row % v, r)));
            }
            else
            {
                // attn_kv_b {kvr, H·(nope+v)}: row h·(nope+v)+j is W_k[h][j] for j < nope, else W_v[h][j-nope].
                list.Add(new TensorSpec(b + "attn_kv_b.weight", dense, [kvr, H * (nope + v)], (row, r) =>
                {
                    long h = row / (nope + v), j = row % (nope + v);
                    return j < nope ? Wk(h, j, r) : Wv(h, j - nope, r);
                }));
            }
            list.Add(Mat(b + "attn_output.weight", dense, AttentionOutputGain / MathF.Sqrt(H * v), H * v, n));
            list.Add(Norm(b + "ffn_norm.weight", n));
            if (il < 1)
            {
                list.Add(Mat(b + "ffn_gate.weight", dense, 1f / MathF.Sqrt(n), n, p.FeedForwardLength));
                list.Add(Mat(b + "ffn_up.weight", dense, 1f / MathF.Sqrt(n), n, p.FeedForwardLength));
                list.Add(Mat(b + "ffn_down.weight", dense, DenseDownGain / MathF.Sqrt(p.FeedForwardLength), p.FeedForwardLength, n));
            }
            else
            {
                list.Add(Mat(b + "ffn_gate_inp.weight", GgmlType.F32, RouterGain / MathF.Sqrt(n), n, E));
                ulong biasKey = SynthRandom.Key(seed, b + "exp_probs_b.bias");
                float biasScale = CorrectionBiasRange * o.CorrectionBiasScale;
                list.Add(new TensorSpec(b + "exp_probs_b.bias", GgmlType.F32, [E], (_, e) => biasScale * SynthRandom.Uniform(biasKey, e)));
                list.Add(Mat(b + "ffn_gate_exps.weight", experts, 1f / MathF.Sqrt(n), n, fe, E));
                list.Add(Mat(b + "ffn_up_exps.weight", experts, 1f / MathF.Sqrt(n), n, fe, E));
                list.Add(Mat(b + "ffn_down_exps.weight", experts, ExpertDownGain / MathF.Sqrt(fe), fe, n, E));
                list.Add(Mat(b + "ffn_gate_shexp.weight", dense, 1f / MathF.Sqrt(n), n, fe));
                list.Add(Mat(b + "ffn_up_shexp.weight", dense, 1f / MathF.Sqrt(n), n, fe));
                list.Add(Mat(b + "ffn_down_shexp.weight", dense, ExpertDownGain / MathF.Sqrt(fe), fe, n));
            }
        }
        list.Add(Norm("output_norm.weight", n));
        list.Add(Mat("output.weight", dense, OutputGain / MathF.Sqrt(n), n, p.VocabSize));
        return list;
    }

    /// <summary>Generates and quantizes rows in parallel, in chunks, and writes them in order.</summary>
    private static void WriteTensor(GgufWriter w, TensorSpec s, int threads)
    {
        long rows = 1;
        for (int i = 1; i < s.Shape.Length; i++) rows *= s.Shape[i];
        // The types ggml only quantizes with an importance matrix (IQ2_XXS, IQ2_XS, IQ1_S) get a uniform one: the weights
        // are random, so no column matters more than another.
        float[]? importance = Quantizer.RequiresImportance(s.Type) ? Enumerable.Repeat(1f, checked((int)s.Shape[0])).ToArray() : null;
        RowQuantizer.Write(w, s.Type, checked((int)s.Shape[0]), rows, (r, row) =>
        {
            for (int c = 0; c < row.Length; c++) row[c] = s.Fill(r, c);
        }, threads, importance);
    }
}
