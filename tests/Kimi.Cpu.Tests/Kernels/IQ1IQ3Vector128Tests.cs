using System.Buffers.Binary;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// The portable 128-bit IQ3_XXS / IQ3_S / IQ1_S / IQ1_M dots (Dot.Vector128.IQ1IQ3.cs): registered for the Vector128 and
/// NEON sets, and exact on the rows that fill their i16 lanes most (the largest grid point everywhere, the largest scale,
/// signs that make every product the same sign, activations at ±127). Random rows are covered by DotKernelTests.
/// </summary>
public unsafe class IQ1IQ3Vector128Tests
{
    private static readonly GgmlType[] Types = [GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ1_S, GgmlType.IQ1_M];

    [Fact]
    public void Vector128AndNeonSetsRunThePortableKernels()
    {
        if (!KernelIsas.IsSupported(KernelIsa.Vector128)) return; // no accelerated 128-bit vectors on this CPU: no such set
        KernelSet v = KernelSet.Create(KernelIsa.Vector128);
        foreach (GgmlType t in Types) Assert.Equal($"Vector128.{t}", v.DotName(t));
        if (KernelIsas.IsSupported(KernelIsa.Neon))
        {
            KernelSet neon = KernelSet.Create(KernelIsa.Neon);
            foreach (GgmlType t in Types) Assert.Equal($"Vector128.{t}", neon.DotName(t)); // the portable code, named so
        }
    }

    /// <summary>Index of the grid point with the largest Σ|value| (IQ3: magnitudes; IQ1: all −1 is index 0).</summary>
    private static int LargestIq3Point(ReadOnlySpan<uint> grid)
    {
        int best = 0, bestSum = -1;
        for (int i = 0; i < grid.Length; i++)
        {
            int s = 0;
            for (int j = 0; j < 4; j++) s += (int)(grid[i] >> (8 * j)) & 255;
            if (s > bestSum) { bestSum = s; best = i; }
        }
        return best;
    }

    private static byte[] WorstRow(GgmlType type, int cols, bool delta)
    {
        var row = new byte[GgmlTypeInfo.RowBytes(type, cols)];
        int bs = GgmlTypeInfo.TypeSize(type);
        ushort d = HalfConvert.FloatToHalf(0.01f);
        for (int b = 0; b < row.Length / bs; b++)
        {
            Span<byte> blk = row.AsSpan(b * bs, bs);
            switch (type)
            {
                case GgmlType.IQ3_XXS:
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    blk.Slice(2, 64).Fill((byte)LargestIq3Point(IQTables.Iq3xxsGrid));
                    for (int ib = 0; ib < 8; ib++) BinaryPrimitives.WriteUInt32LittleEndian(blk[(66 + 4 * ib)..], 15u << 28); // signs +
                    break;
                case GgmlType.IQ3_S:
                    int i3 = LargestIq3Point(IQTables.Iq3sGrid);
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    blk.Slice(2, 64).Fill((byte)i3);
                    blk.Slice(66, 8).Fill(i3 >= 256 ? (byte)0xFF : (byte)0);
                    blk.Slice(74, 32).Clear();
                    blk.Slice(106, 4).Fill(0xFF);
                    break;
                case GgmlType.IQ1_S:
                    // index 0 = all −1; 3-bit scale 7, delta sign from the flag
                    BinaryPrimitives.WriteUInt16LittleEndian(blk, d);
                    blk.Slice(2, 32).Clear();
                    for (int ib = 0; ib < 8; ib++) BinaryPrimitives.WriteUInt16LittleEndian(blk[(34 + 2 * ib)..], (ushort)(7 << 12 | (delta ? 0x8000 : 0)));
                    break;
                case GgmlType.IQ1_M:
                    // index 0 = all −1; delta −1 (factor 8·(−1) − 1 = −9) or +1; all 3-bit scales 7
                    blk[..32].Clear();
                    blk.Slice(32, 16).Fill(delta ? (byte)0x88 : (byte)0);
                    blk.Slice(48, 8).Fill(0xFF);
                    KernelTestData.WriteIq1MScale(blk, d);
                    break;
            }
        }
        return row;
    }

    [Fact]
    public void PortableKernelsAreExactOnRowsThatFillTheirLanes()
    {
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar);
        const int cols = 512;
        foreach (GgmlType type in Types)
            foreach (bool delta in new[] { false, true })
                foreach (float xv in new[] { 1f, -1f })
                {
                    byte[] w = WorstRow(type, cols, delta);
                    float[] x = Enumerable.Repeat(xv, cols).ToArray();
                    var a = new byte[ActivationFormat.RowBytes(type, cols)];
                    fixed (float* px = x) fixed (byte* pa = a) scalar.Quantizer(type)(px, pa, cols);
                    double[] dw = KernelTestData.Dequantize(type, w, cols), da = KernelTestData.ActivationValues(type, a, cols);
                    for (int i = 0; i < cols; i++) Assert.Equal(127, Math.Abs((sbyte)a[292 * (i / 256) + 4 + i % 256]));
                    double exact = 0, mag = 0;
                    for (int i = 0; i < cols; i++) { exact += dw[i] * da[i]; mag += Math.Abs(dw[i] * da[i]); }
                    Assert.True(mag > 0);
                    foreach (KernelIsa isa in KernelIsas.Supported)
                    {
                        KernelSet k = KernelSet.Create(isa);
                        float actual;
                        fixed (byte* pw = w, pa = a) actual = k.Dot(type)(pw, pa, cols);
                        Assert.True(Math.Abs(actual - exact) <= 2e-6 * mag, $"{k.DotName(type)} delta={delta} x={xv}: {actual} vs {exact}");
                    }
                }
    }
}
