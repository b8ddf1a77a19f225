using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

// Portable Vector128 IQ3_XXS, IQ3_S, IQ1_S, IQ1_M · Q8_K dots (the Vector128 and NEON sets: SSE on x86, AdvSimd on ARM64).
// Same contract as DotScalar: exact integer sums per 256-element super-block, one float term each (float order differs).
// The grids are re-laid as i16 per value (tables built once, 2-32 KiB), so a grid point loads straight into i16 lanes and
// multiplies activations widened in element order (Vector128.Widen): no byte inserts, no even/odd split. Signs are ±1
// i16 tables multiplied into the activations. Where a grid index needs bits from two fields (IQ3_S, IQ1_S, IQ1_M) the
// block's byte offsets into the table are formed in vectors first and stored to the stack, so the loop does one load per
// point (1.15-1.3x over forming each index with scalar ops). The bound of each i16 sum is noted where it is formed.
// Private helpers carry IQ1/IQ3 names because the class is partial (the other i-quants live in Dot.Vector128.IQuants.cs).
internal static unsafe partial class DotVector128IQuants
{
    /// <summary>Sum of each pair of i16 lanes as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Iq13Widen32(Vector128<short> p)
    {
        Vector128<int> v = p.AsInt32();
        return ((v << 16) >> 16) + (v >> 16);
    }

    /// <summary>IQ3_XXS grid as 4 i16 per point (2 KiB), for activations widened in element order.</summary>
    private static readonly ulong[] Iq3xxsGrid16 = BuildIq3xxsGrid16();

    /// <summary>IQ3_XXS signs as 8 i16 of ±1 per 7-bit field (2 KiB).</summary>
    private static readonly short[] Iq3xxsSigns16 = BuildIq3xxsSigns16();

    private static ulong[] BuildIq3xxsGrid16()
    {
        ReadOnlySpan<uint> grid = IQTables.Iq3xxsGrid;
        var t = new ulong[grid.Length];
        for (int i = 0; i < grid.Length; i++)
            for (int j = 0; j < 4; j++) t[i] |= (ulong)((grid[i] >> (8 * j)) & 255) << (16 * j);
        return t;
    }

    private static short[] BuildIq3xxsSigns16()
    {
        var t = new short[128 * 8];
        for (int i = 0; i < 128; i++)
            for (int j = 0; j < 8; j++) t[8 * i + j] = (short)((IQTables.KSignsIq2xs[i] >> j & 1) != 0 ? -1 : 1);
        return t;
    }

