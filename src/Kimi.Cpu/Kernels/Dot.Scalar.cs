using System.Runtime.CompilerServices;

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
    public static float Q4_K(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4); short* bsums = (short*)(a + 260);
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++)
            {
                byte* qs = w + 16 + 32 * c;
                int s0 = 0, s1 = 0;
                for (int l = 0; l < 32; l++) { s0 += (qs[l] & 15) * y[64 * c + l]; s1 += (qs[l] >> 4) * y[64 * c + 32 + l]; }
                ScaleMinK4(2 * c, w + 4, out int sc0, out int mn0);
                ScaleMinK4(2 * c + 1, w + 4, out int sc1, out int mn1);
                sumi += sc0 * s0 + sc1 * s1;
                summ += mn0 * (bsums[4 * c] + bsums[4 * c + 1]) + mn1 * (bsums[4 * c + 2] + bsums[4 * c + 3]);
            }
            s += da * Fp16.Load(w) * sumi - da * Fp16.Load(w + 2) * summ;
        }
        return s;
    }

    // Q5_K · Q8_K: Q4_K plus a fifth bit from qh (chunk c: bit 2c for the low nibbles, bit 2c+1 for the high).
    public static float Q5_K(byte* w, byte* a, int n)
    {
        float s = 0;
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a; sbyte* y = (sbyte*)(a + 4); short* bsums = (short*)(a + 260);
            byte* qh = w + 16;
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++)
            {
                byte* qs = w + 48 + 32 * c;
                int s0 = 0, s1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    // fifth bit shifted into place (no data-dependent branch: the bits are random)
                    s0 += ((qs[l] & 15) | ((qh[l] >> (2 * c)) & 1) << 4) * y[64 * c + l];
                    s1 += ((qs[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) * y[64 * c + 32 + l];
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
}
