using System.Buffers.Binary;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>Random weight rows in ggml layout and an independent (spec §5.1) dequantizer for the types Quants does not cover yet.</summary>
internal static class KernelTestData
{
    /// <summary>Weight types with a matmul kernel, in the order of the brief's priorities.</summary>
    public static readonly GgmlType[] MatMulTypes =
    [
        GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_K, GgmlType.Q6_K,
        GgmlType.Q5_K, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.IQ4_XS,
        GgmlType.IQ2_XXS, GgmlType.IQ3_XXS, GgmlType.IQ1_S, GgmlType.IQ1_M, GgmlType.TQ2_0, GgmlType.IQ2_XS, GgmlType.IQ2_S,
        GgmlType.IQ3_S, GgmlType.TQ1_0,
    ];

    public static IEnumerable<object[]> TypeIsaPairs() =>
        from t in MatMulTypes from isa in KernelIsas.Supported where isa != KernelIsa.Scalar select new object[] { t, isa };

    public static IEnumerable<object[]> Types() => MatMulTypes.Select(t => new object[] { t });

    /// <summary>Every (type, set) on this CPU whose kernel set has <paramref name="has"/>; where none has, one row
    /// (F32, Scalar) that the tests skip (an empty theory would fail as "no data").</summary>
    public static IEnumerable<object[]> TypeIsaPairsWith(Func<KernelSet, GgmlType, bool> has)
    {
        var cases = (from t in MatMulTypes
                     from isa in KernelIsas.Supported
                     where has(KernelSet.Create(isa), t)
                     select new object[] { t, isa }).ToList();
        if (cases.Count == 0) cases.Add([GgmlType.F32, KernelIsa.Scalar]);
        return cases;
    }

