using System.Numerics.Tensors;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// fp32 → nearest fp16 → fp32 without F16C (<see cref="Fp16.RoundToHalf(float*, int)"/>, <see cref="Fp16.MadRoundHalf"/>,
/// the F16 flash-attention accumulator): the same bits as <c>(float)(Half)x</c> across the whole fp32 range — the fp16
/// normal/subnormal boundary, ties at both, the overflow edge (65504 stays, 65520 becomes inf), f32 denormals, ±0, ±inf,
/// NaN — in vector lanes and in the scalar tail.
/// </summary>
public unsafe class Fp16RoundTests
{
    private static void AssertSame(float x, float expected, float got)
    {
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(got), $"{x}: {got}");
        else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(got),
            $"0x{BitConverter.SingleToUInt32Bits(x):x8} ({x}): expected {expected}, got {got}");
    }

    /// <summary>Bit patterns: a stride through all 2^32, every pattern near the interesting edges, both signs.</summary>
    private static uint[] Patterns()
    {
        var p = new List<uint>();
        for (ulong u = 0; u <= uint.MaxValue; u += 4093) p.Add((uint)u);
        foreach (uint edge in new uint[] { 0x38800000, 0x477FE000, 0x477FF000, 0x47800000, 0x7F800000, 0x33000000, 0x33800000, 0x00800000, 0 })
            for (int d = -3000; d <= 3000; d++)
            {
                uint u = (uint)((int)edge + d);
                p.Add(u);
                p.Add(u ^ 0x80000000);
            }
        // exact ties: mantissa bits below the kept 10 are 1000…0, for even and odd kept mantissas, normal and subnormal
        var rng = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            uint e = (uint)rng.Next(0x67, 0x90) << 23, m = (uint)rng.Next(1 << 10) << 13;
            p.Add(e | m | 0x1000);
            p.Add((e | m | 0x1000) ^ 0x80000000);
        }
        p.Add(0x7FC00000); p.Add(0x7F800001); p.Add(0xFFC12345);
        return p.ToArray();
    }

    [Fact]
    public void RoundToHalfMatchesHalfConversion()
    {
        uint[] bits = Patterns();
        var x = new float[bits.Length];
        for (int i = 0; i < bits.Length; i++) x[i] = BitConverter.UInt32BitsToSingle(bits[i]);
        var y = (float[])x.Clone();
        // ragged: lengths that leave 1..7 values for the 128-bit and scalar tails
        fixed (float* py = y)
            for (int off = 0; off < y.Length; off += 1021) Fp16.RoundToHalf(py + off, Math.Min(1021, y.Length - off));
        for (int i = 0; i < x.Length; i++) AssertSame(x[i], (float)(Half)x[i], y[i]);
    }

    [Fact]
    public void RowConversionIsExactForEveryHalf()
    {
        // all 65536 patterns (±0, subnormals, normals, ±inf, NaNs), at offsets that leave 8-lane and scalar tails
        var h = new ushort[65536 + 23];
        for (int i = 0; i < h.Length; i++) h[i] = (ushort)(i * 40503);
        for (int i = 0; i < 65536; i++) h[i] = (ushort)i;
        var f = new float[h.Length];
        fixed (ushort* ph = h) fixed (float* pf = f)
            foreach (int off in new[] { 0, 65536 })
                Fp16.ToFloat(ph + off, pf + off, h.Length - off);
        for (int i = 0; i < h.Length; i++)
        {
            float e = (float)BitConverter.UInt16BitsToHalf(h[i]);
            if (float.IsNaN(e)) Assert.True(float.IsNaN(f[i]), $"{h[i]:x4}");
            else Assert.Equal(BitConverter.SingleToUInt32Bits(e), BitConverter.SingleToUInt32Bits(f[i]));
        }
    }

    [Fact]
    public void MadRoundHalfIsConvertFmaRound()
    {
        var rng = new Random(9);
        foreach (int n in new[] { 1, 3, 7, 8, 12, 512, 515 })
            for (int rep = 0; rep < 200; rep++)
            {
                var v = new Half[n];
                var acc = new float[n];
                for (int i = 0; i < n; i++)
                {
                    v[i] = rep % 7 == 0 ? BitConverter.UInt16BitsToHalf((ushort)rng.Next(65536)) : (Half)(float)(rng.NextDouble() * 8 - 4);
                    acc[i] = (float)(Half)(float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-26, 17)));
                }
                float s = rep % 5 == 0 ? 0 : (float)(rng.NextDouble() * Math.Pow(2, rng.Next(-12, 12)));
                var expected = new float[n];
                var vf = new float[n];
                TensorPrimitives.ConvertToSingle(v, vf);
                for (int i = 0; i < n; i++) expected[i] = (float)(Half)MathF.FusedMultiplyAdd(vf[i], s, acc[i]);
                var got = (float[])acc.Clone();
                fixed (float* pg = got) fixed (Half* pv = v) Fp16.MadRoundHalf(pg, (byte*)pv, s, n);
                for (int i = 0; i < n; i++) AssertSame(acc[i], expected[i], got[i]);
                var fromF32 = (float[])acc.Clone(); // the same step with V already converted (a head group's shared row)
                fixed (float* pg = fromF32) Fp16.MadRoundHalf(pg, vf, s, n);
                for (int i = 0; i < n; i++) AssertSame(acc[i], expected[i], fromF32[i]);
            }
    }

    /// <summary>
    /// The fast loops (every lane a normal half that stays finite, so the rounding alone runs): whole rows inside the
    /// normal range, with exact ties and values just under the 65520 overflow edge, through the 16-, 8- and 4-lane loops
    /// and the scalar tail, for RoundToHalf and both MadRoundHalf forms.
    /// </summary>
    [Fact]
    public void FastLoopsMatchHalfConversionInTheNormalRange()
    {
        var rng = new Random(13);
        float Normal()
        {
            int kind = rng.Next(8);
            uint e = (uint)rng.Next(0x71, 0x8F) << 23, m = (uint)rng.Next(1 << 23), sign = (uint)rng.Next(2) << 31;
            if (kind == 0) m = ((uint)rng.Next(1 << 10) << 13) | 0x1000; // an exact tie
            if (kind == 1) return BitConverter.UInt32BitsToSingle(sign | (0x477FE000u + (uint)rng.Next(0x1000))); // just under 65520
            return BitConverter.UInt32BitsToSingle(sign | e | m);
        }
        foreach (int n in new[] { 16, 29, 512, 515 })
            for (int rep = 0; rep < 100; rep++)
            {
                var x = new float[n];
                for (int i = 0; i < n; i++) x[i] = Normal();
                var y = (float[])x.Clone();
                fixed (float* py = y) Fp16.RoundToHalf(py, n);
                for (int i = 0; i < n; i++) AssertSame(x[i], (float)(Half)x[i], y[i]);

                // acc + v·s stays normal: acc normal, v·s small against it
                var v = new float[n];
                var vh = new Half[n];
                for (int i = 0; i < n; i++) { vh[i] = (Half)(float)(rng.NextDouble() * 2 - 1); v[i] = (float)vh[i]; }
                var acc = new float[n];
                for (int i = 0; i < n; i++) acc[i] = (float)(Half)x[i];
                for (int i = 0; i < n; i++) if (Math.Abs(acc[i]) > 60000) acc[i] = 1000;
                float s = (float)Math.Pow(2, -16);
                var expected = new float[n];
                for (int i = 0; i < n; i++) expected[i] = (float)(Half)MathF.FusedMultiplyAdd(v[i], s, acc[i]);
                var got = (float[])acc.Clone();
                fixed (float* pg = got) fixed (Half* pv = vh) Fp16.MadRoundHalf(pg, (byte*)pv, s, n);
                for (int i = 0; i < n; i++) AssertSame(acc[i], expected[i], got[i]);
                var fromF32 = (float[])acc.Clone();
                fixed (float* pg = fromF32) Fp16.MadRoundHalf(pg, v, s, n);
                for (int i = 0; i < n; i++) AssertSame(acc[i], expected[i], fromF32[i]);
            }
    }

    [Fact]
    public void DotHalfIsTheF32DotOfTheConvertedRow()
    {
        var rng = new Random(11);
        foreach (int n in new[] { 1, 5, 8, 15, 16, 17, 512, 576, 579 })
            for (int rep = 0; rep < 50; rep++)
            {
                var h = new Half[n];
                var q = new float[n];
                double exact = 0, magnitude = 0;
                for (int i = 0; i < n; i++)
                {
                    h[i] = rep == 0 ? BitConverter.UInt16BitsToHalf((ushort)rng.Next(0x7C00)) : (Half)(float)(rng.NextDouble() * 4 - 2);
                    q[i] = (float)(rng.NextDouble() * 2 - 1);
                    exact += (double)(float)h[i] * q[i];
                    magnitude += Math.Abs((double)(float)h[i] * q[i]);
                }
                float got;
                fixed (Half* ph = h) fixed (float* pq = q) got = Fp16.DotHalf((byte*)ph, pq, n);
                // F32 accumulation: error ≤ n·2^-24·Σ|products| (a loose but real bound; a wrong lane or tail is far off)
                Assert.True(Math.Abs(got - exact) <= n * Math.Pow(2, -24) * magnitude + 1e-30, $"n={n}: {got} vs {exact}");
            }
    }
}
