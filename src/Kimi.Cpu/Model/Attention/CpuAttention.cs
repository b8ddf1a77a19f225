using Kimi.Cpu.Runtime;
using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Model.Attention;

/// <summary>
/// Attention on the CPU over a <see cref="KvCache"/>, reproducing ggml's roundings (spec §4.6):
/// the query is rounded to the cache type (the vec_dot type of an F16/BF16 K), scores are F32 dot products times
/// kq_scale, then either
/// <list type="bullet">
/// <item><see cref="AttentionNumerics.Standard"/>: ggml_soft_max_ext (max subtracted, sum in double), the
/// probabilities rounded to the cache type, and V^T·P accumulated in F32 (llama.cpp without flash attention);</item>
/// <item><see cref="AttentionNumerics.Flash"/>: ggml's one-chunk flash-attention loop: online softmax, and with an
/// F16 cache an F16 V accumulator (each multiply-add rounded to fp16); for batches of 64 tokens or more with an F16 or
/// F32 cache, ggml's tiled kernel instead (F32 query and accumulator, 64-cell tiles: <c>CpuAttention.Tiled.cs</c>),
/// as llama.cpp's CPU backend chooses.</item>
/// </list>
/// Work is split over (token, head group) items across the thread pool; each item is computed by one thread, and a
/// head's result does not depend on the grouping.
/// </summary>
internal sealed unsafe partial class CpuAttention : IAttention, IWorkerTask
{
    private readonly KvCache _cache;
    private readonly WorkerPool? _pool;
    private readonly int _nHead, _dk, _dv, _kHeadStride, _vHeadStride;
    private readonly bool _vInK;
    private readonly float _scale;
    private readonly AttentionNumerics _numerics;
    private readonly int _slots;
    private readonly float* _scratch;  // per slot: scores[context] + q[dk] + acc[dv] + v row[dv], then a head group's k row[dk] + q[G·dk] + acc[G·dv] + M[G] + S[G] + scores[G]
    private readonly int _slotFloats;
    // Heads that read the same K row (MLA: kHeadStride 0, V inside K) go in groups: the row is converted from fp16 once
    // per key for the group instead of once per head. Groups are as large as the batch allows while every thread still
    // gets a group (one decoded token, 16 heads, 2 threads: groups of 8); a head's result does not depend on its group.
    private const int MaxHeadGroup = 16;
    private readonly bool _sharedRow;

    // current call
    private int _layer;
    private BatchToken[] _tokens = [];
    private int _count;
    private float* _q, _out;

    // kHeadStride: offset between kv heads inside a K row (0: all query heads share one K row, MLA).
    // vHeadStride: offset between kv heads inside a V row (MLA: V is the K row's first dv values).
    public CpuAttention(KvCache cache, int nHead, int dk, int dv, int kHeadStride, int vHeadStride, float scale, AttentionNumerics numerics, WorkerPool? pool)
    {
        _cache = cache;
        _nHead = nHead;
        _dk = dk;
        _dv = dv;
        _kHeadStride = kHeadStride;
        _vHeadStride = vHeadStride;
        _vInK = cache.VRow == 0;
        _scale = scale;
        _numerics = numerics;
        _pool = pool;
        _slots = pool?.ThreadCount ?? 1;
        _sharedRow = kHeadStride == 0 && _vInK && numerics == AttentionNumerics.Flash;
        _slotFloats = cache.Context + dk + dv + dv + 64 + dk + MaxHeadGroup * (dk + dv + 3);
        _scratch = (float*)NativeMemory.AlignedAlloc((nuint)(4L * _slotFloats * _slots), 64);
    }

    public KvCache Cache => _cache;

