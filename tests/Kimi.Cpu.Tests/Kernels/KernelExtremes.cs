using System.Buffers.Binary;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// Worst-case rows for the integer accumulators: every quant byte set to one pattern (0xFF: the largest unsigned values,
/// 0x00: the most negative ones for offset formats such as Q6_K's −32, and Q3_K's and IQ4_XS's scales at −32), Q6_K scales at −128, and activations that quantize
/// to ±127 everywhere. SIMD kernels that add several products in i16 lanes (NEON smlal, the Vector128 paths) overflow
/// here first. Shared by the xUnit tests and tests/neon/KernelCheck.
/// </summary>
internal static class KernelExtremes
{
    public static readonly byte[] Patterns = [0x00, 0xFF, 0x55, 0xAA];

    /// <summary>Activation rows: all +1, all −1, alternating ±1 (each quantizes to ±127 in Q8_0/Q8_1/Q8_K).</summary>
    public static IEnumerable<float[]> Activations(int cols)
    {
        yield return Enumerable.Repeat(1f, cols).ToArray();
        yield return Enumerable.Repeat(-1f, cols).ToArray();
        yield return Enumerable.Range(0, cols).Select(i => i % 2 == 0 ? 1f : -1f).ToArray();
    }

    /// <summary>A row of a block type filled with <paramref name="pattern"/>, scales made finite (and Q6_K's at −128).</summary>
    public static byte[] WeightRow(GgmlType type, int cols, byte pattern)
    {
        var row = new byte[GgmlTypeInfo.RowBytes(type, cols)];
        row.AsSpan().Fill(pattern);
        int bs = GgmlTypeInfo.TypeSize(type);
        ushort d = HalfConvert.FloatToHalf(0.01f);
        for (int b = 0; b < row.Length / bs; b++)
        {
            Span<byte> blk = row.AsSpan(b * bs, bs);
            switch (type)
            {
                case GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[2..], d);
                    break;
                case GgmlType.Q6_K:
                    blk.Slice(192, 16).Fill(0x80);
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[208..], d);
                    break;
                case GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.IQ4_NL or GgmlType.IQ2_XXS or GgmlType.IQ2_XS
                    or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ1_S:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    break;
                case GgmlType.IQ1_M:
                    KernelTestData.WriteIq1MScale(blk, d);
                    break;
                case GgmlType.Q2_K:
                    // dmin ≠ d: with d = dmin the 0x55 row (scale 5, min 5, q 1) dequantizes to exact zeros while the kernels'
                    // two float terms d·Σ and dmin·Σ do not cancel bit-exactly, and the test's tolerance (of Σ|w·a|) would be 0.
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[80..], d);
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[82..], HalfConvert.FloatToHalf(0.003f));
                    break;
                case GgmlType.Q3_K:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[108..], d);
                    break;
                case GgmlType.IQ4_XS:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    break;
                case GgmlType.TQ1_0:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[52..], d);
                    break;
                case GgmlType.TQ2_0:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk[64..], d);
                    break;
                default:
                    throw new NotSupportedException($"no extreme row for {type}");
            }
        }
        return row;
    }

    /// <summary>Block types of <see cref="KernelTestData.MatMulTypes"/> this class knows.</summary>
    public static IEnumerable<GgmlType> Types() => KernelTestData.MatMulTypes.Where(t => t is GgmlType.Q4_0 or GgmlType.Q4_1
        or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.IQ4_NL or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
        or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ1_S
        or GgmlType.IQ1_M or GgmlType.TQ1_0 or GgmlType.TQ2_0 or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.IQ4_XS);
}
