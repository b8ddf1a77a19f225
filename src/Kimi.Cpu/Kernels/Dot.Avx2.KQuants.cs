using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// AVX2 K-quant dots against Q8_K activations (also used by the AVX-512 set). Same contract as <see cref="DotScalar"/>:
/// integer sums per 32/16-element group are exact, each 256-element super-block adds one float term.
/// Super-block scales (d, dmin) go through <see cref="Fp16.LoadExact"/> (integer bit trick), not the 256 KiB table:
/// with real, spread-out scales streaming from RAM every table lookup misses the cache (GEMV figures in KernelSet).
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotAvx2KQuants
{
    // Q4_K: 4 chunks of 64 elements; chunk c = 32 bytes qs, low nibbles → sub-block 2c, high → 2c+1.
    public static float Q4_K(byte* w, byte* a, int n)
    {
        float y;
        Q4KRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 Q4_K rows × 4 tokens (<c>y[4·r + t]</c>): each chunk's nibbles and scale broadcasts once for the 4
    /// tokens, every pair with exactly the dot's operations.</summary>
    public static void Q4_Kx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) Q4KRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>One Q4_K row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4KRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> mins0 = default, mins1 = default, mins2 = default, mins3 = default;
        Vector256<byte> m4 = Vector256.Create((byte)15); // a local: written inline, the JIT reloaded it for every chunk
        for (int b = 0; b < n / 256; b++, w += 144, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            KQuantScales.Unpack(w + 4, out ulong sc, out ulong mn);
            AccumulateMins<TT>(mn, Fp16.LoadExact(w + 2), a0, a1, a2, a3, ref mins0, ref mins1, ref mins2, ref mins3);
            Vector256<byte> sc8 = Scales8(sc);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            ChunkQ4_K<TT>(Vector256.Load(w + 16), 4, sc8, Bcast0, Bcast1, m4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ4_K<TT>(Vector256.Load(w + 48), 68, sc8, Bcast2, Bcast3, m4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ4_K<TT>(Vector256.Load(w + 80), 132, sc8, Bcast4, Bcast5, m4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ4_K<TT>(Vector256.Load(w + 112), 196, sc8, Bcast6, Bcast7, m4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            TokenSums.Accumulate<TT>(Fp16.LoadExact(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        StoreWithMins<TT>(acc0, acc1, acc2, acc3, mins0, mins1, mins2, mins3, y);
    }

    /// <summary>One 64-element chunk of a Q4_K/Q5_K row: lo (elements 0-31, scale c0) and hi (32-63, scale c1), unsigned,
    /// against 1 or 4 tokens' activations at a_t + o; the scale broadcasts once for all tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddPair<TT>(Vector256<byte> lo, Vector256<byte> hi, int o, Vector256<byte> sc8, Vector256<byte> c0, Vector256<byte> c1,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        Vector256<short> k0 = Avx2.Shuffle(sc8, c0).AsInt16(), k1 = Avx2.Shuffle(sc8, c1).AsInt16();
        s0 += Scaled(lo, (sbyte*)(a0 + o), k0) + Scaled(hi, (sbyte*)(a0 + o + 32), k1);
        if (!TT.Four) return;
        s1 += Scaled(lo, (sbyte*)(a1 + o), k0) + Scaled(hi, (sbyte*)(a1 + o + 32), k1);
        s2 += Scaled(lo, (sbyte*)(a2 + o), k0) + Scaled(hi, (sbyte*)(a2 + o + 32), k1);
        s3 += Scaled(lo, (sbyte*)(a3 + o), k0) + Scaled(hi, (sbyte*)(a3 + o + 32), k1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ChunkQ4_K<TT>(Vector256<byte> q, int o, Vector256<byte> sc8, Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> m4,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount =>
        AddPair<TT>(q & m4, (q.AsUInt16() >>> 4).AsByte() & m4, o, sc8, c0, c1, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);

    /// <summary>mins_t = fma(Σ mins·bsums of token t, da_t·dmin, mins_t) for 1 or 4 tokens (Q4_K, Q5_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateMins<TT>(ulong mn, float dmin, byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<float> m0,
        ref Vector256<float> m1, ref Vector256<float> m2, ref Vector256<float> m3) where TT : struct, ITokenCount
    {
        m0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(MinsDot8(mn, a0)), Vector256.Create(*(float*)a0 * dmin), m0);
        if (!TT.Four) return;
        m1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(MinsDot8(mn, a1)), Vector256.Create(*(float*)a1 * dmin), m1);
        m2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(MinsDot8(mn, a2)), Vector256.Create(*(float*)a2 * dmin), m2);
        m3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(MinsDot8(mn, a3)), Vector256.Create(*(float*)a3 * dmin), m3);
    }

    /// <summary>y[t] = Σ acc_t − Σ mins_t for 1 or 4 tokens (Q4_K, Q5_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreWithMins<TT>(Vector256<float> acc0, Vector256<float> acc1, Vector256<float> acc2, Vector256<float> acc3,
        Vector256<float> mins0, Vector256<float> mins1, Vector256<float> mins2, Vector256<float> mins3, float* y) where TT : struct, ITokenCount
    {
        y[0] = Vector256.Sum(acc0) - Vector256.Sum(mins0);
        if (!TT.Four) return;
        y[1] = Vector256.Sum(acc1) - Vector256.Sum(mins1);
        y[2] = Vector256.Sum(acc2) - Vector256.Sum(mins2);
        y[3] = Vector256.Sum(acc3) - Vector256.Sum(mins3);
    }

    /// <summary>The terms mins[j]·(bsums[2j] + bsums[2j+1]) of a Q8_K block, lane j: vpshufb zero-extends each min into
    /// both i16 lanes of its bsums pair and one vpmaddwd does products and pair sums. Accumulated as a vector across
    /// super-blocks: no phaddw and no horizontal sum per block (Q4_K and Q5_K dots in L1: 26.3 → 23.3 and 36.2 → 32.2
    /// cycles per super-block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MinsDot8(ulong mins, byte* a)
    {
        Vector256<byte> pairs = Vector256.Create((byte)0, 0x80, 0, 0x80, 1, 0x80, 1, 0x80, 2, 0x80, 2, 0x80, 3, 0x80, 3, 0x80,
            4, 0x80, 4, 0x80, 5, 0x80, 5, 0x80, 6, 0x80, 6, 0x80, 7, 0x80, 7, 0x80);
        Vector256<short> m16 = Avx2.Shuffle(Vector256.Create(mins).AsByte(), pairs).AsInt16();
        return Avx2.MultiplyAddAdjacent(m16, Vector256.Load((short*)(a + 260)));
    }

    // Q6_K/Q3_K/Q2_K shuffle controls (16-element groups): lanes 0-7 (elements 0-15 of a 32-element row) take scale 2k, lanes 8-15 take scale 2k+1,
    // out of 8 sign-extended i16 scales broadcast to both 128-bit halves.
    private static readonly Vector256<byte> ScalePair0 = PairControl(0), ScalePair1 = PairControl(1), ScalePair2 = PairControl(2), ScalePair3 = PairControl(3);

    private static Vector256<byte> PairControl(int k)
    {
        Span<byte> c = stackalloc byte[32];
        for (int i = 0; i < 16; i += 2) { c[i] = (byte)(4 * k); c[i + 1] = (byte)(4 * k + 1); c[16 + i] = (byte)(4 * k + 2); c[17 + i] = (byte)(4 * k + 3); }
        return Vector256.Create((ReadOnlySpan<byte>)c);
    }

    /// <summary>One 128-element half of a Q6_K block: ql 64 bytes, qh 32 bytes, its 8 scales in both 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfQ6_K<TT>(byte* ql, byte* qh, int o, Vector256<byte> sc8, Vector256<byte> m4, Vector256<byte> m3,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        Vector256<byte> l0 = Vector256.Load(ql), l1 = Vector256.Load(ql + 32), h = Vector256.Load(qh);
        Vector256<byte> q1, q2, q3, q4;
        if (Avx512F.VL.IsSupported)
        {
            // Each 6-bit value as one bitwise select (vpternlogd) of its nibble and its 2 high bits already at bits 4-5:
            // (h << 4), (h << 2), h, (h >> 2), each & 0x30 (the u16 shifts' cross-byte bits land outside 0x30), then
            // nibble bits from l where m4 is set (64 rows of 7168 in L2, 1 thread: 28.5 → 30.9 GB/s; ggml 31.5).
            Vector256<byte> m30 = Vector256.Create((byte)0x30);
            q1 = Vector256.ConditionalSelect(m4, l0, (h.AsUInt16() << 4).AsByte() & m30);
            q2 = Vector256.ConditionalSelect(m4, l1, (h.AsUInt16() << 2).AsByte() & m30);
            q3 = Vector256.ConditionalSelect(m4, (l0.AsUInt16() >>> 4).AsByte(), h & m30);
            q4 = Vector256.ConditionalSelect(m4, (l1.AsUInt16() >>> 4).AsByte(), (h.AsUInt16() >>> 2).AsByte() & m30);
        }
        else
        {
            q1 = (l0 & m4) | ((h & m3).AsUInt16() << 4).AsByte();
            q2 = (l1 & m4) | (((h.AsUInt16() >>> 2).AsByte() & m3).AsUInt16() << 4).AsByte();
            q3 = ((l0.AsUInt16() >>> 4).AsByte() & m4) | (((h.AsUInt16() >>> 4).AsByte() & m3).AsUInt16() << 4).AsByte();
            q4 = ((l1.AsUInt16() >>> 4).AsByte() & m4) | (((h.AsUInt16() >>> 6).AsByte() & m3).AsUInt16() << 4).AsByte();
        }
        // q is 0..63, so vpmaddubsw takes it as the unsigned operand; the "− 32" comes once per block (Q6_K).
        AddQuad<TT>(q1, q2, q3, q4, sc8, o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    /// <summary>Four 32-element groups (q1..q4, unsigned) of a 128-element half with the half's 16-element scale pairs (sc8,
    /// <see cref="ScalePair0"/>…), against 1 or 4 tokens' activations at a_t + o: the scale broadcasts once for all tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddQuad<TT>(Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3, Vector256<byte> q4, Vector256<byte> sc8, int o,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        AddQuadScaled<TT>(q1, q2, q3, q4, Avx2.Shuffle(sc8, ScalePair0).AsInt16(), Avx2.Shuffle(sc8, ScalePair1).AsInt16(),
            Avx2.Shuffle(sc8, ScalePair2).AsInt16(), Avx2.Shuffle(sc8, ScalePair3).AsInt16(), o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    /// <summary><see cref="AddQuad"/> with the four groups' i16 scale vectors given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddQuadScaled<TT>(Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3, Vector256<byte> q4,
        Vector256<short> k1, Vector256<short> k2, Vector256<short> k3, Vector256<short> k4, int o,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        s0 += QuadSums(q1, q2, q3, q4, k1, k2, k3, k4, (sbyte*)(a0 + o));
        if (!TT.Four) return;
        s1 += QuadSums(q1, q2, q3, q4, k1, k2, k3, k4, (sbyte*)(a1 + o));
        s2 += QuadSums(q1, q2, q3, q4, k1, k2, k3, k4, (sbyte*)(a2 + o));
        s3 += QuadSums(q1, q2, q3, q4, k1, k2, k3, k4, (sbyte*)(a3 + o));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuadSums(Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3, Vector256<byte> q4,
        Vector256<short> k1, Vector256<short> k2, Vector256<short> k3, Vector256<short> k4, sbyte* yy) =>
        Scaled(q1, yy, k1) + Scaled(q2, yy + 32, k2) + Scaled(q3, yy + 64, k3) + Scaled(q4, yy + 96, k4);

    // Q6_K: two halves of 128 (ql +64, qh +32, scales +8 per half); value ((ql nibble) | (2 qh bits) << 4) − 32.
    public static float Q6_K(byte* w, byte* a, int n)
    {
        float y;
        Q6KRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 Q6_K rows × 4 tokens (<c>y[4·r + t]</c>): each half's 6-bit values and scale broadcasts once for the 4
    /// tokens, every pair with exactly the dot's operations.</summary>
    public static void Q6_Kx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) Q6KRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>One Q6_K row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6KRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<byte> m4 = Vector256.Create((byte)15), m3 = Vector256.Create((byte)3); // locals: see Q4_K
        for (int b = 0; b < n / 256; b++, w += 210, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            float dw = Fp16.LoadExact(w + 208);
            // All 16 signed scales with one 16-byte load that stays inside the block (bytes 192..207). An 8-byte load at
            // 200 widened by the JIT into vpmovsxbw's 16-byte memory operand ran past the last block (guard-page test).
            Vector256<short> sc16 = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(w + 192)));
            // Σ (q − 32)·y·sc = Σ q·y·sc − 32·Σ_g sc_g·bsum_g: the Q8_K group sums (16 × i16 at +260) are per 16 elements,
            // the Q6_K scales too, so one vpmaddwd replaces a second vpmaddubsw and a subtraction per 32 elements.
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            HalfQ6_K<TT>(w, w + 128, 4, Avx2.Permute2x128(sc16, sc16, 0x00).AsByte(), m4, m3, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            HalfQ6_K<TT>(w + 64, w + 160, 132, Avx2.Permute2x128(sc16, sc16, 0x11).AsByte(), m4, m3, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            s0 -= GroupOffset(sc16, a0, 5);
            if (TT.Four)
            {
                s1 -= GroupOffset(sc16, a1, 5);
                s2 -= GroupOffset(sc16, a2, 5);
                s3 -= GroupOffset(sc16, a3, 5);
            }
            TokenSums.Accumulate<TT>(dw, a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>vpmaddubsw of unsigned q (small enough that pair sums fit i16) with 32 activations, then vpmaddwd with the
    /// per-lane i16 scales: 8 i32 partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> q, sbyte* y, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(y)), scale);

    // Lane controls for vpshufb: every i16 lane takes i16 number k of the 8 in its 128-bit half (ggml get_scale_shuffle_k4).
    private static readonly Vector256<byte> Bcast0 = BcastControl(0), Bcast1 = BcastControl(1), Bcast2 = BcastControl(2), Bcast3 = BcastControl(3),
        Bcast4 = BcastControl(4), Bcast5 = BcastControl(5), Bcast6 = BcastControl(6), Bcast7 = BcastControl(7);

    private static Vector256<byte> BcastControl(int k) => Vector256.Create((ushort)(2 * k | (2 * k + 1) << 8)).AsByte();

    /// <summary>8 scale bytes (a ulong) as i16 in both 128-bit lanes, for <see cref="Bcast0"/>… shuffles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Scales8(ulong sc)
    {
        Vector128<short> s = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(sc).AsByte());
        return Vector256.Create(s, s).AsByte();
    }

    /// <summary>One 64-element chunk of Q5_K: low nibbles + bit <paramref name="bit"/> of qh (elements 0-31, scale
    /// <paramref name="c0"/>), high nibbles + bit+1 (32-63, scale <paramref name="c1"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ChunkQ5_K<TT>(Vector256<byte> q, Vector256<byte> qh, int bit, int o, Vector256<byte> sc8, Vector256<byte> c0, Vector256<byte> c1,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        Vector256<byte> m4 = Vector256.Create((byte)15), sixteen = Vector256.Create((byte)16);
        Vector256<byte> b0 = Vector256.Create((byte)(1 << bit)), b1 = Vector256.Create((byte)(2 << bit));
        Vector256<byte> lo = (q & m4) | (Vector256.Equals(qh & b0, b0) & sixteen);
        Vector256<byte> hi = ((q.AsUInt16() >>> 4).AsByte() & m4) | (Vector256.Equals(qh & b1, b1) & sixteen);
        AddPair<TT>(lo, hi, o, sc8, c0, c1, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    // Q5_K: Q4_K plus the fifth bit of element 64c + l (low nibble) / 64c + 32 + l (high) in bit 2c / 2c+1 of qh[l].
    public static float Q5_K(byte* w, byte* a, int n)
    {
        float y;
        Q5KRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 Q5_K rows × 4 tokens (<c>y[4·r + t]</c>), every pair with exactly the dot's operations.</summary>
    public static void Q5_Kx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) Q5KRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>One Q5_K row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q5KRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> mins0 = default, mins1 = default, mins2 = default, mins3 = default;
        for (int b = 0; b < n / 256; b++, w += 176, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            KQuantScales.Unpack(w + 4, out ulong sc, out ulong mn);
            AccumulateMins<TT>(mn, Fp16.LoadExact(w + 2), a0, a1, a2, a3, ref mins0, ref mins1, ref mins2, ref mins3);
            Vector256<byte> qh = Vector256.Load(w + 16), sc8 = Scales8(sc);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            ChunkQ5_K<TT>(Vector256.Load(w + 48), qh, 0, 4, sc8, Bcast0, Bcast1, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ5_K<TT>(Vector256.Load(w + 80), qh, 2, 68, sc8, Bcast2, Bcast3, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ5_K<TT>(Vector256.Load(w + 112), qh, 4, 132, sc8, Bcast4, Bcast5, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            ChunkQ5_K<TT>(Vector256.Load(w + 144), qh, 6, 196, sc8, Bcast6, Bcast7, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            TokenSums.Accumulate<TT>(Fp16.LoadExact(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        StoreWithMins<TT>(acc0, acc1, acc2, acc3, mins0, mins1, mins2, mins3, y);
    }

    /// <summary>One 128-element half of Q2_K: 32 qs bytes, its 8 group scales (i16) in both 128-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfQ2_K<TT>(Vector256<byte> q, int o, Vector256<byte> sc, int half, byte* a0, byte* a1, byte* a2, byte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3) where TT : struct, ITokenCount
    {
        Vector256<byte> m3 = Vector256.Create((byte)3);
        AddQuadScaled<TT>(q & m3, (q.AsUInt16() >>> 2).AsByte() & m3, (q.AsUInt16() >>> 4).AsByte() & m3, (q.AsUInt16() >>> 6).AsByte() & m3,
            Avx2.Shuffle(sc, Q2Scale[4 * half]).AsInt16(), Avx2.Shuffle(sc, Q2Scale[4 * half + 1]).AsInt16(),
            Avx2.Shuffle(sc, Q2Scale[4 * half + 2]).AsInt16(), Avx2.Shuffle(sc, Q2Scale[4 * half + 3]).AsInt16(),
            o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    // Q2_K scale controls: group k of half h takes scale byte 8h + 2k in lanes 0-7 and 8h + 2k + 1 in lanes 8-15, each
    // zero-extended to i16 by the shuffle itself (the 16 nibble scales sit in both 128-bit lanes).
    private static readonly Vector256<byte>[] Q2Scale = Enumerable.Range(0, 8).Select(j =>
    {
        var c = new byte[32];
        for (int i = 0; i < 16; i += 2) { c[i] = (byte)(2 * j); c[16 + i] = (byte)(2 * j + 1); c[i + 1] = c[17 + i] = 0x80; }
        return Vector256.Create(c);
    }).ToArray();

    // Q2_K: per 128-element half, one 32-byte qs load holds 4 × 32 two-bit values (shift 2k); each 32 takes the group
    // scales 2k / 2k+1 of that half (16 nibble scales widened to i16, the half's 8 broadcast to both 128-bit lanes).
    public static float Q2_K(byte* w, byte* a, int n)
    {
        float y;
        Q2KRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 Q2_K rows × 4 tokens (<c>y[4·r + t]</c>), every pair with exactly the dot's operations.</summary>
    public static void Q2_Kx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) Q2KRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>acc = fma(Σ mn·bsums of one token, −da·dmin, acc): 16 products, summed in float lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q2KMins(Vector256<short> mn16, byte* a, float dmin, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(mn16, Vector256.Load((short*)(a + 260)))), Vector256.Create(-*(float*)a * dmin), acc);

    /// <summary>One Q2_K row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q2KRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector128<byte> m4 = Vector128.Create((byte)15);
        for (int b = 0; b < n / 256; b++, w += 84, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            Vector128<byte> sm = Vector128.Load(w);
            float dmin = Fp16.LoadExact(w + 82);
            Vector256<short> mn16 = Avx2.ConvertToVector256Int16((sm.AsUInt16() >>> 4).AsByte() & m4);
            acc0 = Q2KMins(mn16, a0, dmin, acc0);
            if (TT.Four)
            {
                acc1 = Q2KMins(mn16, a1, dmin, acc1);
                acc2 = Q2KMins(mn16, a2, dmin, acc2);
                acc3 = Q2KMins(mn16, a3, dmin, acc3);
            }
            Vector256<byte> sc = Vector256.Create(sm & m4);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            HalfQ2_K<TT>(Vector256.Load(w + 16), 4, sc, 0, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            HalfQ2_K<TT>(Vector256.Load(w + 48), 132, sc, 1, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            TokenSums.Accumulate<TT>(Fp16.LoadExact(w + 80), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>Σ (ql + 4·hbit)·y for one 32 of Q3_K, then its two group scales; the value is ql + 4·hbit − 4, and the
    /// "− 4" is taken once per block from the activation's group sums (<see cref="Q3_K"/>). hbit k of the hmask bytes goes
    /// to bit 2 with one 16-bit shift (no bit crosses into the bit-2 position of the other byte) and a mask.</summary>
    /// <summary>A Q3_K group's 2 low bits with bit k of hm as 4 (the stored value + 4; the "− 4" comes from the bsums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> GroupQ3_K(Vector256<byte> ql, Vector256<byte> hm, int k)
    {
        Vector256<ushort> h16 = hm.AsUInt16();
        return ql | ((k >= 2 ? h16 >>> (k - 2) : h16 << (2 - k)).AsByte() & Vector256.Create((byte)4));
    }

    /// <summary>One 128-element half of Q3_K: 32 qs bytes, hmask bits <paramref name="bit0"/>..+3, 8 scales as in Q2_K.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfQ3_K<TT>(Vector256<byte> q, Vector256<byte> hm, int bit0, int o, Vector256<byte> sc8, byte* a0, byte* a1, byte* a2,
        byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3) where TT : struct, ITokenCount
    {
        Vector256<byte> m3 = Vector256.Create((byte)3);
        AddQuad<TT>(GroupQ3_K(q & m3, hm, bit0), GroupQ3_K((q.AsUInt16() >>> 2).AsByte() & m3, hm, bit0 + 1),
            GroupQ3_K((q.AsUInt16() >>> 4).AsByte() & m3, hm, bit0 + 2), GroupQ3_K((q.AsUInt16() >>> 6).AsByte() & m3, hm, bit0 + 3),
            sc8, o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    // Q3_K: as Q2_K for the low bits (qs at +32), the third bit from the 32 hmask bytes, 16 signed 6-bit scales.
    public static float Q3_K(byte* w, byte* a, int n)
    {
        float y;
        Q3KRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 Q3_K rows × 4 tokens (<c>y[4·r + t]</c>), every pair with exactly the dot's operations.</summary>
    public static void Q3_Kx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) Q3KRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>One Q3_K row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q3KRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        const uint Km1 = 0x03030303, Km2 = 0x0f0f0f0f;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < n / 256; b++, w += 110, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            float dw = Fp16.LoadExact(w + 108);
            uint u0 = Unsafe.ReadUnaligned<uint>(w + 96), u1 = Unsafe.ReadUnaligned<uint>(w + 100), u2 = Unsafe.ReadUnaligned<uint>(w + 104);
            Vector128<uint> s6 = Vector128.Create(
                (u0 & Km2) | ((u2 & Km1) << 4), (u1 & Km2) | (((u2 >> 2) & Km1) << 4),
                ((u0 >> 4) & Km2) | (((u2 >> 4) & Km1) << 4), ((u1 >> 4) & Km2) | (((u2 >> 6) & Km1) << 4));
            Vector256<short> sc16 = Avx2.ConvertToVector256Int16(s6.AsSByte() - Vector128.Create((sbyte)32));
            Vector256<byte> hm = Vector256.Load(w);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            HalfQ3_K<TT>(Vector256.Load(w + 32), hm, 0, 4, Avx2.Permute2x128(sc16, sc16, 0x00).AsByte(), a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            HalfQ3_K<TT>(Vector256.Load(w + 64), hm, 4, 132, Avx2.Permute2x128(sc16, sc16, 0x11).AsByte(), a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            // − 4·Σ_g sc_g·bsum_g: group sums and scales are both per 16 elements (as in Q6_K).
            s0 -= GroupOffset(sc16, a0, 2);
            if (TT.Four)
            {
                s1 -= GroupOffset(sc16, a1, 2);
                s2 -= GroupOffset(sc16, a2, 2);
                s3 -= GroupOffset(sc16, a3, 2);
            }
            TokenSums.Accumulate<TT>(dw, a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>(Σ_g sc_g·bsum_g) &lt;&lt; shift of one token: the constant offset of a type's values (Q3_K: 4, Q6_K: 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> GroupOffset(Vector256<short> sc16, byte* a, byte shift) =>
        Avx2.MultiplyAddAdjacent(sc16, Vector256.Load((short*)(a + 260))) << shift;



    private static readonly Vector256<uint> LowNibbleShifts = Vector256.Create(0u, 4, 8, 12, 16, 20, 24, 28),
        HighPairShifts = Vector256.Create(0u, 2, 4, 6, 8, 10, 12, 14);

    /// <summary>Two IQ4_XS sub-blocks (32 qs bytes → 64 elements): low/high nibbles of each 16 bytes regrouped per 32 with
    /// vperm2i128, looked up in the grid with vpshufb, multiplied as signed × signed (vpsignb + vpmaddubsw, |grid| ≤ 127),
    /// then by the sub-blocks' ls − 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairIQ4_XS<TT>(Vector256<byte> q, int o, Vector256<sbyte> grid, Vector256<byte> sc8, Vector256<byte> c0, Vector256<byte> c1,
        byte* a0, byte* a1, byte* a2, byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
        where TT : struct, ITokenCount
    {
        Vector256<byte> m4 = Vector256.Create((byte)15);
        Vector256<byte> lo = q & m4, hi = (q.AsUInt16() >>> 4).AsByte() & m4;
        Vector256<sbyte> v0 = Avx2.Shuffle(grid, Avx2.Permute2x128(lo, hi, 0x20).AsSByte());
        Vector256<sbyte> v1 = Avx2.Shuffle(grid, Avx2.Permute2x128(lo, hi, 0x31).AsSByte());
        Vector256<byte> u0 = Avx2.Abs(v0), u1 = Avx2.Abs(v1);
        Vector256<short> k0 = Avx2.Shuffle(sc8, c0).AsInt16(), k1 = Avx2.Shuffle(sc8, c1).AsInt16();
        s0 += PairIQ4_XSSums(u0, u1, v0, v1, k0, k1, (sbyte*)(a0 + o));
        if (!TT.Four) return;
        s1 += PairIQ4_XSSums(u0, u1, v0, v1, k0, k1, (sbyte*)(a1 + o));
        s2 += PairIQ4_XSSums(u0, u1, v0, v1, k0, k1, (sbyte*)(a2 + o));
        s3 += PairIQ4_XSSums(u0, u1, v0, v1, k0, k1, (sbyte*)(a3 + o));
    }

    /// <summary>Signed grid values (v, |v| = u) times 64 activations at y, with the sign trick, then the two scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairIQ4_XSSums(Vector256<byte> u0, Vector256<byte> u1, Vector256<sbyte> v0, Vector256<sbyte> v1,
        Vector256<short> k0, Vector256<short> k1, sbyte* y)
    {
        Vector256<short> p0 = Avx2.MultiplyAddAdjacent(u0, Avx2.Sign(Vector256.Load(y), v0));
        Vector256<short> p1 = Avx2.MultiplyAddAdjacent(u1, Avx2.Sign(Vector256.Load(y + 32), v1));
        return Avx2.MultiplyAddAdjacent(p0, k0) + Avx2.MultiplyAddAdjacent(p1, k1);
    }

    // IQ4_XS: 8 sub-blocks of 32 (IQ4_NL nibble layout, 16 qs bytes each); the 8 scales ls − 32 (4 low bits in scales_l,
    // 2 high in scales_h) are unpacked once per block with variable shifts, then picked per sub-block by vpshufb.
    public static float IQ4_XS(byte* w, byte* a, int n)
    {
        float y;
        IQ4XSRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 IQ4_XS rows × 4 tokens (<c>y[4·r + t]</c>), every pair with exactly the dot's operations.</summary>
    public static void IQ4_XSx4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) IQ4XSRow<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    /// <summary>One IQ4_XS row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void IQ4XSRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector128<sbyte> grid128 = Vector128.Create(DotScalar.Iq4NlValues);
        Vector256<sbyte> grid = Vector256.Create(grid128, grid128);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < n / 256; b++, w += 136, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            Vector256<uint> lsLo = Avx2.ShiftRightLogicalVariable(Vector256.Create(Unsafe.ReadUnaligned<uint>(w + 4)), LowNibbleShifts) & Vector256.Create(15u);
            Vector256<uint> lsHi = Avx2.ShiftRightLogicalVariable(Vector256.Create((uint)*(ushort*)(w + 2)), HighPairShifts) & Vector256.Create(3u);
            Vector256<int> ls = (lsLo | lsHi << 4).AsInt32() - Vector256.Create(32);
            Vector128<short> ls16 = Sse2.PackSignedSaturate(ls.GetLower(), ls.GetUpper());
            Vector256<byte> sc8 = Vector256.Create(ls16, ls16).AsByte();
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            PairIQ4_XS<TT>(Vector256.Load(w + 8), 4, grid, sc8, Bcast0, Bcast1, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            PairIQ4_XS<TT>(Vector256.Load(w + 40), 68, grid, sc8, Bcast2, Bcast3, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            PairIQ4_XS<TT>(Vector256.Load(w + 72), 132, grid, sc8, Bcast4, Bcast5, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            PairIQ4_XS<TT>(Vector256.Load(w + 104), 196, grid, sc8, Bcast6, Bcast7, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            TokenSums.Accumulate<TT>(Fp16.LoadExact(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }
}
