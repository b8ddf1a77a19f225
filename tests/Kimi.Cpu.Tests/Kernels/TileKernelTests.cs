using System.Runtime.CompilerServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>The register-blocked 4-row × 4-token micro-kernels: every output equals the scalar dot of its (row, token)
/// pair within float summation tolerance, and the set's own one-token dot bit for bit (the row-tile and token-tile edges
/// the driver makes are covered by <see cref="MatMulTests"/>: 37 rows, 5 tokens).</summary>
public unsafe class TileKernelTests
{
    /// <summary>Every (type, set) with a tile on this CPU; on one without any (ARM, x86 without AVX2) a single row whose
    /// set has no tile, which the tests skip (an empty theory would fail as "no data").</summary>
    public static IEnumerable<object[]> Cases() => KernelTestData.TypeIsaPairsWith((k, t) => k.Tiles4x4[(int)t] != null);

    [Fact]
    public void X86SetsHaveTiles()
    {
        if (!KernelIsas.IsSupported(KernelIsa.Avx2)) return;
        foreach (var isa in KernelIsas.Supported.Where(i => i is KernelIsa.Avx2 or KernelIsa.Avx512))
        {
            var k = KernelSet.Create(isa);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q4_0]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q8_0]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q4_K]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q6_K]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q2_K]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q3_K]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.Q5_K]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.IQ4_XS]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.IQ1_S]);
            Assert.NotEqual(0, (nint)k.Tiles4x4[(int)GgmlType.IQ1_M]);
            foreach (var t in new[] { GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S })
                Assert.NotEqual(0, (nint)k.Tiles4x4[(int)t]);
        }
    }

    /// <summary>Column counts for the tests: whole blocks of the type.</summary>
    private static int[] Columns(GgmlType type) => GgmlTypeInfo.BlockSize(type) == 256
        ? [256, 512, 1280, 7168]
        : [32, 96, 256, 1056, 7168, 8320];

    /// <summary>Four random weight rows and four converted activation rows of <paramref name="cols"/> columns (pinned,
    /// pointers in wp/ap), run through the set's tile into y; the arrays are returned to keep them alive.</summary>
    private static (byte[][] W, byte[][] A) RunTile(KernelSet k, GgmlType type, int cols, Random rng, byte** wp, byte** ap, float* y)
    {
        var w = new byte[4][];
        var a = new byte[4][];
        for (int i = 0; i < 4; i++)
        {
            byte[] row = KernelTestData.WeightRow(rng, type, cols);
            w[i] = GC.AllocateArray<byte>(row.Length, pinned: true);
            row.CopyTo(w[i], 0);
            float[] x = KernelTestData.Activations(rng, cols);
            a[i] = GC.AllocateArray<byte>((int)ActivationFormat.RowBytes(type, cols), pinned: true);
            wp[i] = (byte*)Unsafe.AsPointer(ref w[i][0]);
            ap[i] = (byte*)Unsafe.AsPointer(ref a[i][0]);
            fixed (float* px = x) k.Quantizer(type)(px, ap[i], cols);
        }
        k.Tiles4x4[(int)type](wp, ap, cols, y);
        return (w, a);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TileEqualsScalarDots(GgmlType type, KernelIsa isa)
    {
        KernelSet k = KernelSet.Create(isa), scalar = KernelSet.Create(KernelIsa.Scalar);
        if (k.Tiles4x4[(int)type] == null) return; // no tile on this CPU (see Cases)
        var rng = new Random(17 + (int)type);
        byte** wp = stackalloc byte*[4];
        byte** ap = stackalloc byte*[4];
        float* y = stackalloc float[16];
        // 8320 columns = 260 blocks: whole 8-block windows and a tail.
        foreach (int cols in Columns(type))
        {
            var (w, a) = RunTile(k, type, cols, rng, wp, ap, y);
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 4; t++)
                {
                    float expected = scalar.Dot(type)(wp[r], ap[t], cols);
                    double[] dw = KernelTestData.Dequantize(type, w[r], cols), da = KernelTestData.ActivationValues(type, a[t], cols);
                    double mag = 0;
                    for (int i = 0; i < cols; i++) mag += Math.Abs(dw[i] * da[i]);
                    Assert.True(Math.Abs(y[4 * r + t] - expected) <= 2e-6 * mag + 1e-30,
                        $"{type} {isa} cols={cols} row {r} token {t}: {y[4 * r + t]} vs scalar {expected}");
                }
        }
    }

    /// <summary>Batch invariance at the kernel level: every tile output is the set's one-token dot of its pair, bit for
    /// bit, for every block count up to three whole 8-block windows, so every tail shape (block pairs, a lone last block);
    /// 1-9 super-blocks for the 256-element types.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void TileEqualsTheSetsDotBitForBit(GgmlType type, KernelIsa isa)
    {
        KernelSet k = KernelSet.Create(isa);
        if (k.Tiles4x4[(int)type] == null) return; // no tile on this CPU (see Cases)
        var rng = new Random(23 + (int)type);
        byte** wp = stackalloc byte*[4];
        byte** ap = stackalloc byte*[4];
        float* y = stackalloc float[16];
        int block = (int)GgmlTypeInfo.BlockSize(type);
        for (int nb = 1; nb <= (block == 256 ? 9 : 24); nb++)
        {
            int cols = block * nb;
            var rows = RunTile(k, type, cols, rng, wp, ap, y);
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 4; t++)
                {
                    float dot = k.Dot(type)(wp[r], ap[t], cols);
                    Assert.True(BitConverter.SingleToInt32Bits(dot) == BitConverter.SingleToInt32Bits(y[4 * r + t]),
                        $"{type} {isa} blocks={nb} row {r} token {t}: tile {y[4 * r + t]} vs dot {dot}");
                }
            GC.KeepAlive(rows);
        }
    }

    /// <summary>A tile that takes its rows' block scales already converted (<see cref="KernelSet.ScaledTiles4x4"/>, fed by
    /// <see cref="KernelSet.RowScales"/>) gives the plain tile's bits, for every block count up to three whole windows.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ScaledTileEqualsTheTileBitForBit(GgmlType type, KernelIsa isa)
    {
        KernelSet k = KernelSet.Create(isa);
        if (k.ScaledTiles4x4[(int)type] == null) return; // only some types have one
        var rng = new Random(29 + (int)type);
        byte** wp = stackalloc byte*[4];
        byte** ap = stackalloc byte*[4];
        float* y = stackalloc float[16];
        float* ys = stackalloc float[16];
        float* rs = stackalloc float[4 * 24];
        int block = (int)GgmlTypeInfo.BlockSize(type);
        for (int nb = 1; nb <= 24; nb++)
        {
            int cols = block * nb;
            var rows = RunTile(k, type, cols, rng, wp, ap, y);
            for (int r = 0; r < 4; r++) k.RowScales[(int)type](wp[r], nb, rs + r * nb);
            k.ScaledTiles4x4[(int)type](wp, ap, cols, ys, rs);
            for (int i = 0; i < 16; i++)
                Assert.True(BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits(ys[i]), $"{type} {isa} blocks={nb} output {i}: {ys[i]} vs {y[i]}");
            GC.KeepAlive(rows);
        }
    }
}