    public void Forward(int layer, BatchToken[] tokens, int count, float* q, float* kNew, float* vNew, float* output)
    {
        for (int t = 0; t < count; t++)
        {
            var bt = tokens[t];
            if ((uint)bt.Pos >= (uint)_cache.Context) throw new InvalidOperationException($"position {bt.Pos} is outside the context of {_cache.Context}");
            _cache.Store(kNew + (long)t * _cache.KRow, _cache.K(bt.Seq, layer, bt.Pos), _cache.KRow);
            if (!_vInK) _cache.Store(vNew + (long)t * _cache.VRow, _cache.V(bt.Seq, layer, bt.Pos), _cache.VRow);
        }
        _layer = layer;
        _tokens = tokens;
        _count = count;
        _q = q;
        _out = output;
        PlanTiled(tokens, count);
        if (_pool is null) Execute(0);
        else _pool.Run(this, _slots);
    }

    /// <summary>Slot <paramref name="slot"/> computes pairs slot, slot+slots, … with its own scratch.</summary>
    public void Execute(int slot)
    {
        if (_tiled)
        {
            ExecuteTiled(slot);
            return;
        }
        float* scratch = _scratch + (long)slot * _slotFloats;
        if (_sharedRow)
        {
            int g = Math.Clamp(_nHead * _count / _slots, 1, MaxHeadGroup), groups = (_nHead + g - 1) / g, items = _count * groups;
            for (int i = slot; i < items; i += _slots)
            {
                int t = i / groups, h0 = i % groups * g;
                FlashGroup(_tokens[t], h0, Math.Min(g, _nHead - h0), _q + ((long)t * _nHead + h0) * _dk,
                    _out + ((long)t * _nHead + h0) * _dv, scratch);
            }
            return;
        }
        int pairs = _count * _nHead;
        for (int i = slot; i < pairs; i += _slots)
        {
            int t = i / _nHead, h = i % _nHead;
            float* q = _q + ((long)t * _nHead + h) * _dk;
            float* o = _out + ((long)t * _nHead + h) * _dv;
            if (_numerics == AttentionNumerics.Flash) Flash(_tokens[t], h, q, o, scratch);
            else Standard(_tokens[t], h, q, o, scratch);
        }
    }

    private byte* KRow(int seq, int pos, int h) => _cache.K(seq, _layer, pos) + (long)h * _kHeadStride * _cache.ElementSize;

    private byte* VRow(int seq, int pos, int h) => _vInK
        ? _cache.K(seq, _layer, pos)
        : _cache.V(seq, _layer, pos) + (long)h * _vHeadStride * _cache.ElementSize;

    // q·k over Dk with the K row read in the cache type (F32 products and sums; vectorized), one type dispatch per row
    private float Score(byte* k, float* qc)
    {
        int n = _dk;
        var q = new ReadOnlySpan<float>(qc, n);
        float s;
        switch (_cache.Type)
        {
            case GgmlType.F16:
                s = Fp16.DotHalf(k, qc, n);
                break;
            case GgmlType.F32:
                s = TensorPrimitives.Dot(new ReadOnlySpan<float>(k, n), q);
                break;
            default:
                s = 0;
                for (int d = 0; d < n; d++) s += _cache.Load(k, d) * qc[d];
                break;
        }
        return s * _scale;
    }

    /// <summary>The first <paramref name="n"/> values of a cache row as F32: a view of an F32 row, else converted into
    /// <paramref name="buffer"/>.</summary>
    private ReadOnlySpan<float> RowValues(byte* row, int n, float* buffer)
    {
        switch (_cache.Type)
        {
            case GgmlType.F32:
                return new ReadOnlySpan<float>(row, n);
            case GgmlType.F16:
                Fp16.ToFloat((ushort*)row, buffer, n);
                return new ReadOnlySpan<float>(buffer, n);
            default:
                for (int d = 0; d < n; d++) buffer[d] = _cache.Load(row, d);
                return new ReadOnlySpan<float>(buffer, n);
        }
    }

    // acc[d] += p · v[d] for d < Dv, in F32 (product rounded, then added)
    private void AccumulateV(byte* v, float p, float* acc, float* vf)
    {
        var a = new Span<float>(acc, _dv);
        TensorPrimitives.MultiplyAdd(RowValues(v, _dv, vf), p, a, a);
    }


