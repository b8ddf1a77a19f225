using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

// Portable Vector128 IQ3_XXS, IQ3_S, IQ1_S, IQ1_M · Q8_K dots (the Vector128 and NEON sets: SSE on x86, AdvSimd on ARM64).
// Same contract as DotScalar: exact integer sums per 256-element super-block, one float term each (float order differs).
// Grid points are read from the tables one by one into a vector (4 or 2 per 16 elements: there is no portable gather);
// signs become 0x00/0xFF byte masks applied to the activations as (y ^ m) − m (Q8_K values lie in [−127, 127], so the
// negation never wraps). Products go through i16 lanes (even/odd bytes, as in DotVector128KQuants), with the bound of
// each i16 sum noted where it is formed, then widen to i32 for the sub-block scale. Private helpers carry IQ1/IQ3 names
// because the class is partial (the other i-quants live in Dot.Vector128.IQuants.cs).
internal static unsafe partial class DotVector128IQuants
{
    /// <summary>Sign masks for 8 elements from 7 stored bits (ggml keven_signs): byte j = 0xFF where bit j of
    /// <see cref="IQTables.KSignsIq2xs"/>[i] is set (IQ3_XXS).</summary>
    private static readonly ulong[] Iq3xxsSignMasks = BuildIq3SignMasks(128);

    /// <summary>Sign masks for 8 elements from an explicit sign byte (IQ3_S): byte j = 0xFF where bit j is set.</summary>
    private static readonly ulong[] Iq3sSignMasks = BuildIq3SignMasks(256);

