using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

public unsafe class FloatGemmTests
{
    /// <summary>The vector path runs each element's fused multiply-add chain in the scalar order, so it gives the
    /// scalar reference's bits (row tails of 1–3 rows, accumulation into non-zero C, k not a multiple of anything).</summary>
    [Theory]
    [InlineData(4, 576, 64)]
    [InlineData(7, 64, 512)]
    [InlineData(1, 5, 16)]
    [InlineData(13, 33, 48)]
    [InlineData(5, 33, 24)] // n a multiple of 8, not 16: the 128-bit path
    [InlineData(3, 10, 20)] // n not a multiple of 8: the scalar path
    public void VectorPathEqualsScalarBitForBit(int m, int k, int n)
    {
        var rng = new Random(m * 1000 + k);
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] c0 = Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] fast = (float[])c0.Clone(), reference = (float[])c0.Clone();
        fixed (float* pa = a, pb = b, pf = fast, pr = reference)
        {
            FloatGemm.MultiplyAdd(pf, n, pa, k, pb, n, m, k, n);
            FloatGemm.Scalar(pr, n, pa, k, pb, n, m, k, n);
        }
        Assert.Equal(reference, fast);
        // and it is a product: one element against a double-precision sum
        double s = c0[n + 1 < m * n ? n + 1 : 0];
        int i = n + 1 < m * n ? 1 : 0, j = n + 1 < m * n ? 1 : 0;
        if (i == 0) s = c0[0];
        for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[p * n + j];
        Assert.Equal(s, reference[i * n + j], 1e-4);
    }

    /// <summary>Strided operands (a sub-block of larger rows, as the attention reads V inside the K rows).</summary>
    [Fact]
    public void StridesSelectSubMatrices()
    {
        const int m = 5, k = 7, n = 32, lda = 11, ldb = 40, ldc = 48;
        var rng = new Random(3);
        float[] a = Enumerable.Range(0, m * lda).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] b = Enumerable.Range(0, k * ldb).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] c = new float[m * ldc], packedA = new float[m * k], packedB = new float[k * n], packedC = new float[m * n];
        for (int i = 0; i < m; i++) for (int p = 0; p < k; p++) packedA[i * k + p] = a[i * lda + p];
        for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) packedB[p * n + j] = b[p * ldb + j];
        fixed (float* pa = a, pb = b, pc = c, qa = packedA, qb = packedB, qc = packedC)
        {
            FloatGemm.MultiplyAdd(pc, ldc, pa, lda, pb, ldb, m, k, n);
            FloatGemm.Scalar(qc, n, qa, k, qb, n, m, k, n);
        }
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++) Assert.Equal(packedC[i * n + j], c[i * ldc + j]);
            for (int j = n; j < ldc; j++) Assert.Equal(0f, c[i * ldc + j]); // nothing written past n
        }
    }
}
