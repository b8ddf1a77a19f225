using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// The two-row dots (<see cref="KernelSet.PairDots"/>: GEMV with two row streams per thread) and the drivers that pair
/// rows: every output is the set's one-row dot bit for bit, whatever the pairing; and the AVX-512 VBMI Q4_0 kernels'
/// fast scale conversion gives way to the exact one on inf/NaN scales (dot, pair and tile alike).
/// </summary>
public unsafe class PairDotTests
{
    /// <summary>Every (type, set) with a pair dot on this CPU, or one placeholder row the tests skip.</summary>
    public static IEnumerable<object[]> Cases() => KernelTestData.TypeIsaPairsWith((k, t) => k.PairDots[(int)t] != null);

    private static bool SameBits(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b)
        || (float.IsNaN(a) && float.IsNaN(b));

    /// <summary>A pinned copy (the kernels take raw pointers).</summary>
    private static byte[] Pinned(byte[] src)
    {
        var p = GC.AllocateArray<byte>(src.Length, pinned: true);
        src.CopyTo(p, 0);
        return p;
    }

    private static byte* Ptr(byte[] pinned) => (byte*)Unsafe.AsPointer(ref pinned[0]);

    private static byte[] Activation(KernelSet k, GgmlType type, Random rng, int cols)
    {
        var a = GC.AllocateArray<byte>((int)ActivationFormat.RowBytes(type, cols), pinned: true);
        float[] x = KernelTestData.Activations(rng, cols);
        fixed (float* px = x) k.Quantizer(type)(px, Ptr(a), cols);
        return a;
    }

    // Q4_0 block scales that take the exact conversion or test its edges: subnormal, zero, the largest, negative, inf, NaN.
    private static readonly ushort[] SpecialScales = [0x0001, 0x03FF, 0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00];

