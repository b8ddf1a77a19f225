using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Tests.Kernels;

public unsafe class MatMulTests
{
    public static IEnumerable<object[]> Cases() =>
        from t in new[] { GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_K, GgmlType.Q6_K }
        from isa in KernelIsas.Supported
        select new object[] { t, isa };

    /// <summary>Weights with a row stride larger than the row (as a slice of a wider tensor would have).</summary>
    private static byte[] Matrix(Random rng, GgmlType type, int rows, int cols, long stride)
    {
        var m = new byte[stride * rows];
        for (int r = 0; r < rows; r++) KernelTestData.WeightRow(rng, type, cols).CopyTo(m, r * stride);
        return m;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GemvAndGemmEqualRowByRowDots(GgmlType type, KernelIsa isa)
    {
        var rng = new Random(3 + (int)type);
        int cols = GgmlTypeInfo.BlockSize(type) == 256 ? 512 : 288;
        const int rows = 37, n = 13; // 13 tokens: tiles that take converted row scales (8+ tokens), plain tiles, a dot
        long stride = GgmlTypeInfo.RowBytes(type, cols) + 6;
        byte[] w = Matrix(rng, type, rows, cols, stride);
        float[] x = KernelTestData.Activations(rng, n * cols);
        KernelSet k = KernelSet.Create(isa);

        // Expected: the same kernel, one dot at a time, no pool.
        var expected = new float[n * rows];
        var a = new byte[ActivationFormat.RowBytes(type, cols)];
        fixed (byte* pw = w, pa = a) fixed (float* px = x)
            for (int t = 0; t < n; t++)
            {
                k.Quantizer(type)(px + t * cols, pa, cols);
                for (int r = 0; r < rows; r++) expected[t * rows + r] = k.Dot(type)(pw + r * stride, pa, cols);
            }

        // Batches of 4 tokens or more go through the register-blocked tiles where a type has them; their per-pair
        // arithmetic is the dot's, so the outputs are the same bits (no dependence on batch composition).
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var pool = new WorkerPool(threads);
            using var mm = new MatMul(pool, isa);
            var y = new float[n * rows];
            fixed (byte* pw = w)
            {
                mm.Gemm(type, pw, stride, rows, cols, x, y, n);
                Assert.Equal(expected, y);
                var y1 = new float[rows];
                for (int t = 0; t < n; t++)
                {
                    mm.Gemv(type, pw, stride, rows, cols, x.AsSpan(t * cols, cols), y1);
                    Assert.Equal(expected.AsSpan(t * rows, rows).ToArray(), y1);
                }
            }
        }
    }

    /// <summary>
    /// Rows shorter than one 8-block window go to <see cref="KernelSet.ShortRows"/> where a set has one (Q8_0 on the
    /// AVX-512 set): Gemm (tiles and dots) and Gemv then equal that set's one-row dot bit for bit, so a product's batch
    /// and step outputs stay one arithmetic; rows of a whole window and more keep the set's own kernels.
    /// </summary>
    [Fact]
    public void ShortRowsUseTheShortRowSetInBatchAndStep()
    {
        foreach (KernelIsa isa in KernelIsas.Supported)
        {
            KernelSet k = KernelSet.Create(isa);
            if (k.ShortRows == null) continue;
            Assert.Same(k.ShortRows, k.For(GgmlType.Q8_0, 128));
            Assert.Same(k, k.For(GgmlType.Q8_0, 256));
            Assert.Same(k, k.For(GgmlType.Q4_0, 128));
            var rng = new Random(41);
            foreach (int cols in new[] { 128, 224 })
            {
                const int rows = 37, n = 13;
                long stride = GgmlTypeInfo.RowBytes(GgmlType.Q8_0, cols);
                byte[] w = Matrix(rng, GgmlType.Q8_0, rows, cols, stride);
                float[] x = KernelTestData.Activations(rng, n * cols);
                var expected = new float[n * rows];
                var a = new byte[ActivationFormat.RowBytes(GgmlType.Q8_0, cols)];
                fixed (byte* pw = w, pa = a) fixed (float* px = x)
                    for (int t = 0; t < n; t++)
                    {
                        k.Quantizer(GgmlType.Q8_0)(px + t * cols, pa, cols);
                        for (int r = 0; r < rows; r++) expected[t * rows + r] = k.ShortRows.Dot(GgmlType.Q8_0)(pw + r * stride, pa, cols);
                    }
                using var pool = new WorkerPool(2);
                using var mm = new MatMul(pool, isa);
                var y = new float[n * rows];
                var y1 = new float[rows];
                fixed (byte* pw = w)
                {
                    mm.Gemm(GgmlType.Q8_0, pw, stride, rows, cols, x, y, n);
                    Assert.Equal(expected, y);
                    mm.Gemv(GgmlType.Q8_0, pw, stride, rows, cols, x.AsSpan(0, cols), y1);
                    Assert.Equal(expected.AsSpan(0, rows).ToArray(), y1);
                }
            }
        }
    }