    // IQ3_XXS (98 bytes: d, qs[64] indices into a 256-point grid of 4 magnitudes ≤ 62, then per 32 a u32 of 4×7 sign
    // bits + 4-bit scale). Per 32: 4 products per i16 lane (≤ 4·62·127 = 31496), widened, times 2s+1.
    public static float IQ3_XXS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (ulong* grid = Iq3xxsGrid16)
        fixed (short* signs = Iq3xxsSigns16)
            for (int b = 0; b < n / 256; b++, w += 98, a += 292)
            {
                sbyte* y = (sbyte*)(a + 4);
                byte* q3 = w + 2;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, q3 += 8, y += 32)
                {
                    uint aux = Unsafe.ReadUnaligned<uint>(w + 66 + 4 * ib);
                    (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                    (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                    Vector128<short> p = Vector128.Create(grid[q3[0]], grid[q3[1]]).AsInt16() * (y0 * Vector128.Load(signs + 8 * (aux & 127)))
                                       + Vector128.Create(grid[q3[2]], grid[q3[3]]).AsInt16() * (y1 * Vector128.Load(signs + 8 * ((aux >> 7) & 127)))
                                       + Vector128.Create(grid[q3[4]], grid[q3[5]]).AsInt16() * (y2 * Vector128.Load(signs + 8 * ((aux >> 14) & 127)))
                                       + Vector128.Create(grid[q3[6]], grid[q3[7]]).AsInt16() * (y3 * Vector128.Load(signs + 8 * ((aux >> 21) & 127)));
                    sumi += Iq13Widen32(p) * Vector128.Create((int)(2 * (aux >> 28) + 1));
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return 0.25f * Vector128.Sum(acc);
    }

    /// <summary>IQ3_S grid as 4 i16 per point (4 KiB).</summary>
    private static readonly ulong[] Iq3sGrid16 = BuildIq3sGrid16();

    /// <summary>An explicit sign byte as 8 i16 of ±1 (IQ3_S, 4 KiB).</summary>
    private static readonly short[] Iq3sSigns16 = BuildIq3sSigns16();

    private static ulong[] BuildIq3sGrid16()
    {
        ReadOnlySpan<uint> grid = IQTables.Iq3sGrid;
        var t = new ulong[grid.Length];
        for (int i = 0; i < grid.Length; i++)
            for (int j = 0; j < 4; j++) t[i] |= (ulong)((grid[i] >> (8 * j)) & 255) << (16 * j);
        return t;
    }

    private static short[] BuildIq3sSigns16()
    {
        var t = new short[256 * 8];
        for (int i = 0; i < 256; i++)
            for (int j = 0; j < 8; j++) t[8 * i + j] = (short)((i >> j & 1) != 0 ? -1 : 1);
        return t;
    }

    // IQ3_S (110 bytes: d, qs[64] low index bits, qh[8] 9th bits, signs[32], scales[4] 4 bits per 32; magnitudes ≤ 15).
    // Per 32: 4 products per i16 lane (≤ 4·15·127), widened, times 2s+1. No extra factor. The 64 grid offsets of a block
    // (qs | qh bit << 8, ×8 bytes) are formed in vectors first: one load per grid point in the loop.
    [SkipLocalsInit]
    public static float IQ3_S(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        ushort* off = stackalloc ushort[64];
        // lane k of sub-block ib takes bit k of qh[ib] to bit 11 (the ×8 offset of index bit 8)
        Vector128<ushort> mul = Vector128.Create((ushort)2048, 1024, 512, 256, 128, 64, 32, 16), bit = Vector128.Create((ushort)2048);
        fixed (ulong* grid = Iq3sGrid16)
        fixed (short* signs = Iq3sSigns16)
            for (int b = 0; b < n / 256; b++, w += 110, a += 292)
            {
                for (int k = 0; k < 4; k++)
                {
                    (Vector128<ushort> q0, Vector128<ushort> q1) = Vector128.Widen(Vector128.Load(w + 2 + 16 * k));
                    ((q0 << 3) | ((Vector128.Create((ushort)w[66 + 2 * k]) * mul) & bit)).Store(off + 16 * k);
                    ((q1 << 3) | ((Vector128.Create((ushort)w[67 + 2 * k]) * mul) & bit)).Store(off + 16 * k + 8);
                }
                sbyte* y = (sbyte*)(a + 4);
                byte* g = (byte*)grid; byte* sg = w + 74; ushort* o = off;
                uint sc = Unsafe.ReadUnaligned<uint>(w + 106);
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, o += 8, sg += 4, y += 32, sc >>= 4)
                {
                    (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                    (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                    Vector128<short> p = Vector128.Create(*(ulong*)(g + o[0]), *(ulong*)(g + o[1])).AsInt16() * (y0 * Vector128.Load(signs + 8 * sg[0]))
                                       + Vector128.Create(*(ulong*)(g + o[2]), *(ulong*)(g + o[3])).AsInt16() * (y1 * Vector128.Load(signs + 8 * sg[1]))
                                       + Vector128.Create(*(ulong*)(g + o[4]), *(ulong*)(g + o[5])).AsInt16() * (y2 * Vector128.Load(signs + 8 * sg[2]))
                                       + Vector128.Create(*(ulong*)(g + o[6]), *(ulong*)(g + o[7])).AsInt16() * (y3 * Vector128.Load(signs + 8 * sg[3]));
                    sumi += Iq13Widen32(p) * Vector128.Create((int)(2 * (sc & 15) + 1));
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return Vector128.Sum(acc);
    }

    /// <summary>The IQ1_S/IQ1_M grid (−1/0/1) as 8 i16 per point, 32 KiB: a point loads straight into a vector of i16 lanes
    /// (no byte inserts, no even/odd split), to multiply activations widened in element order.</summary>
    private static readonly short[] Iq1Grid16 = BuildIq1Grid16();

    private static short[] BuildIq1Grid16()
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq1sGrid;
        var t = new short[8 * grid.Length];
        for (int i = 0; i < grid.Length; i++)
            for (int j = 0; j < 8; j++) t[8 * i + j] = (sbyte)(byte)(grid[i] >> (8 * j));
        return t;
    }

    // IQ1_S (50 bytes: d, qs[32], u16 qh[8]): per 32, qh = 4×3 high index bits, 3-bit scale (bits 12..14), delta sign (15);
    // grid values −1/0/1. Σ = (8·Σ ls·grid·qa + Σ ±ls·Σqa)/8, the second term from the activation's bsums.
    // The 32 grid offsets of a block are formed in vectors first (u16 lanes, qs | 3 qh bits, ×16 bytes per point), so
    // the loop reads each with one load instead of six scalar ops.
    [SkipLocalsInit]
    public static float IQ1_S(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        ushort* off = stackalloc ushort[32];
        // lane l of a sub-block takes qh bits 3l..3l+2 to bits 12..14 (the ×16 offset of index bits 8..10)
        Vector128<ushort> mul = Vector128.Create((ushort)4096, 512, 64, 8, 4096, 512, 64, 8), hiMask = Vector128.Create((ushort)0x7000);
        fixed (short* grid = Iq1Grid16)
            for (int b = 0; b < n / 256; b++, w += 50, a += 292)
            {
                Vector128<ushort> h8 = Vector128.Load((ushort*)(w + 34));
                (Vector128<ushort> q0, Vector128<ushort> q1) = Vector128.Widen(Vector128.Load(w + 2));
                (Vector128<ushort> q2, Vector128<ushort> q3) = Vector128.Widen(Vector128.Load(w + 18));
                ((q0 << 4) | ((Vector128.Shuffle(h8, Vector128.Create((ushort)0, 0, 0, 0, 1, 1, 1, 1)) * mul) & hiMask)).Store(off);
                ((q1 << 4) | ((Vector128.Shuffle(h8, Vector128.Create((ushort)2, 2, 2, 2, 3, 3, 3, 3)) * mul) & hiMask)).Store(off + 8);
                ((q2 << 4) | ((Vector128.Shuffle(h8, Vector128.Create((ushort)4, 4, 4, 4, 5, 5, 5, 5)) * mul) & hiMask)).Store(off + 16);
                ((q3 << 4) | ((Vector128.Shuffle(h8, Vector128.Create((ushort)6, 6, 6, 6, 7, 7, 7, 7)) * mul) & hiMask)).Store(off + 24);

                sbyte* y = (sbyte*)(a + 4);
                byte* g = (byte*)grid; byte* qh = w + 34; ushort* o = off;
                Vector128<int> sumi = default;
                for (int half = 0; half < 2; half++)
                {
                    // 4 sub-blocks in i16: per sub-block a lane holds 4 products (≤ 4·127) times ls ≤ 15: 4·7620 < 2^15.
                    Vector128<short> s16 = default;
                    for (int j = 0; j < 4; j++, y += 32, o += 4, qh += 2)
                    {
                        (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                        (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                        Vector128<short> p = Vector128.Load((short*)(g + o[0])) * y0 + Vector128.Load((short*)(g + o[1])) * y1
                                           + Vector128.Load((short*)(g + o[2])) * y2 + Vector128.Load((short*)(g + o[3])) * y3;
                        s16 += p * Vector128.Create((short)(((qh[1] >> 3) & 14) + 1)); // 2·(bits 12..14) + 1
                    }
                    sumi += Iq13Widen32(s16);
                }
                // delta: Σ_ib ±ls·(bsums[2ib] + bsums[2ib+1]) from the 8 qh words (ls and the sign bit 15 in i16 lanes)
                Vector128<short> hs = h8.AsInt16();
                Vector128<short> ls = (((hs >>> 12) & Vector128.Create((short)7)) << 1) + Vector128<short>.One, neg = hs >> 15;
                (Vector128<int> ls03, Vector128<int> ls47) = Vector128.Widen((ls ^ neg) - neg);
                short* bsums = (short*)(a + 260);
                Vector128<int> delta = Iq13Widen32(Vector128.Load(bsums)) * ls03 + Iq13Widen32(Vector128.Load(bsums + 8)) * ls47;
                // 8·sumi + delta: |·| ≤ 8·256·127·15 + 256·127·15, exact in i32 and in float (< 2^24)
                sumi = (sumi << 3) + delta;
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(Fp16.Load(w) * *(float*)a), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }

    /// <summary>IQ1_M deltas for 16 elements from one qh byte as i16: lanes 0..7 = −1 if bit 3 is set else +1, lanes 8..15
    /// the same for bit 7.</summary>
    private static readonly short[] Iq1mDeltas = BuildIq1mDeltas();

    private static short[] BuildIq1mDeltas()
    {
        var t = new short[256 * 16];
        for (int q = 0; q < 256; q++)
            for (int j = 0; j < 8; j++)
            {
                t[16 * q + j] = (short)((q & 0x08) != 0 ? -1 : 1);
                t[16 * q + 8 + j] = (short)((q & 0x80) != 0 ? -1 : 1);
            }
        return t;
    }

    /// <summary>
    /// IQ1_M, 16 elements (two groups of 8) with scale <paramref name="ls"/>: the grid term Σ g·y and the delta term Σ ±y
    /// added to their i16 accumulators. Per 16 a lane holds 2 products (≤ 2·127) times ls ≤ 15: 3810, so each
    /// accumulator takes 4 sub-blocks (8 halves) before it must widen.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq1mHalf(ref Vector128<short> gacc, ref Vector128<short> dacc, byte* grid, ushort* off, byte* deltas, ushort doff, sbyte* y, short ls)
    {
        (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
        Vector128<short> l = Vector128.Create(ls);
        gacc += (Vector128.Load((short*)(grid + off[0])) * y0 + Vector128.Load((short*)(grid + off[1])) * y1) * l;
        dacc += (Vector128.Load((short*)(deltas + doff)) * y0 + Vector128.Load((short*)(deltas + doff + 16)) * y1) * l;
    }

    // IQ1_M (56 bytes: qs[32], qh[16], u16 scales[4]; fp16 super-scale in the scale words' top nibbles): a 3-bit scale per
    // 16, per 8 a qh nibble = 3 high index bits + delta sign. Σ d·da·(Σ ls·Σ grid·qa + 1/8·Σ ls·±Σqa), kept as
    // (8·grid term + delta term)/8, exact in i32 and float. Grid offsets, delta-table offsets and the 16 scales are
    // formed in vectors first (as for IQ1_S), so the loop is loads and multiplies.
    [SkipLocalsInit]
    public static float IQ1_M(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        ushort* off = stackalloc ushort[32 + 16];   // 32 grid offsets, then 16 delta offsets (qh byte × 32)
        short* lsb = stackalloc short[16];          // 2s+1 per 16 elements
        // lane k (group k of 8) takes qh byte k/2 (low byte of the u16 lane; index 0xFF gives 0), nibble k&1: its 3 index bits to
        // bits 12..14, the ×16 offset of index bits 8..10
        Vector128<ushort> mul = Vector128.Create((ushort)4096, 256, 4096, 256, 4096, 256, 4096, 256), hiMask = Vector128.Create((ushort)0x7000);
        // scale field k (scale word k/4, bits 3·(k%4)) to bits 12..14
        Vector128<ushort> smul = Vector128.Create((ushort)4096, 512, 64, 8, 4096, 512, 64, 8);
        fixed (short* grid = Iq1Grid16, deltas = Iq1mDeltas)
            for (int b = 0; b < n / 256; b++, w += 56, a += 292)
            {
                Vector128<byte> qhv = Vector128.Load(w + 32);
                (Vector128<ushort> q0, Vector128<ushort> q1) = Vector128.Widen(Vector128.Load(w));
                (Vector128<ushort> q2, Vector128<ushort> q3) = Vector128.Widen(Vector128.Load(w + 16));
                ((q0 << 4) | ((Vector128.Shuffle(qhv, Vector128.Create((byte)0, 0xFF, 0, 0xFF, 1, 0xFF, 1, 0xFF, 2, 0xFF, 2, 0xFF, 3, 0xFF, 3, 0xFF)).AsUInt16() * mul) & hiMask)).Store(off);
                ((q1 << 4) | ((Vector128.Shuffle(qhv, Vector128.Create((byte)4, 0xFF, 4, 0xFF, 5, 0xFF, 5, 0xFF, 6, 0xFF, 6, 0xFF, 7, 0xFF, 7, 0xFF)).AsUInt16() * mul) & hiMask)).Store(off + 8);
                ((q2 << 4) | ((Vector128.Shuffle(qhv, Vector128.Create((byte)8, 0xFF, 8, 0xFF, 9, 0xFF, 9, 0xFF, 10, 0xFF, 10, 0xFF, 11, 0xFF, 11, 0xFF)).AsUInt16() * mul) & hiMask)).Store(off + 16);
                ((q3 << 4) | ((Vector128.Shuffle(qhv, Vector128.Create((byte)12, 0xFF, 12, 0xFF, 13, 0xFF, 13, 0xFF, 14, 0xFF, 14, 0xFF, 15, 0xFF, 15, 0xFF)).AsUInt16() * mul) & hiMask)).Store(off + 24);
                (Vector128<ushort> h0, Vector128<ushort> h1) = Vector128.Widen(qhv);
                (h0 << 5).Store(off + 32);
                (h1 << 5).Store(off + 40);
                // the 4 scale words are the block's last 8 bytes: a 64-bit load (16 would read past the row)
                Vector128<ushort> sw = Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(w + 48)).AsUInt16(), s7 = Vector128.Create((ushort)7);
                ((((Vector128.Shuffle(sw, Vector128.Create((ushort)0, 0, 0, 0, 1, 1, 1, 1)) * smul) >>> 12 & s7) << 1) + Vector128<ushort>.One).AsInt16().Store(lsb);
                ((((Vector128.Shuffle(sw, Vector128.Create((ushort)2, 2, 2, 2, 3, 3, 3, 3)) * smul) >>> 12 & s7) << 1) + Vector128<ushort>.One).AsInt16().Store(lsb + 8);
                ushort scale = (ushort)((sw.GetElement(0) >> 12) | ((sw.GetElement(1) >> 8) & 0x00f0) | ((sw.GetElement(2) >> 4) & 0x0f00) | (sw.GetElement(3) & 0xf000));

                sbyte* y = (sbyte*)(a + 4);
                byte* g = (byte*)grid, dt = (byte*)deltas;
                ushort* o = off, dofs = off + 32;
                short* ls = lsb;
                Vector128<int> sumi = default;
                for (int half = 0; half < 2; half++)
                {
                    Vector128<short> gacc = default, dacc = default;
                    for (int j = 0; j < 4; j++, y += 32, o += 4, dofs += 2, ls += 2)
                    {
                        Iq1mHalf(ref gacc, ref dacc, g, o, dt, dofs[0], y, ls[0]);
                        Iq1mHalf(ref gacc, ref dacc, g, o + 2, dt, dofs[1], y + 16, ls[1]);
                    }
                    sumi += (Iq13Widen32(gacc) << 3) + Iq13Widen32(dacc);
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(*(float*)a * Fp16.ToFloat(scale)), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }
}
