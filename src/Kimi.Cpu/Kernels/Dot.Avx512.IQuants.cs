using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// AVX-512 dots and 4 × 4 tiles for i-quants, against Q8_K activations. IQ1_S and IQ1_M need F/BW only; the others VBMI
/// and GFNI.
/// <para>
/// The VBMI + GFNI dots are for the i-quants whose signs are 7-bit indices into ggml's ksigns_iq2xs (IQ2_XXS, IQ2_XS,
/// IQ3_XXS), against Q8_K activations; the AVX-512 set uses them when the CPU has both extensions. The arithmetic is
/// <see cref="DotAvx2IQuants"/>' (same integer sums, same float order); only the way the signs reach vpsignb differs.
/// The AVX2 dots read each group of 8 signs from a 1 KiB table of 8-byte masks: per 32 elements four index extractions,
/// four loads and three shuffles, about half the loop's time (IQ2_XXS in L2, 1 thread, Zen 4: 58.6 cycles per super-block,
/// 43.5 with the sign work removed, 42.6 with the grid reads removed). Here, per super-block, one vpmultishiftqb pulls
/// the 32 seven-bit indices into bytes and one vpermt2b looks up their sign bytes in the 128-byte table held in two
/// registers; per 32 elements, one vpermb puts the 4 sign bytes in byte 0 of 4 qwords (zeros elsewhere), and
/// gf2p8affineqb with the constant x = 1 &lt;&lt; j (byte j) turns each qword into 8 bytes of 0x81 (negate: bit j set) or
/// 0x01 for vpsignb. Measured (same setup): IQ2_XXS 58.6 → 45.4 cycles per super-block.
/// </para>
/// <para>
/// IQ1_S: the AVX2 dot builds each 11-bit grid index from a qs byte and 3 bits of qh in general registers (16 ALU
/// operations per 32 elements plus the JIT's sign extensions and reloaded table addresses), and runs out of integer ALUs
/// (78.8 cycles per super-block; 47.8 with 8-bit indices). Here the 32 indices and 8 scales of the next super-block are
/// computed as vectors (vpmovzxbw, vpermw, vpsrlvw, vpternlogd) and stored while the current one is processed, so the
/// stores have committed when their loads run (stored and loaded in the same super-block, the loads waited for each
/// store: 89.6 cycles). The grid is read as grid + 1 ∈ {0, 1, 2}, so one vpmaddubsw replaces vpabsb, vpsignb and
/// vpmaddubsw, and the −1 joins the delta term. 46.5 cycles per super-block.
/// </para>
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotAvx512IQuants
{
    public static bool IsSupported => Avx512Vbmi.IsSupported && Avx512Vbmi.VL.IsSupported && Gfni.IsSupported && Gfni.V256.IsSupported;

    /// <summary>The constants of the sign expansion, built once per call (as locals the JIT keeps them in registers).</summary>
    private readonly struct SignSpread
    {
        public readonly Vector512<byte> TableLo, TableHi;
        /// <summary>x of the affine transform: byte j of each qword = 1 &lt;&lt; j.</summary>
        public readonly Vector256<byte> Bits;
        /// <summary>vpermb patterns for the 4 sub-blocks of one 256-bit half (sign bytes of sub-block k at 8k..8k+3, a
        /// zero at 8k+4): qword g of the result = [sign byte g, 0 × 7].</summary>
        public readonly Vector256<byte> Sel0, Sel1, Sel2, Sel3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public SignSpread(byte* table)
        {
            TableLo = Vector512.Load(table);
            TableHi = Vector512.Load(table + 64);
            Bits = Vector256.Create(0x80_40_20_10_08_04_02_01UL).AsByte();
            Sel0 = Vector256.Create(0x04040404_04040400UL, 0x04040404_04040401UL, 0x04040404_04040402UL, 0x04040404_04040403UL).AsByte();
            Sel1 = Sel0 + Vector256.Create(8UL).AsByte();
            Sel2 = Sel0 + Vector256.Create(16UL).AsByte();
            Sel3 = Sel0 + Vector256.Create(24UL).AsByte();
        }

        /// <summary>Sign bytes of a super-block: <paramref name="indices"/> holds sub-block k's four 7-bit indices in
        /// bytes 8k..8k+3 and zeros in 8k+4..8k+7 (ksigns[0] = 0, so those stay zero).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<byte> Lookup(Vector512<byte> indices) => Avx512Vbmi.PermuteVar64x8x2(TableLo, indices, TableHi);

        /// <summary>vpsignb operand for the 32 elements whose sign bytes <paramref name="sel"/> picks from
        /// <paramref name="half"/>: 0x81 where the element is negated, 0x01 elsewhere.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<sbyte> Expand(Vector256<byte> half, Vector256<byte> sel) =>
            Gfni.V256.GaloisFieldAffineTransform(Bits, Avx512Vbmi.VL.PermuteVar32x8(half, sel), 0x01).AsSByte();
    }

    /// <summary>ggml's ksigns_iq2xs (128 bytes, RVA static data: never moved).</summary>
    private static byte* KSigns => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.KSignsIq2xs));

    /// <summary>Bytes 0..3 of each qword (7 bits each), bytes 4..7 cleared.</summary>
    private static Vector512<byte> LowFour => Vector512.Create(0x00000000_7F7F7F7FUL).AsByte();

    /// <summary>A type whose signs are 7-bit ksigns indices: how <see cref="SignIndexDot{T}"/> reads its super-block.</summary>
    private interface ISignIndexType
    {
        static abstract int BlockBytes { get; }

        /// <summary>The factor ggml applies to the summed super-blocks (1/8 for the 2-bit grids, 1/4 for IQ3_XXS).</summary>
        static abstract float Factor { get; }

        /// <summary>Sub-block k's four 7-bit sign indices in bytes 8k..8k+3, zeros in 8k+4..8k+7.</summary>
        static abstract Vector512<byte> SignIndices(byte* w);

        /// <summary>The super-block's scales as i16 words, for <see cref="SubBlock"/> to pick from.</summary>
        static abstract Vector256<short> Scales(byte* w);

        /// <summary>Sub-block <paramref name="ib"/>'s 32 grid magnitudes (the unsigned vpmaddubsw operand).</summary>
        static abstract Vector256<byte> Grid(byte* w, int ib);

        /// <summary>Sub-block <paramref name="ib"/>'s vpmaddwd operand (its scales as i16 lanes).</summary>
        static abstract Vector256<short> SubScale(byte* w, int ib, Vector256<short> scales);
    }

    /// <summary>One sub-block's scaled integer dot with its 32 activations: the same operations in the dot and the tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock<T>(byte* w, int ib, sbyte* y, Vector256<sbyte> signs, Vector256<short> scales) where T : struct, ISignIndexType =>
        DotAvx2IQuants.SubBlockDot(T.Grid(w, ib), signs, T.SubScale(w, ib, scales), y);

    /// <summary>The super-block loop of the ksigns types: one sign lookup per super-block, 8 unrolled sub-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SignIndexDot<T>(byte* w, byte* a, int n) where T : struct, ISignIndexType
    {
        Vector256<float> acc = default;
        SignSpread sp = new(KSigns);
        for (int b = 0; b < n / 256; b++, w += T.BlockBytes, a += 292)
        {
            float d = Fp16.Load(w) * *(float*)a;
            sbyte* y = (sbyte*)(a + 4);
            Vector512<byte> sg = sp.Lookup(T.SignIndices(w));
            Vector256<byte> lo = sg.GetLower(), hi = sg.GetUpper();
            Vector256<short> sc = T.Scales(w);
            Vector256<int> sumi = SubBlock<T>(w, 0, y, sp.Expand(lo, sp.Sel0), sc) + SubBlock<T>(w, 1, y + 32, sp.Expand(lo, sp.Sel1), sc);
            sumi += SubBlock<T>(w, 2, y + 64, sp.Expand(lo, sp.Sel2), sc) + SubBlock<T>(w, 3, y + 96, sp.Expand(lo, sp.Sel3), sc);
            sumi += SubBlock<T>(w, 4, y + 128, sp.Expand(hi, sp.Sel0), sc) + SubBlock<T>(w, 5, y + 160, sp.Expand(hi, sp.Sel1), sc);
            sumi += SubBlock<T>(w, 6, y + 192, sp.Expand(hi, sp.Sel2), sc) + SubBlock<T>(w, 7, y + 224, sp.Expand(hi, sp.Sel3), sc);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(d), acc);
        }
        return T.Factor * Vector256.Sum(acc);
    }

    /// <summary>
    /// 4 rows × 4 tokens (<c>y[4·r + t]</c>) for prefill and batches: each sub-block's grid, signs and scale are built once
    /// and used for the 4 tokens, every (row, token) pair with exactly the operations of <see cref="SignIndexDot{T}"/>
    /// (integer sums are exact; the per-super-block fma and the final sum are the dot's), so outputs do not depend on
    /// how a batch is tiled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SignIndexTile<T>(byte** w, byte** a, int n, float* y) where T : struct, ISignIndexType
    {
        SignSpread sp = new(KSigns);
        for (int r = 0; r < 4; r++)
        {
            byte* wr = w[r];
            byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            for (int b = 0; b < n / 256; b++, wr += T.BlockBytes, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                float dw = Fp16.Load(wr);
                Vector512<byte> sg = sp.Lookup(T.SignIndices(wr));
                Vector256<byte> lo = sg.GetLower(), hi = sg.GetUpper();
                Vector256<short> sc = T.Scales(wr);
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                TileSub<T>(wr, 0, sp.Expand(lo, sp.Sel0), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 1, sp.Expand(lo, sp.Sel1), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 2, sp.Expand(lo, sp.Sel2), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 3, sp.Expand(lo, sp.Sel3), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 4, sp.Expand(hi, sp.Sel0), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 5, sp.Expand(hi, sp.Sel1), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 6, sp.Expand(hi, sp.Sel2), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TileSub<T>(wr, 7, sp.Expand(hi, sp.Sel3), sc, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                TokenSums.Accumulate<FourTokens>(dw, a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
            TokenSums.Store<FourTokens>(T.Factor, acc0, acc1, acc2, acc3, y + 4 * r);
        }
    }

    /// <summary>Sub-block <paramref name="ib"/> of one row against 4 tokens' activation super-blocks (at a0..a3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileSub<T>(byte* w, int ib, Vector256<sbyte> signs, Vector256<short> scales, byte* a0, byte* a1, byte* a2, byte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3) where T : struct, ISignIndexType
    {
        Vector256<byte> g = T.Grid(w, ib);
        Vector256<short> scale = T.SubScale(w, ib, scales);
        DotAvx2IQuants.AddSubBlock<FourTokens>(g, signs, scale, 4 + 32 * ib, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    public static void IQ2_XXSx4x4(byte** w, byte** a, int n, float* y) => SignIndexTile<Iq2xxs>(w, a, n, y);
    public static void IQ2_XSx4x4(byte** w, byte** a, int n, float* y) => SignIndexTile<Iq2xs>(w, a, n, y);
    public static void IQ3_XXSx4x4(byte** w, byte** a, int n, float* y) => SignIndexTile<Iq3xxs>(w, a, n, y);

    /// <summary>The ggml grid tables as pointers (RVA static data: never moved).</summary>
    private static ulong* Iq2xxsGrid => (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.Iq2xxsGrid));
    private static ulong* Iq2xsGrid => (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.Iq2xsGrid));
    private static uint* Iq3xxsGrid => (uint*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.Iq3xxsGrid));

    public static float IQ2_XXS(byte* w, byte* a, int n) => SignIndexDot<Iq2xxs>(w, a, n);
    public static float IQ2_XS(byte* w, byte* a, int n) => SignIndexDot<Iq2xs>(w, a, n);
    public static float IQ3_XXS(byte* w, byte* a, int n) => SignIndexDot<Iq3xxs>(w, a, n);

    /// <summary>IQ2_XXS: 8 sub-blocks of (u32 of 4 grid indices, u32 of 4×7 sign bits + 4-bit scale), the 64 bytes at w + 2.</summary>
    private readonly struct Iq2xxs : ISignIndexType
    {
        public static int BlockBytes => 66;
        public static float Factor => 0.125f;

        // bits 32, 39, 46, 53 of each qword
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> SignIndices(byte* w) =>
            Avx512Vbmi.MultiShift(Vector512.Create(0x35_2E_27_20UL).AsByte(), Vector512.Load((ulong*)(w + 2))) & LowFour;

        // Per sub-block in general registers: a vpermw broadcast from a vector of the 8 scales measured slower here
        // (5.7 → 5.45 GB/s; the loop's shuffles are its busiest resource), unlike IQ3_XXS.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Scales(byte* w) => default;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Grid(byte* w, int ib)
        {
            byte* q = w + 2 + 8 * ib;
            ulong* grid = Iq2xxsGrid;
            return Vector256.Create(grid[q[0]], grid[q[1]], grid[q[2]], grid[q[3]]).AsByte();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> SubScale(byte* w, int ib, Vector256<short> scales) => Vector256.Create((short)(2 * (w[2 + 8 * ib + 7] >> 4) + 1));
    }

    /// <summary>IQ2_XS: 8 sub-blocks of four u16 (9-bit grid index, 7-bit sign index), the 64 bytes at w + 2; 4-bit
    /// scales per 16 elements at w + 66.</summary>
    private readonly struct Iq2xs : ISignIndexType
    {
        public static int BlockBytes => 74;
        public static float Factor => 0.125f;

        // bits 9, 25, 41, 57: the u16s' top 7 bits
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> SignIndices(byte* w) =>
            Avx512Vbmi.MultiShift(Vector512.Create(0x39_29_19_09UL).AsByte(), Vector512.Load((ulong*)(w + 2))) & LowFour;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Scales(byte* w) => DotAvx2IQuants.NibbleScales16(w + 66);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Grid(byte* w, int ib)
        {
            ushort* q = (ushort*)(w + 2) + 4 * ib;
            ulong* grid = Iq2xsGrid;
            return Vector256.Create(grid[q[0] & 511], grid[q[1] & 511], grid[q[2] & 511], grid[q[3] & 511]).AsByte();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> SubScale(byte* w, int ib, Vector256<short> scales) => SubBlockScales(scales, ib);
    }

    /// <summary>IQ3_XXS: 8 sub-blocks of 8 grid-index bytes (w + 2), then 8 u32 of 4×7 sign bits + 4-bit scale (w + 66).</summary>
    private readonly struct Iq3xxs : ISignIndexType
    {
        public static int BlockBytes => 98;
        public static float Factor => 0.25f;

        // each u32 into its own qword (the 32 bytes end the block: nothing past it is read); bits 0, 7, 14, 21
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> SignIndices(byte* w) =>
            Avx512Vbmi.MultiShift(Vector512.Create(0x15_0E_07_00UL).AsByte(), Avx512F.ConvertToVector512UInt64(Vector256.Load((uint*)(w + 66)))) & LowFour;

        // 2·s + 1 of the 4-bit scale in the top of each sub-block's sign word
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Scales(byte* w) =>
            OddScales(Avx512F.VL.ConvertToVector128UInt16(Vector256.Load((uint*)(w + 66)) >>> 28));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Grid(byte* w, int ib)
        {
            byte* q = w + 2 + 8 * ib;
            uint* grid = Iq3xxsGrid;
            return Vector256.Create(grid[q[0]], grid[q[1]], grid[q[2]], grid[q[3]], grid[q[4]], grid[q[5]], grid[q[6]], grid[q[7]]).AsByte();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> SubScale(byte* w, int ib, Vector256<short> scales) => Avx512BW.VL.PermuteVar16x16(scales, Vector256.Create((short)ib));
    }


    /// <summary>The IQ3_S super-block at w, for <see cref="IQ3_S"/>: 64 grid indices (qs byte | qh bit · 256) and 8 scales
    /// (2·s + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq3sPrepare(byte* w, ushort* idx, int* scales, Vector512<ushort> octSpread, Vector512<ushort> bitShifts)
    {
        Vector512<ushort> qh = Avx2.ConvertToVector256Int16(Vector128.CreateScalar(*(ulong*)(w + 66)).AsByte()).AsUInt16().ToVector512Unsafe();
        Vector512<ushort> bit = Vector512.Create((ushort)0x100);
        Vector512<ushort> h0 = Avx512BW.ShiftLeftLogicalVariable(Avx512BW.PermuteVar32x16(qh, octSpread), bitShifts) & bit;
        Vector512<ushort> h1 = Avx512BW.ShiftLeftLogicalVariable(Avx512BW.PermuteVar32x16(qh, octSpread + Vector512.Create((ushort)4)), bitShifts) & bit;
        (Avx512BW.ConvertToVector512UInt16(Vector256.Load(w + 2)) | h0).Store(idx);
        (Avx512BW.ConvertToVector512UInt16(Vector256.Load(w + 34)) | h1).Store(idx + 32);
        Vector128<ushort> sc = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(*(uint*)(w + 106)).AsByte()).AsUInt16(); // 4 bytes → words
        Vector128<ushort> nib = Avx512BW.VL.ShiftRightLogicalVariable(Avx512BW.VL.PermuteVar8x16(sc, Vector128.Create((ushort)0, 0, 1, 1, 2, 2, 3, 3)),
            Vector128.Create(0x0004_0000_0004_0000UL).AsUInt16());
        DotAvx2IQuants.StorePairedScales((((nib & Vector128.Create((ushort)15)) << 1) + Vector128<ushort>.One).AsInt16(), scales);
    }

    // IQ3_S: d, 64 qs bytes (w + 2), 8 qh bytes (w + 66: the 9th index bit of each 4-value point), 32 explicit sign bytes
    // (w + 74), 4 bytes of 4-bit scales (w + 106; value d·(2s + 1)·grid). As the AVX2 dot, with the next super-block's indices
    // and scales computed as vectors and stored ahead (the AVX2 dot spends 3 integer operations per index), and the sign
    // bytes spread by vpermt2b + gf2p8affineqb.
    public static float IQ3_S(byte* w, byte* a, int n) => DotAvx2IQuants.Dot<Iq3sKernel>(w, a, n);

    /// <summary>4 IQ3_S rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scale once for the 4 tokens.</summary>
    public static void IQ3_Sx4x4(byte** w, byte** a, int n, float* y) => DotAvx2IQuants.Tile<Iq3sKernel>(w, a, n, y);

    private readonly struct Iq3sKernel : DotAvx2IQuants.IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq3sRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    /// <summary>One row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq3sRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        ushort* idx = stackalloc ushort[128];
        int* scl = stackalloc int[16];
        Vector512<ushort> octSpread = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        Vector512<ushort> bitShifts = Vector512.Create((ushort)8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1);
        Vector256<byte> bits = Vector256.Create(0x80_40_20_10_08_04_02_01UL).AsByte();
        // sub-block 0's vpermt2b pattern: qword g = [sign byte g, then bytes of the zero operand]; each next sub-block + 4
        Vector256<byte> sel0 = Vector256.Create(0x20202020_20202000UL, 0x20202020_20202001UL, 0x20202020_20202002UL, 0x20202020_20202003UL).AsByte();
        Vector256<byte> step = Vector256.Create(4UL).AsByte();
        int nb = n / 256;
        if (nb > 0) Iq3sPrepare(w, idx, scl, octSpread, bitShifts);
        fixed (uint* grid = IQTables.Iq3sGrid)
            for (int b = 0; b < nb; b++, w += 110, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                int cur = b & 1;
                if (b + 1 < nb) Iq3sPrepare(w + 110, idx + 64 * (cur ^ 1), scl + 8 * (cur ^ 1), octSpread, bitShifts);
                ushort* ix = idx + 64 * cur;
                int* ls = scl + 8 * cur;
                Vector256<byte> signBytes = Vector256.Load(w + 74), sel = sel0;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, ix += 8, o += 32, sel += step)
                {
                    Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]], grid[ix[4]], grid[ix[5]], grid[ix[6]], grid[ix[7]]).AsByte();
                    Vector256<sbyte> s = Gfni.V256.GaloisFieldAffineTransform(bits, Avx512Vbmi.VL.PermuteVar32x8x2(signBytes, sel, Vector256<byte>.Zero), 0x01).AsSByte();
                    Vector256<short> scale = Vector256.Create(ls[ib]).AsInt16();
                    DotAvx2IQuants.AddSubBlock<TT>(g, s, scale, o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                }
                TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>Sub-block <paramref name="ib"/>'s vpmaddwd operand from <see cref="DotAvx2IQuants.NibbleScales16"/>: word 2ib for elements
    /// 0-15, 2ib + 1 for 16-31: one vpermw instead of two word broadcasts and an insert (IQ2_XS 4.9 → 5.7 GB/s, IQ2_S,
    /// with a running pattern, 5.1 → 6.4). <paramref name="ib"/> must be a constant (unrolled loops).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> SubBlockScales(Vector256<short> scales, int ib) =>
        Avx512BW.VL.PermuteVar16x16(scales, Vector256.Create(Vector128.Create((short)(2 * ib)), Vector128.Create((short)(2 * ib + 1))));

    /// <summary>8 scales s (words) → 2·s + 1, in the low half of a 256-bit vector (for vpermw broadcasts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> OddScales(Vector128<ushort> s) => ((s.AsInt16() << 1) + Vector128<short>.One).ToVector256Unsafe();

    /// <summary>The 32 grid indices (qs byte | 2 qh bits · 256) of the IQ2_S super-block at w, for <see cref="IQ2_S"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2sPrepare(byte* w, ushort* idx, Vector512<ushort> quadSpread, Vector512<ushort> pairShifts)
    {
        Vector512<ushort> qh = Avx2.ConvertToVector256Int16(Vector128.CreateScalar(*(ulong*)(w + 66)).AsByte()).AsUInt16().ToVector512Unsafe();
        Vector512<ushort> h = Avx512BW.ShiftLeftLogicalVariable(Avx512BW.PermuteVar32x16(qh, quadSpread), pairShifts) & Vector512.Create((ushort)0x300);
        (Avx512BW.ConvertToVector512UInt16(Vector256.Load(w + 2)) | h).Store(idx);
    }

    // IQ2_S: d, 32 qs bytes (w + 2), 32 explicit sign bytes (w + 34), 8 qh bytes (w + 66: 2 high index bits per 8 elements),
    // 8 bytes of 4-bit scales per 16 elements (w + 74). As the AVX2 dot, with the next super-block's 10-bit indices computed
    // as vectors and stored ahead, and the sign bytes spread by vpermt2b + gf2p8affineqb.
    public static float IQ2_S(byte* w, byte* a, int n) => DotAvx2IQuants.Dot<Iq2sKernel>(w, a, n);

    /// <summary>4 IQ2_S rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scales once for the 4 tokens.</summary>
    public static void IQ2_Sx4x4(byte** w, byte** a, int n, float* y) => DotAvx2IQuants.Tile<Iq2sKernel>(w, a, n, y);

    private readonly struct Iq2sKernel : DotAvx2IQuants.IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq2sRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    /// <summary>One row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2sRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        ushort* idx = stackalloc ushort[64];
        Vector512<ushort> quadSpread = Vector512.Create((ushort)0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
        Vector512<ushort> pairShifts = Vector512.Create(0x0002_0004_0006_0008UL).AsUInt16(); // group l: << (8 − 2l)
        Vector256<byte> bits = Vector256.Create(0x80_40_20_10_08_04_02_01UL).AsByte();
        Vector256<byte> sel0 = Vector256.Create(0x20202020_20202000UL, 0x20202020_20202001UL, 0x20202020_20202002UL, 0x20202020_20202003UL).AsByte();
        Vector256<byte> step = Vector256.Create(4UL).AsByte();
        // sub-block ib's scale words (2ib for elements 0-15, 2ib + 1 for 16-31), a running vpermw pattern (the loop is
        // not unrolled, so SubBlockScales' constant patterns would be built at run time)
        Vector256<short> pick0 = Vector256.Create(Vector128<short>.Zero, Vector128<short>.One), two = Vector256.Create((short)2);
        int nb = n / 256;
        if (nb > 0) Iq2sPrepare(w, idx, quadSpread, pairShifts);
        fixed (ulong* grid = IQTables.Iq2sGrid)
            for (int b = 0; b < nb; b++, w += 82, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                int cur = b & 1;
                if (b + 1 < nb) Iq2sPrepare(w + 82, idx + 32 * (cur ^ 1), quadSpread, pairShifts);
                ushort* ix = idx + 32 * cur;
                Vector256<byte> signBytes = Vector256.Load(w + 34), sel = sel0;
                Vector256<short> scales = DotAvx2IQuants.NibbleScales16(w + 74);
                Vector256<short> pick = pick0;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, ix += 4, o += 32, sel += step, pick += two)
                {
                    Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]]).AsByte();
                    Vector256<sbyte> s = Gfni.V256.GaloisFieldAffineTransform(bits, Avx512Vbmi.VL.PermuteVar32x8x2(signBytes, sel, Vector256<byte>.Zero), 0x01).AsSByte();
                    Vector256<short> scale = Avx512BW.VL.PermuteVar16x16(scales, pick);
                    DotAvx2IQuants.AddSubBlock<TT>(g, s, scale, o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                }
                TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(0.125f, acc0, acc1, acc2, acc3, y);
    }


}