    [Fact]
    public void QuantizedActivationsAreReusableAcrossWeights()
    {
        var rng = new Random(8);
        const int cols = 256, rows = 16, n = 3;
        byte[] w1 = Matrix(rng, GgmlType.Q4_0, rows, cols, GgmlTypeInfo.RowBytes(GgmlType.Q4_0, cols));
        byte[] w2 = Matrix(rng, GgmlType.Q8_0, rows, cols, GgmlTypeInfo.RowBytes(GgmlType.Q8_0, cols));
        float[] x = KernelTestData.Activations(rng, n * cols);
        using var pool = new WorkerPool(2);
        using var mm = new MatMul(pool);
        using var xq = new QuantizedActivations();
        mm.Quantize(GgmlType.Q4_0, x, n, cols, xq); // Q4_0 and Q8_0 both take Q8_0 activations
        var y1 = new float[n * rows]; var y2 = new float[n * rows]; var r1 = new float[n * rows]; var r2 = new float[n * rows];
        fixed (byte* p1 = w1, p2 = w2)
        {
            mm.Gemm(GgmlType.Q4_0, p1, w1.Length / rows, rows, xq, y1);
            mm.Gemm(GgmlType.Q8_0, p2, w2.Length / rows, rows, xq, y2);
            mm.Gemm(GgmlType.Q4_0, p1, w1.Length / rows, rows, cols, x, r1, n);
            mm.Gemm(GgmlType.Q8_0, p2, w2.Length / rows, rows, cols, x, r2, n);
        }
        Assert.Equal(r1, y1);
        Assert.Equal(r2, y2);
        fixed (byte* p1 = w1)
        {
            byte* p = p1;
            Assert.Throws<ArgumentException>(() => mm.Gemm(GgmlType.Q4_K, p, w1.Length / rows, rows, xq, y1));
        }
    }

    [Fact]
    public void RejectsBadShapes()
    {
        using var pool = new WorkerPool(1);
        using var mm = new MatMul(pool);
        var w = new byte[18 * 4];
        fixed (byte* pw = w)
        {
            byte* p = pw;
            Assert.Throws<ArgumentException>(() => mm.Gemv(GgmlType.Q4_0, p, 18, 4, 33, new float[33], new float[4]));
            Assert.Throws<ArgumentException>(() => mm.Gemv(GgmlType.Q4_0, p, 10, 4, 32, new float[32], new float[4]));
            Assert.Throws<ArgumentException>(() => mm.Gemv(GgmlType.Q4_0, p, 18, 4, 32, new float[32], new float[3]));
            // Q8_K is an activation format, never a weight type: no dot kernel.
            Assert.Throws<NotSupportedException>(() => mm.Gemv(GgmlType.Q8_K, p, 292, 1, 256, new float[256], new float[1]));
        }
    }
}
