using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Model.Attention;
using Kimi.Cpu.Model.Moe;
using Kimi.Cpu.Model.Ops;
using Kimi.Cpu.Quants;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Model;

/// <summary>
/// llama.cpp's <c>llm_build_deepseek2</c> for one batch of up to <see cref="MaxTokens"/> tokens (spec §4): embedding,
/// per layer RMSNorm → MLA attention (absorbed; or the legacy MHA form) → residual → RMSNorm → dense FFN or
/// MoE + shared expert → residual, then the final norm and output head for the tokens that want logits.
/// Every activation buffer is allocated here once; a forward step allocates nothing. The per-token work between the
/// matmuls (norms, RoPE, residual adds, SwiGLU, the experts' weighted sum) runs over token ranges on the model's pool
/// when a batch has several tokens: each token's arithmetic is the same whichever thread does it.
/// </summary>
internal sealed unsafe class ForwardPass : IDisposable, IWorkerTask
{
    private readonly KimiConfig _c;
    private readonly KimiWeights _w;
    private readonly IMatMul _mm;
    private readonly IAttention _attn;
    private readonly WorkerPool? _pool;
    private readonly List<IntPtr> _blocks = new();

    private readonly int E, NH, KMla, Nope, RopeD, KvL, KvW, VH, QW, T;
    private readonly float* _x, _f, _h, _qa, _q, _kv, _rope, _qAtt, _lat, _kNew, _vNew, _kvb, _att, _out, _gate, _up;
    private readonly float* _logitsR, _sel, _expW, _expOut, _shOut;
    private readonly int* _expIds, _counts, _offsets, _lists, _tokenOf, _sortedPos, _groupExpert;
    private readonly MatMulGroup* _groups;
    private readonly float[] _embRow;

    // The token-range job being run by ForTokens (one at a time; the pool's Run blocks).
    private TokenStep _step;
    private int _stepTokens, _stepPerTask, _stepWidth;
    private LayerWeights? _stepLayer;

    private enum TokenStep { AttnNorm, QaNorm, KvRope, QPeCopy, FfnInput, Route, SwiGlu, MoeCombine, AddShared, Residual, OutputNorm }

    public ForwardPass(KimiConfig c, KimiWeights w, IMatMul mm, IAttention attn, int maxTokens, WorkerPool? pool = null)
    {
        _c = c;
        _pool = pool;
        _w = w;
        _mm = mm;
        _attn = attn;
        T = MaxTokens = maxTokens;
        E = c.EmbeddingLength; NH = c.HeadCount; KMla = c.KeyLengthMla; Nope = c.QkNopeDim; RopeD = c.QkRopeDim;
        KvL = c.KvLoraRank; KvW = KvL + RopeD; VH = c.VHeadDim; QW = NH * KMla;

        int ffMax = c.ExpertFeedForwardLength * Math.Max(1, c.ExpertSharedCount);
        for (int i = 0; i < Math.Min(c.LeadingDenseBlockCount, c.LayerCount); i++) ffMax = Math.Max(ffMax, c.FeedForwardLength[i]);
        int k = Math.Max(1, c.ExpertUsedCount), nExp = Math.Max(1, c.ExpertCount);
        ffMax = Math.Max(ffMax, k * c.ExpertFeedForwardLength); // the routed experts' gate/up rows: one per (token, slot)

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
        _logitsR = F((long)T * nExp); _sel = F((long)T * nExp);
        _expW = F((long)T * k);
        _shOut = F((long)T * E);
        _expOut = F((long)T * k * E);
        _expIds = I((long)T * k); _lists = I((long)T * k); _counts = I(nExp); _offsets = I(nExp + 1);
        _tokenOf = I((long)T * k); _sortedPos = I((long)T * k); _groupExpert = I(nExp);
        _groups = (MatMulGroup*)Block((long)sizeof(MatMulGroup) * 2 * nExp);
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
        ForTokens(TokenStep.OutputNorm, outCount);
        _mm.Multiply(_w.Output, _h, E, outCount, logits, _w.Output.Rows);
    }

