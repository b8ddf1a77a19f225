using System.Runtime.InteropServices;
using Kimi.Cpu.Model.Attention;
using Kimi.Cpu.Model.Moe;
using Kimi.Cpu.Model.Ops;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Model;

/// <summary>
/// llama.cpp's <c>llm_build_deepseek2</c> for one batch of up to <see cref="MaxTokens"/> tokens (spec §4): embedding,
/// per layer RMSNorm → MLA attention (absorbed; or the legacy MHA form) → residual → RMSNorm → dense FFN or
/// MoE + shared expert → residual, then the final norm and output head for the tokens that want logits.
/// Every activation buffer is allocated here once; a forward step allocates nothing.
/// </summary>
internal sealed unsafe class ForwardPass : IDisposable
{
    private readonly KimiConfig _c;
    private readonly KimiWeights _w;
    private readonly IMatMul _mm;
    private readonly IAttention _attn;
    private readonly List<IntPtr> _blocks = new();

    private readonly int E, NH, KMla, Nope, RopeD, KvL, KvW, VH, QW, T;
    private readonly float* _x, _f, _h, _qa, _q, _kv, _rope, _qAtt, _lat, _kNew, _vNew, _kvb, _att, _out, _gate, _up;
    private readonly float* _logitsR, _sel, _expW, _xe, _ye, _expOut, _shOut;
    private readonly int* _expIds, _counts, _offsets, _lists;
    private readonly float[] _embRow;

    public ForwardPass(KimiConfig c, KimiWeights w, IMatMul mm, IAttention attn, int maxTokens)
    {
        _c = c;
        _w = w;
        _mm = mm;
        _attn = attn;
        T = MaxTokens = maxTokens;
        E = c.EmbeddingLength; NH = c.HeadCount; KMla = c.KeyLengthMla; Nope = c.QkNopeDim; RopeD = c.QkRopeDim;
        KvL = c.KvLoraRank; KvW = KvL + RopeD; VH = c.VHeadDim; QW = NH * KMla;

        int ffMax = c.ExpertFeedForwardLength * Math.Max(1, c.ExpertSharedCount);
        for (int i = 0; i < Math.Min(c.LeadingDenseBlockCount, c.LayerCount); i++) ffMax = Math.Max(ffMax, c.FeedForwardLength[i]);
        int k = Math.Max(1, c.ExpertUsedCount), nExp = Math.Max(1, c.ExpertCount);

        _x = F((long)T * E); _f = F((long)T * E); _h = F((long)T * E); _out = F((long)T * E);
        _qa = F((long)T * Math.Max(1, c.QLoraRank));
        _q = F((long)T * QW);
        _kv = F((long)T * KvW);
        _rope = F((long)T * RopeD);
        _att = F((long)T * NH * VH);
        if (c.IsMla)
        {
            _qAtt = F((long)T * NH * KvW);
            _lat = F((long)T * NH * KvL);
        }
        else
        {
            _kvb = F((long)T * NH * (Nope + VH));
            _kNew = F((long)T * NH * KMla);
            _vNew = F((long)T * NH * VH);
        }
        _gate = F((long)T * ffMax); _up = F((long)T * ffMax);
        _logitsR = F((long)T * nExp); _sel = F(nExp);
        _expW = F((long)T * k);
        _xe = F((long)T * E); _ye = F((long)T * E); _shOut = F((long)T * E);
        _expOut = F((long)T * k * E);
        _expIds = I((long)T * k); _lists = I((long)T * k); _counts = I(nExp); _offsets = I(nExp + 1);
        _embRow = new float[E];
    }

    public int MaxTokens { get; }

    private float* F(long n) => (float*)Block(4 * n);
    private int* I(long n) => (int*)Block(4 * n);