    /// <summary>A random row with <paramref name="scale"/> written into block <paramref name="block"/> (none when −1).</summary>
    private static byte[] Row(Random rng, GgmlType type, int cols, int block, ushort scale)
    {
        byte[] row = KernelTestData.WeightRow(rng, type, cols);
        if (block >= 0) BinaryPrimitives.WriteUInt16LittleEndian(row.AsSpan(block * GgmlTypeInfo.TypeSize(type)), scale);
        return Pinned(row);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PairDotEqualsTheSetsDotBitForBit(GgmlType type, KernelIsa isa)
    {
        KernelSet k = KernelSet.Create(isa);
        if (k.PairDots[(int)type] == null) return; // none on this CPU (see Cases)
        var rng = new Random(29 + (int)type);
        float* y = stackalloc float[2];
        int block = (int)GgmlTypeInfo.BlockSize(type);
        // Every tail shape up to three whole 8-block windows, and Kimi K2's 7168 and 2048 columns.
        var counts = Enumerable.Range(1, 24).Concat([224, 64]);
        foreach (int nb in counts)
        {
            int cols = block * nb;
            byte[] a = Activation(k, type, rng, cols);
            // Plain rows, then a special scale in a whole window and in the tail of one or the other row.
            for (int c = -1; c < SpecialScales.Length; c++)
            {
                ushort s = c < 0 ? (ushort)0 : SpecialScales[c];
                int at = c < 0 ? -1 : rng.Next(nb);
                byte[] w0 = Row(rng, type, cols, c % 2 == 0 ? at : -1, s), w1 = Row(rng, type, cols, c % 2 != 0 ? at : -1, s);
                k.PairDots[(int)type](Ptr(w0), Ptr(w1), 0, 1, Ptr(a), cols, y, y + 1);
                float d0 = k.Dot(type)(Ptr(w0), Ptr(a), cols), d1 = k.Dot(type)(Ptr(w1), Ptr(a), cols);
                Assert.True(SameBits(y[0], d0) && SameBits(y[1], d1),
                    $"{type} {isa} blocks={nb} scale {s:X4} at {at}: pair ({y[0]}, {y[1]}) vs dots ({d0}, {d1})");
            }
        }

        // A run of pairs in one call: pair i is rows i and 5 + i of a 10-row matrix (one of them with an inf scale).
        {
            int cols = block * 19;
            long rb = GgmlTypeInfo.RowBytes(type, cols);
            var m = GC.AllocateArray<byte>((int)(10 * rb), pinned: true);
            for (int r = 0; r < 10; r++) Row(rng, type, cols, r == 7 ? 3 : -1, 0x7C00).CopyTo(m, r * rb);
            byte[] a = Activation(k, type, rng, cols);
            float* y0 = stackalloc float[5], y1 = stackalloc float[5];
            k.PairDots[(int)type](Ptr(m), Ptr(m) + 5 * rb, rb, 5, Ptr(a), cols, y0, y1);
            for (int i = 0; i < 5; i++)
            {
                Assert.True(SameBits(y0[i], k.Dot(type)(Ptr(m) + i * rb, Ptr(a), cols)), $"run pair {i}, first row");
                Assert.True(SameBits(y1[i], k.Dot(type)(Ptr(m) + (5 + i) * rb, Ptr(a), cols)), $"run pair {i}, second row");
            }
        }
    }

    /// <summary>
    /// The window kernels on special scales, in a whole window and in the tail: the dot agrees with the scalar dot (NaN
    /// where it is NaN, the same infinity, else within summation tolerance), and the 4 × 4 tile with the dot bit for bit.
    /// Without the exact redo an inf or NaN scale comes out as a finite number (65 536 times too small a value).
    /// </summary>
    [Fact]
    public void WindowKernelsHandleSpecialScalesLikeTheScalarDot()
    {
        KernelSet scalar = KernelSet.Create(KernelIsa.Scalar);
        byte** wp = stackalloc byte*[4];
        byte** ap = stackalloc byte*[4];
        float* y = stackalloc float[16];
        foreach (KernelIsa isa in KernelIsas.Supported)
        {
            KernelSet k = KernelSet.Create(isa);
            if (!k.DotName(GgmlType.Q4_0).StartsWith("Avx512Vbmi", StringComparison.Ordinal)) continue;
            var rng = new Random(31);
            const int cols = 32 * 19; // two whole windows and a 3-block tail
            foreach (ushort s in SpecialScales)
                foreach (int at in new[] { 5, 12, 17 })
                {
                    var w = new byte[4][];
                    var a = new byte[4][];
                    for (int i = 0; i < 4; i++)
                    {
                        w[i] = Row(rng, GgmlType.Q4_0, cols, i == 1 ? at : -1, s);
                        a[i] = Activation(k, GgmlType.Q4_0, rng, cols);
                        wp[i] = Ptr(w[i]);
                        ap[i] = Ptr(a[i]);
                    }
                    k.Tiles4x4[(int)GgmlType.Q4_0](wp, ap, cols, y);
                    for (int r = 0; r < 4; r++)
                        for (int t = 0; t < 4; t++)
                        {
                            float dot = k.Dot(GgmlType.Q4_0)(wp[r], ap[t], cols), reference = scalar.Dot(GgmlType.Q4_0)(wp[r], ap[t], cols);
                            Assert.True(SameBits(y[4 * r + t], dot), $"{isa} scale {s:X4} at {at}, row {r} token {t}: tile {y[4 * r + t]} vs dot {dot}");
                            if (float.IsNaN(reference) || float.IsInfinity(reference)) Assert.True(SameBits(dot, reference), $"scale {s:X4}: {dot} vs scalar {reference}");
                            else
                            {
                                double[] dw = KernelTestData.Dequantize(GgmlType.Q4_0, w[r], cols), da = KernelTestData.ActivationValues(GgmlType.Q4_0, a[t], cols);
                                double mag = 0;
                                for (int i = 0; i < cols; i++) mag += Math.Abs(dw[i] * da[i]);
                                Assert.True(Math.Abs(dot - reference) <= 2e-6 * mag + 1e-30, $"{isa} scale {s:X4} at {at}: {dot} vs scalar {reference}");
                            }
                        }
                    GC.KeepAlive(w);
                    GC.KeepAlive(a);
                }
        }
    }

    /// <summary>Half a task's rows apart is far enough to pair: one thread, 8 tasks of ≥ 132 rows of 4032 bytes.</summary>
    private const int PairedRows = 1100, PairedCols = 7168;

    /// <summary>
    /// GEMV through the drivers with rows far enough apart to be paired (<see cref="MatMul.PairDistance"/>): the plain
    /// product, three matrices back to back (pairs that straddle two matrices go one row at a time), and the grouped
    /// product with one token per group (decode's routed experts), and the matrices against one shared activation: every output is the one-row dot's bits, on 1 and 2
    /// threads.
    /// </summary>
    [Fact]
    public void PairedGemvEqualsRowByRowDots()
    {
        const int count = 3;
        int* rows = stackalloc int[count];
        var groups = stackalloc MatMulGroup[count];
        int* taskStart = stackalloc int[count + 1], rowsPerTask = stackalloc int[count];
        foreach (KernelIsa isa in KernelIsas.Supported)
        {
            KernelSet k = KernelSet.Create(isa);
            if (k.PairDots[(int)GgmlType.Q4_0] == null) continue;
            var rng = new Random(37);
            long rb = GgmlTypeInfo.RowBytes(GgmlType.Q4_0, PairedCols);
            var w = GC.AllocateArray<byte>((int)(rb * PairedRows * count), pinned: true);
            for (int r = 0; r < PairedRows * count; r++) KernelTestData.WeightRow(rng, GgmlType.Q4_0, PairedCols).CopyTo(w, r * rb);
            long arb = ActivationFormat.RowBytes(GgmlType.Q4_0, PairedCols);
            var a = GC.AllocateArray<byte>((int)(arb * count), pinned: true);
            for (int h = 0; h < count; h++) Activation(k, GgmlType.Q4_0, rng, PairedCols).CopyTo(a, h * arb);
            var expected = new float[PairedRows * count];
            for (int g = 0; g < expected.Length; g++) expected[g] = k.Dot(GgmlType.Q4_0)(Ptr(w) + g * rb, Ptr(a) + g / PairedRows * arb, PairedCols);
            Assert.True(TileKernels.For(k, GgmlType.Q4_0, PairedCols).PairDot != null);

            foreach (int threads in new[] { 1, 2 })
            {
                using var pool = new WorkerPool(threads);
                var y = new float[expected.Length];
                fixed (float* py = y)
                {
                    var job = new MatMulJob
                    {
                        Tiles = TileKernels.For(k, GgmlType.Q4_0, PairedCols), W = Ptr(w), RowBytes = rb, Rows = PairedRows, Count = count,
                        A = Ptr(a), ARowBytes = arb, AMatrixStride = arb, Tokens = 1, Y = py, YTokenStride = PairedRows, YMatrixStride = PairedRows,
                    };
                    MatMul.Run(pool, &job);
                }
                Assert.Equal(expected, y);

                // The same matrices against one shared activation row: pairs that straddle two matrices go as pairs.
                var shared = new float[expected.Length];
                for (int g = 0; g < shared.Length; g++) shared[g] = k.Dot(GgmlType.Q4_0)(Ptr(w) + g * rb, Ptr(a), PairedCols);
                fixed (float* py = y)
                {
                    var job = new MatMulJob
                    {
                        Tiles = TileKernels.For(k, GgmlType.Q4_0, PairedCols), W = Ptr(w), RowBytes = rb, Rows = PairedRows, Count = count,
                        A = Ptr(a), ARowBytes = arb, AMatrixStride = 0, Tokens = 1, Y = py, YTokenStride = PairedRows, YMatrixStride = PairedRows,
                    };
                    MatMul.Run(pool, &job);
                }
                Assert.Equal(shared, y);

                // Grouped: the three matrices as three groups, one token each (activation rows read by index).
                var yg = new float[expected.Length];
                fixed (float* pyg = yg)
                {
                    for (int h = 0; h < count; h++)
                    {
                        rows[h] = h;
                        groups[h] = new MatMulGroup { W = Ptr(w) + h * PairedRows * rb, Y = pyg + h * PairedRows, TokenStart = h, Tokens = 1 };
                    }
                    var gj = new GroupJob
                    {
                        Tiles = TileKernels.For(k, GgmlType.Q4_0, PairedCols), RowBytes = rb, Rows = PairedRows, A = Ptr(a), ARowBytes = arb,
                        ARows = rows, YTokenStride = 0, Groups = groups, GroupCount = count,
                    };
                    MatMul.RunGroups(pool, &gj, taskStart, rowsPerTask);
                }
                Assert.Equal(expected, yg);
            }
        }
    }
}
