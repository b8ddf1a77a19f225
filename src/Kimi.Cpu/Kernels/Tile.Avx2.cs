using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Register-blocked AVX2 micro-kernels for Q4_0 and Q8_0 (activations Q8_0 with the sidecar, <see cref="ActivationFormat"/>):
/// 4 weight rows × 4 tokens per call (<c>y[4·r + t]</c>) for batches (prefill, several sequences), and the one-row,
/// one-token dots of the AVX2 kernel set. In a tile each weight block is loaded and expanded once for all four tokens and
/// each activation block once for all four rows, so a (row, token) pair costs vpmaddubsw + vpmaddwd + cvt + fma per block
/// instead of a whole block dot (prefill matmuls measured 1.16× (Q8_0) to 1.3× (Q4_0) faster than pair-by-pair dots).
/// <para>
/// Per (row, token) pair the blocks go in groups of 4: <c>t = p0·s0</c>, <c>t = fma(p_k, s_k, t)</c>, <c>acc += t</c>
/// (p = the block's integer dot as float, s = dw·da), so the accumulator chain is one add per 4 blocks; a chunk's last
/// blocks add p·s one by one. Block scales come 8 at a time (<see cref="Fp16.Scales8Q4_0"/>, <see cref="Fp16.Scales8Q8_0"/>)
/// and are multiplied by the 8 activation scales in one vmulps; the Q4_0 "−8" term Σ dw·c8 (see
/// <see cref="DotAvx2.Q4_0Core"/>) is a separate dot of each chunk's weight scales with c8. Tile and dot run exactly this
/// sequence, so an output never depends on how a batch is tiled: batch and step logits are the same bits. Results equal
/// <see cref="DotScalar"/> up to float summation order.
/// </para>
/// A 4-row × 1-token GEMV tile was tried and dropped: no faster from RAM for Q4_0, slower for Q8_0 (four interleaved row
/// streams instead of one). Tiles take 4 row and 4 activation pointers; a caller with fewer repeats the last one.
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileAvx2
{
    /// <summary>16 packed bytes → 32 nibbles (low nibbles in the lower 128 bits): broadcast, one variable shift, one and.
    /// (Constants are written inline: these kernels stackalloc, so they are compiled once, fully optimized, before the
    /// class's statics exist, and a static readonly vector would cost a class-initialization check in the loop.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles(byte* p) =>
        Avx2.ShiftRightLogicalVariable(Avx2.BroadcastVector128ToVector256(p).AsUInt32(), Vector256.Create(0u, 0, 0, 0, 4, 4, 4, 4)).AsByte()
        & Vector256.Create((byte)15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> B(float* p) => Vector256.Create(*p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Cvt(Vector256<int> p) => Avx.ConvertToVector256Single(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NibDot(Vector256<byte> nib, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, a), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> AbsDot(Vector256<byte> absW, Vector256<sbyte> w, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(a, w)), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Q(byte* block) => Vector256.Load((sbyte*)(block + 2));

    // The Q4_0 "−8" term Σ_b dw[b]·c8[b] (c8 from the activation sidecar) is kept out of the block loop: the weight scales
    // of a chunk of blocks go to a stack buffer and are dotted with c8 afterwards.
    private const int CorrChunk = 256;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotF32(float* x, float* y, int n)
    {
        Vector256<float> acc = default;
        int i = 0;
        for (; i + 8 <= n; i += 8) acc = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), acc);
        float s = Vector256.Sum(acc);
        for (; i < n; i++) s += x[i] * y[i];
        return s;
    }

    /// <summary>One Q4_0 pair over 4 blocks: the row's nibbles x0..x3, the pair's scale products s0..s3, activation at a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Group4(Vector256<byte> x0, Vector256<byte> x1, Vector256<byte> x2, Vector256<byte> x3,
        Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3, byte* a, Vector256<float> acc)
    {
        Vector256<float> t = Cvt(NibDot(x0, Q(a))) * s0;
        t = Fma.MultiplyAdd(Cvt(NibDot(x1, Q(a + 34))), s1, t);
        t = Fma.MultiplyAdd(Cvt(NibDot(x2, Q(a + 68))), s2, t);
        t = Fma.MultiplyAdd(Cvt(NibDot(x3, Q(a + 102))), s3, t);
        return acc + t;
    }

    /// <summary>One Q8_0 pair over 4 blocks: |w| (ax) and w (x) of each block for the sign trick.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Group4(Vector256<byte> ax0, Vector256<byte> ax1, Vector256<byte> ax2, Vector256<byte> ax3,
        Vector256<sbyte> x0, Vector256<sbyte> x1, Vector256<sbyte> x2, Vector256<sbyte> x3,
        Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3, byte* a, Vector256<float> acc)
    {
        Vector256<float> t = Cvt(AbsDot(ax0, x0, Q(a))) * s0;
        t = Fma.MultiplyAdd(Cvt(AbsDot(ax1, x1, Q(a + 34))), s1, t);
        t = Fma.MultiplyAdd(Cvt(AbsDot(ax2, x2, Q(a + 68))), s2, t);
        t = Fma.MultiplyAdd(Cvt(AbsDot(ax3, x3, Q(a + 102))), s3, t);
        return acc + t;
    }

    /// <summary>
    /// Weight scales of the window of blocks at w (8 blocks when <paramref name="whole"/>, else 4, from the table) into
    /// dw[0..), and their products with each of <paramref name="tokens"/> activations' scales (d[t] + b) into
    /// ps[8·t ..). The products are the same IEEE products whichever path computes them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WindowScales(byte* w, int stride, bool whole, float* dw, float** d, int b, int tokens, float* ps)
    {
        if (whole)
        {
            Vector256<float> sv = stride == 18 ? Fp16.Scales8Q4_0(w) : Fp16.Scales8Q8_0(w);
            sv.Store(dw);
            for (int t = 0; t < tokens; t++) (sv * Vector256.Load(d[t] + b)).Store(ps + 8 * t);
            return;
        }
        for (int i = 0; i < 4; i++)
        {
            float f = Fp16.Load(w + i * stride);
            dw[i] = f;
            for (int t = 0; t < tokens; t++) ps[8 * t + i] = f * d[t][b + i];
        }
    }

    /// <summary>Q4_0 row · activation (the dot of the AVX2 set), with the per-pair arithmetic of <see cref="Q4_0x4x4"/>.</summary>
    public static float Q4_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* dws = stackalloc float[CorrChunk];
        float* ps = stackalloc float[8];
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        float** dp = &d;
        Vector256<float> s = default;
        float c = 0;
        for (int b0 = 0; b0 < nb; b0 += CorrChunk)
        {
            int b1 = Math.Min(nb, b0 + CorrChunk), b = b0;
            for (; b + 4 <= b1; b += 4, w += 72, a += 136)
            {
                int k = b - b0;
                if ((k & 7) == 0) WindowScales(w, 18, b + 8 <= b1, dws + k, dp, b, 1, ps);
                float* p = ps + (k & 4);
                s = Group4(Nibbles(w + 2), Nibbles(w + 20), Nibbles(w + 38), Nibbles(w + 56), B(p), B(p + 1), B(p + 2), B(p + 3), a, s);
            }
            for (; b < b1; b++, w += 18, a += 34)
            {
                float f = Fp16.Load(w);
                dws[b - b0] = f;
                s += Cvt(NibDot(Nibbles(w + 2), Q(a))) * Vector256.Create(f * d[b]);
            }
            c += DotF32(dws, d + nb + b0, b1 - b0);
        }
        return Vector256.Sum(s) - c;
    }

    public static void Q4_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        float* dws = stackalloc float[4 * CorrChunk];
        float* ps = stackalloc float[128]; // [row][token][8]
        float** d = stackalloc float*[4];
        float* c = stackalloc float[16];
        new Span<float>(c, 16).Clear();
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        for (int t = 0; t < 4; t++) d[t] = ActivationFormat.Q8_0Scales(a[t], nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        for (int b0 = 0; b0 < nb; b0 += CorrChunk)
        {
            int b1 = Math.Min(nb, b0 + CorrChunk), b = b0;
            for (; b + 4 <= b1; b += 4, w0 += 72, w1 += 72, w2 += 72, w3 += 72, a0 += 136, a1 += 136, a2 += 136, a3 += 136)
            {
                int k = b - b0;
                if ((k & 7) == 0)
                {
                    bool whole = b + 8 <= b1;
                    WindowScales(w0, 18, whole, dws + k, d, b, 4, ps);
                    WindowScales(w1, 18, whole, dws + CorrChunk + k, d, b, 4, ps + 32);
                    WindowScales(w2, 18, whole, dws + 2 * CorrChunk + k, d, b, 4, ps + 64);
                    WindowScales(w3, 18, whole, dws + 3 * CorrChunk + k, d, b, 4, ps + 96);
                }
                float* p = ps + (k & 4);
                Vector256<byte> x0 = Nibbles(w0 + 2), x1 = Nibbles(w0 + 20), x2 = Nibbles(w0 + 38), x3 = Nibbles(w0 + 56);
                s00 = Group4(x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s00);
                s01 = Group4(x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s01);
                s02 = Group4(x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s02);
                s03 = Group4(x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s03);
                p += 32;
                x0 = Nibbles(w1 + 2); x1 = Nibbles(w1 + 20); x2 = Nibbles(w1 + 38); x3 = Nibbles(w1 + 56);
                s10 = Group4(x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s10);
                s11 = Group4(x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s11);
                s12 = Group4(x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s12);
                s13 = Group4(x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s13);
                p += 32;
                x0 = Nibbles(w2 + 2); x1 = Nibbles(w2 + 20); x2 = Nibbles(w2 + 38); x3 = Nibbles(w2 + 56);
                s20 = Group4(x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s20);
                s21 = Group4(x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s21);
                s22 = Group4(x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s22);
                s23 = Group4(x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s23);
                p += 32;
                x0 = Nibbles(w3 + 2); x1 = Nibbles(w3 + 20); x2 = Nibbles(w3 + 38); x3 = Nibbles(w3 + 56);
                s30 = Group4(x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s30);
                s31 = Group4(x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s31);
                s32 = Group4(x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s32);
                s33 = Group4(x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s33);
            }
            for (; b < b1; b++, w0 += 18, w1 += 18, w2 += 18, w3 += 18, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
            {
                Vector256<sbyte> q0 = Q(a0), q1 = Q(a1), q2 = Q(a2), q3 = Q(a3);
                float e0 = d[0][b], e1 = d[1][b], e2 = d[2][b], e3 = d[3][b];
                int k = b - b0;
                float f = Fp16.Load(w0);
                Vector256<byte> x = Nibbles(w0 + 2);
                dws[k] = f;
                s00 += Cvt(NibDot(x, q0)) * Vector256.Create(f * e0); s01 += Cvt(NibDot(x, q1)) * Vector256.Create(f * e1);
                s02 += Cvt(NibDot(x, q2)) * Vector256.Create(f * e2); s03 += Cvt(NibDot(x, q3)) * Vector256.Create(f * e3);
                f = Fp16.Load(w1); x = Nibbles(w1 + 2); dws[CorrChunk + k] = f;
                s10 += Cvt(NibDot(x, q0)) * Vector256.Create(f * e0); s11 += Cvt(NibDot(x, q1)) * Vector256.Create(f * e1);
                s12 += Cvt(NibDot(x, q2)) * Vector256.Create(f * e2); s13 += Cvt(NibDot(x, q3)) * Vector256.Create(f * e3);
                f = Fp16.Load(w2); x = Nibbles(w2 + 2); dws[2 * CorrChunk + k] = f;
                s20 += Cvt(NibDot(x, q0)) * Vector256.Create(f * e0); s21 += Cvt(NibDot(x, q1)) * Vector256.Create(f * e1);
                s22 += Cvt(NibDot(x, q2)) * Vector256.Create(f * e2); s23 += Cvt(NibDot(x, q3)) * Vector256.Create(f * e3);
                f = Fp16.Load(w3); x = Nibbles(w3 + 2); dws[3 * CorrChunk + k] = f;
                s30 += Cvt(NibDot(x, q0)) * Vector256.Create(f * e0); s31 += Cvt(NibDot(x, q1)) * Vector256.Create(f * e1);
                s32 += Cvt(NibDot(x, q2)) * Vector256.Create(f * e2); s33 += Cvt(NibDot(x, q3)) * Vector256.Create(f * e3);
            }
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 4; t++)
                    c[4 * r + t] += DotF32(dws + r * CorrChunk, d[t] + nb + b0, b1 - b0);
        }
        y[0] = Vector256.Sum(s00) - c[0]; y[1] = Vector256.Sum(s01) - c[1]; y[2] = Vector256.Sum(s02) - c[2]; y[3] = Vector256.Sum(s03) - c[3];
        y[4] = Vector256.Sum(s10) - c[4]; y[5] = Vector256.Sum(s11) - c[5]; y[6] = Vector256.Sum(s12) - c[6]; y[7] = Vector256.Sum(s13) - c[7];
        y[8] = Vector256.Sum(s20) - c[8]; y[9] = Vector256.Sum(s21) - c[9]; y[10] = Vector256.Sum(s22) - c[10]; y[11] = Vector256.Sum(s23) - c[11];
        y[12] = Vector256.Sum(s30) - c[12]; y[13] = Vector256.Sum(s31) - c[13]; y[14] = Vector256.Sum(s32) - c[14]; y[15] = Vector256.Sum(s33) - c[15];
    }

    /// <summary>The Q8_0 dot's 4-block group at w, scale products from lanes first..first+3 of pv (one vpermps each; for
    /// Q8_0 this measured faster than broadcasts from a stack copy, for Q4_0 — whose nibble work already loads the
    /// shuffle units — slower).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Group4Q8(byte* w, Vector256<float> pv, Vector256<int> first, byte* a, Vector256<float> s)
    {
        Vector256<sbyte> x0 = Q(w), x1 = Q(w + 34), x2 = Q(w + 68), x3 = Q(w + 102);
        return Group4(Avx2.Abs(x0), Avx2.Abs(x1), Avx2.Abs(x2), Avx2.Abs(x3), x0, x1, x2, x3,
            Avx2.PermuteVar8x32(pv, first), Avx2.PermuteVar8x32(pv, first + Vector256<int>.One),
            Avx2.PermuteVar8x32(pv, first + Vector256.Create(2)), Avx2.PermuteVar8x32(pv, first + Vector256.Create(3)), a, s);
    }

    /// <summary>Q8_0 row · activation (the dot of the AVX2 set), with the per-pair arithmetic of <see cref="Q8_0x4x4"/>.</summary>
    public static float Q8_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<float> s = default;
        int b = 0;
        for (; b + 8 <= nb; b += 8, w += 272, a += 272)
        {
            Vector256<float> pv = Fp16.Scales8Q8_0(w) * Vector256.Load(d + b);
            s = Group4Q8(w, pv, Vector256.Create(0), a, s);
            s = Group4Q8(w + 136, pv, Vector256.Create(4), a + 136, s);
        }
        for (; b + 4 <= nb; b += 4, w += 136, a += 136)
        {
            Vector256<float> pv = Vector256.Create(Fp16.Load(w) * d[b], Fp16.Load(w + 34) * d[b + 1], Fp16.Load(w + 68) * d[b + 2], Fp16.Load(w + 102) * d[b + 3], 0, 0, 0, 0);
            s = Group4Q8(w, pv, Vector256.Create(0), a, s);
        }
        for (; b < nb; b++, w += 34, a += 34)
        {
            Vector256<sbyte> x = Q(w);
            s += Cvt(AbsDot(Avx2.Abs(x), x, Q(a))) * Vector256.Create(Fp16.Load(w) * d[b]);
        }
        return Vector256.Sum(s);
    }

    public static void Q8_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        float* dws = stackalloc float[8];
        float* ps = stackalloc float[128]; // [row][token][8]
        float** d = stackalloc float*[4];
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        for (int t = 0; t < 4; t++) d[t] = ActivationFormat.Q8_0Scales(a[t], nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        int b = 0;
        for (; b + 4 <= nb; b += 4, w0 += 136, w1 += 136, w2 += 136, w3 += 136, a0 += 136, a1 += 136, a2 += 136, a3 += 136)
        {
            if ((b & 7) == 0)
            {
                bool whole = b + 8 <= nb;
                WindowScales(w0, 34, whole, dws, d, b, 4, ps);
                WindowScales(w1, 34, whole, dws, d, b, 4, ps + 32);
                WindowScales(w2, 34, whole, dws, d, b, 4, ps + 64);
                WindowScales(w3, 34, whole, dws, d, b, 4, ps + 96);
            }
            float* p = ps + (b & 4);
            Vector256<sbyte> x0 = Q(w0), x1 = Q(w0 + 34), x2 = Q(w0 + 68), x3 = Q(w0 + 102);
            Vector256<byte> ax0 = Avx2.Abs(x0), ax1 = Avx2.Abs(x1), ax2 = Avx2.Abs(x2), ax3 = Avx2.Abs(x3);
            s00 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s00);
            s01 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s01);
            s02 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s02);
            s03 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s03);
            p += 32;
            x0 = Q(w1); x1 = Q(w1 + 34); x2 = Q(w1 + 68); x3 = Q(w1 + 102);
            ax0 = Avx2.Abs(x0); ax1 = Avx2.Abs(x1); ax2 = Avx2.Abs(x2); ax3 = Avx2.Abs(x3);
            s10 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s10);
            s11 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s11);
            s12 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s12);
            s13 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s13);
            p += 32;
            x0 = Q(w2); x1 = Q(w2 + 34); x2 = Q(w2 + 68); x3 = Q(w2 + 102);
            ax0 = Avx2.Abs(x0); ax1 = Avx2.Abs(x1); ax2 = Avx2.Abs(x2); ax3 = Avx2.Abs(x3);
            s20 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s20);
            s21 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s21);
            s22 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s22);
            s23 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s23);
            p += 32;
            x0 = Q(w3); x1 = Q(w3 + 34); x2 = Q(w3 + 68); x3 = Q(w3 + 102);
            ax0 = Avx2.Abs(x0); ax1 = Avx2.Abs(x1); ax2 = Avx2.Abs(x2); ax3 = Avx2.Abs(x3);
            s30 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p), B(p + 1), B(p + 2), B(p + 3), a0, s30);
            s31 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 8), B(p + 9), B(p + 10), B(p + 11), a1, s31);
            s32 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 16), B(p + 17), B(p + 18), B(p + 19), a2, s32);
            s33 = Group4(ax0, ax1, ax2, ax3, x0, x1, x2, x3, B(p + 24), B(p + 25), B(p + 26), B(p + 27), a3, s33);
        }
        for (; b < nb; b++, w0 += 34, w1 += 34, w2 += 34, w3 += 34, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
        {
            Vector256<sbyte> q0 = Q(a0), q1 = Q(a1), q2 = Q(a2), q3 = Q(a3);
            float e0 = d[0][b], e1 = d[1][b], e2 = d[2][b], e3 = d[3][b];
            float f = Fp16.Load(w0);
            Vector256<sbyte> x = Q(w0);
            Vector256<byte> ax = Avx2.Abs(x);
            s00 += Cvt(AbsDot(ax, x, q0)) * Vector256.Create(f * e0); s01 += Cvt(AbsDot(ax, x, q1)) * Vector256.Create(f * e1);
            s02 += Cvt(AbsDot(ax, x, q2)) * Vector256.Create(f * e2); s03 += Cvt(AbsDot(ax, x, q3)) * Vector256.Create(f * e3);
            f = Fp16.Load(w1); x = Q(w1); ax = Avx2.Abs(x);
            s10 += Cvt(AbsDot(ax, x, q0)) * Vector256.Create(f * e0); s11 += Cvt(AbsDot(ax, x, q1)) * Vector256.Create(f * e1);
            s12 += Cvt(AbsDot(ax, x, q2)) * Vector256.Create(f * e2); s13 += Cvt(AbsDot(ax, x, q3)) * Vector256.Create(f * e3);
            f = Fp16.Load(w2); x = Q(w2); ax = Avx2.Abs(x);
            s20 += Cvt(AbsDot(ax, x, q0)) * Vector256.Create(f * e0); s21 += Cvt(AbsDot(ax, x, q1)) * Vector256.Create(f * e1);
            s22 += Cvt(AbsDot(ax, x, q2)) * Vector256.Create(f * e2); s23 += Cvt(AbsDot(ax, x, q3)) * Vector256.Create(f * e3);
            f = Fp16.Load(w3); x = Q(w3); ax = Avx2.Abs(x);
            s30 += Cvt(AbsDot(ax, x, q0)) * Vector256.Create(f * e0); s31 += Cvt(AbsDot(ax, x, q1)) * Vector256.Create(f * e1);
            s32 += Cvt(AbsDot(ax, x, q2)) * Vector256.Create(f * e2); s33 += Cvt(AbsDot(ax, x, q3)) * Vector256.Create(f * e3);
        }
        y[0] = Vector256.Sum(s00); y[1] = Vector256.Sum(s01); y[2] = Vector256.Sum(s02); y[3] = Vector256.Sum(s03);
        y[4] = Vector256.Sum(s10); y[5] = Vector256.Sum(s11); y[6] = Vector256.Sum(s12); y[7] = Vector256.Sum(s13);
        y[8] = Vector256.Sum(s20); y[9] = Vector256.Sum(s21); y[10] = Vector256.Sum(s22); y[11] = Vector256.Sum(s23);
        y[12] = Vector256.Sum(s30); y[13] = Vector256.Sum(s31); y[14] = Vector256.Sum(s32); y[15] = Vector256.Sum(s33);
    }
}
