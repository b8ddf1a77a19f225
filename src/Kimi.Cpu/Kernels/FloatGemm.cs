using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// C[m × n] += A[m × k] · B[k × n] in F32, row-major with row strides lda, ldb, ldc, each element of C one fused
/// multiply-add chain over k ascending, starting from its current value: the order of ggml's simd_gemm, which its tiled
/// flash attention uses for Q·Kᵀ and P·V. Every path gives the same bits (each lane runs the scalar chain), so attention
/// outputs do not depend on the CPU. The vector paths hold a 4 × 16 (256-bit) or 4 × 8 (128-bit, NEON) block of C in
/// registers: per k, two B loads and four A broadcasts feed eight multiply-adds.
/// </summary>
public static unsafe class FloatGemm
{
    public static void MultiplyAdd(float* c, int ldc, float* a, int lda, float* b, int ldb, int m, int k, int n)
    {
        if (Vector256.IsHardwareAccelerated && n % 16 == 0) Vector256Path(c, ldc, a, lda, b, ldb, m, k, n);
        else if (Vector128.IsHardwareAccelerated && n % 8 == 0) Vector128Path(c, ldc, a, lda, b, ldb, m, k, n);
        else Scalar(c, ldc, a, lda, b, ldb, m, k, n);
    }

    /// <summary>The reference: one chain per element.</summary>
    public static void Scalar(float* c, int ldc, float* a, int lda, float* b, int ldb, int m, int k, int n)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = c[(long)i * ldc + j];
                for (int p = 0; p < k; p++) s = MathF.FusedMultiplyAdd(a[(long)i * lda + p], b[(long)p * ldb + j], s);
                c[(long)i * ldc + j] = s;
            }
    }

    private static void Vector256Path(float* c, int ldc, float* a, int lda, float* b, int ldb, int m, int k, int n)
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
            for (int j = 0; j < n; j += 16) Block4(c + (long)i * ldc + j, ldc, a + (long)i * lda, lda, b + j, ldb, k);
        for (; i < m; i++)
            for (int j = 0; j < n; j += 16) Block1(c + (long)i * ldc + j, a + (long)i * lda, b + j, ldb, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4(float* c, int ldc, float* a, int lda, float* b, int ldb, int k)
    {
        float* c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
        Vector256<float> x00 = Vector256.Load(c), x01 = Vector256.Load(c + 8), x10 = Vector256.Load(c1), x11 = Vector256.Load(c1 + 8);
        Vector256<float> x20 = Vector256.Load(c2), x21 = Vector256.Load(c2 + 8), x30 = Vector256.Load(c3), x31 = Vector256.Load(c3 + 8);
        for (int p = 0; p < k; p++, b += ldb)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> s = Vector256.Create(a[p]);
            x00 = Vector256.FusedMultiplyAdd(s, b0, x00); x01 = Vector256.FusedMultiplyAdd(s, b1, x01);
            s = Vector256.Create(a1[p]);
            x10 = Vector256.FusedMultiplyAdd(s, b0, x10); x11 = Vector256.FusedMultiplyAdd(s, b1, x11);
            s = Vector256.Create(a2[p]);
            x20 = Vector256.FusedMultiplyAdd(s, b0, x20); x21 = Vector256.FusedMultiplyAdd(s, b1, x21);
            s = Vector256.Create(a3[p]);
            x30 = Vector256.FusedMultiplyAdd(s, b0, x30); x31 = Vector256.FusedMultiplyAdd(s, b1, x31);
        }
        x00.Store(c); x01.Store(c + 8); x10.Store(c1); x11.Store(c1 + 8);
        x20.Store(c2); x21.Store(c2 + 8); x30.Store(c3); x31.Store(c3 + 8);
    }

    // NEON and other 128-bit targets: the same blocking, 4 × 8.
    private static void Vector128Path(float* c, int ldc, float* a, int lda, float* b, int ldb, int m, int k, int n)
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
            for (int j = 0; j < n; j += 8)
            {
                float* c0 = c + (long)i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
                float* a0 = a + (long)i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, bp = b + j;
                Vector128<float> x00 = Vector128.Load(c0), x01 = Vector128.Load(c0 + 4), x10 = Vector128.Load(c1), x11 = Vector128.Load(c1 + 4);
                Vector128<float> x20 = Vector128.Load(c2), x21 = Vector128.Load(c2 + 4), x30 = Vector128.Load(c3), x31 = Vector128.Load(c3 + 4);
                for (int p = 0; p < k; p++, bp += ldb)
                {
                    Vector128<float> b0 = Vector128.Load(bp), b1 = Vector128.Load(bp + 4);
                    Vector128<float> s = Vector128.Create(a0[p]);
                    x00 = Vector128.FusedMultiplyAdd(s, b0, x00); x01 = Vector128.FusedMultiplyAdd(s, b1, x01);
                    s = Vector128.Create(a1[p]);
                    x10 = Vector128.FusedMultiplyAdd(s, b0, x10); x11 = Vector128.FusedMultiplyAdd(s, b1, x11);
                    s = Vector128.Create(a2[p]);
                    x20 = Vector128.FusedMultiplyAdd(s, b0, x20); x21 = Vector128.FusedMultiplyAdd(s, b1, x21);
                    s = Vector128.Create(a3[p]);
                    x30 = Vector128.FusedMultiplyAdd(s, b0, x30); x31 = Vector128.FusedMultiplyAdd(s, b1, x31);
                }
                x00.Store(c0); x01.Store(c0 + 4); x10.Store(c1); x11.Store(c1 + 4);
                x20.Store(c2); x21.Store(c2 + 4); x30.Store(c3); x31.Store(c3 + 4);
            }
        if (i < m) Scalar(c + (long)i * ldc, ldc, a + (long)i * lda, lda, b, ldb, m - i, k, n);
    }

    private static void Block1(float* c, float* a, float* b, int ldb, int k)
    {
        Vector256<float> x0 = Vector256.Load(c), x1 = Vector256.Load(c + 8);
        for (int p = 0; p < k; p++, b += ldb)
        {
            Vector256<float> s = Vector256.Create(a[p]);
            x0 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b), x0);
            x1 = Vector256.FusedMultiplyAdd(s, Vector256.Load(b + 8), x1);
        }
        x0.Store(c); x1.Store(c + 8);
    }
}