    private static ulong[] BuildIq3SignMasks(int count)
    {
        var t = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            int s = count == 128 ? IQTables.KSignsIq2xs[i] : i;
            for (int j = 0; j < 8; j++) if ((s >> j & 1) != 0) t[i] |= 0xFFUL << (8 * j);
        }
        return t;
    }

    /// <summary>
    /// Σ g·y for 16 elements as 8 i16 lanes of 2 products (elements 2k, 2k+1): <paramref name="g"/> unsigned bytes,
    /// <paramref name="y"/> signed bytes. |lane| ≤ 2·max g·127.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Iq3Pairs(Vector128<byte> g, Vector128<sbyte> y)
    {
        Vector128<short> gv = g.AsInt16(), yv = y.AsInt16();
        return (gv & Vector128.Create((short)0xFF)) * ((yv << 8) >> 8) + (gv >>> 8) * (yv >> 8);
    }

    /// <summary>As <see cref="Iq3Pairs"/> for signed bytes on both sides (the IQ1 grids).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Iq1Pairs(Vector128<sbyte> g, Vector128<sbyte> y)
    {
        Vector128<short> gv = g.AsInt16(), yv = y.AsInt16();
        return ((gv << 8) >> 8) * ((yv << 8) >> 8) + (gv >> 8) * (yv >> 8);
    }

    /// <summary>Sum of each pair of i16 lanes as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Iq13Widen32(Vector128<short> p)
    {
        Vector128<int> v = p.AsInt32();
        return ((v << 16) >> 16) + (v >> 16);
    }

    /// <summary>16 activations with the signs of two 8-bit masks applied: (y ^ m) − m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Iq3Signed(sbyte* y, ulong m0, ulong m1)
    {
        Vector128<sbyte> m = Vector128.Create(m0, m1).AsSByte();
        return (Vector128.Load(y) ^ m) - m;
    }

    // IQ3_XXS (98 bytes: d, qs[64] indices into a 256-point grid of 4 magnitudes ≤ 62, then per 32 a u32 of 4×7 sign
    // bits + 4-bit scale). Per 32: 4 products per i16 lane (≤ 4·62·127 = 31496), widened, times 2s+1.
    public static float IQ3_XXS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (uint* grid = IQTables.Iq3xxsGrid)
        fixed (ulong* signs = Iq3xxsSignMasks)
            for (int b = 0; b < n / 256; b++, w += 98, a += 292)
            {
                sbyte* y = (sbyte*)(a + 4);
                byte* q3 = w + 2;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, q3 += 8, y += 32)
                {
                    uint aux = Unsafe.ReadUnaligned<uint>(w + 66 + 4 * ib);
                    Vector128<byte> g0 = Vector128.Create(grid[q3[0]], grid[q3[1]], grid[q3[2]], grid[q3[3]]).AsByte();
                    Vector128<byte> g1 = Vector128.Create(grid[q3[4]], grid[q3[5]], grid[q3[6]], grid[q3[7]]).AsByte();
                    Vector128<short> p = Iq3Pairs(g0, Iq3Signed(y, signs[aux & 127], signs[(aux >> 7) & 127]))
                                       + Iq3Pairs(g1, Iq3Signed(y + 16, signs[(aux >> 14) & 127], signs[(aux >> 21) & 127]));
                    sumi += Iq13Widen32(p) * Vector128.Create((int)(2 * (aux >> 28) + 1));
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return 0.25f * Vector128.Sum(acc);
    }

    // IQ3_S (110 bytes: d, qs[64] low index bits, qh[8] 9th bits, signs[32], scales[4] 4 bits per 32; magnitudes ≤ 15).
    // Per 32: 4 products per i16 lane (≤ 4·15·127), widened, times 2s+1. No extra factor.
    public static float IQ3_S(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (uint* grid = IQTables.Iq3sGrid)
        fixed (ulong* signs = Iq3sSignMasks)
            for (int b = 0; b < n / 256; b++, w += 110, a += 292)
            {
                sbyte* y = (sbyte*)(a + 4);
                byte* qs = w + 2; byte* sg = w + 74;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, qs += 8, sg += 4, y += 32)
                {
                    // element group k of 8 takes bit k of qh as its 9th index bit
                    int qh = w[66 + ib];
                    Vector128<byte> g0 = Vector128.Create(grid[qs[0] | ((qh << 8) & 256)], grid[qs[1] | ((qh << 7) & 256)],
                        grid[qs[2] | ((qh << 6) & 256)], grid[qs[3] | ((qh << 5) & 256)]).AsByte();
                    Vector128<byte> g1 = Vector128.Create(grid[qs[4] | ((qh << 4) & 256)], grid[qs[5] | ((qh << 3) & 256)],
                        grid[qs[6] | ((qh << 2) & 256)], grid[qs[7] | ((qh << 1) & 256)]).AsByte();
                    Vector128<short> p = Iq3Pairs(g0, Iq3Signed(y, signs[sg[0]], signs[sg[1]]))
                                       + Iq3Pairs(g1, Iq3Signed(y + 16, signs[sg[2]], signs[sg[3]]));
                    int ls = 2 * ((w[106 + ib / 2] >> (4 * (ib & 1))) & 15) + 1;
                    sumi += Iq13Widen32(p) * Vector128.Create(ls);
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return Vector128.Sum(acc);
    }

    // IQ1_S (50 bytes: d, qs[32], u16 qh[8]): per 32, qh = 4×3 high index bits, 3-bit scale (bits 12..14), delta sign (15);
    // grid values −1/0/1. Σ = (8·Σ ls·grid·qa + Σ ±ls·Σqa)/8, the second term from the activation's bsums.
    public static float IQ1_S(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (ulong* grid = IQTables.Iq1sGrid)
            for (int b = 0; b < n / 256; b++, w += 50, a += 292)
            {
                sbyte* y = (sbyte*)(a + 4);
                byte* qs = w + 2; byte* qh = w + 34;
                Vector128<int> sumi = default;
                for (int half = 0; half < 2; half++)
                {
                    // 4 sub-blocks in i16: per sub-block a lane holds 4 products (≤ 4·127) times ls ≤ 15: 4·7620 < 2^15.
                    Vector128<short> s16 = default;
                    for (int j = 0; j < 4; j++, qs += 4, qh += 2, y += 32)
                    {
                        int h = Unsafe.ReadUnaligned<ushort>(qh);
                        Vector128<sbyte> g0 = Vector128.Create(grid[qs[0] | ((h << 8) & 0x700)], grid[qs[1] | ((h << 5) & 0x700)]).AsSByte();
                        Vector128<sbyte> g1 = Vector128.Create(grid[qs[2] | ((h << 2) & 0x700)], grid[qs[3] | ((h >> 1) & 0x700)]).AsSByte();
                        Vector128<short> p = Iq1Pairs(g0, Vector128.Load(y)) + Iq1Pairs(g1, Vector128.Load(y + 16));
                        s16 += p * Vector128.Create((short)(2 * ((h >> 12) & 7) + 1));
                    }
                    sumi += Iq13Widen32(s16);
                }
                // delta: Σ_ib ±ls·(bsums[2ib] + bsums[2ib+1]) from the 8 qh words (ls and the sign bit 15 in i16 lanes)
                Vector128<short> h8 = Vector128.Load((short*)(w + 34));
                Vector128<short> ls = (((h8 >>> 12) & Vector128.Create((short)7)) << 1) + Vector128<short>.One, neg = h8 >> 15;
                (Vector128<int> ls03, Vector128<int> ls47) = Vector128.Widen((ls ^ neg) - neg);
                short* bsums = (short*)(a + 260);
                Vector128<int> delta = Iq13Widen32(Vector128.Load(bsums)) * ls03 + Iq13Widen32(Vector128.Load(bsums + 8)) * ls47;
                // 8·sumi + delta: |·| ≤ 8·256·127·15 + 256·127·15, exact in i32 and in float (< 2^24)
                sumi = (sumi << 3) + delta;
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }

    /// <summary>IQ1_S grid × 8 (bytes −8/0/8) for IQ1_M, whose delta ±1 per 8 elements then adds in the same byte.</summary>
    private static readonly ulong[] Iq1mGrid8 = BuildIq1mGrid8();

    /// <summary>IQ1_M deltas for 16 elements from one qh byte: bytes 0..7 = −1 if bit 3 is set else +1, bytes 8..15 the
    /// same for bit 7 (two u64 per byte value).</summary>
    private static readonly ulong[] Iq1mDeltas = BuildIq1mDeltas();

    private static ulong[] BuildIq1mGrid8()
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq1sGrid;
        var t = new ulong[grid.Length];
        for (int i = 0; i < grid.Length; i++)
            for (int j = 0; j < 8; j++) t[i] |= (ulong)(byte)(8 * (sbyte)(byte)(grid[i] >> (8 * j))) << (8 * j);
        return t;
    }

    private static ulong[] BuildIq1mDeltas()
    {
        var t = new ulong[512];
        for (int q = 0; q < 256; q++)
        {
            t[2 * q] = (q & 0x08) != 0 ? ulong.MaxValue : 0x0101010101010101UL;
            t[2 * q + 1] = (q & 0x80) != 0 ? ulong.MaxValue : 0x0101010101010101UL;
        }
        return t;
    }

    // IQ1_M (56 bytes: qs[32], qh[16], u16 scales[4]; fp16 super-scale in the scale words' top nibbles): a 3-bit scale per
    // 16, per 8 a qh nibble = 3 high index bits + delta sign. Each element's factor 8·grid ± 1 (in −9..9) fits a byte, so
    // one product gives ggml's 8·sumi1 + sumi2: per 16 a lane holds 2 products (≤ 2·9·127), widened, times 2s+1.
    public static float IQ1_M(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (ulong* grid = Iq1mGrid8, deltas = Iq1mDeltas)
            for (int b = 0; b < n / 256; b++, w += 56, a += 292)
            {
                sbyte* y = (sbyte*)(a + 4);
                ushort s0 = Unsafe.ReadUnaligned<ushort>(w + 48), s1 = Unsafe.ReadUnaligned<ushort>(w + 50);
                ushort s2 = Unsafe.ReadUnaligned<ushort>(w + 52), s3 = Unsafe.ReadUnaligned<ushort>(w + 54);
                ushort scale = (ushort)((s0 >> 12) | ((s1 >> 8) & 0x00f0) | ((s2 >> 4) & 0x0f00) | (s3 & 0xf000));
                ulong sc = s0 | ((ulong)s1 << 16) | ((ulong)s2 << 32) | ((ulong)s3 << 48); // sub-block ib: bits 16·(ib/2) + 6·(ib&1)
                byte* qs = w; byte* qh = w + 32;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2, y += 32)
                {
                    int h0 = qh[0], h1 = qh[1];
                    Vector128<sbyte> c0 = Vector128.Create(grid[qs[0] | ((h0 << 8) & 0x700)], grid[qs[1] | ((h0 << 4) & 0x700)]).AsSByte()
                                        + Vector128.Load((sbyte*)(deltas + 2 * h0));
                    Vector128<sbyte> c1 = Vector128.Create(grid[qs[2] | ((h1 << 8) & 0x700)], grid[qs[3] | ((h1 << 4) & 0x700)]).AsSByte()
                                        + Vector128.Load((sbyte*)(deltas + 2 * h1));
                    int s = (int)(sc >> (16 * (ib >> 1) + 6 * (ib & 1)));
                    sumi += Iq13Widen32(Iq1Pairs(c0, Vector128.Load(y))) * Vector128.Create(2 * (s & 7) + 1)
                          + Iq13Widen32(Iq1Pairs(c1, Vector128.Load(y + 16))) * Vector128.Create(2 * ((s >> 3) & 7) + 1);
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(*(float*)a * Fp16.ToFloat(scale)), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }
}
