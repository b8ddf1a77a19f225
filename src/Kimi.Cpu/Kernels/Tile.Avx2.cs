using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Register-blocked AVX2 micro-kernels for Q4_0 and Q8_0 (activations Q8_0 with the sidecar, <see cref="ActivationFormat"/>):
/// 4 weight rows × 4 tokens (<c>y[4·r + t]</c>) or 4 rows × 1 token (<c>y[r]</c>) per call. Each weight block is loaded and
/// expanded once for all tokens of the tile and each activation block once for all rows, so a (row, token) pair costs
/// vpmaddubsw + vpmaddwd + cvt + mul + fma per block instead of a whole block dot.
/// Every (row, token) pair follows the same arithmetic in both shapes — one accumulator, blocks in order, the Q4_0 "−8"
/// term summed separately as in <see cref="DotAvx2.Q4_0Core"/> — so a product does not depend on how a batch is tiled
/// (GEMM and GEMV give bit-identical outputs). Results equal <see cref="DotScalar"/> up to float summation order.
/// Rows and activations are passed as 4 pointers each; a caller with fewer repeats the last one.
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileAvx2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<int> p, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(p), scale, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NibDot(Vector256<byte> nib, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, a), Vector256<short>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> AbsDot(Vector256<byte> absW, Vector256<sbyte> w, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(a, w)), Vector256<short>.One);

    public static void Q4_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb), d1 = ActivationFormat.Q8_0Scales(a1, nb);
        float* d2 = ActivationFormat.Q8_0Scales(a2, nb), d3 = ActivationFormat.Q8_0Scales(a3, nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        Vector128<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int b = 0; b < nb; b++, w0 += 18, w1 += 18, w2 += 18, w3 += 18, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
        {
            Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2)), q1 = Vector256.Load((sbyte*)(a1 + 2));
            Vector256<sbyte> q2 = Vector256.Load((sbyte*)(a2 + 2)), q3 = Vector256.Load((sbyte*)(a3 + 2));
            Vector256<float> e0 = Vector256.Create(d0[b]), e1 = Vector256.Create(d1[b]), e2 = Vector256.Create(d2[b]), e3 = Vector256.Create(d3[b]);
            Vector128<float> c8 = Vector128.Create(d0[nb + b], d1[nb + b], d2[nb + b], d3[nb + b]);

            float f = Fp16.Load(w0);
            Vector256<float> dw = Vector256.Create(f);
            Vector256<byte> x = DotAvx2.Nibbles(w0 + 2);
            s00 = Step(NibDot(x, q0), dw * e0, s00); s01 = Step(NibDot(x, q1), dw * e1, s01);
            s02 = Step(NibDot(x, q2), dw * e2, s02); s03 = Step(NibDot(x, q3), dw * e3, s03);
            c0 += Vector128.Create(f) * c8;

            f = Fp16.Load(w1);
            dw = Vector256.Create(f);
            x = DotAvx2.Nibbles(w1 + 2);
            s10 = Step(NibDot(x, q0), dw * e0, s10); s11 = Step(NibDot(x, q1), dw * e1, s11);
            s12 = Step(NibDot(x, q2), dw * e2, s12); s13 = Step(NibDot(x, q3), dw * e3, s13);
            c1 += Vector128.Create(f) * c8;

            f = Fp16.Load(w2);
            dw = Vector256.Create(f);
            x = DotAvx2.Nibbles(w2 + 2);
            s20 = Step(NibDot(x, q0), dw * e0, s20); s21 = Step(NibDot(x, q1), dw * e1, s21);
            s22 = Step(NibDot(x, q2), dw * e2, s22); s23 = Step(NibDot(x, q3), dw * e3, s23);
            c2 += Vector128.Create(f) * c8;

            f = Fp16.Load(w3);
            dw = Vector256.Create(f);
            x = DotAvx2.Nibbles(w3 + 2);
            s30 = Step(NibDot(x, q0), dw * e0, s30); s31 = Step(NibDot(x, q1), dw * e1, s31);
            s32 = Step(NibDot(x, q2), dw * e2, s32); s33 = Step(NibDot(x, q3), dw * e3, s33);
            c3 += Vector128.Create(f) * c8;
        }
        Store4(y, s00, s01, s02, s03, c0);
        Store4(y + 4, s10, s11, s12, s13, c1);
        Store4(y + 8, s20, s21, s22, s23, c2);
        Store4(y + 12, s30, s31, s32, s33, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(float* y, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3, Vector128<float> c)
    {
        y[0] = Vector256.Sum(s0) - c.GetElement(0);
        y[1] = Vector256.Sum(s1) - c.GetElement(1);
        y[2] = Vector256.Sum(s2) - c.GetElement(2);
        y[3] = Vector256.Sum(s3) - c.GetElement(3);
    }

    public static void Q4_0x4x1(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], a0 = a[0];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (int b = 0; b < nb; b++, w0 += 18, w1 += 18, w2 += 18, w3 += 18, a0 += 34)
        {
            Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2));
            float e = d0[b], c8 = d0[nb + b];
            float f0 = Fp16.Load(w0), f1 = Fp16.Load(w1), f2 = Fp16.Load(w2), f3 = Fp16.Load(w3);
            s0 = Step(NibDot(DotAvx2.Nibbles(w0 + 2), q0), Vector256.Create(f0 * e), s0);
            s1 = Step(NibDot(DotAvx2.Nibbles(w1 + 2), q0), Vector256.Create(f1 * e), s1);
            s2 = Step(NibDot(DotAvx2.Nibbles(w2 + 2), q0), Vector256.Create(f2 * e), s2);
            s3 = Step(NibDot(DotAvx2.Nibbles(w3 + 2), q0), Vector256.Create(f3 * e), s3);
            c0 += f0 * c8; c1 += f1 * c8; c2 += f2 * c8; c3 += f3 * c8;
        }
        y[0] = Vector256.Sum(s0) - c0;
        y[1] = Vector256.Sum(s1) - c1;
        y[2] = Vector256.Sum(s2) - c2;
        y[3] = Vector256.Sum(s3) - c3;
    }

    public static void Q8_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb), d1 = ActivationFormat.Q8_0Scales(a1, nb);
        float* d2 = ActivationFormat.Q8_0Scales(a2, nb), d3 = ActivationFormat.Q8_0Scales(a3, nb);
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        for (int b = 0; b < nb; b++, w0 += 34, w1 += 34, w2 += 34, w3 += 34, a0 += 34, a1 += 34, a2 += 34, a3 += 34)
        {
            Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2)), q1 = Vector256.Load((sbyte*)(a1 + 2));
            Vector256<sbyte> q2 = Vector256.Load((sbyte*)(a2 + 2)), q3 = Vector256.Load((sbyte*)(a3 + 2));
            Vector256<float> e0 = Vector256.Create(d0[b]), e1 = Vector256.Create(d1[b]), e2 = Vector256.Create(d2[b]), e3 = Vector256.Create(d3[b]);

            Vector256<float> dw = Vector256.Create(Fp16.Load(w0));
            Vector256<sbyte> x = Vector256.Load((sbyte*)(w0 + 2));
            Vector256<byte> ax = Avx2.Abs(x);
            s00 = Step(AbsDot(ax, x, q0), dw * e0, s00); s01 = Step(AbsDot(ax, x, q1), dw * e1, s01);
            s02 = Step(AbsDot(ax, x, q2), dw * e2, s02); s03 = Step(AbsDot(ax, x, q3), dw * e3, s03);

            dw = Vector256.Create(Fp16.Load(w1));
            x = Vector256.Load((sbyte*)(w1 + 2));
            ax = Avx2.Abs(x);
            s10 = Step(AbsDot(ax, x, q0), dw * e0, s10); s11 = Step(AbsDot(ax, x, q1), dw * e1, s11);
            s12 = Step(AbsDot(ax, x, q2), dw * e2, s12); s13 = Step(AbsDot(ax, x, q3), dw * e3, s13);

            dw = Vector256.Create(Fp16.Load(w2));
            x = Vector256.Load((sbyte*)(w2 + 2));
            ax = Avx2.Abs(x);
            s20 = Step(AbsDot(ax, x, q0), dw * e0, s20); s21 = Step(AbsDot(ax, x, q1), dw * e1, s21);
            s22 = Step(AbsDot(ax, x, q2), dw * e2, s22); s23 = Step(AbsDot(ax, x, q3), dw * e3, s23);

            dw = Vector256.Create(Fp16.Load(w3));
            x = Vector256.Load((sbyte*)(w3 + 2));
            ax = Avx2.Abs(x);
            s30 = Step(AbsDot(ax, x, q0), dw * e0, s30); s31 = Step(AbsDot(ax, x, q1), dw * e1, s31);
            s32 = Step(AbsDot(ax, x, q2), dw * e2, s32); s33 = Step(AbsDot(ax, x, q3), dw * e3, s33);
        }
        y[0] = Vector256.Sum(s00); y[1] = Vector256.Sum(s01); y[2] = Vector256.Sum(s02); y[3] = Vector256.Sum(s03);
        y[4] = Vector256.Sum(s10); y[5] = Vector256.Sum(s11); y[6] = Vector256.Sum(s12); y[7] = Vector256.Sum(s13);
        y[8] = Vector256.Sum(s20); y[9] = Vector256.Sum(s21); y[10] = Vector256.Sum(s22); y[11] = Vector256.Sum(s23);
        y[12] = Vector256.Sum(s30); y[13] = Vector256.Sum(s31); y[14] = Vector256.Sum(s32); y[15] = Vector256.Sum(s33);
    }

    public static void Q8_0x4x1(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], a0 = a[0];
        float* d0 = ActivationFormat.Q8_0Scales(a0, nb);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int b = 0; b < nb; b++, w0 += 34, w1 += 34, w2 += 34, w3 += 34, a0 += 34)
        {
            Vector256<sbyte> q0 = Vector256.Load((sbyte*)(a0 + 2));
            float e = d0[b];
            Vector256<sbyte> x0 = Vector256.Load((sbyte*)(w0 + 2)), x1 = Vector256.Load((sbyte*)(w1 + 2));
            Vector256<sbyte> x2 = Vector256.Load((sbyte*)(w2 + 2)), x3 = Vector256.Load((sbyte*)(w3 + 2));
            s0 = Step(AbsDot(Avx2.Abs(x0), x0, q0), Vector256.Create(Fp16.Load(w0) * e), s0);
            s1 = Step(AbsDot(Avx2.Abs(x1), x1, q0), Vector256.Create(Fp16.Load(w1) * e), s1);
            s2 = Step(AbsDot(Avx2.Abs(x2), x2, q0), Vector256.Create(Fp16.Load(w2) * e), s2);
            s3 = Step(AbsDot(Avx2.Abs(x3), x3, q0), Vector256.Create(Fp16.Load(w3) * e), s3);
        }
        y[0] = Vector256.Sum(s0);
        y[1] = Vector256.Sum(s1);
        y[2] = Vector256.Sum(s2);
        y[3] = Vector256.Sum(s3);
    }
}
