using System.Runtime.CompilerServices;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Scalar reference dot products: one weight row (ggml block layout) · one activation row in its
/// <see cref="ActivationFormat"/>, over <c>n</c> elements. Integer parts are exact; every SIMD path must equal these up to
/// float summation order. Block formulas: spec §5.1/§5.2 (ggml's ggml_vec_dot_*_generic).
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotScalar
{
    public static float F32(byte* w, byte* a, int n)
    {
        float* x = (float*)w, y = (float*)a;
        float s = 0;
        for (int i = 0; i < n; i++) s += x[i] * y[i];
        return s;
    }

    public static float F16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        float s = 0;
        for (int i = 0; i < n; i++) s += Fp16.ToFloat(x[i]) * y[i];
        return s;
    }

    public static float BF16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        float s = 0;
        for (int i = 0; i < n; i++) s += BitConverter.UInt32BitsToSingle((uint)x[i] << 16) * y[i];
        return s;
    }

    // Q8_0 · Q8_0: Σ_blocks fp16(dw)·fp16(da)·Σ qw·qa.
    public static float Q8_0(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 34, a += 34)
        {
            sbyte* x = (sbyte*)(w + 2), y = (sbyte*)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += x[j] * y[j];
            s += Fp16.Load(w) * Fp16.Load(a) * sumi;
        }
        return s;
    }

    // Q4_0 · Q8_0: element j is the low nibble of byte j, element j+16 the high nibble; value nibble − 8.
    public static float Q4_0(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 18, a += 34)
        {
            byte* x = w + 2; sbyte* y = (sbyte*)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += ((x[j] & 15) - 8) * y[j] + ((x[j] >> 4) - 8) * y[j + 16];
            s += Fp16.Load(w) * Fp16.Load(a) * sumi;
        }
        return s;
    }

    // Q4_1 · Q8_1: Σ dw·da·Σ q·qa + mw·sa (sa = da·Σqa stored in the Q8_1 block).
    public static float Q4_1(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 20, a += 36)
        {
            byte* x = w + 4; sbyte* y = (sbyte*)(a + 4);
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += (x[j] & 15) * y[j] + (x[j] >> 4) * y[j + 16];
            s += Fp16.Load(w) * Fp16.Load(a) * sumi + Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return s;
    }

    // Q5_0 · Q8_0: fifth bit of element j is bit j of the 32-bit qh; value q − 16.
    public static float Q5_0(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 22, a += 34)
        {
            uint qh = Unsafe.ReadUnaligned<uint>(w + 2);
            byte* x = w + 6; sbyte* y = (sbyte*)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int x0 = ((x[j] & 15) | (int)((qh >> j) & 1) << 4) - 16;
                int x1 = ((x[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
                sumi += x0 * y[j] + x1 * y[j + 16];
            }
            s += Fp16.Load(w) * Fp16.Load(a) * sumi;
        }
        return s;
    }

    // Q5_1 · Q8_1: as Q5_0 without the −16, plus mw·sa.
    public static float Q5_1(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 24, a += 36)
        {
            uint qh = Unsafe.ReadUnaligned<uint>(w + 4);
            byte* x = w + 8; sbyte* y = (sbyte*)(a + 4);
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int x0 = (x[j] & 15) | (int)((qh >> j) & 1) << 4;
                int x1 = (x[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                sumi += x0 * y[j] + x1 * y[j + 16];
            }
            s += Fp16.Load(w) * Fp16.Load(a) * sumi + Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return s;
    }

    /// <summary>IQ4_NL / IQ4_XS non-linear 4-bit grid (kvalues_iq4nl).</summary>
    internal static ReadOnlySpan<sbyte> Iq4NlValues => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    // IQ4_NL · Q8_0: nibbles index the grid.
    public static float IQ4_NL(byte* w, byte* a, int n)
    {
        ReadOnlySpan<sbyte> k = Iq4NlValues;
        float s = 0;
        for (int b = 0; b < n / 32; b++, w += 18, a += 34)
        {
            byte* x = w + 2; sbyte* y = (sbyte*)(a + 2);
            int sumi = 0;
            for (int j = 0; j < 16; j++) sumi += k[x[j] & 15] * y[j] + k[x[j] >> 4] * y[j + 16];
            s += Fp16.Load(w) * Fp16.Load(a) * sumi;
        }
        return s;
    }

    /// <summary>Q4_K/Q5_K 6-bit (scale, min) pair j of the 12 packed bytes (ggml get_scale_min_k4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ScaleMinK4(int j, byte* q, out int sc, out int mn)
    {
        if (j < 4) { sc = q[j] & 63; mn = q[j + 4] & 63; }
        else { sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4); mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
    }

    // Q4_K · Q8_K: 8 sub-blocks of 32 with 6-bit scale/min; Σ da·(dw·Σ sc·Σ q·qa − dmin·Σ mn·Σ qa), Σ qa from bsums.
    public static float Q4_K(byte* w, byte* a, int n) => Q4_5K(w, a, n, five: false);

    // Q5_K · Q8_K: Q4_K plus a fifth bit from qh (chunk c: bit 2c for the low nibbles, bit 2c+1 for the high).
    public static float Q5_K(byte* w, byte* a, int n) => Q4_5K(w, a, n, five: true);

    /// <summary>Q4_K (144-byte blocks: d, dmin, scales[12], qs[128]) or Q5_K (176: the same with qh[32] before qs).</summary>
    private static float Q4_5K(byte* w, byte* a, int n, bool five)
    {
        int size = five ? 176 : 144, qsOffset = five ? 48 : 16;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += size, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4); short* bsums = (short*)(a + 260);
            byte* qh = w + 16;
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++)
            {
                byte* qs = w + qsOffset + 32 * c;
                int s0 = 0, s1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    // fifth bit shifted into place (no data-dependent branch: the bits are random)
                    int h0 = five ? ((qh[l] >> (2 * c)) & 1) << 4 : 0, h1 = five ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
                    s0 += ((qs[l] & 15) | h0) * y[64 * c + l];
                    s1 += ((qs[l] >> 4) | h1) * y[64 * c + 32 + l];
                }
                ScaleMinK4(2 * c, w + 4, out int sc0, out int mn0);
                ScaleMinK4(2 * c + 1, w + 4, out int sc1, out int mn1);
                sumi += sc0 * s0 + sc1 * s1;
                summ += mn0 * (bsums[4 * c] + bsums[4 * c + 1]) + mn1 * (bsums[4 * c + 2] + bsums[4 * c + 3]);
            }
            s += da * Fp16.Load(w) * sumi - da * Fp16.Load(w + 2) * summ;
        }
        return s;
    }

    // Q2_K · Q8_K: 16 groups of 16; scales[g] holds the group's 4-bit scale (low nibble) and min (high nibble); 2-bit
    // values, 32 qs bytes per 128 elements (shift 2k picks elements 32k..32k+31). Σ da·(dw·Σ sc·Σ q·qa − dmin·Σ mn·bsum).
    public static float Q2_K(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4); short* bsums = (short*)(a + 260);
            int summ = 0;
            for (int g = 0; g < 16; g++) summ += (w[g] >> 4) * bsums[g];
            int sumi = 0;
            for (int h = 0; h < 2; h++)
            {
                byte* q = w + 16 + 32 * h;
                for (int k = 0; k < 4; k++)
                    for (int half = 0; half < 2; half++)
                    {
                        sbyte* yy = y + 128 * h + 32 * k + 16 * half;
                        int sg = 0;
                        for (int l = 0; l < 16; l++) sg += ((q[16 * half + l] >> (2 * k)) & 3) * yy[l];
                        sumi += (w[8 * h + 2 * k + half] & 15) * sg;
                    }
            }
            s += da * Fp16.Load(w + 80) * sumi - da * Fp16.Load(w + 82) * summ;
        }
        return s;
    }

    /// <summary>Q3_K's 16 six-bit scales from its 12 packed bytes, minus 32 (ggml's kmask unpacking).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Q3_KScale(int g, byte* sc12) =>
        ((g < 8 ? sc12[g] & 15 : sc12[g - 8] >> 4) | ((sc12[8 + (g & 3)] >> (2 * (g >> 2))) & 3) << 4) - 32;

    // Q3_K · Q8_K: 16 groups of 16 with signed 6-bit scales; value = 2 low bits (qs, as Q2_K) − 4 unless the element's
    // hmask bit is set (bit 4h+k of hmask[l] for element 128h + 32k + l).
    public static float Q3_K(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4);
            int sumi = 0;
            for (int h = 0; h < 2; h++)
            {
                byte* q = w + 32 + 32 * h;
                for (int k = 0; k < 4; k++)
                    for (int half = 0; half < 2; half++)
                    {
                        sbyte* yy = y + 128 * h + 32 * k + 16 * half;
                        byte* hm = w + 16 * half;
                        int bit = 4 * h + k, sg = 0;
                        // (low 2 bits | hmask bit << 2) − 4: the "−4 unless set" without a data-dependent branch
                        for (int l = 0; l < 16; l++) sg += ((((q[16 * half + l] >> (2 * k)) & 3) | ((hm[l] >> bit) & 1) << 2) - 4) * yy[l];
                        sumi += Q3_KScale(8 * h + 2 * k + half, w + 96) * sg;
                    }
            }
            s += da * Fp16.Load(w + 108) * sumi;
        }
        return s;
    }

    // IQ4_XS · Q8_K: 8 sub-blocks of 32, each an IQ4_NL block without its own d: 6-bit scale ls (4 low bits in scales_l,
    // 2 high in scales_h), value = grid[nibble]·(ls − 32). Integer sum per super-block (|Σ| < 2³¹), one float term.
    public static float IQ4_XS(byte* w, byte* a, int n)
    {
        ReadOnlySpan<sbyte> k = Iq4NlValues;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 136, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4);
            int sh = *(ushort*)(w + 2), sumi = 0;
            for (int ib = 0; ib < 8; ib++)
            {
                byte* x = w + 8 + 16 * ib; sbyte* yy = y + 32 * ib;
                int ls = ((w[4 + ib / 2] >> (4 * (ib & 1))) & 15) | ((sh >> (2 * ib)) & 3) << 4;
                int sg = 0;
                for (int j = 0; j < 16; j++) sg += k[x[j] & 15] * yy[j] + k[x[j] >> 4] * yy[j + 16];
                sumi += (ls - 32) * sg;
            }
            s += Fp16.Load(w) * da * sumi;
        }
        return s;
    }

    // Q6_K · Q8_K: 16 groups of 16 with signed 8-bit scales; value ((ql nibble) | (qh 2 bits) << 4) − 32.
    public static float Q6_K(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4);
            sbyte* sc = (sbyte*)(w + 192);
            int sumi = 0;
            for (int half = 0; half < 2; half++)
            {
                byte* ql = w + 64 * half, qh = w + 128 + 32 * half;
                sbyte* scs = sc + 8 * half; sbyte* yy = y + 128 * half;
                for (int l = 0; l < 32; l++)
                {
                    int isc = l / 16;
                    int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                    int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                    int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                    int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                    sumi += scs[isc] * q1 * yy[l] + scs[isc + 2] * q2 * yy[l + 32] + scs[isc + 4] * q3 * yy[l + 64] + scs[isc + 6] * q4 * yy[l + 96];
                }
            }
            s += da * Fp16.Load(w + 208) * sumi;
        }
        return s;
    }

    // ---- i-quants and ternary types · Q8_K (ggml_vec_dot_<type>_q8_K_generic): one integer sum per super-block
    // (sub-block sums times their odd scales 2s+1), then the float terms in ggml's order. Grids: IQTables.

    /// <summary>±v for sign bit <paramref name="bit"/> of <paramref name="signs"/> (branch-free: (v ^ m) − m).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Signed(int v, int signs, int bit)
    {
        int m = -((signs >> bit) & 1);
        return (v ^ m) - m;
    }

    /// <summary>Σ±grid[j]·y[j] over 8 elements: grid bytes unsigned, sign bit j of <paramref name="signs"/> negates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Grid8(ulong g, int signs, sbyte* y)
    {
        int s = 0;
        for (int j = 0; j < 8; j++) s += Signed((byte)(g >> (8 * j)), signs, j) * y[j];
        return s;
    }

    /// <summary>Two 4-value grid points (IQ3 formats) as one 8-value group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Grid4x2(uint g1, uint g2, int signs, sbyte* y) => Grid8(g1 | (ulong)g2 << 32, signs, y);

    // IQ2_XXS (66 bytes: d, u16 qs[32]): per 32, u32 of 4 grid indices + u32 of 4×7 sign bits and a 4-bit scale (bits 28..31).
    // Σ d·da·Σ(2s+1)·Σ±grid·qa, times 1/8.
    public static float IQ2_XXS(byte* w, byte* a, int n)
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq2xxsGrid;
        ReadOnlySpan<byte> ksigns = IQTables.KSignsIq2xs;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 66, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++, y += 32)
            {
                uint idx = *(uint*)(w + 2 + 8 * ib), aux = *(uint*)(w + 6 + 8 * ib);
                int sumi = 0;
                for (int l = 0; l < 4; l++)
                    sumi += Grid8(grid[(int)(idx >> (8 * l)) & 255], ksigns[(int)(aux >> (7 * l)) & 127], y + 8 * l);
                bsum += sumi * (int)(2 * (aux >> 28) + 1);
            }
            s += d * bsum;
        }
        return 0.125f * s;
    }

    // IQ2_XS (74 bytes: d, u16 qs[32], u8 scales[8]): each u16 = 9-bit grid index + 7 sign bits; a 4-bit scale per 16.
    public static float IQ2_XS(byte* w, byte* a, int n)
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq2xsGrid;
        ReadOnlySpan<byte> ksigns = IQTables.KSignsIq2xs;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 74, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            ushort* q2 = (ushort*)(w + 2);
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++, y += 32, q2 += 4)
            {
                int sc = w[66 + ib], s1 = 0, s2 = 0;
                for (int l = 0; l < 2; l++) s1 += Grid8(grid[q2[l] & 511], ksigns[q2[l] >> 9], y + 8 * l);
                for (int l = 2; l < 4; l++) s2 += Grid8(grid[q2[l] & 511], ksigns[q2[l] >> 9], y + 8 * l);
                bsum += s1 * (2 * (sc & 15) + 1) + s2 * (2 * (sc >> 4) + 1);
            }
            s += d * bsum;
        }
        return 0.125f * s;
    }

    // IQ2_S (82 bytes: d, qs[32] low index bits, signs[32], qh[8] 2 high index bits per 8, scales[8] 4 bits per 16).
    public static float IQ2_S(byte* w, byte* a, int n)
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq2sGrid;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 82, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            byte* qs = w + 2; byte* signs = w + 34;
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++, y += 32, qs += 4, signs += 4)
            {
                int qh = w[66 + ib], sc = w[74 + ib], s1 = 0, s2 = 0;
                for (int l = 0; l < 2; l++) s1 += Grid8(grid[qs[l] | ((qh << (8 - 2 * l)) & 0x300)], signs[l], y + 8 * l);
                for (int l = 2; l < 4; l++) s2 += Grid8(grid[qs[l] | ((qh << (8 - 2 * l)) & 0x300)], signs[l], y + 8 * l);
                bsum += (2 * (sc & 15) + 1) * s1 + (2 * (sc >> 4) + 1) * s2;
            }
            s += d * bsum;
        }
        return 0.125f * s;
    }

    // IQ3_XXS (98 bytes: d, qs[64] indices into a 256-point grid of 4, then per 32 a u32 of 4×7 sign bits + 4-bit scale).
    public static float IQ3_XXS(byte* w, byte* a, int n)
    {
        ReadOnlySpan<uint> grid = IQTables.Iq3xxsGrid;
        ReadOnlySpan<byte> ksigns = IQTables.KSignsIq2xs;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 98, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            byte* q3 = w + 2;
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++, y += 32, q3 += 8)
            {
                uint aux = *(uint*)(w + 66 + 4 * ib);
                int sumi = 0;
                for (int l = 0; l < 4; l++)
                    sumi += Grid4x2(grid[q3[2 * l]], grid[q3[2 * l + 1]], ksigns[(int)(aux >> (7 * l)) & 127], y + 8 * l);
                bsum += sumi * (int)(2 * (aux >> 28) + 1);
            }
            s += d * bsum;
        }
        return 0.25f * s;
    }

    // IQ3_S (110 bytes: d, qs[64] low index bits, qh[8] 9th bits, signs[32], scales[4] 4 bits per 32). No extra factor.
    public static float IQ3_S(byte* w, byte* a, int n)
    {
        ReadOnlySpan<uint> grid = IQTables.Iq3sGrid;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            byte* qs = w + 2; byte* signs = w + 74;
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++, y += 32, qs += 8, signs += 4)
            {
                int qh = w[66 + ib], sc = w[106 + ib / 2], sumi = 0;
                for (int l = 0; l < 4; l++)
                    sumi += Grid4x2(grid[qs[2 * l] | ((qh << (8 - 2 * l)) & 256)], grid[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)], signs[l], y + 8 * l);
                bsum += sumi * (2 * ((sc >> (4 * (ib & 1))) & 15) + 1);
            }
            s += d * bsum;
        }
        return s;
    }

    /// <summary>Σ grid[j]·y[j] over 8 elements of a {−1, 0, 1} grid point (IQ1_S / IQ1_M).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Grid8Signed(ulong g, sbyte* y)
    {
        int s = 0;
        for (int j = 0; j < 8; j++) s += (sbyte)(byte)(g >> (8 * j)) * y[j];
        return s;
    }

    // IQ1_S (50 bytes: d, qs[32], u16 qh[8]): per 32, qh = 4×3 high index bits, 3-bit scale (bits 12..14), delta sign (15).
    // Σ d·da·(Σ ls·Σ grid·qa + 1/8·Σ ls·±1·Σqa), Σqa of each 32 from the two bsums.
    public static float IQ1_S(byte* w, byte* a, int n)
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq1sGrid;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 50, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4); short* bsums = (short*)(a + 260);
            byte* qs = w + 2; ushort* qh = (ushort*)(w + 34);
            int sumi = 0, sumi1 = 0;
            for (int ib = 0; ib < 8; ib++, y += 32, qs += 4)
            {
                int h = qh[ib], ls = 2 * ((h >> 12) & 7) + 1, lsum = 0;
                for (int l = 0; l < 4; l++) lsum += Grid8Signed(grid[qs[l] | (((h >> (3 * l)) & 7) << 8)], y + 8 * l);
                int delta = (h & 0x8000) != 0 ? -1 : 1;
                sumi += ls * lsum;
                sumi1 += ls * delta * (bsums[2 * ib] + bsums[2 * ib + 1]);
            }
            s += Fp16.Load(w) * *(float*)a * (sumi + 0.125f * sumi1);
        }
        return s;
    }

    // IQ1_M (56 bytes: qs[32], qh[16], u16 scales[4]): the fp16 super-scale is the top nibble of the four scale words; a
    // 3-bit scale per 16; per 8 a qh nibble = 3 high index bits + delta sign. Σ d·da·(Σ ls·Σ grid·qa + 1/8·Σ ls·±Σqa).
    public static float IQ1_M(byte* w, byte* a, int n)
    {
        ReadOnlySpan<ulong> grid = IQTables.Iq1sGrid;
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 56, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            ushort* sc = (ushort*)(w + 48);
            ushort scale = (ushort)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
            byte* qs = w; byte* qh = w + 32;
            int sumi1 = 0, sumi2 = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2)
            {
                int g1 = 0, g2 = 0, d1 = 0, d2 = 0; // grid and delta sums of the two halves of 16
                for (int l = 0; l < 4; l++, y += 8)
                {
                    int h = qh[l / 2] >> (4 * (l % 2));
                    int lsum1 = Grid8Signed(grid[qs[l] | ((h & 7) << 8)], y);
                    int lsum2 = 0;
                    for (int j = 0; j < 8; j++) lsum2 += y[j];
                    if ((h & 8) != 0) lsum2 = -lsum2;
                    if (l < 2) { g1 += lsum1; d1 += lsum2; } else { g2 += lsum1; d2 += lsum2; }
                }
                int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1, ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
                sumi1 += g1 * ls1 + g2 * ls2;
                sumi2 += d1 * ls1 + d2 * ls2;
            }
            s += Fp16.ToFloat(scale) * *(float*)a * (sumi1 + 0.125f * sumi2);
        }
        return s;
    }

    // TQ1_0 (54 bytes: qs[48] 5 trits per byte, qh[4] 4 trits per byte, d): trit n of byte q is ((q·3ⁿ mod 256)·3) >> 8,
    // stored +1. qs[0..31] hold elements 32n+m, qs[32..47] 160+16n+m, qh 240+4n+j. Σ (Σ (t−1)·qa)·(d·da).
    public static float TQ1_0(byte* w, byte* a, int n)
    {
        ReadOnlySpan<byte> pow3 = [1, 3, 9, 27, 81];
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 54, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            int sum = 0;
            for (int l = 0; l < 5; l++)
                for (int m = 0; m < 32; m++) sum += ((((byte)(w[m] * pow3[l]) * 3) >> 8) - 1) * y[32 * l + m];
            for (int l = 0; l < 5; l++)
                for (int m = 0; m < 16; m++) sum += ((((byte)(w[32 + m] * pow3[l]) * 3) >> 8) - 1) * y[160 + 16 * l + m];
            for (int l = 0; l < 4; l++)
                for (int j = 0; j < 4; j++) sum += ((((byte)(w[48 + j] * pow3[l]) * 3) >> 8) - 1) * y[240 + 4 * l + j];
            s += sum * (Fp16.Load(w + 52) * *(float*)a);
        }
        return s;
    }

    // TQ2_0 (66 bytes: qs[64], d): element 128h + 32l + m is bits 2l of qs[32h + m], stored +1. Σ (Σ (q−1)·qa)·(da·d).
    public static float TQ2_0(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 66, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            int sum = 0;
            for (int h = 0; h < 2; h++)
                for (int l = 0; l < 4; l++)
                    for (int m = 0; m < 32; m++) sum += (((w[32 * h + m] >> (2 * l)) & 3) - 1) * y[128 * h + 32 * l + m];
            s += sum * (*(float*)a * Fp16.Load(w + 64));
        }
        return s;
    }
}
