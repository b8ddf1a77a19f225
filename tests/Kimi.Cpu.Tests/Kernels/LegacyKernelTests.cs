using System.Buffers.Binary;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// The SIMD dots of the 32-element Q4_1/Q5_0/Q5_1/IQ4_NL blocks: every SIMD family runs its own kernel (not the scalar
/// fallback), and blocks at the extremes of their value range (where a saturating i16 pair sum or a wrong fifth bit
/// would show) equal the scalar reference.
/// </summary>
public unsafe class LegacyKernelTests
{
    private static readonly GgmlType[] Legacy = [GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL];

    [Fact]
    public void EverySimdFamilyHasItsOwnKernel()
    {
        foreach (KernelIsa isa in KernelIsas.Supported.Where(i => i != KernelIsa.Scalar))
        {
            KernelSet k = KernelSet.Create(isa);
            string family = isa == KernelIsa.Avx512 ? "Avx2" : isa.ToString(); // the AVX-512 set inherits the AVX2 dots
            foreach (GgmlType t in Legacy) Assert.Equal($"{family}.{t}", k.DotName(t));
        }
    }

    /// <summary>Row of <paramref name="blocks"/> blocks whose quants are all <paramref name="nibble"/> and whose qh (Q5) is
    /// <paramref name="qh"/>; scale 1 (fp16 0x3C00), min −0.5 for the types that have one.</summary>
    private static byte[] ConstantRow(GgmlType type, int blocks, int nibble, uint qh)
    {
        int bs = GgmlTypeInfo.TypeSize(type);
        var row = new byte[bs * blocks];
        for (int b = 0; b < blocks; b++)
        {
            Span<byte> blk = row.AsSpan(b * bs, bs);
            BinaryPrimitives.WriteUInt16LittleEndian(blk, 0x3C00);
            int qs = type switch { GgmlType.Q4_1 => 4, GgmlType.Q5_0 => 6, GgmlType.Q5_1 => 8, _ => 2 };
            if (type is GgmlType.Q4_1 or GgmlType.Q5_1) BinaryPrimitives.WriteUInt16LittleEndian(blk[2..], HalfConvert.FloatToHalf(-0.5f));
            if (type is GgmlType.Q5_0 or GgmlType.Q5_1) BinaryPrimitives.WriteUInt32LittleEndian(blk[(qs - 4)..], qh);
            blk[qs..].Fill((byte)(nibble | nibble << 4));
        }
        return row;
    }

    [Fact]
    public void ExtremeBlocksEqualScalar()
    {
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar);
        const int blocks = 9, cols = 32 * blocks; // one block past the 8-block loop
        // Activations quantizing to ±127 everywhere (all one sign, or alternating), so each i16 pair sum is at its largest.
        float[][] inputs =
        [
            Enumerable.Repeat(1f, cols).ToArray(),
            Enumerable.Repeat(-1f, cols).ToArray(),
            Enumerable.Range(0, cols).Select(i => i % 2 == 0 ? 1f : -1f).ToArray(),
        ];
        foreach (KernelIsa isa in KernelIsas.Supported.Where(i => i != KernelIsa.Scalar))
        {
            KernelSet k = KernelSet.Create(isa);
            foreach (GgmlType type in Legacy)
                foreach (int nibble in new[] { 0, 15, 8 })
                    foreach (uint qh in new[] { 0u, 0xFFFFFFFFu, 0x80000001u, 0x00010000u, 0x5A5AA5A5u })
                        foreach (float[] x in inputs)
                        {
                            byte[] w = ConstantRow(type, blocks, nibble, qh);
                            var a = new byte[ActivationFormat.RowBytes(type, cols)];
                            fixed (float* px = x) fixed (byte* pa = a) scalar.Quantizer(type)(px, pa, cols);
                            float expected, actual;
                            fixed (byte* pw = w, pa = a)
                            {
                                expected = scalar.Dot(type)(pw, pa, cols);
                                actual = k.Dot(type)(pw, pa, cols);
                            }
                            // Small integers times power-of-two-ish scales: both sides are exact or within an ulp or two.
                            Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(1, Math.Abs(expected)),
                                $"{k.DotName(type)} nibble={nibble} qh={qh:X8}: {actual} vs scalar {expected}");
                        }
        }
    }
}
