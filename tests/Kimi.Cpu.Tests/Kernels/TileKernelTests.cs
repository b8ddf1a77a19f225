using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>The register-blocked 4×4 / 4×1 micro-kernels: every (row, token) output equals the scalar dot within float
/// summation tolerance, and the two shapes give bit-identical outputs for the same pair (so GEMM equals GEMV).</summary>
public unsafe class TileKernelTests
{
    public static IEnumerable<object[]> Cases() =>
        from t in new[] { GgmlType.Q4_0, GgmlType.Q8_0 }
        from isa in KernelIsas.Supported
        where KernelSet.Create(isa).Tiles4x4[(int)t] != null
        select new object[] { t, isa };

    [Fact]
    public void X86SetsHaveTiles()
    {
        if (!KernelIsas.IsSupported(KernelIsa.Avx2)) return;
        Assert.NotEmpty(Cases());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TilesEqualScalarDotsAndEachOther(GgmlType type, KernelIsa isa)
    {
        KernelSet k = KernelSet.Create(isa), scalar = KernelSet.Create(KernelIsa.Scalar);
        var rng = new Random(17 + (int)type);
        byte** wp = stackalloc byte*[4];
        byte** ap = stackalloc byte*[4];
        byte** one = stackalloc byte*[4];
        float* o = stackalloc float[4];
        foreach (int cols in new[] { 32, 96, 256, 1056, 7168 })
        {
            var w = new byte[4][];
            var a = new byte[4][];
            var xs = new float[4][];
            for (int i = 0; i < 4; i++)
            {
                w[i] = KernelTestData.WeightRow(rng, type, cols);
                xs[i] = KernelTestData.Activations(rng, cols);
                a[i] = new byte[ActivationFormat.RowBytes(type, cols)];
                fixed (float* px = xs[i]) fixed (byte* pa = a[i]) k.Quantizer(type)(px, pa, cols);
            }
            var y44 = new float[16];
            var y41 = new float[4 * 4];
            fixed (byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3])
            fixed (float* p44 = y44, p41 = y41)
            {
                wp[0] = w0; wp[1] = w1; wp[2] = w2; wp[3] = w3;
                ap[0] = a0; ap[1] = a1; ap[2] = a2; ap[3] = a3;
                k.Tiles4x4[(int)type](wp, ap, cols, p44);
                for (int t = 0; t < 4; t++)
                {
                    one[0] = one[1] = one[2] = one[3] = ap[t];
                    k.Tiles4x1[(int)type](wp, one, cols, o);
                    for (int r = 0; r < 4; r++) p41[4 * r + t] = o[r];
                }
                for (int r = 0; r < 4; r++)
                    for (int t = 0; t < 4; t++)
                    {
                        float expected = scalar.Dot(type)(wp[r], ap[t], cols);
                        double mag = 0;
                        double[] dw = KernelTestData.Dequantize(type, w[r], cols), da = KernelTestData.ActivationValues(type, a[t], cols);
                        for (int i = 0; i < cols; i++) mag += Math.Abs(dw[i] * da[i]);
                        Assert.True(Math.Abs(y44[4 * r + t] - expected) <= 2e-6 * mag + 1e-30,
                            $"{type} {isa} cols={cols} row {r} token {t}: {y44[4 * r + t]} vs scalar {expected}");
                    }
            }
            Assert.Equal(y41, y44);
        }
    }
}
