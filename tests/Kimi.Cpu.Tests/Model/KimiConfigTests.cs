using Kimi.Cpu.Gguf;
using Kimi.Cpu.Model;

namespace Kimi.Cpu.Tests.Model;

public class KimiConfigTests
{
    // Kimi K2's metadata (spec §2.1–2.3) without tensors: KimiConfig reads metadata only.
    private static string WriteK2Metadata(float factor, Action<GgufWriter>? extra = null, string? skip = null)
    {
        string path = Path.Combine(Path.GetTempPath(), $"kimi-cfg-{Guid.NewGuid():N}.gguf");
        using var w = new GgufWriter(path);
        const string a = "deepseek2";
        void U(string k, uint v) { if (k != skip) w.AddMetadata($"{a}.{k}", v); }
        void F(string k, float v) { if (k != skip) w.AddMetadata($"{a}.{k}", v); }
        w.AddMetadata("general.architecture", a);
        U("context_length", factor == 32 ? 131072u : 262144u);
        U("embedding_length", 7168); U("block_count", 61); U("feed_forward_length", 18432);
        U("attention.head_count", 64); U("attention.head_count_kv", 1);
        U("attention.key_length", 576); U("attention.value_length", 512);
        U("attention.key_length_mla", 192); U("attention.value_length_mla", 128);
        U("rope.dimension_count", 64); F("rope.freq_base", 50000f);
        if (skip != "rope.scaling.type") w.AddMetadata($"{a}.rope.scaling.type", "yarn");
        F("rope.scaling.factor", factor); U("rope.scaling.original_context_length", 4096);
        F("rope.scaling.yarn_log_multiplier", 0.1f);
        U("expert_count", 384); U("expert_used_count", 8); U("expert_group_count", 1); U("expert_group_used_count", 1);
        U("vocab_size", 163840); F("attention.layer_norm_rms_epsilon", 1e-6f); U("leading_dense_block_count", 1);
        U("attention.q_lora_rank", 1536); U("attention.kv_lora_rank", 512);
        U("expert_feed_forward_length", 2048); U("expert_shared_count", 1);
        F("expert_weights_scale", 2.827f); w.AddMetadata($"{a}.expert_weights_norm", true); U("expert_gating_func", 2);
        extra?.Invoke(w);
        w.Finish();
        return path;
    }

    private static KimiConfig Read(string path)
    {
        try
        {
            using var g = GgufModel.Open(path);
            return KimiConfig.FromGguf(g);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void KimiK2DerivedConstantsMatchTheSpec()
    {
        var c = Read(WriteK2Metadata(32f));
        Assert.True(c.IsMla);
        Assert.Equal((128, 64, 128, 576), (c.QkNopeDim, c.QkRopeDim, c.VHeadDim, c.MlaCacheRow));
        Assert.Equal(1f / 32, c.RopeFreqScale);
        Assert.Equal(1f, c.YarnExtFactor);
        Assert.Equal(1f, c.RopeYarnLogMultiplier);
        Assert.Equal((8f, 20f), (c.YarnCorrLow, c.YarnCorrHigh));            // floor(8.9145), ceil(19.1646)
        Assert.Equal(0.7426256f, c.YarnAttnFactor, 6);                        // 1/(1+0.1 ln 32)
        Assert.Equal(0.1308608f, c.KqScale, 6);                               // (1+0.1 ln 32)²/√192
        Assert.Equal(0.71311108f, c.RopeThetaScale, 6);                       // 50000^(−2/64)
        Assert.Equal(ExpertGating.Sigmoid, c.ExpertGating);
        Assert.Equal((384, 8, 2048, 1, 2.827f, true), (c.ExpertCount, c.ExpertUsedCount, c.ExpertFeedForwardLength, c.ExpertSharedCount, c.ExpertWeightsScale, c.ExpertWeightsNorm));
        Assert.Equal(1, c.LeadingDenseBlockCount);
        Assert.All(c.FeedForwardLength, f => Assert.Equal(18432, f));
    }

    [Fact]
    public void Factor64ConstantsMatchTheSpec()
    {
        var c = Read(WriteK2Metadata(64f));
        Assert.Equal(0.7062704f, c.YarnAttnFactor, 6);
        Assert.Equal(0.1446796f, c.KqScale, 6);
        Assert.Equal(262144, c.ContextLengthTrain);
    }

    [Fact]
    public void MissingRequiredKeyIsAGgufExceptionNamingIt()
    {
        var e = Assert.Throws<GgufException>(() => Read(WriteK2Metadata(32f, skip: "attention.kv_lora_rank")));
        Assert.Contains("deepseek2.attention.kv_lora_rank", e.Message);
        e = Assert.Throws<GgufException>(() => Read(WriteK2Metadata(32f, skip: "attention.layer_norm_rms_epsilon")));
        Assert.Contains("layer_norm_rms_epsilon", e.Message);
    }

    [Fact]
    public void DefaultsFollowLlamaCpp()
    {
        // no rope.scaling.type → "linear": no YaRN ramp, attention factor 1
        var c = Read(WriteK2Metadata(32f, skip: "rope.scaling.type"));
        Assert.Equal(0f, c.YarnExtFactor);
        Assert.Equal(1f, c.YarnAttnFactor);
        // no gating func → softmax
        c = Read(WriteK2Metadata(32f, skip: "expert_gating_func"));
        Assert.Equal(ExpertGating.Softmax, c.ExpertGating);
    }

    [Fact]
    public void ExpertCountBeyondTheSupportedOneIsNamed()
    {
        // the router keeps per-expert scratch on the stack: a hostile count is a clear error, not a stack overflow
        var e = Assert.Throws<GgufException>(() => Read(WriteK2Metadata(32f, skip: "expert_count",
            extra: w => w.AddMetadata("deepseek2.expert_count", (uint)KimiConfig.MaxExperts + 1))));
        Assert.Contains("expert_count", e.Message);
        Assert.Contains(KimiConfig.MaxExperts.ToString(), e.Message);
    }

    [Fact]
    public void WrongArchitectureIsRejected()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kimi-cfg-{Guid.NewGuid():N}.gguf");
        using (var w = new GgufWriter(path)) { w.AddMetadata("general.architecture", "llama"); w.Finish(); }
        var e = Assert.Throws<GgufException>(() => Read(path));
        Assert.Contains("llama", e.Message);
    }
}