    private void Standard(BatchToken bt, int h, float* q, float* o, float* scratch)
    {
        int n = bt.Pos + 1;
        float* s = scratch, qc = scratch + _cache.Context, acc = qc + _dk, vf = acc + _dv;
        for (int d = 0; d < _dk; d++) qc[d] = _cache.Round(q[d]);
        for (int j = 0; j < n; j++) s[j] = Score(KRow(bt.Seq, j, h), qc);
        Ops.Activations.Softmax(s, n);
        // kqv = mul_mat(V^T, P): P is converted to V's vec_dot type (the cache type), products summed in F32
        for (int j = 0; j < n; j++) s[j] = _cache.Round(s[j]);
        for (int d = 0; d < _dv; d++) acc[d] = 0;
        for (int j = 0; j < n; j++) AccumulateV(VRow(bt.Seq, j, h), s[j], acc, vf);
        for (int d = 0; d < _dv; d++) o[d] = acc[d];
    }

    private void Flash(BatchToken bt, int h, float* q, float* o, float* scratch)
    {
        int n = bt.Pos + 1;
        float* qc = scratch + _cache.Context, acc = qc + _dk, vf = acc + _dv;
        bool f16 = _cache.Type == GgmlType.F16;
        var a = new Span<float>(acc, _dv);
        for (int d = 0; d < _dk; d++) qc[d] = _cache.Round(q[d]);
        a.Clear();
        float S = 0, M = float.NegativeInfinity;
        for (int j = 0; j < n; j++)
        {
            float vs = OnlineStep(Score(KRow(bt.Seq, j, h), qc), ref M, ref S, acc, f16);
            // acc = fma(v, vs, acc), rounded to fp16 with an F16 cache (ggml_vec_mad_f16; one pass, no F16C needed)
            if (f16) Fp16.MadRoundHalf(acc, VRow(bt.Seq, j, h), vs, _dv);
            else TensorPrimitives.FusedMultiplyAdd(RowValues(VRow(bt.Seq, j, h), _dv, vf), vs, a, a);
        }
        Normalize(acc, S, o);
    }

    /// <summary>
    /// ggml's online-softmax step for one key of score <paramref name="sj"/>: a new maximum rescales the accumulator (and,
    /// with an F16 cache, rounds it to fp16 again); returns the key's weight for its V row and adds it to the sum S.
    /// </summary>
    private float OnlineStep(float sj, ref float M, ref float S, float* acc, bool f16)
    {
        float ms = 1, vs = 1;
        if (sj > M)
        {
            ms = MathF.Exp(M - sj);
            M = sj;
            var a = new Span<float>(acc, _dv);
            TensorPrimitives.Multiply(a, ms, a);
            if (f16) Fp16.RoundToHalf(acc, _dv);
        }
        else vs = MathF.Exp(sj - M);
        S = S * ms + vs;
        return vs;
    }

    /// <summary>o = acc / S (0 when no key had weight).</summary>
    private void Normalize(float* acc, float S, float* o)
    {
        float inv = S == 0 ? 0 : 1.0f / S;
        for (int d = 0; d < _dv; d++) o[d] = acc[d] * inv;
    }