    private void* Block(long bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)Math.Max(64, bytes), 64);
        _blocks.Add((IntPtr)p);
        return p;
    }

    /// <summary>
    /// Runs <paramref name="count"/> tokens; for each i &lt; <paramref name="outCount"/>, writes the logits of batch
    /// token <c>outIdx[i]</c> to <c>logits + i·vocab</c>.
    /// </summary>
    public void Run(BatchToken[] tokens, int[] ids, int count, int[] outIdx, int outCount, float* logits)
    {
        if (count <= 0 || count > T) throw new ArgumentOutOfRangeException(nameof(count), $"{count} tokens (1..{T})");
        var tokEmbd = _w.TokenEmbd;
        for (int t = 0; t < count; t++)
        {
            Quantizer.DequantizeRow(tokEmbd.Type, tokEmbd.Row(ids[t]), _embRow);
            _embRow.AsSpan().CopyTo(new Span<float>(_x + (long)t * E, E));
            Rope.BuildCache(_c, tokens[t].Pos, _rope + (long)t * RopeD);
        }

        for (int i = 1; i < outCount; i++)
            if (outIdx[i] <= outIdx[i - 1]) throw new ArgumentException("output indices must ascend", nameof(outIdx));
        for (int il = 0; il < _c.LayerCount; il++) Layer(il, tokens, count, il == _c.LayerCount - 1 ? outIdx : null, outCount);

        if (outCount == 0) return;
        for (int i = 0; i < outCount; i++)
            RmsNorm.Apply(_x + (long)i * E, _w.OutputNorm, _c.RmsNormEps, _h + (long)i * E);
        _mm.Multiply(_w.Output, _h, E, outCount, logits, _w.Output.Rows);
    }

    /// <summary>One layer over n tokens. In the last layer (<paramref name="outIdx"/> given) only the rows that want logits
    /// go on after the attention, as llama.cpp does (its inp_out_ids): they are moved to rows 0..outCount−1 of the
    /// residual stream and the feed-forward runs for them alone (none in a prompt chunk that wants no logits).</summary>
    private void Layer(int il, BatchToken[] tokens, int n, int[]? outIdx, int outCount)
    {
        var L = _w.Layers[il];
        float eps = _c.RmsNormEps;
        for (int t = 0; t < n; t++) RmsNorm.Apply(_x + (long)t * E, L.AttnNorm, eps, _h + (long)t * E);

        // ---- attention (spec §4.4) ----
        if (_c.QLoraRank > 0)
        {
            int r = _c.QLoraRank;
            _mm.Multiply(L.QA, _h, E, n, _qa, r);
            for (int t = 0; t < n; t++) RmsNorm.Apply(_qa + (long)t * r, L.QANorm!, eps, _qa + (long)t * r);
            _mm.Multiply(L.QB, _qa, r, n, _q, QW);
        }
        else _mm.Multiply(L.Q, _h, E, n, _q, QW);

        _mm.Multiply(L.KvAMqa, _h, E, n, _kv, KvW);
        for (int t = 0; t < n; t++)
        {
            float* kv = _kv + (long)t * KvW, rope = _rope + (long)t * RopeD;
            Rope.Apply(kv + KvL, rope, RopeD);                  // k_pe: roped, not normalised
            RmsNorm.Apply(kv, L.KvANorm, eps, kv);              // latent c: normalised
            for (int hd = 0; hd < NH; hd++) Rope.Apply(_q + (long)t * QW + hd * KMla + Nope, rope, RopeD);
        }

        if (_c.IsMla)
        {
            // q_abs[hd] = Kb[hd] · q_nope[hd]  → Q = [q_abs (512) | q_pe (64)] per head
            _mm.MultiplyStack(L.KB, _q, KMla, QW, n, _qAtt, KvW, NH * KvW);
            for (int t = 0; t < n; t++)
                for (int hd = 0; hd < NH; hd++)
                    Buffer.MemoryCopy(_q + (long)t * QW + hd * KMla + Nope, _qAtt + ((long)t * NH + hd) * KvW + KvL, 4 * RopeD, 4 * RopeD);
            _attn.Forward(il, tokens, n, _qAtt, _kv, null, _lat);
            // o[hd] = Vb[hd] · o_lat[hd]
            _mm.MultiplyStack(L.VB, _lat, KvL, NH * KvL, n, _att, VH, NH * VH);
        }
        else
        {
            // legacy MHA (spec §4.11): decompress K and V per head from the normalised latent
            int kvbW = NH * (Nope + VH);
            _mm.Multiply(L.KvB, _kv, KvW, n, _kvb, kvbW);
            for (int t = 0; t < n; t++)
            {
                float* kvb = _kvb + (long)t * kvbW, kpe = _kv + (long)t * KvW + KvL;
                for (int hd = 0; hd < NH; hd++)
                {
                    float* kRow = _kNew + ((long)t * NH + hd) * KMla;
                    Buffer.MemoryCopy(kvb + hd * (Nope + VH), kRow, 4 * Nope, 4 * Nope);
                    Buffer.MemoryCopy(kpe, kRow + Nope, 4 * RopeD, 4 * RopeD);
                    Buffer.MemoryCopy(kvb + hd * (Nope + VH) + Nope, _vNew + ((long)t * NH + hd) * VH, 4 * VH, 4 * VH);
                }
            }
            _attn.Forward(il, tokens, n, _q, _kNew, _vNew, _att);
        }
        _mm.Multiply(L.Wo, _att, NH * VH, n, _out, E);

        if (outIdx != null)
        {
            // ascending indices: each row moves down (or stays), never over a row still to be read
            for (int i = 0; i < outCount; i++)
                if (outIdx[i] != i)
                {
                    Buffer.MemoryCopy(_out + (long)outIdx[i] * E, _out + (long)i * E, 4L * E, 4L * E);
                    Buffer.MemoryCopy(_x + (long)outIdx[i] * E, _x + (long)i * E, 4L * E, 4L * E);
                }
            n = outCount;
            if (n == 0) return;
        }

        for (long i = 0; i < (long)n * E; i++) _f[i] = _out[i] + _x[i];
        for (int t = 0; t < n; t++) RmsNorm.Apply(_f + (long)t * E, L.FfnNorm, eps, _h + (long)t * E);

        // ---- feed-forward ----
        if (L.IsDense) Ffn(L.FfnGate, L.FfnUp, L.FfnDown, _h, n, _out);
        else Moe(L, n);

        for (long i = 0; i < (long)n * E; i++) _x[i] = _out[i] + _f[i];
    }

    // y = down(silu(gate·x) ⊙ up·x)   (spec §4.7)
    private void Ffn(in WeightMatrix gate, in WeightMatrix up, in WeightMatrix down, float* x, int n, float* y)
    {
        int ff = gate.Rows;
        _mm.Multiply(gate, x, E, n, _gate, ff);
        _mm.Multiply(up, x, E, n, _up, ff);
        Activations.SwiGlu(_gate, _up, n * ff);
        _mm.Multiply(down, _gate, ff, n, y, E);
    }

    // spec §4.8: route every token, then run each chosen expert once over all tokens that chose it
    private void Moe(LayerWeights L, int n)
    {
        int nExp = _c.ExpertCount, k = _c.ExpertUsedCount;
        _mm.Multiply(L.GateInp, _h, E, n, _logitsR, nExp);
        for (int t = 0; t < n; t++)
            MoeRouter.Route(_c, L.ExpProbsBias, _logitsR + (long)t * nExp, _sel, _expIds + t * k, _expW + t * k);

        for (int e = 0; e < nExp; e++) _counts[e] = 0;
        for (int i = 0; i < n * k; i++) _counts[_expIds[i]]++;
        _offsets[0] = 0;
        for (int e = 0; e < nExp; e++) _offsets[e + 1] = _offsets[e] + _counts[e];
        for (int e = 0; e < nExp; e++) _counts[e] = 0;
        for (int i = 0; i < n * k; i++) { int e = _expIds[i]; _lists[_offsets[e] + _counts[e]++] = i; } // token order

        for (int e = 0; e < nExp; e++)
        {
            int cnt = _counts[e];
            if (cnt == 0) continue;
            int* list = _lists + _offsets[e];
            for (int i = 0; i < cnt; i++)
                Buffer.MemoryCopy(_h + (long)(list[i] / k) * E, _xe + (long)i * E, 4L * E, 4L * E);
            Ffn(L.GateExps[e], L.UpExps[e], L.DownExps[e], _xe, cnt, _ye);
            for (int i = 0; i < cnt; i++)
                Buffer.MemoryCopy(_ye + (long)i * E, _expOut + (long)list[i] * E, 4L * E, 4L * E);
        }

        // weighted products first, then sequential adds in slot order (ggml_mul, then a chain of ggml_add)
        for (int t = 0; t < n; t++)
        {
            float* o = _out + (long)t * E;
            float* w = _expW + t * k;
            float* y0 = _expOut + (long)t * k * E;
            for (int d = 0; d < E; d++) o[d] = y0[d] * w[0];
            for (int j = 1; j < k; j++)
            {
                float* yj = y0 + (long)j * E;
                float wj = w[j];
                for (int d = 0; d < E; d++) o[d] = o[d] + yj[d] * wj;
            }
        }

        if (L.HasShared)
        {
            Ffn(L.GateShexp, L.UpShexp, L.DownShexp, _h, n, _shOut);
            for (long i = 0; i < (long)n * E; i++) _out[i] = _out[i] + _shOut[i];
        }
    }

    public void Dispose()
    {
        foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
        _blocks.Clear();
    }
}
