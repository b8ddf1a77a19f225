using System.Buffers.Binary;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>Random weight rows in ggml block layout (random quant bits, small finite fp16 scales) and activations.</summary>
internal static class BenchData
{
    public static byte[] WeightRow(Random rng, GgmlType type, int cols)
    {
        var row = new byte[GgmlTypeInfo.RowBytes(type, cols)];
        rng.NextBytes(row);
        int bs = GgmlTypeInfo.TypeSize(type);
        // Offsets of the fp16 scale fields inside one block.
        int[] halves = type switch
        {
            GgmlType.Q4_0 or GgmlType.Q8_0 or GgmlType.Q5_0 or GgmlType.IQ4_NL => [0],
            GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
            GgmlType.Q6_K => [208],
            GgmlType.Q2_K => [80, 82],
            GgmlType.Q3_K => [108],
            GgmlType.IQ4_XS => [0],
            _ => throw new NotSupportedException(type.ToString()),
        };
        for (int b = 0; b < row.Length / bs; b++)
            foreach (int o in halves)
                BinaryPrimitives.WriteUInt16LittleEndian(row.AsSpan(b * bs + o), HalfConvert.FloatToHalf((float)(rng.NextDouble() * 0.02 - 0.01)));
        return row;
    }

    public static float[] Activations(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