    /// <summary>One layer over n tokens. In the last layer (<paramref name="outIdx"/> given) only the rows that want logits
    /// go on after the attention, as llama.cpp does (its inp_out_ids): they are moved to rows 0..outCount−1 of the
    /// residual stream and the feed-forward runs for them alone (none in a prompt chunk that wants no logits).</summary>
    private void Layer(int il, BatchToken[] tokens, int n, int[]? outIdx, int outCount)
    {
        var L = _w.Layers[il];
        _stepLayer = L;
        ForTokens(TokenStep.AttnNorm, n);

        // ---- attention (spec §4.4) ----
        if (_c.QLoraRank > 0)
        {
            int r = _c.QLoraRank;
            _mm.MultiplyPair(L.QA, _qa, r, L.KvAMqa, _kv, KvW, _h, E, n);
            ForTokens(TokenStep.QaNorm, n);
            _mm.Multiply(L.QB, _qa, r, n, _q, QW);
        }
        else
        {
            _mm.Multiply(L.Q, _h, E, n, _q, QW);
            _mm.Multiply(L.KvAMqa, _h, E, n, _kv, KvW);
        }
        ForTokens(TokenStep.KvRope, n);

        if (_c.IsMla)
        {
            // q_abs[hd] = Kb[hd] · q_nope[hd]  → Q = [q_abs (512) | q_pe (64)] per head
            _mm.MultiplyStack(L.KB, _q, KMla, QW, n, _qAtt, KvW, NH * KvW);
            ForTokens(TokenStep.QPeCopy, n);
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

        ForTokens(TokenStep.FfnInput, n);

        // ---- feed-forward ----
        if (L.IsDense) Ffn(L.FfnGate, L.FfnUp, L.FfnDown, _h, n, _out);
        else Moe(L, n);

        ForTokens(TokenStep.Residual, n);
    }

    /// <summary>Runs <paramref name="step"/> for tokens [0, n): on the pool in token ranges when there are several tokens.</summary>
    private void ForTokens(TokenStep step, int n, int width = 0)
    {
        if (n <= 0) return;
        int threads = _pool?.ThreadCount ?? 1;
        if (_pool is null || threads == 1 || n == 1)
        {
            RunTokens(step, 0, n, width);
            return;
        }
        (_step, _stepTokens, _stepWidth) = (step, n, width);
        _stepPerTask = (n + 4 * threads - 1) / (4 * threads);
        _pool.Run(this, (n + _stepPerTask - 1) / _stepPerTask);
    }

    void IWorkerTask.Execute(int index)
    {
        int t0 = index * _stepPerTask;
        RunTokens(_step, t0, Math.Min(_stepTokens, t0 + _stepPerTask), _stepWidth);
    }

    /// <summary>The per-token work of one step for tokens [t0, t1) (of the current layer, <see cref="_stepLayer"/>).</summary>
    private void RunTokens(TokenStep step, int t0, int t1, int width)
    {
        var L = _stepLayer;
        float eps = _c.RmsNormEps;
        switch (step)
        {
            case TokenStep.AttnNorm:
                for (int t = t0; t < t1; t++) RmsNorm.Apply(_x + (long)t * E, L!.AttnNorm, eps, _h + (long)t * E);
                break;
            case TokenStep.QaNorm:
                int r = _c.QLoraRank;
                for (int t = t0; t < t1; t++) RmsNorm.Apply(_qa + (long)t * r, L!.QANorm!, eps, _qa + (long)t * r);
                break;
            case TokenStep.KvRope:
                for (int t = t0; t < t1; t++)
                {
                    float* kv = _kv + (long)t * KvW, rope = _rope + (long)t * RopeD;
                    Rope.Apply(kv + KvL, rope, RopeD);                  // k_pe: roped, not normalised
                    RmsNorm.Apply(kv, L!.KvANorm, eps, kv);             // latent c: normalised
                    for (int hd = 0; hd < NH; hd++) Rope.Apply(_q + (long)t * QW + hd * KMla + Nope, rope, RopeD);
                }
                break;
            case TokenStep.QPeCopy:
                for (int t = t0; t < t1; t++)
                    for (int hd = 0; hd < NH; hd++)
                        Buffer.MemoryCopy(_q + (long)t * QW + hd * KMla + Nope, _qAtt + ((long)t * NH + hd) * KvW + KvL, 4 * RopeD, 4 * RopeD);
                break;
            case TokenStep.FfnInput: // f = attention out + residual; h = norm(f)
                for (int t = t0; t < t1; t++)
                {
                    long o = (long)t * E;
                    TensorPrimitives.Add(new ReadOnlySpan<float>(_out + o, E), new ReadOnlySpan<float>(_x + o, E), new Span<float>(_f + o, E));
                    RmsNorm.Apply(_f + o, L!.FfnNorm, eps, _h + o);
                }
                break;
            case TokenStep.AddShared: // routed experts' sum + shared expert
                long sh = (long)t0 * E, shLen = (long)(t1 - t0) * E;
                TensorPrimitives.Add(new ReadOnlySpan<float>(_out + sh, (int)shLen), new ReadOnlySpan<float>(_shOut + sh, (int)shLen), new Span<float>(_out + sh, (int)shLen));
                break;
            case TokenStep.Residual:
                long a = (long)t0 * E, len = (long)(t1 - t0) * E;
                TensorPrimitives.Add(new ReadOnlySpan<float>(_out + a, (int)len), new ReadOnlySpan<float>(_f + a, (int)len), new Span<float>(_x + a, (int)len));
                break;
            case TokenStep.Route: // each token its own selection scratch row
                int nExp = _c.ExpertCount, k = _c.ExpertUsedCount;
                for (int t = t0; t < t1; t++)
                    MoeRouter.Route(_c, L!.ExpProbsBias, _logitsR + (long)t * nExp, _sel + (long)t * nExp, _expIds + t * k, _expW + t * k);
                break;
            case TokenStep.SwiGlu:
                Activations.SwiGlu(_gate + (long)t0 * width, _up + (long)t0 * width, (t1 - t0) * width);
                break;
            case TokenStep.MoeCombine:
                for (int t = t0; t < t1; t++) CombineExperts(t);
                break;
            case TokenStep.OutputNorm:
                for (int t = t0; t < t1; t++) RmsNorm.Apply(_x + (long)t * E, _w.OutputNorm, eps, _h + (long)t * E);
                break;
        }
    }

    /// <summary>Token t's expert outputs weighted and summed: products first, then sequential adds in slot order (ggml_mul,
    /// then a chain of ggml_add; a multiply and an add, each rounded, per element).</summary>
    private void CombineExperts(int t)
    {
        int k = _c.ExpertUsedCount;
        float* o = _out + (long)t * E;
        float* w = _expW + t * k;
        int* pos = _sortedPos + t * k; // slot j's output row (rows are in expert order)
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(_expOut + (long)pos[0] * E, E), w[0], new Span<float>(o, E));
        for (int j = 1; j < k; j++)
        {
            float* yj = _expOut + (long)pos[j] * E;
            float wj = w[j];
            int d = 0;
            for (; d + Vector256<float>.Count <= E; d += Vector256<float>.Count)
                (Vector256.Load(o + d) + Vector256.Load(yj + d) * wj).Store(o + d);
            for (; d < E; d++) o[d] = o[d] + yj[d] * wj;
        }
    }