    /// <summary>
    /// <see cref="Flash"/> for heads h0 … h0+g−1 that read the same K row (V its first dv values): the row is converted to
    /// F32 once per key, then each head takes its score, online-softmax step and accumulate-and-round from it.
    /// </summary>
    private void FlashGroup(BatchToken bt, int h0, int g, float* q, float* o, float* scratch)
    {
        int n = bt.Pos + 1;
        float* kf = scratch + _cache.Context + _dk + _dv + _dv + 64, gq = kf + _dk, gacc = gq + MaxHeadGroup * _dk;
        float* gM = gacc + MaxHeadGroup * _dv, gS = gM + MaxHeadGroup, scores = gS + MaxHeadGroup;
        bool f16 = _cache.Type == GgmlType.F16;
        for (int k = 0; k < g; k++)
        {
            for (int d = 0; d < _dk; d++) gq[k * _dk + d] = _cache.Round(q[k * _dk + d]);
            new Span<float>(gacc + k * _dv, _dv).Clear();
            gM[k] = float.NegativeInfinity;
            gS[k] = 0;
        }
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<float> kv = RowValues(KRow(bt.Seq, j, h0), _dk, kf);
            fixed (float* kp = kv) GroupScores(kp, gq, g, _dk, scores);
            for (int k = 0; k < g; k++)
            {
                float* acc = gacc + k * _dv;
                float sj = scores[k] * _scale;
                float vs = OnlineStep(sj, ref gM[k], ref gS[k], acc, f16);
                if (f16) Fp16.MadRoundHalf(acc, kv, vs, _dv);
                else
                {
                    var a = new Span<float>(acc, _dv);
                    TensorPrimitives.FusedMultiplyAdd(kv[.._dv], vs, a, a);
                }
            }
        }
        for (int k = 0; k < g; k++) Normalize(gacc + k * _dv, gS[k], o + k * _dv);
    }

    /// <summary>
    /// s[h] = k · q_h for the group's heads (q rows dk apart), four heads per pass over k so each k vector is loaded once
    /// for four products. Every head's sum has the same order whatever its position in the group (two accumulators over
    /// alternate vectors, then their lane sum), so a head's score does not depend on how heads were grouped, hence not on
    /// the thread count.
    /// </summary>
    private static void GroupScores(float* k, float* q, int g, int dk, float* s)
    {
        int h = 0;
        if (Vector512.IsHardwareAccelerated && dk % 16 == 0)
        {
            int pairs = dk & ~31; // whole pairs of vectors; a last odd vector (dk = 32m + 16) joins the first accumulator
            for (; h + 4 <= g; h += 4)
            {
                float* q0 = q + (long)h * dk, q1 = q0 + dk, q2 = q1 + dk, q3 = q2 + dk;
                Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
                int d = 0;
                for (; d < pairs; d += 32)
                {
                    Vector512<float> x = Vector512.Load(k + d), y = Vector512.Load(k + d + 16);
                    a0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q0 + d), a0); b0 = Vector512.FusedMultiplyAdd(y, Vector512.Load(q0 + d + 16), b0);
                    a1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q1 + d), a1); b1 = Vector512.FusedMultiplyAdd(y, Vector512.Load(q1 + d + 16), b1);
                    a2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q2 + d), a2); b2 = Vector512.FusedMultiplyAdd(y, Vector512.Load(q2 + d + 16), b2);
                    a3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q3 + d), a3); b3 = Vector512.FusedMultiplyAdd(y, Vector512.Load(q3 + d + 16), b3);
                }
                if (d < dk)
                {
                    Vector512<float> x = Vector512.Load(k + d);
                    a0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q0 + d), a0);
                    a1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q1 + d), a1);
                    a2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q2 + d), a2);
                    a3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(q3 + d), a3);
                }
                s[h] = Vector512.Sum(a0 + b0); s[h + 1] = Vector512.Sum(a1 + b1); s[h + 2] = Vector512.Sum(a2 + b2); s[h + 3] = Vector512.Sum(a3 + b3);
            }
            for (; h < g; h++)
            {
                float* qh = q + (long)h * dk;
                Vector512<float> a = default, b = default;
                int d = 0;
                for (; d < pairs; d += 32)
                {
                    a = Vector512.FusedMultiplyAdd(Vector512.Load(k + d), Vector512.Load(qh + d), a);
                    b = Vector512.FusedMultiplyAdd(Vector512.Load(k + d + 16), Vector512.Load(qh + d + 16), b);
                }
                if (d < dk) a = Vector512.FusedMultiplyAdd(Vector512.Load(k + d), Vector512.Load(qh + d), a);
                s[h] = Vector512.Sum(a + b);
            }
            return;
        }
        for (; h < g; h++) s[h] = TensorPrimitives.Dot(new ReadOnlySpan<float>(k, dk), new ReadOnlySpan<float>(q + (long)h * dk, dk));
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_scratch);
        NativeMemory.AlignedFree(_tiledScratch);
    }
}
