using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// ARM64 AdvSimd K-quant dots against Q8_K activations. Same contract as <see cref="DotScalar"/>: integer sums per
/// 32/16-element group are exact, each 256-element super-block adds one float term. int8 products use sdot (<see cref="Dp"/>)
/// when present, else smull/smlal2 into i16 lanes and one sadalp-style widening pairwise add. Per-group sums are gathered
/// with addp into one vector of 4 groups and multiplied by the widened scales (ggml instead reduces every group to a scalar
/// with vaddvq and multiplies there).
/// Not run on x86: tested under qemu-aarch64 (tests/neon/run.sh).
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotNeonKQuants
{
    /// <summary>x0·y0 + x1·y1 over 32 signed bytes, in 4 i32 lanes. Without sdot each i16 lane sums 4 products, so callers
    /// keep |x·y| ≤ 8191 (K-quant values are ≤ 31 in magnitude for Q4_K/Q5_K, Q8_K activations ≤ 127).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot32(Vector128<sbyte> x0, Vector128<sbyte> y0, Vector128<sbyte> x1, Vector128<sbyte> y1)
    {
        if (Dp.IsSupported) return Dp.DotProduct(Dp.DotProduct(Vector128<int>.Zero, x0, y0), x1, y1);
        Vector128<short> p = AdvSimd.MultiplyWideningLower(x0.GetLower(), y0.GetLower());
        p = AdvSimd.MultiplyWideningUpperAndAdd(p, x0, y0);
        p = AdvSimd.MultiplyWideningLowerAndAdd(p, x1.GetLower(), y1.GetLower());
        p = AdvSimd.MultiplyWideningUpperAndAdd(p, x1, y1);
        return AdvSimd.AddPairwiseWidening(p);
    }

    /// <summary>x·y over 16 signed bytes in 4 i32 lanes (without sdot: 2 products per i16 lane, |x·y| ≤ 16383).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot16(Vector128<sbyte> x, Vector128<sbyte> y)
    {
        if (Dp.IsSupported) return Dp.DotProduct(Vector128<int>.Zero, x, y);
        return AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(x.GetLower(), y.GetLower()), x, y));
    }

    /// <summary>Lane g of the result = sum of the 4 lanes of d_g: four group sums in one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Gather4(Vector128<int> d0, Vector128<int> d1, Vector128<int> d2, Vector128<int> d3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(d0, d1), AdvSimd.Arm64.AddPairwise(d2, d3));

    /// <summary>Σ_j scale_j·group_j for 8 groups (sums in two vectors of 4) and 8 unsigned byte scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Scale8(Vector128<int> s03, Vector128<int> s47, ulong scales)
    {
        Vector128<ushort> sc = AdvSimd.ZeroExtendWideningLower(Vector64.Create(scales).AsByte());
        Vector128<int> r = AdvSimd.Multiply(s03, AdvSimd.ZeroExtendWideningLower(sc.GetLower()).AsInt32());
        return AdvSimd.MultiplyAdd(r, s47, AdvSimd.ZeroExtendWideningUpper(sc).AsInt32());
    }

    /// <summary>Q4_K/Q5_K min term Σ_j mn_j·(bsums[2j] + bsums[2j+1]) as 4 i32 lanes (pair sums ≤ 2·16·127 fit i16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Mins(short* bsums, ulong mins)
    {
        Vector128<short> bs = AdvSimd.Arm64.AddPairwise(AdvSimd.LoadVector128(bsums), AdvSimd.LoadVector128(bsums + 8));
        Vector128<short> mn = AdvSimd.ZeroExtendWideningLower(Vector64.Create(mins).AsByte()).AsInt16();
        return AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(bs.GetLower(), mn.GetLower()), bs, mn);
    }

    /// <summary>One Q4_K chunk of 64: 32 bytes of qs, low nibbles · y[0..31] → <paramref name="lo"/>, high · y[32..63] → <paramref name="hi"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk4(byte* q, sbyte* y, out Vector128<int> lo, out Vector128<int> hi)
    {
        Vector128<byte> m4 = Vector128.Create((byte)15);
        Vector128<byte> q0 = AdvSimd.LoadVector128(q), q1 = AdvSimd.LoadVector128(q + 16);
        lo = Dot32(AdvSimd.And(q0, m4).AsSByte(), AdvSimd.LoadVector128(y), AdvSimd.And(q1, m4).AsSByte(), AdvSimd.LoadVector128(y + 16));
        hi = Dot32(AdvSimd.ShiftRightLogical(q0, 4).AsSByte(), AdvSimd.LoadVector128(y + 32),
                   AdvSimd.ShiftRightLogical(q1, 4).AsSByte(), AdvSimd.LoadVector128(y + 48));
    }

    // Q4_K: 4 chunks of 64 elements; chunk c = 32 bytes qs, low nibbles → sub-block 2c, high → 2c+1.
    public static float Q4_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default, accMin = default;
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            KQuantScales.Unpack(w + 4, out ulong scales, out ulong mins);
            accMin = AdvSimd.FusedMultiplyAdd(accMin, AdvSimd.ConvertToSingle(Mins((short*)(a + 260), mins)), Vector128.Create(da * Fp16.Load(w + 2)));

            Chunk4(w + 16, y, out Vector128<int> d0, out Vector128<int> d1);
            Chunk4(w + 48, y + 64, out Vector128<int> d2, out Vector128<int> d3);
            Chunk4(w + 80, y + 128, out Vector128<int> d4, out Vector128<int> d5);
            Chunk4(w + 112, y + 192, out Vector128<int> d6, out Vector128<int> d7);
            Vector128<int> sumi = Scale8(Gather4(d0, d1, d2, d3), Gather4(d4, d5, d6, d7), scales);
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w)));
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    /// <summary>
    /// One Q5_K chunk of 64: as <see cref="Chunk4"/> plus the fifth bit, bit 0 of h for the low nibbles and bit 1 for the
    /// high ones (the caller shifts h right by 2 per chunk). sli/sri put the bit next to the nibble in two instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk5(byte* q, Vector128<byte> h0, Vector128<byte> h1, sbyte* y, out Vector128<int> lo, out Vector128<int> hi)
    {
        Vector128<byte> m5 = Vector128.Create((byte)31);
        Vector128<byte> q0 = AdvSimd.LoadVector128(q), q1 = AdvSimd.LoadVector128(q + 16);
        // sli: (h << 4) | (q & 15); sri: ((h << 3) & 0xF0) | (q >> 4); the mask keeps bit 4 as the fifth bit.
        Vector128<byte> l0 = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(q0, h0, 4), m5);
        Vector128<byte> l1 = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(q1, h1, 4), m5);
        Vector128<byte> u0 = AdvSimd.And(AdvSimd.ShiftRightAndInsert(AdvSimd.ShiftLeftLogical(h0, 3), q0, 4), m5);
        Vector128<byte> u1 = AdvSimd.And(AdvSimd.ShiftRightAndInsert(AdvSimd.ShiftLeftLogical(h1, 3), q1, 4), m5);
        lo = Dot32(l0.AsSByte(), AdvSimd.LoadVector128(y), l1.AsSByte(), AdvSimd.LoadVector128(y + 16));
        hi = Dot32(u0.AsSByte(), AdvSimd.LoadVector128(y + 32), u1.AsSByte(), AdvSimd.LoadVector128(y + 48));
    }

    // Q5_K · Q8_K: Q4_K plus a fifth bit from qh (chunk c: bit 2c for the low nibbles, bit 2c+1 for the high).
    public static float Q5_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default, accMin = default;
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            KQuantScales.Unpack(w + 4, out ulong scales, out ulong mins);
            accMin = AdvSimd.FusedMultiplyAdd(accMin, AdvSimd.ConvertToSingle(Mins((short*)(a + 260), mins)), Vector128.Create(da * Fp16.Load(w + 2)));

            Vector128<byte> h0 = AdvSimd.LoadVector128(w + 16), h1 = AdvSimd.LoadVector128(w + 32);
            Chunk5(w + 48, h0, h1, y, out Vector128<int> d0, out Vector128<int> d1);
            h0 = AdvSimd.ShiftRightLogical(h0, 2); h1 = AdvSimd.ShiftRightLogical(h1, 2);
            Chunk5(w + 80, h0, h1, y + 64, out Vector128<int> d2, out Vector128<int> d3);
            h0 = AdvSimd.ShiftRightLogical(h0, 2); h1 = AdvSimd.ShiftRightLogical(h1, 2);
            Chunk5(w + 112, h0, h1, y + 128, out Vector128<int> d4, out Vector128<int> d5);
            h0 = AdvSimd.ShiftRightLogical(h0, 2); h1 = AdvSimd.ShiftRightLogical(h1, 2);
            Chunk5(w + 144, h0, h1, y + 192, out Vector128<int> d6, out Vector128<int> d7);
            Vector128<int> sumi = Scale8(Gather4(d0, d1, d2, d3), Gather4(d4, d5, d6, d7), scales);
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w)));
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    /// <summary>
    /// One 128-element half of a Q6_K block (ql 64 bytes, qh 32 bytes): the 8 groups of 16 in y order, each Σ q·y with the
    /// unsigned q = (ql nibble) | (2 qh bits) &lt;&lt; 4 (0..63; the −32 comes off once per block through bsums), gathered as
    /// two vectors of 4 group sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfQ6_K(byte* ql, byte* qh, sbyte* y, out Vector128<int> s03, out Vector128<int> s47)
    {
        Vector128<byte> m6 = Vector128.Create((byte)63);
        Vector128<byte> l0a = AdvSimd.LoadVector128(ql), l0b = AdvSimd.LoadVector128(ql + 16);
        Vector128<byte> l1a = AdvSimd.LoadVector128(ql + 32), l1b = AdvSimd.LoadVector128(ql + 48);
        Vector128<byte> ha = AdvSimd.LoadVector128(qh), hb = AdvSimd.LoadVector128(qh + 16);
        Vector128<byte> ha2 = AdvSimd.ShiftRightLogical(ha, 2), hb2 = AdvSimd.ShiftRightLogical(hb, 2);
        // Elements 0-31: low nibble of ql[0..31], qh bits 0-1 (sli puts qh << 4 above the nibble; & 63 drops the rest).
        Vector128<sbyte> q1a = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(l0a, ha, 4), m6).AsSByte();
        Vector128<sbyte> q1b = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(l0b, hb, 4), m6).AsSByte();
        // Elements 32-63: low nibble of ql[32..63], qh bits 2-3.
        Vector128<sbyte> q2a = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(l1a, ha2, 4), m6).AsSByte();
        Vector128<sbyte> q2b = AdvSimd.And(AdvSimd.ShiftLeftAndInsert(l1b, hb2, 4), m6).AsSByte();
        // Elements 64-95: high nibble of ql[0..31], qh bits 4-5 (sri: (qh & 0xF0) | ql >> 4).
        Vector128<sbyte> q3a = AdvSimd.And(AdvSimd.ShiftRightAndInsert(ha, l0a, 4), m6).AsSByte();
        Vector128<sbyte> q3b = AdvSimd.And(AdvSimd.ShiftRightAndInsert(hb, l0b, 4), m6).AsSByte();
        // Elements 96-127: high nibble of ql[32..63], qh bits 6-7 (already the top of qh >> 2: no mask needed).
        Vector128<sbyte> q4a = AdvSimd.ShiftRightAndInsert(ha2, l1a, 4).AsSByte();
        Vector128<sbyte> q4b = AdvSimd.ShiftRightAndInsert(hb2, l1b, 4).AsSByte();
        // Without sdot: |q·y| ≤ 63·127, 2 products per i16 lane.
        s03 = Gather4(Dot16(q1a, AdvSimd.LoadVector128(y)), Dot16(q1b, AdvSimd.LoadVector128(y + 16)),
                      Dot16(q2a, AdvSimd.LoadVector128(y + 32)), Dot16(q2b, AdvSimd.LoadVector128(y + 48)));
        s47 = Gather4(Dot16(q3a, AdvSimd.LoadVector128(y + 64)), Dot16(q3b, AdvSimd.LoadVector128(y + 80)),
                      Dot16(q4a, AdvSimd.LoadVector128(y + 96)), Dot16(q4b, AdvSimd.LoadVector128(y + 112)));
    }

    // Q6_K: two halves of 128 (ql +64, qh +32, scales +8 per half); group g of 16 (in y order) has signed scale sc[g];
    // Σ sc·Σ (q − 32)·y = Σ sc·Σ q·y − 32·Σ sc·bsum (ggml's NEON order).
    public static float Q6_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w + 208);
            sbyte* y = (sbyte*)(a + 4);
            Vector128<sbyte> sc = AdvSimd.LoadVector128((sbyte*)(w + 192));
            Vector128<short> sc0 = AdvSimd.SignExtendWideningLower(sc.GetLower()), sc1 = AdvSimd.SignExtendWideningUpper(sc);
            HalfQ6_K(w, w + 128, y, out Vector128<int> g0, out Vector128<int> g1);
            HalfQ6_K(w + 64, w + 160, y + 128, out Vector128<int> g2, out Vector128<int> g3);
            // −32 term: Σ_g sc[g]·bsums[g] (|bsum| ≤ 16·127 fits i16), any lane order since only the total counts.
            Vector128<short> bs0 = AdvSimd.LoadVector128((short*)(a + 260)), bs1 = AdvSimd.LoadVector128((short*)(a + 276));
            Vector128<int> mins = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(bs0.GetLower(), sc0.GetLower()), bs0, sc0);
            mins = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(mins, bs1.GetLower(), sc1.GetLower()), bs1, sc1);
            Vector128<int> sumi = AdvSimd.Multiply(g0, AdvSimd.SignExtendWideningLower(sc0.GetLower()));
            sumi = AdvSimd.MultiplyAdd(sumi, g1, AdvSimd.SignExtendWideningUpper(sc0));
            sumi = AdvSimd.MultiplyAdd(sumi, g2, AdvSimd.SignExtendWideningLower(sc1.GetLower()));
            sumi = AdvSimd.MultiplyAdd(sumi, g3, AdvSimd.SignExtendWideningUpper(sc1));
            sumi -= mins << 5;
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(d));
        }
        return Vector128.Sum(acc);
    }
    /// <summary>16 group sums in 4 vectors (groups in order) times 16 scales given as 16 signed bytes: Σ_g sc_g·s_g in 4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Scale16(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3, Vector128<sbyte> sc)
    {
        Vector128<short> lo = AdvSimd.SignExtendWideningLower(sc.GetLower()), hi = AdvSimd.SignExtendWideningUpper(sc);
        Vector128<int> r = AdvSimd.Multiply(s0, AdvSimd.SignExtendWideningLower(lo.GetLower()));
        r = AdvSimd.MultiplyAdd(r, s1, AdvSimd.SignExtendWideningUpper(lo));
        r = AdvSimd.MultiplyAdd(r, s2, AdvSimd.SignExtendWideningLower(hi.GetLower()));
        return AdvSimd.MultiplyAdd(r, s3, AdvSimd.SignExtendWideningUpper(hi));
    }

    /// <summary>Σ_g bsums[g]·sc_g over the 16 Q8_K group sums (|bsum| ≤ 16·127 and |sc| ≤ 32 fit i16) as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> BsumDot(short* bsums, Vector128<sbyte> sc)
    {
        Vector128<short> lo = AdvSimd.SignExtendWideningLower(sc.GetLower()), hi = AdvSimd.SignExtendWideningUpper(sc);
        Vector128<short> b0 = AdvSimd.LoadVector128(bsums), b1 = AdvSimd.LoadVector128(bsums + 8);
        Vector128<int> r = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(b0.GetLower(), lo.GetLower()), b0, lo);
        return AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLowerAndAdd(r, b1.GetLower(), hi.GetLower()), b1, hi);
    }

    /// <summary>
    /// One 128-element half of a Q2_K/Q3_K block: the 8 groups of 16 in y order as two vectors of 4 group sums. Group
    /// 2k + i takes bits 2k..2k+1 of qs[16i..16i+15] (unsigned 0..3); with <paramref name="high"/> (Q3_K; a constant, so
    /// the Q2_K inlining has none of it) OR'ed with bit k of hm_i moved to bit 2 (hm0/hm1: hmask bytes 0-15/16-31
    /// shifted so the half's first bit is bit 0). Values ≤ 7, so without sdot 2 products per i16 lane are far from overflow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Half2(byte* qs, bool high, Vector128<byte> hm0, Vector128<byte> hm1, sbyte* y, out Vector128<int> s03, out Vector128<int> s47)
    {
        Vector128<byte> m3 = Vector128.Create((byte)3), b2 = Vector128.Create((byte)4);
        Vector128<byte> q0 = AdvSimd.LoadVector128(qs), q1 = AdvSimd.LoadVector128(qs + 16);
        Vector128<byte> x0 = AdvSimd.And(q0, m3), x1 = AdvSimd.And(q1, m3);
        Vector128<byte> x2 = AdvSimd.And(AdvSimd.ShiftRightLogical(q0, 2), m3), x3 = AdvSimd.And(AdvSimd.ShiftRightLogical(q1, 2), m3);
        Vector128<byte> x4 = AdvSimd.And(AdvSimd.ShiftRightLogical(q0, 4), m3), x5 = AdvSimd.And(AdvSimd.ShiftRightLogical(q1, 4), m3);
        Vector128<byte> x6 = AdvSimd.ShiftRightLogical(q0, 6), x7 = AdvSimd.ShiftRightLogical(q1, 6);
        if (high)
        {
            // k = 0..3: bit k of hm to bit 2.
            x0 = AdvSimd.Or(x0, AdvSimd.And(AdvSimd.ShiftLeftLogical(hm0, 2), b2));
            x1 = AdvSimd.Or(x1, AdvSimd.And(AdvSimd.ShiftLeftLogical(hm1, 2), b2));
            x2 = AdvSimd.Or(x2, AdvSimd.And(AdvSimd.ShiftLeftLogical(hm0, 1), b2));
            x3 = AdvSimd.Or(x3, AdvSimd.And(AdvSimd.ShiftLeftLogical(hm1, 1), b2));
            x4 = AdvSimd.Or(x4, AdvSimd.And(hm0, b2));
            x5 = AdvSimd.Or(x5, AdvSimd.And(hm1, b2));
            x6 = AdvSimd.Or(x6, AdvSimd.And(AdvSimd.ShiftRightLogical(hm0, 1), b2));
            x7 = AdvSimd.Or(x7, AdvSimd.And(AdvSimd.ShiftRightLogical(hm1, 1), b2));
        }
        s03 = Gather4(Dot16(x0.AsSByte(), AdvSimd.LoadVector128(y)), Dot16(x1.AsSByte(), AdvSimd.LoadVector128(y + 16)),
                      Dot16(x2.AsSByte(), AdvSimd.LoadVector128(y + 32)), Dot16(x3.AsSByte(), AdvSimd.LoadVector128(y + 48)));
        s47 = Gather4(Dot16(x4.AsSByte(), AdvSimd.LoadVector128(y + 64)), Dot16(x5.AsSByte(), AdvSimd.LoadVector128(y + 80)),
                      Dot16(x6.AsSByte(), AdvSimd.LoadVector128(y + 96)), Dot16(x7.AsSByte(), AdvSimd.LoadVector128(y + 112)));
    }

    // Q2_K · Q8_K: 16 groups of 16 (y order), byte g of scales = 4-bit scale | 4-bit min << 4, values 0..3;
    // Σ da·(d·Σ sc·Σ q·y − dmin·Σ mn·bsum).
    public static float Q2_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default, accMin = default;
        Vector128<byte> m4 = Vector128.Create((byte)15);
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            Vector128<byte> sc = AdvSimd.LoadVector128(w);
            Vector128<int> mins = BsumDot((short*)(a + 260), AdvSimd.ShiftRightLogical(sc, 4).AsSByte());
            accMin = AdvSimd.FusedMultiplyAdd(accMin, AdvSimd.ConvertToSingle(mins), Vector128.Create(da * Fp16.Load(w + 82)));
            Half2(w + 16, false, default, default, y, out Vector128<int> g0, out Vector128<int> g1);
            Half2(w + 48, false, default, default, y + 128, out Vector128<int> g2, out Vector128<int> g3);
            Vector128<int> sumi = Scale16(g0, g1, g2, g3, AdvSimd.And(sc, m4).AsSByte());
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w + 80)));
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    // Q3_K · Q8_K: value = (2 low bits | hmask bit << 2) − 4 with signed 6-bit scales; the unsigned part goes through the
    // Q2_K half, the −4 comes off once per block as 4·Σ sc·bsum.
    public static float Q3_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w + 108);
            sbyte* y = (sbyte*)(a + 4);
            Vector128<sbyte> sc = AdvSimd.Subtract(DotVector128KQuants.Q3_KScales(w + 96).AsSByte(), Vector128.Create((sbyte)32));
            Vector128<byte> hm0 = AdvSimd.LoadVector128(w), hm1 = AdvSimd.LoadVector128(w + 16);
            Half2(w + 32, true, hm0, hm1, y, out Vector128<int> g0, out Vector128<int> g1);
            Half2(w + 64, true, AdvSimd.ShiftRightLogical(hm0, 4), AdvSimd.ShiftRightLogical(hm1, 4), y + 128, out Vector128<int> g2, out Vector128<int> g3);
            Vector128<int> sumi = Scale16(g0, g1, g2, g3, sc);
            sumi -= BsumDot((short*)(a + 260), sc) << 2;
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(d));
        }
        return Vector128.Sum(acc);
    }

    /// <summary>IQ4_XS sub-block of 32: 16 qs bytes, nibble → grid value by tbl, · y[0..31] as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> SubIq4(byte* qs, sbyte* y, Vector128<sbyte> grid)
    {
        Vector128<byte> q = AdvSimd.LoadVector128(qs);
        Vector128<sbyte> lo = AdvSimd.Arm64.VectorTableLookup(grid, AdvSimd.And(q, Vector128.Create((byte)15)).AsSByte());
        Vector128<sbyte> hi = AdvSimd.Arm64.VectorTableLookup(grid, AdvSimd.ShiftRightLogical(q, 4).AsSByte());
        return DotNeon.DotI8(DotNeon.DotI8(default, lo, AdvSimd.LoadVector128(y)), hi, AdvSimd.LoadVector128(y + 16));
    }

    // IQ4_XS · Q8_K: 8 sub-blocks of 32, nibble → kvalues_iq4nl by tbl, scale ls − 32 per sub-block. Grid values reach
    // −127, so without sdot the products stay one per i16 lane (DotNeon.DotI8's smull + sadalp).
    public static float IQ4_XS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<sbyte> grid = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        for (int b = 0; b < n / 256; b++, w += 136, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w);
            sbyte* y = (sbyte*)(a + 4);
            Vector128<int> s03 = Gather4(SubIq4(w + 8, y, grid), SubIq4(w + 24, y + 32, grid), SubIq4(w + 40, y + 64, grid), SubIq4(w + 56, y + 96, grid));
            Vector128<int> s47 = Gather4(SubIq4(w + 72, y + 128, grid), SubIq4(w + 88, y + 160, grid), SubIq4(w + 104, y + 192, grid), SubIq4(w + 120, y + 224, grid));
            Vector64<sbyte> ls = AdvSimd.Subtract(Vector64.Create(DotVector128KQuants.Iq4XsScales(w)).AsSByte(), Vector64.Create((sbyte)32));
            Vector128<short> l16 = AdvSimd.SignExtendWideningLower(ls);
            Vector128<int> sumi = AdvSimd.MultiplyAdd(AdvSimd.Multiply(s03, AdvSimd.SignExtendWideningLower(l16.GetLower())), s47, AdvSimd.SignExtendWideningUpper(l16));
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(sumi), Vector128.Create(d));
        }
        return Vector128.Sum(acc);
    }
}
