using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>The vector Q8_K activation quantizer must write exactly the bytes of the scalar one, edge cases included.</summary>
public unsafe class ActivationQuantQ8KTests
{
    private static byte[] Run(delegate*<float*, byte*, int, void> quantize, float[] x)
    {
        var a = new byte[ActivationFormat.RowBytes(GgmlType.Q4_K, x.Length)];
        fixed (float* px = x) fixed (byte* pa = a) quantize(px, pa, x.Length);
        return a;
    }

    /// <summary>One block per edge case, then random blocks.</summary>
    private static float[] EdgeRows()
    {
        var rng = new Random(31);
        var blocks = new List<float[]>();
        float[] Block(Func<int, float> f) => Enumerable.Range(0, 256).Select(f).ToArray();
        blocks.Add(Block(i => (float)(rng.NextDouble() - 0.5)));
        // Largest |x| negative: the scale's sign flips.
        blocks.Add(Block(i => i == 77 ? -3f : (float)(rng.NextDouble() - 0.5)));
        // +a and −a both present: the first one sets the sign (both orders).
        blocks.Add(Block(i => i == 5 ? 2f : i == 200 ? -2f : (float)(rng.NextDouble() - 0.5)));
        blocks.Add(Block(i => i == 5 ? -2f : i == 200 ? 2f : (float)(rng.NextDouble() - 0.5)));
        // max = −127 → iscale = 1: exact .5 ties must round to even; also the +127 end.
        blocks.Add(Block(i => i == 0 ? -127f : i == 1 ? 127f : (i % 7 - 3) + 0.5f));
        // All zero, and all negative zero: d = 0, everything cleared.
        blocks.Add(new float[256]);
        blocks.Add(Block(i => -0f));
        // Tiny values (scale far from 1) and a single non-zero element.
        blocks.Add(Block(i => (float)(rng.NextDouble() - 0.5) * 1e-30f));
        blocks.Add(Block(i => i == 255 ? 1e-3f : 0f));
        // Non-finite input (the vector path hands the block to the scalar code).
        blocks.Add(Block(i => i == 9 ? float.PositiveInfinity : (float)(rng.NextDouble() - 0.5)));
        blocks.Add(Block(i => i == 9 ? float.NaN : (float)(rng.NextDouble() - 0.5)));
        for (int k = 0; k < 8; k++) blocks.Add(KernelTestData.Activations(rng, 256));
        return blocks.SelectMany(b => b).ToArray();
    }

    [Fact]
    public void VectorQ8_KEqualsScalarBytes()
    {
        float[] x = EdgeRows();
        byte[] expected = Run(&ActQuantScalar.Q8_K, x);
        Assert.Equal(expected, Run(&ActQuantVectorQ8K.Q8_KV128, x));
        foreach (KernelIsa isa in KernelIsas.Supported)
            Assert.Equal(expected, Run(KernelSet.Create(isa).Quantizer(GgmlType.Q6_K), x));
    }

    [Fact]
    public void VectorQ8_KEqualsScalarBytesOnRandomRows()
    {
        var rng = new Random(32);
        foreach (int cols in new[] { 256, 2048, 7168 })
        {
            float[] x = KernelTestData.Activations(rng, cols);
            Assert.Equal(Run(&ActQuantScalar.Q8_K, x), Run(&ActQuantVectorQ8K.Q8_KV128, x));
        }
    }
}