    /// <summary>Activations: mostly N(0,1)-ish, a few outliers, and an all-zero stretch (exercises amax = 0).</summary>
    public static float[] Activations(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1 + (rng.NextDouble() - 0.5));
        for (int i = 0; i < count / 97; i++) x[rng.Next(count)] *= 20;
        if (count >= 512) x.AsSpan(256, 256).Clear();
        return x;
    }

    private static ushort Half(Random rng, double scale) => HalfConvert.FloatToHalf((float)((rng.NextDouble() * 2 - 1) * scale));

    /// <summary>Random row of <paramref name="cols"/> values in <paramref name="type"/>'s block layout: random quant bits,
    /// finite random scales.</summary>
    public static byte[] WeightRow(Random rng, GgmlType type, int cols)
    {
        var row = new byte[GgmlTypeInfo.RowBytes(type, cols)];
        rng.NextBytes(row);
        Span<byte> r = row;
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < cols; i++) BinaryPrimitives.WriteSingleLittleEndian(r[(4 * i)..], (float)(rng.NextDouble() * 2 - 1));
                break;
            case GgmlType.F16:
                for (int i = 0; i < cols; i++) BinaryPrimitives.WriteUInt16LittleEndian(r[(2 * i)..], Half(rng, 1));
                break;
            case GgmlType.BF16:
                for (int i = 0; i < cols; i++) BinaryPrimitives.WriteUInt16LittleEndian(r[(2 * i)..], HalfConvert.FloatToBFloat16((float)(rng.NextDouble() * 2 - 1)));
                break;
            default:
                int bs = GgmlTypeInfo.TypeSize(type);
                for (int b = 0; b < row.Length / bs; b++)
                {
                    Span<byte> blk = r.Slice(b * bs, bs);
                    switch (type)
                    {
                        case GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk, Half(rng, 0.05));
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[2..], Half(rng, 0.05));
                            break;
                        case GgmlType.Q6_K:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[208..], Half(rng, 0.01));
                            break;
                        case GgmlType.Q2_K:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[80..], Half(rng, 0.05));
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[82..], Half(rng, 0.05));
                            break;
                        case GgmlType.Q3_K:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[108..], Half(rng, 0.01));
                            break;
                        case GgmlType.IQ1_M:
                            WriteIq1MScale(blk, Half(rng, 0.05));
                            break;
                        case GgmlType.TQ1_0:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[52..], Half(rng, 0.05));
                            break;
                        case GgmlType.TQ2_0:
                            BinaryPrimitives.WriteUInt16LittleEndian(blk[64..], Half(rng, 0.05));
                            break;
                        default: // Q4_0, Q5_0, Q8_0, IQ4_NL, IQ4_XS, IQ2_*, IQ3_*, IQ1_S: d first
                            BinaryPrimitives.WriteUInt16LittleEndian(blk, Half(rng, 0.05));
                            break;
                    }
                }
                break;
        }
        return row;
    }

    /// <summary>IQ1_M has no d field: its fp16 super-scale is the top nibble of each of the four u16 scale words (bytes 48..55).</summary>
    public static void WriteIq1MScale(Span<byte> block, ushort d)
    {
        for (int k = 0; k < 4; k++)
        {
            Span<byte> word = block[(48 + 2 * k)..];
            int v = BinaryPrimitives.ReadUInt16LittleEndian(word) & 0x0fff | ((d >> (4 * k)) & 15) << 12;
            BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)v);
        }
    }

    private static double H(ReadOnlySpan<byte> p) => HalfConvert.HalfToFloat(BinaryPrimitives.ReadUInt16LittleEndian(p));

    private static readonly int[] Iq4Nl = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>Dequantized row: the Quants dequantizer where it knows the type, else the formulas of spec §5.1.</summary>
    public static double[] Dequantize(GgmlType type, ReadOnlySpan<byte> row, int cols)
    {
        if (Quantizer.CanDequantize(type))
        {
            var f = new float[cols];
            Quantizer.DequantizeRow(type, row, f);
            return f.Select(v => (double)v).ToArray();
        }
        var y = new double[cols];
        int bs = GgmlTypeInfo.TypeSize(type), be = GgmlTypeInfo.BlockSize(type);
        for (int b = 0; b < cols / be; b++)
        {
            ReadOnlySpan<byte> x = row.Slice(b * bs, bs);
            Span<double> o = y.AsSpan(b * be, be);
            switch (type)
            {
                case GgmlType.Q4_1:
                    for (int j = 0; j < 16; j++) { o[j] = H(x) * (x[4 + j] & 15) + H(x[2..]); o[j + 16] = H(x) * (x[4 + j] >> 4) + H(x[2..]); }
                    break;
                case GgmlType.Q5_0:
                case GgmlType.Q5_1:
                {
                    bool one = type == GgmlType.Q5_1;
                    int qo = one ? 4 : 2;
                    uint qh = BinaryPrimitives.ReadUInt32LittleEndian(x[qo..]);
                    for (int j = 0; j < 16; j++)
                    {
                        int q0 = (x[qo + 4 + j] & 15) | (int)((qh >> j) & 1) << 4, q1 = (x[qo + 4 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                        o[j] = one ? H(x) * q0 + H(x[2..]) : H(x) * (q0 - 16);
                        o[j + 16] = one ? H(x) * q1 + H(x[2..]) : H(x) * (q1 - 16);
                    }
                    break;
                }
                case GgmlType.IQ4_NL:
                    for (int j = 0; j < 16; j++) { o[j] = H(x) * Iq4Nl[x[2 + j] & 15]; o[j + 16] = H(x) * Iq4Nl[x[2 + j] >> 4]; }
                    break;
                case GgmlType.Q4_K:
                case GgmlType.Q5_K:
                {
                    bool five = type == GgmlType.Q5_K;
                    ReadOnlySpan<byte> s = x.Slice(4, 12);
                    int qsOff = five ? 48 : 16;
                    for (int c = 0; c < 4; c++)
                        for (int half = 0; half < 2; half++)
                        {
                            int j = 2 * c + half;
                            int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
                            int mn = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
                            for (int l = 0; l < 32; l++)
                            {
                                int q = half == 0 ? x[qsOff + 32 * c + l] & 15 : x[qsOff + 32 * c + l] >> 4;
                                if (five && (x[16 + l] & (1 << j)) != 0) q += 16;
                                o[64 * c + 32 * half + l] = H(x) * sc * q - H(x[2..]) * mn;
                            }
                        }
                    break;
                }
                case GgmlType.Q6_K:
                    for (int n = 0; n < 2; n++)
                        for (int l = 0; l < 32; l++)
                        {
                            int ql0 = x[64 * n + l], ql1 = x[64 * n + l + 32], qh = x[128 + 32 * n + l];
                            int is_ = l / 16;
                            double d = H(x[208..]);
                            ReadOnlySpan<byte> sc = x.Slice(192 + 8 * n, 8);
                            o[128 * n + l] = d * (sbyte)sc[is_] * (((ql0 & 15) | (qh & 3) << 4) - 32);
                            o[128 * n + l + 32] = d * (sbyte)sc[is_ + 2] * (((ql1 & 15) | ((qh >> 2) & 3) << 4) - 32);
                            o[128 * n + l + 64] = d * (sbyte)sc[is_ + 4] * (((ql0 >> 4) | ((qh >> 4) & 3) << 4) - 32);
                            o[128 * n + l + 96] = d * (sbyte)sc[is_ + 6] * (((ql1 >> 4) | ((qh >> 6) & 3) << 4) - 32);
                        }
                    break;
                case GgmlType.Q8_1:
                    for (int j = 0; j < 32; j++) o[j] = H(x) * (sbyte)x[4 + j];
                    break;
                case GgmlType.Q8_K:
                {
                    double d = BinaryPrimitives.ReadSingleLittleEndian(x);
                    for (int j = 0; j < 256; j++) o[j] = d * (sbyte)x[4 + j];
                    break;
                }
                default:
                    throw new NotSupportedException(type.ToString());
            }
        }
        return y;
    }

    /// <summary>Converted activation row as values (F16/BF16/F32 formats are stored as fp32 already).</summary>
    public static double[] ActivationValues(GgmlType weight, ReadOnlySpan<byte> a, int cols)
    {
        GgmlType f = ActivationFormat.For(weight);
        if (f is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)
        {
            var v = new double[cols];
            for (int i = 0; i < cols; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(a[(4 * i)..]);
            return v;
        }
        return Dequantize(f, a[..(int)GgmlTypeInfo.RowBytes(f, cols)], cols);
    }
}
