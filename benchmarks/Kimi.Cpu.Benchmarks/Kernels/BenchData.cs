using Kimi.Cpu.Gguf;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// Weight rows quantized from Gaussian weights of standard deviation 0.02 (the magnitude of real checkpoints), so the
/// scales have a real distribution: thousands of distinct fp16 values, and K-quant super-block scales that are partly fp16
/// subnormals (random scale fields in ±0.01 hid a 3× slowdown of the Q4_K/Q6_K dots on exactly those). Activations uniform.
/// </summary>
internal static class BenchData
{
    public static byte[] WeightRow(Random rng, GgmlType type, int cols)
    {
        var x = new float[cols];
        for (int i = 0; i < cols; i++)
        {
            // Box–Muller
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            x[i] = (float)(0.02 * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
        var row = new byte[GgmlTypeInfo.RowBytes(type, cols)];
        // The i-quants that llama-quantize only makes with an importance matrix get a uniform one (the speed of a dot
        // does not depend on which importance chose the grid points).
        float[] importance = Quantizer.RequiresImportance(type) ? Enumerable.Repeat(1f, cols).ToArray() : [];
        Quantizer.QuantizeRow(type, x, row, importance);
        return row;
    }

    public static float[] Activations(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
