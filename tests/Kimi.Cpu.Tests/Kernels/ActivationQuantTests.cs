using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Tests.Kernels;

public unsafe class ActivationQuantTests
{
    private static byte[] Quantize(KernelSet k, GgmlType weight, float[] x)
    {
        var a = new byte[ActivationFormat.RowBytes(weight, x.Length)];
        fixed (float* px = x) fixed (byte* pa = a) k.Quantizer(weight)(px, pa, x.Length);
        return a;
    }

    /// <summary>Reconstruction error bound: half a step from rounding q, plus |q| ≤ 127 times the fp16 rounding of the
    /// stored scale (q is computed with the exact 127/amax, the block stores fp16(amax/127)).</summary>
    private static float StepBound(float d) => 0.5f * d + 127 * d * MathF.Pow(2, -11) * 1.001f + 1e-30f;

    public static IEnumerable<object[]> Isas() => KernelIsas.Supported.Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Isas))]
    public void EveryIsaQuantizesToTheSameBytesAsScalar(KernelIsa isa)
    {
        var rng = new Random(7);
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar), k = KernelSet.Create(isa);
        foreach (GgmlType w in new[] { GgmlType.Q8_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32 })
            foreach (int cols in new[] { 256, 1024, 7168 })
            {
                float[] x = KernelTestData.Activations(rng, cols);
                // Exact .5 ties after scaling by 127/amax: all paths must round them the same way (to even).
                x[0] = 127; x[1] = 0.5f; x[2] = -1.5f; x[3] = 2.5f;
                Assert.Equal(Quantize(scalar, w, x), Quantize(k, w, x));
            }
    }

    /// <summary>Q8_K blocks that stress quantize_row_q8_K_ref's details: exact .5 ties after the scale (max = −127 gives
    /// iscale = 1), a largest magnitude present with both signs (the first one sets the sign of d), the max in the last
    /// lane, an all-zero block, a single non-zero, tiny and subnormal values.</summary>
    private static float[] Q8_KEdgeRow(Random rng)
    {
        const int blocks = 8;
        var x = new float[256 * blocks];
        KernelTestData.Activations(rng, x.Length).CopyTo(x, 0);
        Span<float> b0 = x.AsSpan(0, 256);
        b0[5] = -127; b0[6] = 0.5f; b0[7] = 1.5f; b0[8] = -2.5f; b0[9] = 3.5f; b0[10] = -0.5f; b0[200] = 126.5f;
        Span<float> b1 = x.AsSpan(256, 256);
        b1[17] = 40; b1[3] = -40; // −40 comes first: d > 0 would be wrong
        Span<float> b2 = x.AsSpan(512, 256);
        b2[40] = 40; b2[100] = -40;
        x.AsSpan(768, 256)[255] = -50;
        x.AsSpan(1024, 256).Clear();
        Span<float> b5 = x.AsSpan(1280, 256);
        b5.Clear(); b5[77] = 3e-5f;
        Span<float> b6 = x.AsSpan(1536, 256);
        for (int i = 0; i < 256; i++) b6[i] *= 1e-20f;
        Span<float> b7 = x.AsSpan(1792, 256); // subnormal: −127/max overflows to +inf
        b7.Clear(); b7[1] = 1e-39f; b7[2] = -2e-39f; b7[3] = 3e-45f;
        return x;
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Q8_KEveryIsaQuantizesToTheSameBytesAsScalar(KernelIsa isa)
    {
        var rng = new Random(8);
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar), k = KernelSet.Create(isa);
        for (int rep = 0; rep < 4; rep++)
        {
            float[] x = rep == 0 ? Q8_KEdgeRow(rng) : KernelTestData.Activations(rng, 256 * (1 + 13 * rep));
            byte[] expected = Quantize(scalar, GgmlType.Q2_K, x);
            Assert.Equal(expected, Quantize(k, GgmlType.Q2_K, x));
            // The Vector256 quantizer itself (portable vector API), whichever family this machine selects.
            var direct = new byte[expected.Length];
            fixed (float* px = x) fixed (byte* pd = direct) ActQuantVector.Q8_KV256(px, pd, x.Length);
            Assert.Equal(expected, direct);
        }
    }

    [Fact]
    public void Q8_0IsWithinHalfAStepAndMatchesQuantsUpToTies()
    {
        var rng = new Random(11);
        float[] x = KernelTestData.Activations(rng, 4096);
        byte[] a = Quantize(KernelSet.Create(KernelIsa.Scalar), GgmlType.Q8_0, x);
        var deq = new float[x.Length];
        Quantizer.DequantizeRow(GgmlType.Q8_0, a.AsSpan(0, 34 * x.Length / 32), deq);
        var reference = new byte[34 * x.Length / 32];
        Quantizer.QuantizeRow(GgmlType.Q8_0, x, reference);
        for (int b = 0; b < x.Length / 32; b++)
        {
            float d = HalfConvert.HalfToFloat(BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(34 * b)));
            Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(reference.AsSpan(34 * b)), BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(34 * b)));
            for (int j = 0; j < 32; j++)
            {
                int i = 32 * b + j;
                Assert.True(Math.Abs(deq[i] - x[i]) <= StepBound(d), $"x[{i}]={x[i]} → {deq[i]} (d={d})");
                Assert.True(Math.Abs((sbyte)a[34 * b + 2 + j] - (sbyte)reference[34 * b + 2 + j]) <= 1);
            }
        }
    }

    [Fact]
    public void Q8_1CarriesScaledSum()
    {
        var rng = new Random(12);
        float[] x = KernelTestData.Activations(rng, 1024);
        byte[] a = Quantize(KernelSet.Create(KernelIsa.Scalar), GgmlType.Q4_1, x);
        for (int b = 0; b < x.Length / 32; b++)
        {
            ReadOnlySpan<byte> blk = a.AsSpan(36 * b, 36);
            float d = HalfConvert.HalfToFloat(BinaryPrimitives.ReadUInt16LittleEndian(blk));
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                sum += (sbyte)blk[4 + j];
                Assert.True(Math.Abs(d * (sbyte)blk[4 + j] - x[32 * b + j]) <= StepBound(d));
            }
            // ggml: s = fp16(d·Σq) with the unrounded d = amax/127.
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[32 * b + j]));
            Assert.Equal(HalfConvert.FloatToHalf(amax / 127f * sum), BinaryPrimitives.ReadUInt16LittleEndian(blk[2..]));
            // The sidecar after the blocks: d and s as fp32, bit for bit the stored halves.
            int nb = x.Length / 32;
            Assert.Equal(d, BinaryPrimitives.ReadSingleLittleEndian(a.AsSpan(36 * nb + 4 * b)));
            Assert.Equal(HalfConvert.HalfToFloat(BinaryPrimitives.ReadUInt16LittleEndian(blk[2..])),
                BinaryPrimitives.ReadSingleLittleEndian(a.AsSpan(40 * nb + 4 * b)));
        }
        Assert.Equal(44 * (x.Length / 32), a.Length);
    }

    [Fact]
    public void Q8_KHasFloatScaleAndGroupSums()
    {
        var rng = new Random(13);
        float[] x = KernelTestData.Activations(rng, 2048);
        byte[] a = Quantize(KernelSet.Create(KernelIsa.Scalar), GgmlType.Q6_K, x);
        for (int b = 0; b < x.Length / 256; b++)
        {
            ReadOnlySpan<byte> blk = a.AsSpan(292 * b, 292);
            float d = BinaryPrimitives.ReadSingleLittleEndian(blk);
            bool allZero = x.AsSpan(256 * b, 256).IndexOfAnyExcept(0f) < 0;
            Assert.Equal(allZero, d == 0);
            for (int g = 0; g < 16; g++)
            {
                int s = 0;
                for (int j = 0; j < 16; j++)
                {
                    int q = (sbyte)blk[4 + 16 * g + j];
                    s += q;
                    Assert.InRange(q, -127, 127);
                    Assert.True(Math.Abs(d * q - x[256 * b + 16 * g + j]) <= 0.5f * Math.Abs(d) * 1.01f + 1e-30f);
                }
                Assert.Equal(s, BinaryPrimitives.ReadInt16LittleEndian(blk[(260 + 2 * g)..]));
            }
        }
    }

    [Fact]
    public void HalfActivationsAreRoundedValues()
    {
        var rng = new Random(14);
        float[] x = KernelTestData.Activations(rng, 256);
        x[0] = 1e6f; // beyond fp16: +inf, as ggml's conversion
        KernelSet k = KernelSet.Create(KernelIsa.Scalar);
        byte[] f16 = Quantize(k, GgmlType.F16, x), bf16 = Quantize(k, GgmlType.BF16, x);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(HalfConvert.HalfToFloat(HalfConvert.FloatToHalf(x[i])), BinaryPrimitives.ReadSingleLittleEndian(f16.AsSpan(4 * i)));
            Assert.Equal(HalfConvert.BFloat16ToFloat(HalfConvert.FloatToBFloat16(x[i])), BinaryPrimitives.ReadSingleLittleEndian(bf16.AsSpan(4 * i)));
        }
        Assert.True(float.IsPositiveInfinity(BinaryPrimitives.ReadSingleLittleEndian(f16)));
    }

    [Fact]
    public void VectorHalfConversionIsExactForAllBitPatterns()
    {
        // Subnormals and infinities included: the vector bit trick must equal the table (= .NET's Half) bit for bit;
        // NaNs must stay NaNs (payload bits are irrelevant).
        for (int h = 0; h < 65536; h += 16)
        {
            Vector512<uint> v = Vector512.Create((uint)h) + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            Vector512<uint> r512 = Fp16.ToFloat(v).AsUInt32();
            Vector256<uint> r256 = Fp16.ToFloat(v.GetLower()).AsUInt32();
            Vector128<uint> r128 = Fp16.ToFloat(v.GetLower().GetLower()).AsUInt32();
            for (int j = 0; j < 16; j++)
            {
                float expected = HalfConvert.HalfToFloat((ushort)(h + j));
                if (float.IsNaN(expected))
                {
                    Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle(r512[j])) && float.IsNaN(Fp16.ToFloat((ushort)(h + j))));
                    continue;
                }
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), r512[j]);
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(Fp16.ToFloat((ushort)(h + j))));
                if (j < 8) Assert.Equal(BitConverter.SingleToUInt32Bits(expected), r256[j]);
                if (j < 4) Assert.Equal(BitConverter.SingleToUInt32Bits(expected), r128[j]);
            }
        }
    }
}
