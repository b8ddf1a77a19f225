using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Q8_0 kernels that finish 8 blocks at a time (AVX2 code, used by the AVX-512 set): each block's integer dot exact in
/// its own lane of a window vector, then one cvt and one fma per 8 blocks. The 4 × 4 tile transposes each row's window
/// (8 blocks × 8 dwords, 24 shuffles) once for 4 tokens and multiplies it with the activation's window copy
/// (<see cref="ActivationFormat.Q8_0Windows"/>, the same transposition), so eight vpmaddubsw/vpmaddwd pairs and seven adds
/// leave the 8 sums in lanes 0..7; the one-row dots form the same sums by a reduction tree over the usual per-block
/// products. The integers are exact either way, so dot, pair dot and tile give the same bits.
/// <para>
/// Per (row, token): acc = Σ over whole windows, in order, fma(float(isum), dw·da, acc); the result is
/// <c>Vector256.Sum(acc)</c>, then each block past the last whole window adds float(isum)·(dw·da), in order.
/// </para>
/// <para>
/// Measured (1 thread, Zen 4, /tmp harness): tile 2.93–3.01 → 2.34–2.43 cycles per (row, token, block) (tinyBLAS's
/// llamafile_sgemm alternated with our MatMul.Gemm in one process: 2.48–2.49 against 2.47–2.49);
/// the one-row dot is slower than the AVX2 set's (L1 30.3 against 36.4 GB/s, from RAM 26.2 against 28.2), which the
/// GEMV drivers make up for with two row streams (<see cref="Q8_0WindowPairs"/>: 30.2 GB/s from RAM).
/// </para>
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileQ8_0Windows
{
    /// <summary>A block's 8 partial integer dots (vpsignb trick: |w|·sign(a, w), pair sums ≤ 2·127·128 fit in 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Partials(byte* wBlock, byte* aBlock, Vector256<short> ones)
    {
        Vector256<sbyte> x = Vector256.Load((sbyte*)(wBlock + 2));
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(x), Avx2.Sign(Vector256.Load((sbyte*)(aBlock + 2)), x)), ones);
    }

    /// <summary>Lane-wise: [u0+u2, v0+v2, u1+u3, v1+v3] per 128-bit half (the first level of the reduction tree).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Pairs(Vector256<int> u, Vector256<int> v) => Avx2.UnpackLow(u, v) + Avx2.UnpackHigh(u, v);

    /// <summary>Second level; the 64-bit unpacks only move data, the adds stay 32-bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Quads(Vector256<int> x, Vector256<int> y) =>
        Avx2.UnpackLow(x.AsInt64(), y.AsInt64()).AsInt32() + Avx2.UnpackHigh(x.AsInt64(), y.AsInt64()).AsInt32();

    /// <summary>The 8 blocks' integer dots of the window at w (lane j = block j), by a reduction tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> WindowSums(byte* w, byte* a, Vector256<short> ones)
    {
        Vector256<int> x01 = Pairs(Partials(w, a, ones), Partials(w + 34, a + 34, ones));
        Vector256<int> x23 = Pairs(Partials(w + 68, a + 68, ones), Partials(w + 102, a + 102, ones));
        Vector256<int> x45 = Pairs(Partials(w + 136, a + 136, ones), Partials(w + 170, a + 170, ones));
        Vector256<int> x67 = Pairs(Partials(w + 204, a + 204, ones), Partials(w + 238, a + 238, ones));
        Vector256<int> y0 = Quads(x01, x23), y1 = Quads(x45, x67);
        return Avx2.Permute2x128(y0, y1, 0x20) + Avx2.Permute2x128(y0, y1, 0x31);
    }

    /// <summary>The blocks past the last whole window (from block b), added one by one to r (short rows, e.g. the
    /// 128-wide attention heads, are all tail: each block's integer dot by vector, its float product scalar).</summary>
    private static float Tail(byte* w, byte* a, int nb, int b, float r)
    {
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<short> ones = Vector256<short>.One;
        for (; b < nb; b++)
        {
            int sum = Vector256.Sum(Partials(w + 34L * b, a + 34L * b, ones));
            r += sum * (Fp16.Load(w + 34L * b) * da[b]);
        }
        return r;
    }

    /// <summary>Q8_0 row · activation row.</summary>
    public static float Q8_0(byte* w, byte* a, int n)
    {
        int nb = n / 32, whole = nb & ~7;
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<short> ones = Vector256<short>.One;
        Vector256<float> acc = default;
        byte* wb = w, ab = a;
        for (int b = 0; b < whole; b += 8, wb += 272, ab += 272)
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(WindowSums(wb, ab, ones)), Fp16.Scales8Q8_0(wb) * Vector256.Load(d + b), acc);
        return Tail(w, a, nb, whole, Vector256.Sum(acc));
    }

    /// <summary>
    /// Pairs of Q8_0 rows · one activation row (the same contract as <see cref="TileAvx512.Q4_0Pairs"/>): y0[i] = row
    /// (w0 + i·rowBytes)'s <see cref="Q8_0"/>, y1[i] = row (w1 + i·rowBytes)'s, bit for bit, windows interleaved; no calls
    /// in the loop, compiled fully optimized at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0WindowPairs(byte* w0, byte* w1, long rowBytes, int pairs, byte* a, int n, float* y0, float* y1)
    {
        int nb = n / 32, whole = nb & ~7;
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        Vector256<short> ones = Vector256<short>.One;
        for (long i = 0, o0 = 0; i < pairs; i++, o0 += rowBytes)
        {
            Vector256<float> acc0 = default, acc1 = default;
            byte* u = w0 + o0, v = w1 + o0, ab = a;
            for (int b = 0; b < whole; b += 8, u += 272, v += 272, ab += 272)
            {
                Vector256<float> da = Vector256.Load(d + b);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(WindowSums(u, ab, ones)), Fp16.Scales8Q8_0(u) * da, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(WindowSums(v, ab, ones)), Fp16.Scales8Q8_0(v) * da, acc1);
            }
            y0[i] = Vector256.Sum(acc0);
            y1[i] = Vector256.Sum(acc1);
        }
        if (whole < nb)
            for (int i = 0; i < pairs; i++)
            {
                y0[i] = Tail(w0 + i * rowBytes, a, nb, whole, y0[i]);
                y1[i] = Tail(w1 + i * rowBytes, a, nb, whole, y1[i]);
            }
    }

    /// <summary>8 × 8 transpose of 32-bit lanes: row k of the result holds lane k of r0..r7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector256<int> r0, ref Vector256<int> r1, ref Vector256<int> r2, ref Vector256<int> r3,
        ref Vector256<int> r4, ref Vector256<int> r5, ref Vector256<int> r6, ref Vector256<int> r7)
    {
        Vector256<int> t0 = Avx2.UnpackLow(r0, r1), t1 = Avx2.UnpackHigh(r0, r1), t2 = Avx2.UnpackLow(r2, r3), t3 = Avx2.UnpackHigh(r2, r3);
        Vector256<int> t4 = Avx2.UnpackLow(r4, r5), t5 = Avx2.UnpackHigh(r4, r5), t6 = Avx2.UnpackLow(r6, r7), t7 = Avx2.UnpackHigh(r6, r7);
        Vector256<int> u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32(), u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();
        Vector256<int> u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32(), u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();
        Vector256<int> u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32(), u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        Vector256<int> u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32(), u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
        r0 = Avx2.Permute2x128(u0, u4, 0x20); r1 = Avx2.Permute2x128(u1, u5, 0x20);
        r2 = Avx2.Permute2x128(u2, u6, 0x20); r3 = Avx2.Permute2x128(u3, u7, 0x20);
        r4 = Avx2.Permute2x128(u0, u4, 0x31); r5 = Avx2.Permute2x128(u1, u5, 0x31);
        r6 = Avx2.Permute2x128(u2, u6, 0x31); r7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>One transposed dword row k of the weights (|w| given) against the activation window's row k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Row(Vector256<int> wk, Vector256<byte> absK, byte* ak, Vector256<short> ones) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absK, Avx2.Sign(Vector256.Load((sbyte*)ak), wk.AsSByte())), ones);

    /// <summary>4 Q8_0 rows × 4 tokens (<c>y[4·r + t]</c>), each (row, token) with exactly the arithmetic of <see cref="Q8_0"/>.</summary>
    public static void Q8_0x4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++) RowTimes4(w[r], a, n, y + 4 * r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTimes4(byte* w, byte** a, int n, float* y)
    {
        int nb = n / 32, whole = nb & ~7;
        Vector256<short> ones = Vector256<short>.One;
        byte* a0 = ActivationFormat.Q8_0Windows(a[0], nb), a1 = ActivationFormat.Q8_0Windows(a[1], nb),
            a2 = ActivationFormat.Q8_0Windows(a[2], nb), a3 = ActivationFormat.Q8_0Windows(a[3], nb);
        float* d0 = ActivationFormat.Q8_0Scales(a[0], nb), d1 = ActivationFormat.Q8_0Scales(a[1], nb),
            d2 = ActivationFormat.Q8_0Scales(a[2], nb), d3 = ActivationFormat.Q8_0Scales(a[3], nb);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        byte* wb = w;
        for (long b = 0, o = 0; b < whole; b += 8, wb += 272, o += ActivationFormat.WindowBytes)
        {
            Vector256<int> r0 = Vector256.Load((int*)(wb + 2)), r1 = Vector256.Load((int*)(wb + 36)), r2 = Vector256.Load((int*)(wb + 70)),
                r3 = Vector256.Load((int*)(wb + 104)), r4 = Vector256.Load((int*)(wb + 138)), r5 = Vector256.Load((int*)(wb + 172)),
                r6 = Vector256.Load((int*)(wb + 206)), r7 = Vector256.Load((int*)(wb + 240));
            Transpose(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            Vector256<byte> b0 = Avx2.Abs(r0.AsSByte()), b1 = Avx2.Abs(r1.AsSByte()), b2 = Avx2.Abs(r2.AsSByte()), b3 = Avx2.Abs(r3.AsSByte()),
                b4 = Avx2.Abs(r4.AsSByte()), b5 = Avx2.Abs(r5.AsSByte()), b6 = Avx2.Abs(r6.AsSByte()), b7 = Avx2.Abs(r7.AsSByte());
            Vector256<float> dw = Fp16.Scales8Q8_0(wb);
            s0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Token(r0, r1, r2, r3, r4, r5, r6, r7, b0, b1, b2, b3, b4, b5, b6, b7, a0 + o, ones)), dw * Vector256.Load(d0 + b), s0);
            s1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Token(r0, r1, r2, r3, r4, r5, r6, r7, b0, b1, b2, b3, b4, b5, b6, b7, a1 + o, ones)), dw * Vector256.Load(d1 + b), s1);
            s2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Token(r0, r1, r2, r3, r4, r5, r6, r7, b0, b1, b2, b3, b4, b5, b6, b7, a2 + o, ones)), dw * Vector256.Load(d2 + b), s2);
            s3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Token(r0, r1, r2, r3, r4, r5, r6, r7, b0, b1, b2, b3, b4, b5, b6, b7, a3 + o, ones)), dw * Vector256.Load(d3 + b), s3);
        }
        float r0s = Vector256.Sum(s0), r1s = Vector256.Sum(s1), r2s = Vector256.Sum(s2), r3s = Vector256.Sum(s3);
        // The tail blocks as in Tail, the four tokens' integer dots of a block reduced together (one tree instead of four
        // horizontal sums: short rows such as the 128-wide attention heads are all tail).
        for (int b = whole; b < nb; b++)
        {
            byte* wb2 = w + 34L * b;
            long ao = 34L * b;
            Vector256<int> x01 = Pairs(Partials(wb2, a[0] + ao, ones), Partials(wb2, a[1] + ao, ones));
            Vector256<int> x23 = Pairs(Partials(wb2, a[2] + ao, ones), Partials(wb2, a[3] + ao, ones));
            Vector256<int> q = Quads(x01, x23);
            Vector128<int> sums = q.GetLower() + q.GetUpper();
            float dw = Fp16.Load(wb2);
            r0s += sums.GetElement(0) * (dw * d0[b]);
            r1s += sums.GetElement(1) * (dw * d1[b]);
            r2s += sums.GetElement(2) * (dw * d2[b]);
            r3s += sums.GetElement(3) * (dw * d3[b]);
        }
        y[0] = r0s;
        y[1] = r1s;
        y[2] = r2s;
        y[3] = r3s;
    }

    /// <summary>One token's 8 block sums against the transposed window (rows r0..r7, their |w| b0..b7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Token(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3, Vector256<int> r4,
        Vector256<int> r5, Vector256<int> r6, Vector256<int> r7, Vector256<byte> b0, Vector256<byte> b1, Vector256<byte> b2,
        Vector256<byte> b3, Vector256<byte> b4, Vector256<byte> b5, Vector256<byte> b6, Vector256<byte> b7, byte* aw, Vector256<short> ones) =>
        ((Row(r0, b0, aw, ones) + Row(r1, b1, aw + 32, ones)) + (Row(r2, b2, aw + 64, ones) + Row(r3, b3, aw + 96, ones)))
        + ((Row(r4, b4, aw + 128, ones) + Row(r5, b5, aw + 160, ones)) + (Row(r6, b6, aw + 192, ones) + Row(r7, b7, aw + 224, ones)));
}
