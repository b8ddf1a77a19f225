using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>Dots on <see cref="KernelExtremes"/> rows: no integer accumulator may overflow on any family.</summary>
public unsafe class DotExtremesTests
{
    public static IEnumerable<object[]> Types() => KernelExtremes.Types().Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(Types))]
    public void EveryFamilyMatchesTheDequantizedProductOnExtremeRows(GgmlType type)
    {
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar);
        int cols = GgmlTypeInfo.BlockSize(type) == 256 ? 512 : 288; // 9 blocks: the 8-block loops and a tail
        foreach (byte pattern in KernelExtremes.Patterns)
            foreach (float[] x in KernelExtremes.Activations(cols))
            {
                byte[] w = KernelExtremes.WeightRow(type, cols, pattern);
                var a = new byte[ActivationFormat.RowBytes(type, cols)];
                fixed (float* px = x) fixed (byte* pa = a) scalar.Quantizer(type)(px, pa, cols);
                double[] dw = KernelTestData.Dequantize(type, w, cols), da = KernelTestData.ActivationValues(type, a, cols);
                double exact = 0, mag = 0;
                for (int i = 0; i < cols; i++) { exact += dw[i] * da[i]; mag += Math.Abs(dw[i] * da[i]); }
                double tol = 2e-6 * mag + 1e-30;
                if (ActivationFormat.For(type) != GgmlType.Q8_1) // Q4_1/Q5_1 use the block's fp16 Σ (see DotKernelTests)
                {
                    float s;
                    fixed (byte* pw = w, pa = a) s = scalar.Dot(type)(pw, pa, cols);
                    Assert.True(Math.Abs(s - exact) <= tol, $"Scalar.{type} pattern {pattern:X2}: {s} vs {exact}");
                }
                foreach (KernelIsa isa in KernelIsas.Supported)
                {
                    KernelSet k = KernelSet.Create(isa);
                    float expected, actual;
                    fixed (byte* pw = w, pa = a)
                    {
                        expected = scalar.Dot(type)(pw, pa, cols);
                        actual = k.Dot(type)(pw, pa, cols);
                    }
                    Assert.True(Math.Abs(expected - actual) <= tol, $"{k.DotName(type)} pattern {pattern:X2}: {actual} vs scalar {expected}");
                }
            }
    }
}
