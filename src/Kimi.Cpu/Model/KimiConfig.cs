using Kimi.Cpu.Gguf;

namespace Kimi.Cpu.Model;

/// <summary>How the router turns expert logits into probabilities (<c>%s.expert_gating_func</c>).</summary>
public enum ExpertGating
{
    Softmax = 1,
    Sigmoid = 2,
}

/// <summary>
/// Hyper-parameters of a <c>deepseek2</c> GGUF (Kimi K2, DeepSeek-V3), read the way llama.cpp's loader reads them
/// (spec §2), plus the constants llama.cpp derives from them at context creation (§2.4, §4.5). All derived floats are
/// computed in float32 with the same operations as llama.cpp so that RoPE and the attention scale match bit for bit.
/// </summary>
public sealed class KimiConfig
{
    public string Architecture { get; private init; } = "";
    public int ContextLengthTrain { get; private init; }
    public int EmbeddingLength { get; private init; }
    public int LayerCount { get; private init; }
    /// <summary>Dense FFN width per layer (only used for layers below <see cref="LeadingDenseBlockCount"/>).</summary>
    public int[] FeedForwardLength { get; private init; } = [];
    public int HeadCount { get; private init; }
    public int HeadCountKv { get; private init; }
    /// <summary><c>attention.key_length</c>: 576 in MLA files (cache row), 192 in legacy files.</summary>
    public int KeyLength { get; private init; }
    public int ValueLength { get; private init; }
    /// <summary>True when both <c>key_length_mla</c> and <c>value_length_mla</c> are present and non-zero.</summary>
    public bool IsMla { get; private init; }
    /// <summary>Per-head query/key width after decompression (192 for K2).</summary>
    public int KeyLengthMla { get; private init; }
    /// <summary>Per-head value width after decompression (128 for K2).</summary>
    public int ValueLengthMla { get; private init; }
    public int RopeDimensionCount { get; private init; }
    public float RopeFreqBase { get; private init; }
    public string RopeScalingType { get; private init; } = "linear";
    /// <summary>1/factor (1/32 for K2), or 1 when the file has no factor.</summary>
    public float RopeFreqScale { get; private init; }
    public int RopeOriginalContext { get; private init; }
    public float RopeAttnFactor { get; private init; }
    /// <summary><c>rope.scaling.yarn_log_multiplier</c> divided by 0.1 as llama.cpp does (1.0 for K2).</summary>
    public float RopeYarnLogMultiplier { get; private init; }
    public int ExpertCount { get; private init; }

    /// <summary>Most routed experts a model may declare (Kimi K2: 384).</summary>
    public const int MaxExperts = 65536;
    public int ExpertUsedCount { get; private init; }
    public int ExpertGroupCount { get; private init; }
    public int ExpertGroupUsedCount { get; private init; }
    public int ExpertFeedForwardLength { get; private init; }
    public int ExpertSharedCount { get; private init; }
    public float ExpertWeightsScale { get; private init; }
    public bool ExpertWeightsNorm { get; private init; }
    public ExpertGating ExpertGating { get; private init; }
    public int VocabSize { get; private init; }
    public float RmsNormEps { get; private init; }
    public int LeadingDenseBlockCount { get; private init; }
    /// <summary>0 for "lite" models, which use a single <c>attn_q</c> instead of <c>attn_q_a</c>/<c>attn_q_b</c>.</summary>
    public int QLoraRank { get; private init; }
    public int KvLoraRank { get; private init; }

    // ---- derived (spec §2.4, §4.5) ----

    /// <summary>Non-rotated part of each query/key head (128).</summary>
    public int QkNopeDim => KeyLengthMla - RopeDimensionCount;
    /// <summary>Rotated part of each query/key head (64).</summary>
    public int QkRopeDim => RopeDimensionCount;
    /// <summary>Per-head value width (128).</summary>
    public int VHeadDim => ValueLengthMla;
    /// <summary>Width of one MLA cache row: latent + rope part (576).</summary>
    public int MlaCacheRow => KvLoraRank + RopeDimensionCount;

