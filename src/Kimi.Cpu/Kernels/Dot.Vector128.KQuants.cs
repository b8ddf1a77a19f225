using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Portable <see cref="Vector128{T}"/> K-quant dots against Q8_K activations (cross-platform API only: the path for CPUs
/// without hand-written kernels). Same contract as <see cref="DotScalar"/>. Weight values (≤ 63 in magnitude) and
/// activations (≤ 127) widen to i16 (even/odd bytes of each i16 lane, little-endian as every .NET SIMD target) and multiply
/// there; a few products add up in i16 lanes (bounds noted at each use) before one widening to i32 per group, then the
/// group's scale multiplies the i32 lanes.
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotVector128KQuants
{
    /// <summary>
    /// x·y for 16 elements as 8 i16 lanes of 2 products each: lane k holds elements 2k (<paramref name="xEven"/>) and 2k+1
    /// (<paramref name="xOdd"/>); the 16 activation bytes split the same way with shifts on their i16 view. Even/odd
    /// halves instead of Vector128.Widen's lower/upper: shifts, no shuffles (Q6_K ~30% faster on Zen 4, Q4_K/Q5_K no slower).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Mul16(Vector128<short> xEven, Vector128<short> xOdd, sbyte* y)
    {
        Vector128<short> v = Vector128.Load((short*)y);
        return xEven * ((v << 8) >> 8) + xOdd * (v >> 8);
    }

    /// <summary>Sum of each pair of i16 lanes as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Widen32(Vector128<short> p)
    {
        Vector128<int> v = p.AsInt32();
        return ((v << 16) >> 16) + (v >> 16);
    }

    /// <summary>Q4_K/Q5_K min term Σ_j mn_j·(bsums[2j] + bsums[2j+1]): the pair sums are <see cref="Widen32"/> of the bsums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Mins(short* bsums, ulong mins)
    {
        (Vector128<ushort> mn, _) = Vector128.Widen(Vector128.CreateScalar(mins).AsByte());
        (Vector128<uint> mn03, Vector128<uint> mn47) = Vector128.Widen(mn);
        return Vector128.Sum(Widen32(Vector128.Load(bsums)) * mn03.AsInt32() + Widen32(Vector128.Load(bsums + 8)) * mn47.AsInt32());
    }

    /// <summary>
    /// Sub-block of 32: x0·y[0..15] + x1·y[16..31] times its scale, x0/x1 unsigned bytes. Each i16 lane sums 4 products;
    /// Q4_K/Q5_K values are 0..31, so |sum| ≤ 4·31·127 &lt; 2^15.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> SubBlock(Vector128<byte> x0, Vector128<byte> x1, sbyte* y, ulong scales, int j)
    {
        Vector128<short> lo = Vector128.Create((short)0xff), a = x0.AsInt16(), b = x1.AsInt16();
        Vector128<short> p = Mul16(a & lo, a >>> 8, y) + Mul16(b & lo, b >>> 8, y + 16);
        return Widen32(p) * Vector128.Create((int)((scales >> (8 * j)) & 0xff));
    }

    // Q4_K: 4 chunks of 64 elements; chunk c = 32 bytes qs, low nibbles → sub-block 2c, high → 2c+1.
    public static float Q4_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        float mins = 0;
        Vector128<byte> m4 = Vector128.Create((byte)15);
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            KQuantScales.Unpack(w + 4, out ulong scales, out ulong mn);
            mins += da * Fp16.Load(w + 2) * Mins((short*)(a + 260), mn);

            Vector128<int> sumi = default;
            for (int c = 0; c < 4; c++)
            {
                Vector128<byte> q0 = Vector128.Load(w + 16 + 32 * c), q1 = Vector128.Load(w + 32 + 32 * c);
                sumi += SubBlock(q0 & m4, q1 & m4, y + 64 * c, scales, 2 * c);
                sumi += SubBlock(q0 >>> 4, q1 >>> 4, y + 64 * c + 32, scales, 2 * c + 1);
            }
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w)), acc);
        }
        return Vector128.Sum(acc) - mins;
    }

    // Q5_K · Q8_K: Q4_K plus a fifth bit from qh (chunk c: bit 2c for the low nibbles, bit 2c+1 for the high).
    public static float Q5_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        float mins = 0;
        Vector128<byte> m4 = Vector128.Create((byte)15), b4 = Vector128.Create((byte)16);
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            KQuantScales.Unpack(w + 4, out ulong scales, out ulong mn);
            mins += da * Fp16.Load(w + 2) * Mins((short*)(a + 260), mn);

            // h0/h1: qh for elements l = 0..15 / 16..31, shifted right by 2 per chunk so the chunk's bits are bits 0 and 1.
            Vector128<byte> h0 = Vector128.Load(w + 16), h1 = Vector128.Load(w + 32);
            Vector128<int> sumi = default;
            for (int c = 0; c < 4; c++, h0 >>>= 2, h1 >>>= 2)
            {
                Vector128<byte> q0 = Vector128.Load(w + 48 + 32 * c), q1 = Vector128.Load(w + 64 + 32 * c);
                sumi += SubBlock((q0 & m4) | ((h0 << 4) & b4), (q1 & m4) | ((h1 << 4) & b4), y + 64 * c, scales, 2 * c);
                sumi += SubBlock((q0 >>> 4) | ((h0 << 3) & b4), (q1 >>> 4) | ((h1 << 3) & b4), y + 64 * c + 32, scales, 2 * c + 1);
            }
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w)), acc);
        }
        return Vector128.Sum(acc) - mins;
    }

    /// <summary>Group of 16: Σ (q − 32)·y times its signed scale; each i16 lane sums 2 products, |·| ≤ 2·32·127.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Group(Vector128<byte> q, sbyte* y, int scale)
    {
        Vector128<short> v = (q.AsSByte() - Vector128.Create((sbyte)32)).AsInt16();
        return Widen32(Mul16((v << 8) >> 8, v >> 8, y)) * Vector128.Create(scale);
    }

    // Q6_K: two halves of 128 (ql +64, qh +32, scales +8 per half); value ((ql nibble) | (2 qh bits) << 4) − 32.
    // Within a half, 16-element group g (y order) has scale sc[g]: elements 0-31 are groups 0-1, 32-63 groups 2-3, ...
    public static float Q6_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<byte> m4 = Vector128.Create((byte)15), m3 = Vector128.Create((byte)3), m30 = Vector128.Create((byte)0x30);
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w + 208);
            sbyte* y = (sbyte*)(a + 4);
            Vector128<int> sumi = default;
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half, qh = w + 128 + 32 * half;
                sbyte* sc = (sbyte*)(w + 192 + 8 * half);
                sbyte* yy = y + 128 * half;
                for (int k = 0; k < 2; k++, ql += 16, qh += 16, yy += 16)
                {
                    // k = 0: elements l = 0..15 of each 32-element row (groups 0, 2, 4, 6); k = 1: l = 16..31 (groups 1, 3, 5, 7).
                    Vector128<byte> l0 = Vector128.Load(ql), l1 = Vector128.Load(ql + 32), h = Vector128.Load(qh);
                    sumi += Group((l0 & m4) | ((h & m3) << 4), yy, sc[k]);
                    sumi += Group((l1 & m4) | (((h >>> 2) & m3) << 4), yy + 32, sc[k + 2]);
                    sumi += Group((l0 >>> 4) | (h & m30), yy + 64, sc[k + 4]);
                    sumi += Group((l1 >>> 4) | ((h >>> 2) & m30), yy + 96, sc[k + 6]);
                }
            }
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
        }
        return Vector128.Sum(acc);
    }
    /// <summary>
    /// IQ4_XS's 8 six-bit scales ls (0..63, byte j = sub-block j): scales_l's nibbles and scales_h's 2-bit fields spread to
    /// one byte each with three shift-or-mask steps apiece (no per-sub-block shifts by variable amounts).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Iq4XsScales(byte* w)
    {
        ulong l = Unsafe.ReadUnaligned<uint>(w + 4), h = Unsafe.ReadUnaligned<ushort>(w + 2);
        l = (l | (l << 16)) & 0x0000FFFF0000FFFFUL;  // 16-bit halves → 32-bit slots
        l = (l | (l << 8)) & 0x00FF00FF00FF00FFUL;   // bytes → 16-bit slots
        l = (l | (l << 4)) & 0x0F0F0F0F0F0F0F0FUL;   // nibbles → bytes (low nibble first)
        h = (h | (h << 24)) & 0x000000FF000000FFUL;
        h = (h | (h << 12)) & 0x000F000F000F000FUL;
        h = (h | (h << 6)) & 0x0303030303030303UL;
        return l | (h << 4);
    }

    /// <summary>Q3_K's 16 six-bit scales (0..63, not yet − 32) from the 12 packed bytes: ggml's kmask unpacking on 32-bit
    /// words, byte g = <see cref="DotScalar.Q3_KScale"/>(g) + 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> Q3_KScales(byte* sc12)
    {
        uint u0 = Unsafe.ReadUnaligned<uint>(sc12), u1 = Unsafe.ReadUnaligned<uint>(sc12 + 4), u2 = Unsafe.ReadUnaligned<uint>(sc12 + 8);
        const uint Low4 = 0x0f0f0f0f, Low2 = 0x03030303;
        return Vector128.Create((u0 & Low4) | ((u2 & Low2) << 4), (u1 & Low4) | (((u2 >> 2) & Low2) << 4),
                                ((u0 >> 4) & Low4) | (((u2 >> 4) & Low2) << 4), ((u1 >> 4) & Low4) | (((u2 >> 6) & Low2) << 4)).AsByte();
    }

    /// <summary>
    /// Q2_K groups g and g + 1 of a half (bits <paramref name="shift"/>.. of the i16 views q0 = qs[0..15], q1 = qs[16..31];
    /// even/odd elements straight from the i16 lanes). Per group the i16 lanes hold 2 products (≤ 2·3·127) times the
    /// scale (≤ 15, broadcast from <paramref name="sc"/> by a constant shuffle): two groups add up in i16 (≤ 22860).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Pair2(Vector128<short> q0, Vector128<short> q1, [ConstantExpected] int shift, sbyte* y, Vector128<short> sc, [ConstantExpected] short g)
    {
        Vector128<short> m3 = Vector128.Create((short)3);
        Vector128<short> p = Mul16((q0 >>> shift) & m3, (q0 >>> (shift + 8)) & m3, y) * Vector128.Shuffle(sc, Vector128.Create(g))
                           + Mul16((q1 >>> shift) & m3, (q1 >>> (shift + 8)) & m3, y + 16) * Vector128.Shuffle(sc, Vector128.Create((short)(g + 1)));
        return Widen32(p);
    }

    // Q2_K · Q8_K: 16 groups of 16 (y order), byte g of scales = 4-bit scale | 4-bit min << 4, values 0..3.
    public static float Q2_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        float mins = 0;
        Vector128<byte> m4 = Vector128.Create((byte)15);
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            Vector128<byte> scb = Vector128.Load(w);
            // min term: mn·bsum ≤ 15·16·127 fits i16, pair sums widen to i32.
            (Vector128<ushort> mn0, Vector128<ushort> mn1) = Vector128.Widen(scb >>> 4);
            Vector128<short> bs0 = Vector128.Load((short*)(a + 260)), bs1 = Vector128.Load((short*)(a + 276));
            mins += da * Fp16.Load(w + 82) * Vector128.Sum(Widen32(bs0 * mn0.AsInt16()) + Widen32(bs1 * mn1.AsInt16()));

            (Vector128<ushort> sc0, Vector128<ushort> sc1) = Vector128.Widen(scb & m4);
            Vector128<short> q0 = Vector128.Load((short*)(w + 16)), q1 = Vector128.Load((short*)(w + 32));
            Vector128<int> sumi = Pair2(q0, q1, 0, y, sc0.AsInt16(), 0) + Pair2(q0, q1, 2, y + 32, sc0.AsInt16(), 2)
                                + Pair2(q0, q1, 4, y + 64, sc0.AsInt16(), 4) + Pair2(q0, q1, 6, y + 96, sc0.AsInt16(), 6);
            q0 = Vector128.Load((short*)(w + 48)); q1 = Vector128.Load((short*)(w + 64));
            sumi += Pair2(q0, q1, 0, y + 128, sc1.AsInt16(), 0) + Pair2(q0, q1, 2, y + 160, sc1.AsInt16(), 2)
                  + Pair2(q0, q1, 4, y + 192, sc1.AsInt16(), 4) + Pair2(q0, q1, 6, y + 224, sc1.AsInt16(), 6);
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(da * Fp16.Load(w + 80)), acc);
        }
        return Vector128.Sum(acc) - mins;
    }

    /// <summary>
    /// Q3_K groups g and g + 1 of a half: value ((q >> 2k) &amp; 3 | (bit k of hm) &lt;&lt; 2) − 4 in −4..3 as signed bytes (q0/q1:
    /// qs[0..15]/[16..31], hm0/hm1 the hmask bytes shifted so the half's first bit is bit 0). Per group the i16 lanes hold 2
    /// products (|·| ≤ 2·4·127) times the signed scale (|·| ≤ 32, broadcast by a constant shuffle): ≤ 32512, one group per widening.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Pair3(Vector128<byte> q0, Vector128<byte> q1, Vector128<byte> hm0, Vector128<byte> hm1, [ConstantExpected] int k,
                                        sbyte* y, Vector128<short> sc, [ConstantExpected] short g)
    {
        Vector128<byte> m3 = Vector128.Create((byte)3), b2 = Vector128.Create((byte)4);
        Vector128<short> v0 = ((((q0 >>> 2 * k) & m3) | (((hm0 >>> k) << 2) & b2)) - b2).AsInt16();
        Vector128<short> v1 = ((((q1 >>> 2 * k) & m3) | (((hm1 >>> k) << 2) & b2)) - b2).AsInt16();
        return Widen32(Mul16((v0 << 8) >> 8, v0 >> 8, y) * Vector128.Shuffle(sc, Vector128.Create(g)))
             + Widen32(Mul16((v1 << 8) >> 8, v1 >> 8, y + 16) * Vector128.Shuffle(sc, Vector128.Create((short)(g + 1))));
    }

    // Q3_K · Q8_K: 16 groups of 16 (y order) with signed 6-bit scales; two halves of 128 (qs +32, hmask bits +4).
    public static float Q3_K(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w + 108);
            sbyte* y = (sbyte*)(a + 4);
            (Vector128<short> sc0, Vector128<short> sc1) = Vector128.Widen((Q3_KScales(w + 96) - Vector128.Create((byte)32)).AsSByte());
            Vector128<byte> hm0 = Vector128.Load(w), hm1 = Vector128.Load(w + 16);
            Vector128<byte> q0 = Vector128.Load(w + 32), q1 = Vector128.Load(w + 48);
            Vector128<int> sumi = Pair3(q0, q1, hm0, hm1, 0, y, sc0, 0) + Pair3(q0, q1, hm0, hm1, 1, y + 32, sc0, 2)
                                + Pair3(q0, q1, hm0, hm1, 2, y + 64, sc0, 4) + Pair3(q0, q1, hm0, hm1, 3, y + 96, sc0, 6);
            q0 = Vector128.Load(w + 64); q1 = Vector128.Load(w + 80); hm0 >>>= 4; hm1 >>>= 4;
            sumi += Pair3(q0, q1, hm0, hm1, 0, y + 128, sc1, 0) + Pair3(q0, q1, hm0, hm1, 1, y + 160, sc1, 2)
                  + Pair3(q0, q1, hm0, hm1, 2, y + 192, sc1, 4) + Pair3(q0, q1, hm0, hm1, 3, y + 224, sc1, 6);
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
        }
        return Vector128.Sum(acc);
    }

    // IQ4_XS · Q8_K: 8 sub-blocks of 32, nibble → kvalues_iq4nl by a 16-entry byte shuffle (indices 0..15, so the native
    // form is exact), scale ls − 32. Grid values reach −127: 2 products per i16 lane (≤ 2·127·127 < 2^15), then widen.
    public static float IQ4_XS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<sbyte> grid = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        Vector128<byte> m4 = Vector128.Create((byte)15);
        for (int b = 0; b < n / 256; b++, w += 136, a += 292)
        {
            float d = *(float*)a * Fp16.Load(w);
            sbyte* y = (sbyte*)(a + 4);
            ulong ls = Iq4XsScales(w);
            Vector128<int> sumi = default;
            for (int j = 0; j < 8; j++, y += 32, ls >>= 8)
            {
                Vector128<byte> q = Vector128.Load(w + 8 + 16 * j);
                Vector128<short> lo = Vector128.ShuffleNative(grid, (q & m4).AsSByte()).AsInt16();
                Vector128<short> hi = Vector128.ShuffleNative(grid, (q >>> 4).AsSByte()).AsInt16();
                Vector128<int> p = Widen32(Mul16((lo << 8) >> 8, lo >> 8, y)) + Widen32(Mul16((hi << 8) >> 8, hi >> 8, y + 16));
                sumi += p * Vector128.Create((int)(ls & 0xff) - 32);
            }
            acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
        }
        return Vector128.Sum(acc);
    }
}