    // y = down(silu(gate·x) ⊙ up·x)   (spec §4.7)
    private void Ffn(in WeightMatrix gate, in WeightMatrix up, in WeightMatrix down, float* x, int n, float* y)
    {
        int ff = gate.Rows;
        _mm.MultiplyPair(gate, _gate, ff, up, _up, ff, x, E, n);
        ForTokens(TokenStep.SwiGlu, n, ff);
        _mm.Multiply(down, _gate, ff, n, y, E);
    }

    // spec §4.8: route every token, then run each chosen expert once over all tokens that chose it
    private void Moe(LayerWeights L, int n)
    {
        int nExp = _c.ExpertCount, k = _c.ExpertUsedCount;
        _mm.Multiply(L.GateInp, _h, E, n, _logitsR, nExp);
        ForTokens(TokenStep.Route, n);

        for (int e = 0; e < nExp; e++) _counts[e] = 0;
        for (int i = 0; i < n * k; i++) _counts[_expIds[i]]++;
        _offsets[0] = 0;
        for (int e = 0; e < nExp; e++) _offsets[e + 1] = _offsets[e] + _counts[e];
        for (int e = 0; e < nExp; e++) _counts[e] = 0;
        for (int i = 0; i < n * k; i++) { int e = _expIds[i]; _lists[_offsets[e] + _counts[e]++] = i; } // token order

        // Every chosen expert at once, as ggml's mul_mat_id: rows (token, slot) sorted by expert; gate and up of all experts
        // in one job on one conversion of the n input rows, SwiGLU over all rows, then down in one job.
        int m = n * k;
        for (int i = 0; i < m; i++)
        {
            _tokenOf[i] = _lists[i] / k;
            _sortedPos[_lists[i]] = i;
        }
        int groups = 0; // the chosen experts: gate groups [0, groups), up groups [groups, 2·groups)
        for (int e = 0; e < nExp; e++)
            if (_counts[e] > 0) _groupExpert[groups++] = e;
        int ff = L.GateExps.Rows;
        for (int g = 0; g < groups; g++)
        {
            int e = _groupExpert[g];
            _groups[g] = new MatMulGroup { W = L.GateExps[e].Data, Y = _gate, TokenStart = _offsets[e], Tokens = _counts[e] };
            _groups[groups + g] = _groups[g] with { W = L.UpExps[e].Data, Y = _up };
        }
        _mm.MultiplyGroups(L.GateExps, L.UpExps, _groups, groups, _h, E, n, _tokenOf, ff);
        ForTokens(TokenStep.SwiGlu, m, ff);
        for (int g = 0; g < groups; g++) _groups[g] = _groups[g] with { W = L.DownExps[_groupExpert[g]].Data, Y = _expOut };
        _mm.MultiplyGroups(L.DownExps, default, _groups, groups, _gate, ff, m, null, E);

        ForTokens(TokenStep.MoeCombine, n);

        if (L.HasShared)
        {
            Ffn(L.GateShexp, L.UpShexp, L.DownShexp, _h, n, _shOut);
            ForTokens(TokenStep.AddShared, n);
        }
    }

    public void Dispose()
    {
        foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
        _blocks.Clear();
    }
}