    /// <summary>YaRN ramp mix factor: 1 for "yarn" scaling, else 0 (llama.cpp context default −1 = from the model).</summary>
    public float YarnExtFactor { get; private init; }
    public float YarnBetaFast { get; private init; } = 32f;
    public float YarnBetaSlow { get; private init; } = 1f;
    /// <summary>[low, high] YaRN correction dims ([8, 20] for K2).</summary>
    public float YarnCorrLow { get; private init; }
    public float YarnCorrHigh { get; private init; }
    /// <summary>attn_factor passed to RoPE (context <c>yarn_attn_factor</c>; 0.7426256 for K2).</summary>
    public float YarnAttnFactor { get; private init; }
    /// <summary>powf(base, −2/n_rot).</summary>
    public float RopeThetaScale { get; private init; }
    /// <summary>Attention score scale mscale²/√key_length_mla (0.1308608 for K2).</summary>
    public float KqScale { get; private init; }

    private const string Arch = "deepseek2";

    /// <summary>Reads and validates the hyper-parameters; a missing required key throws <see cref="GgufException"/>.</summary>
    public static KimiConfig FromGguf(GgufModel model)
    {
        string file = model.Files[0].Path;
        string arch = model.Architecture;
        if (arch != Arch)
            throw new GgufException(file, $"general.architecture is '{arch}', expected '{Arch}'");

        int ReqInt(string key) => checked((int)(model.TryGetInt($"{Arch}.{key}") ?? throw new GgufException(file, $"required metadata key '{Arch}.{key}' is missing")));
        int? OptInt(string key) => model.TryGetInt($"{Arch}.{key}") is long v ? checked((int)v) : null;
        float? OptFloat(string key) => model.TryGetFloat($"{Arch}.{key}") is double v ? (float)v : null;
        float ReqFloat(string key) => OptFloat(key) ?? throw new GgufException(file, $"required metadata key '{Arch}.{key}' is missing");

        int nCtxTrain = ReqInt("context_length");
        int nEmbd = ReqInt("embedding_length");
        int nLayer = ReqInt("block_count");
        if (nEmbd <= 0 || nLayer <= 0) throw new GgufException(file, $"embedding_length {nEmbd} / block_count {nLayer} must be positive");

        int[] ff = new int[nLayer];
        if (model.Metadata.TryGetValue($"{Arch}.feed_forward_length", out var ffv))
        {
            if (ffv.Type == GgufValueType.Array)
            {
                int[] arr = ffv.AsArray().ToInt32Array();
                if (arr.Length != nLayer) throw new GgufException(file, $"feed_forward_length has {arr.Length} entries for {nLayer} layers");
                ff = arr;
            }
            else Array.Fill(ff, checked((int)ffv.AsInt64()));
        }

        int nHead = OptInt("attention.head_count") ?? 0;
        if (nHead <= 0) throw new GgufException(file, $"{Arch}.attention.head_count is missing or 0");
        int nHeadKv = OptInt("attention.head_count_kv") ?? nHead;
        int keyLen = OptInt("attention.key_length") ?? nEmbd / nHead;
        int valLen = OptInt("attention.value_length") ?? nEmbd / nHead;
        int nRot = OptInt("rope.dimension_count") ?? keyLen;
        float freqBase = OptFloat("rope.freq_base") ?? 10000f;

        string scalingType = model.TryGetString($"{Arch}.rope.scaling.type") ?? "linear";
        float ropeScale = OptFloat("rope.scaling.factor") ?? OptFloat("rope.scale_linear") ?? 0f;
        float freqScale = ropeScale == 0f ? 1f : 1f / ropeScale;
        int nCtxOrig = OptInt("rope.scaling.original_context_length") ?? nCtxTrain;
        float ropeAttnFactor = OptFloat("rope.scaling.attn_factor") ?? 1f;

        int vocab = OptInt("vocab_size") ?? (model.Metadata.TryGetValue("tokenizer.ggml.tokens", out var toks) && toks.Type == GgufValueType.Array ? checked((int)toks.AsArray().Count) : 0);

        // deepseek2-specific
        float eps = ReqFloat("attention.layer_norm_rms_epsilon");
        int denseLead = OptInt("leading_dense_block_count") ?? 0;
        bool lite = nLayer is 26 or 27 || (nLayer == 48 && vocab == 128256);
        int qLora = lite ? OptInt("attention.q_lora_rank") ?? 0 : ReqInt("attention.q_lora_rank");
        int kvLora = ReqInt("attention.kv_lora_rank");
        int keyMla = OptInt("attention.key_length_mla") ?? 0;
        int valMla = OptInt("attention.value_length_mla") ?? 0;
        bool isMla = keyMla != 0 && valMla != 0;
        if (!isMla) { keyMla = keyLen; valMla = valLen; }
        int nFfExp = ReqInt("expert_feed_forward_length");
        int nShared = ReqInt("expert_shared_count");
        float wScale = OptFloat("expert_weights_scale") ?? 0f;
        bool wNorm = model.TryGetBool($"{Arch}.expert_weights_norm") ?? false;
        int gating = OptInt("expert_gating_func") ?? 0;
        if (gating == 0) gating = (int)ExpertGating.Softmax; // llama.cpp: missing → softmax (DeepSeek-V2 files)
        if (gating is not ((int)ExpertGating.Softmax or (int)ExpertGating.Sigmoid))
            throw new GgufException(file, $"expert_gating_func {gating} is not supported (1 softmax, 2 sigmoid)");
        float yarnLogMul = 0f;
        if (OptFloat("rope.scaling.yarn_log_multiplier") is float ylm) yarnLogMul = ylm / 0.1f; // cancels the converter's 0.1

        int nExpert = OptInt("expert_count") ?? 0;
        int nUsed = OptInt("expert_used_count") ?? 0;
        int nGroups = OptInt("expert_group_count") ?? 0;
        int nGroupUsed = OptInt("expert_group_used_count") ?? 0;
        int nNextn = OptInt("nextn_predict_layers") ?? 0;
        if (nNextn != 0) throw new GgufException(file, $"nextn_predict_layers {nNextn}: multi-token-prediction layers are not supported");

        if (nRot <= 0 || nRot % 2 != 0 || nRot >= keyMla) throw new GgufException(file, $"rope.dimension_count {nRot} is not an even number below the head width {keyMla}");
        if (nLayer > denseLead)
        {
            if (nExpert <= 0 || nUsed <= 0 || nUsed > nExpert) throw new GgufException(file, $"expert_count {nExpert} / expert_used_count {nUsed} invalid for a MoE model");
            // Kimi K2 has 384 experts, DeepSeek-V3 256; the router keeps per-expert scratch on the stack
            if (nExpert > MaxExperts) throw new GgufException(file, $"expert_count {nExpert} exceeds the supported {MaxExperts}");
            if (nGroups > 1 && (nExpert % nGroups != 0 || nGroupUsed <= 0 || nGroupUsed > nGroups))
                throw new GgufException(file, $"expert_group_count {nGroups} / expert_group_used_count {nGroupUsed} invalid for {nExpert} experts");
        }
        if (isMla && nHeadKv != 1) throw new GgufException(file, $"MLA file with attention.head_count_kv {nHeadKv}; expected 1");
        if (isMla && keyLen != kvLora + nRot) throw new GgufException(file, $"attention.key_length {keyLen} != kv_lora_rank {kvLora} + rope dims {nRot}");
        if (!isMla && nHeadKv != nHead) throw new GgufException(file, $"legacy (non-MLA) file with head_count_kv {nHeadKv} != head_count {nHead}");

        // ---- context-creation constants, as llama_context computes them (float32 throughout) ----
        float extFactor = scalingType == "yarn" ? 1f : 0f;
        float yarnAttn = 1f;
        if (extFactor != 0f)
        {
            static float GetMscale(float scale, float mscale) => scale <= 1f ? 1f : 0.1f * mscale * MathF.Log(scale) + 1f;
            float factor = 1f / freqScale;
            if (yarnLogMul != 0f)
            {
                float mscale = 1f;
                float mscaleAll = yarnLogMul;
                if (mscaleAll != 1f) mscale = mscaleAll; // deepseek2 special case
                yarnAttn = GetMscale(factor, mscale) / GetMscale(factor, mscaleAll);
            }
            else yarnAttn = GetMscale(factor, 1f);
            yarnAttn *= 1f / (1f + 0.1f * MathF.Log(factor));
        }
        yarnAttn *= ropeAttnFactor;

        // ggml_rope_yarn_corr_dims
        float CorrDim(float beta) => nRot * MathF.Log(nCtxOrig / (beta * 2 * (float)Math.PI)) / (2 * MathF.Log(freqBase));
        float low = MathF.Max(0, MathF.Floor(CorrDim(32f)));
        float high = MathF.Min(nRot - 1, MathF.Ceiling(CorrDim(1f)));

        // deepseek2 graph: attn_factor_org, mscale, kq_scale
        float attnFactorOrg = yarnAttn * (1f + 0.1f * MathF.Log(1f / freqScale));
        float mscaleKq = attnFactorOrg * (1f + 0.1f * yarnLogMul * MathF.Log(1f / freqScale));
        float kqScale = 1f * mscaleKq * mscaleKq / MathF.Sqrt((float)keyMla);

        return new KimiConfig
        {
            Architecture = arch,
            ContextLengthTrain = nCtxTrain,
            EmbeddingLength = nEmbd,
            LayerCount = nLayer,
            FeedForwardLength = ff,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            KeyLength = keyLen,
            ValueLength = valLen,
            IsMla = isMla,
            KeyLengthMla = keyMla,
            ValueLengthMla = valMla,
            RopeDimensionCount = nRot,
            RopeFreqBase = freqBase,
            RopeScalingType = scalingType,
            RopeFreqScale = freqScale,
            RopeOriginalContext = nCtxOrig,
            RopeAttnFactor = ropeAttnFactor,
            RopeYarnLogMultiplier = yarnLogMul,
            ExpertCount = nExpert,
            ExpertUsedCount = nUsed,
            ExpertGroupCount = nGroups,
            ExpertGroupUsedCount = nGroupUsed,
            ExpertFeedForwardLength = nFfExp,
            ExpertSharedCount = nShared,
            ExpertWeightsScale = wScale,
            ExpertWeightsNorm = wNorm,
            ExpertGating = (ExpertGating)gating,
            VocabSize = vocab,
            RmsNormEps = eps,
            LeadingDenseBlockCount = denseLead,
            QLoraRank = qLora,
            KvLoraRank = kvLora,
            YarnExtFactor = extFactor,
            YarnCorrLow = low,
            YarnCorrHigh = high,
            YarnAttnFactor = yarnAttn,
            RopeThetaScale = MathF.Pow(freqBase, -2.0f / nRot),
            KqScale = kqScale,
        };
    }

    public override string ToString() =>
        $"deepseek2: {LayerCount} layers, embd {EmbeddingLength}, heads {HeadCount}/{HeadCountKv}, q_lora {QLoraRank}, kv_lora {KvLoraRank}, " +
        $"head k/v {KeyLengthMla}/{ValueLengthMla} (rope {RopeDimensionCount}), {(IsMla ? "MLA" : "legacy MHA")}, experts {ExpertCount} (used {ExpertUsedCount}, " +
        $"shared {ExpertSharedCount}, ff {ExpertFeedForwardLength}), dense lead {LeadingDenseBlockCount}, vocab {VocabSize}, ctx {ContextLengthTrain}";
}
