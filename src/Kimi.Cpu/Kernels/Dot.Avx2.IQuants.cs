using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// AVX2 i-quant and ternary dots against Q8_K activations (also used by the AVX-512 set): IQ2_XXS, IQ3_XXS, IQ1_S, IQ1_M,
/// TQ2_0 (the types of Kimi K2's dynamic GGUFs), then IQ2_XS, IQ2_S, IQ3_S, TQ1_0. Same contract as <see cref="DotScalar"/>: exact integer sums per
/// sub-block, one float term per 256-element super-block (ggml's AVX2 formulas, so float order differs from scalar).
/// Grid points are gathered 4 at a time into one vector (four 64-bit or eight 32-bit table reads per 32 elements);
/// signs are applied to the activations with vpsignb, so vpmaddubsw sees the unsigned grid magnitudes (Q8_K values lie in
/// [−127, 127], so vpsignb never meets −128, whose negation would wrap). For IQ2_XS, IQ2_S, IQ3_S, IQ1_S and IQ1_M the
/// next super-block's grid indices (and sign bytes, scales) are computed as vectors and stored while the current one is
/// processed (bit fields extracted in general registers had run out of integer ALUs); IQ1_S/IQ1_M read grid + 1. The
/// i-quant rows are written once for 1 or 4 tokens, so the 4 × 4 tiles give their dots' bits (<see cref="IRowKernel"/>).
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotAvx2IQuants
{
    /// <summary>7 stored sign bits → 8 bytes of ±1 (ggml keven_signs_q2xs): byte j is −1 where bit j of the
    /// even-parity sign byte <see cref="IQTables.KSignsIq2xs"/> is set, for vpsignb.</summary>
    private static readonly ulong[] SignMasks = BuildSignMasks(128);

    private static ulong[] BuildSignMasks(int count)
    {
        var t = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            int s = IQTables.KSignsIq2xs[i];
            for (int j = 0; j < 8; j++) t[i] |= (ulong)((s >> j & 1) != 0 ? 0xFF : 0x01) << (8 * j);
        }
        return t;
    }

    // IQ2_XXS: per 32 elements a u32 of 4 grid indices and a u32 of 4×7 sign bits + scale.
    // (called directly, not through Dot<K>: through it the JIT stopped inlining the sub-block steps, 3.9 → 3.4 GB/s)
    public static float IQ2_XXS(byte* w, byte* a, int n)
    {
        float y;
        Iq2xxsRow<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 IQ2_XXS rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scale once for the 4 tokens.</summary>
    public static void IQ2_XXSx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq2xxsKernel>(w, a, n, y);

    private readonly struct Iq2xxsKernel : IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq2xxsRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    /// <summary>The vpsignb operand of 4 groups of 8 from their 7-bit ksigns indices in aux (bits 0-27).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> KSigns4(ulong* signs, uint aux) =>
        Vector256.Create(signs[aux & 127], signs[(aux >> 7) & 127], signs[(aux >> 14) & 127], signs[(aux >> 21) & 127]).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2xxsSub<TT>(ulong* grid, ulong* signs, uint idx, uint aux, int o, byte* a0, byte* a1, byte* a2, byte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3) where TT : struct, ITokenCount
    {
        Vector256<byte> g = Vector256.Create(grid[idx & 255], grid[(idx >> 8) & 255], grid[(idx >> 16) & 255], grid[idx >> 24]).AsByte();
        AddSubBlock<TT>(g, KSigns4(signs, aux), Vector256.Create((short)(2 * (aux >> 28) + 1)), o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2xxsRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        fixed (ulong* grid = IQTables.Iq2xxsGrid, signs = SignMasks)
            for (int b = 0; b < n / 256; b++, w += 66, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                uint* q = (uint*)(w + 2);
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                // two sub-blocks per step (one per step measured 10 % slower)
                for (int ib = 0, o = 4; ib < 8; ib += 2, q += 4, o += 64)
                {
                    Iq2xxsSub<TT>(grid, signs, q[0], q[1], o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                    Iq2xxsSub<TT>(grid, signs, q[2], q[3], o + 32, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                }
                TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(0.125f, acc0, acc1, acc2, acc3, y);
    }

    // IQ3_XXS: per 32 elements 8 one-byte indices into a grid of 4-value points, u32 of 4×7 sign bits + scale.
    public static float IQ3_XXS(byte* w, byte* a, int n) => Dot<Iq3xxsKernel>(w, a, n);

    /// <summary>4 IQ3_XXS rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scale once for the 4 tokens.</summary>
    public static void IQ3_XXSx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq3xxsKernel>(w, a, n, y);

    private readonly struct Iq3xxsKernel : IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq3xxsRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq3xxsRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        fixed (uint* grid = IQTables.Iq3xxsGrid)
        fixed (ulong* signs = SignMasks)
            for (int b = 0; b < n / 256; b++, w += 98, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                byte* q3 = w + 2; uint* gas = (uint*)(w + 66);
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, q3 += 8, o += 32)
                {
                    uint aux = gas[ib];
                    Vector256<byte> g = Vector256.Create(grid[q3[0]], grid[q3[1]], grid[q3[2]], grid[q3[3]],
                        grid[q3[4]], grid[q3[5]], grid[q3[6]], grid[q3[7]]).AsByte();
                    AddSubBlock<TT>(g, KSigns4(signs, aux), Vector256.Create((short)(2 * (aux >> 28) + 1)), o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                }
                TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(0.25f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>A kernel written once for 1 or 4 tokens; <see cref="Dot{K}"/> and <see cref="Tile{K}"/> run it, so a tile's
    /// outputs are its set's dots bit for bit.</summary>
    internal interface IRowKernel
    {
        /// <summary>One row (w) against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
        static abstract void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot<K>(byte* w, byte* a, int n) where K : struct, IRowKernel
    {
        float y;
        K.Row<OneToken>(w, a, a, a, a, n, &y);
        return y;
    }

    /// <summary>4 rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's weights decoded once for the 4 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Tile<K>(byte** w, byte** a, int n, float* y) where K : struct, IRowKernel
    {
        for (int r = 0; r < 4; r++) K.Row<FourTokens>(w[r], a[0], a[1], a[2], a[3], n, y + 4 * r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> SubBlockDot(Vector256<byte> grid, Vector256<sbyte> signs, Vector256<short> scale, sbyte* y) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(grid, Avx2.Sign(Vector256.Load(y), signs)), scale);

    /// <summary>s_t += one sub-block's scaled integer dot with token t's 32 activations (at a_t + o), for 1 or 4 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AddSubBlock<TT>(Vector256<byte> grid, Vector256<sbyte> signs, Vector256<short> scale, int o, byte* a0, byte* a1, byte* a2,
        byte* a3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3) where TT : struct, ITokenCount
    {
        s0 += SubBlockDot(grid, signs, scale, (sbyte*)(a0 + o));
        if (!TT.Four) return;
        s1 += SubBlockDot(grid, signs, scale, (sbyte*)(a1 + o));
        s2 += SubBlockDot(grid, signs, scale, (sbyte*)(a2 + o));
        s3 += SubBlockDot(grid, signs, scale, (sbyte*)(a3 + o));
    }

    /// <summary>ggml's iq1s_grid with every element + 1 (values 0, 1, 2): the unsigned operand of vpmaddubsw.</summary>
    internal static readonly ulong[] Iq1sGridPlus1 = BuildIq1sGridPlus1();

    private static ulong[] BuildIq1sGridPlus1()
    {
        var t = new ulong[IQTables.Iq1sGrid.Length];
        for (int i = 0; i < t.Length; i++)
            for (int j = 0; j < 8; j++) t[i] |= (ulong)(byte)((sbyte)(IQTables.Iq1sGrid[i] >> (8 * j)) + 1) << (8 * j);
        return t;
    }

    /// <summary>8 scale words, each stored twice in a dword, so the loop broadcasts one with vpbroadcastd (a load alone;
    /// a word broadcast from memory also takes a shuffle: IQ1_S 3.35 → 3.6-3.8 GB/s in L2, IQ3_S the same).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StorePairedScales(Vector128<short> ls, int* scales)
    {
        Vector256<int> d = Avx2.ConvertToVector256Int32(ls.AsUInt16());
        (d | (d << 16)).Store(scales);
    }

    /// <summary>The 32 grid indices (qs byte | 3 qh bits · 256) and 8 scales (2·s + 1) of the IQ1_S super-block at w: qh
    /// word ib goes to the 4 words of its sub-block by vpshufb, and word k takes bits 3k..3k+2 at 8..10 by a multiply with
    /// 2^(9 − 3k) and a shift right by one (AVX2 has no 16-bit variable shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq1sPrepare(byte* w, ushort* idx, int* scales, Vector256<byte> spread0, Vector256<byte> spread1, Vector256<ushort> mul)
    {
        Vector128<short> qh = Vector128.Load((short*)(w + 34));
        Vector256<byte> both = Vector256.Create(qh, qh).AsByte();
        Vector256<ushort> m = Vector256.Create((ushort)0x700);
        Vector256<ushort> h0 = (Avx2.MultiplyLow(Avx2.Shuffle(both, spread0).AsUInt16(), mul) >>> 1) & m;
        Vector256<ushort> h1 = (Avx2.MultiplyLow(Avx2.Shuffle(both, spread1).AsUInt16(), mul) >>> 1) & m;
        (Avx2.ConvertToVector256Int16(Vector128.Load(w + 2)).AsUInt16() | h0).Store(idx);
        (Avx2.ConvertToVector256Int16(Vector128.Load(w + 18)).AsUInt16() | h1).Store(idx + 16);
        StorePairedScales(((((qh >>> 12) & Vector128.Create((short)7)) << 1) + Vector128<short>.One), scales);
    }

    /// <summary>IQ1_S delta term of one token: Σ over the 8 sub-blocks of coef·(bsum pair), coef = ls·(±1 − 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Iq1sDelta(byte* a, Vector128<short> coef) =>
        Vector128.Sum(Sse2.MultiplyAddAdjacent(Ssse3.HorizontalAdd(Vector128.Load((short*)(a + 260)), Vector128.Load((short*)(a + 276))), coef));

    // IQ1_S: d, 32 qs bytes (w + 2), 8 qh words (w + 34): per 8 elements an 11-bit grid index, per 32 a 3-bit scale and a
    // delta sign. Σ ls·(g + δ)·y = Σ ls·(g + 1)·y + Σ ls·(δ − 1)·Σy, the second from the activation's bsums (in eighths:
    // ls·(±1 − 8)).
    public static float IQ1_S(byte* w, byte* a, int n) => Dot<Iq1sKernel>(w, a, n);

    /// <summary>4 IQ1_S rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid and scale once for the 4 tokens.</summary>
    public static void IQ1_Sx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq1sKernel>(w, a, n, y);

    private readonly struct Iq1sKernel : IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq1sRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    /// <summary>One IQ1_S row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq1sRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float del0 = 0, del1 = 0, del2 = 0, del3 = 0;
        ushort* idx = stackalloc ushort[64]; // two super-blocks' indices: the current one and the next
        int* scl = stackalloc int[16];
        // Per index: the qh word it takes its 3 high bits from (bytes 2·(i / 4), +1), and their position (3 bits per 8).
        Vector256<byte> spread0 = Vector256.Create(0x0100010001000100UL, 0x0302030203020302UL, 0x0504050405040504UL, 0x0706070607060706UL).AsByte();
        Vector256<byte> spread1 = spread0 + Vector256.Create((byte)8);
        Vector256<ushort> mul = Vector256.Create(0x0001_0008_0040_0200UL).AsUInt16();
        int nb = n / 256;
        if (nb > 0) Iq1sPrepare(w, idx, scl, spread0, spread1, mul);
        fixed (ulong* grid = Iq1sGridPlus1)
            for (int b = 0; b < nb; b++, w += 50, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                int cur = b & 1;
                if (b + 1 < nb) Iq1sPrepare(w + 50, idx + 32 * (cur ^ 1), scl + 8 * (cur ^ 1), spread0, spread1, mul);
                ushort* ix = idx + 32 * cur;
                int* sc = scl + 8 * cur;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, ix += 4, o += 32)
                {
                    Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]]).AsByte();
                    Vector256<short> scale = Vector256.Create(sc[ib]).AsInt16();
                    s0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(g, Vector256.Load((sbyte*)(a0 + o))), scale);
                    if (TT.Four)
                    {
                        s1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(g, Vector256.Load((sbyte*)(a1 + o))), scale);
                        s2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(g, Vector256.Load((sbyte*)(a2 + o))), scale);
                        s3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(g, Vector256.Load((sbyte*)(a3 + o))), scale);
                    }
                }
                Vector128<short> qh = Vector128.Load((short*)(w + 34));
                Vector128<short> ls = (((qh >>> 12) & Vector128.Create((short)7)) << 1) + Vector128<short>.One, neg = qh >> 15;
                Vector128<short> coef = ((ls ^ neg) - neg) - (ls << 3);
                float dw = Fp16.Load(w);
                float d0 = *(float*)a0 * dw;
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s0), Vector256.Create(d0), acc0);
                del0 += d0 * Iq1sDelta(a0, coef);
                if (TT.Four)
                {
                    float d1 = *(float*)a1 * dw, d2 = *(float*)a2 * dw, d3 = *(float*)a3 * dw;
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s1), Vector256.Create(d1), acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s2), Vector256.Create(d2), acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s3), Vector256.Create(d3), acc3);
                    del1 += d1 * Iq1sDelta(a1, coef);
                    del2 += d2 * Iq1sDelta(a2, coef);
                    del3 += d3 * Iq1sDelta(a3, coef);
                }
            }
        y[0] = Vector256.Sum(acc0) + 0.125f * del0;
        if (TT.Four)
        {
            y[1] = Vector256.Sum(acc1) + 0.125f * del1;
            y[2] = Vector256.Sum(acc2) + 0.125f * del2;
            y[3] = Vector256.Sum(acc3) + 0.125f * del3;
        }
    }

    /// <summary>The IQ1_M super-block at w, for <see cref="IQ1_M"/>: 32 grid indices (qs byte | 3 qh bits · 256), 32 delta
    /// weights (7 + 2·delta bit: see there) and 16 scales (2·s + 1, one per 16 elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq1mPrepare(byte* w, ushort* idx, byte* kk, short* scales, Vector256<byte> pairSpread, Vector256<ushort> nibbleMul,
        Vector256<byte> quadSpread, Vector256<ushort> scaleMul)
    {
        // index i takes the nibble i mod 2 of qh byte i / 2: the byte to word i by vpshufb, times 16 (even i) or 1 (odd i),
        // so the nibble sits at bits 4-7 (AVX2 has no 16-bit variable shift)
        Vector256<byte> qh = Vector256.Create(Vector128.Load(w + 32), Vector128.Load(w + 32));
        Vector256<ushort> x0 = Avx2.MultiplyLow(Avx2.Shuffle(qh, pairSpread).AsUInt16(), nibbleMul);
        Vector256<ushort> x1 = Avx2.MultiplyLow(Avx2.Shuffle(qh, pairSpread + Vector256.Create((ushort)8).AsByte()).AsUInt16(), nibbleMul);
        Vector256<ushort> m = Vector256.Create((ushort)0x700);
        (Avx2.ConvertToVector256Int16(Vector128.Load(w)).AsUInt16() | ((x0 << 4) & m)).Store(idx);
        (Avx2.ConvertToVector256Int16(Vector128.Load(w + 16)).AsUInt16() | ((x1 << 4) & m)).Store(idx + 16);
        // 9 − delta weight (7 + 2·(nibble bit 3)) = 2 − 2·bit, as bytes (vpackuswb works per 128-bit lane: vpermq restores
        // the order)
        Vector256<short> two = Vector256.Create((short)2);
        Vector256<short> k0 = two - ((x0 >>> 6).AsInt16() & two), k1 = two - ((x1 >>> 6).AsInt16() & two);
        Avx2.Permute4x64(Avx2.PackUnsignedSaturate(k0, k1).AsUInt64(), 0xD8).AsByte().Store(kk);
        // scale j: bits 3·(j mod 4).. of scale word j / 4, moved to bits 9-11 by a multiply with 2^(9 − 3·(j mod 4))
        Vector256<ushort> sc = Avx2.MultiplyLow(Avx2.Shuffle(Vector256.Create(*(ulong*)(w + 48)).AsByte(), quadSpread).AsUInt16(), scaleMul);
        ((((sc >>> 9) & Vector256.Create((ushort)7)) << 1) + Vector256<ushort>.One).AsInt16().Store(scales);
    }

    /// <summary>vpshufb control spreading a sub-block's 4 delta weights (broadcast) over its 4 groups of 8.</summary>
    private static Vector256<byte> GroupSpread => Vector256.Create(0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL).AsByte();

    // IQ1_M: 32 qs bytes (w), 16 qh bytes (w + 32: per 8 elements a nibble, 3 high index bits and the delta sign), 4 scale
    // words (w + 48: 3-bit scales per 16 elements, the fp16 super-scale in their top nibbles). As the AVX2 dot, each i16
    // lane holds 8·Σ(g + δ)·y in eighths, δ = ±1/8, but with grid + 1 (u): 8·Σu·y − Σ(8 ∓ 1)·y, the second a vpmaddubsw
    // of the delta weights (7 or 9) with y. Indices, delta weights and scales of the next super-block are computed as
    // vectors and stored while the current one is processed (as in IQ1_S). Storing the sub-blocks' expanded scale vectors
    // instead (four 64-byte vpermw results, one load per sub-block) measured slower: 72.4 against 61.5 cycles.
    public static float IQ1_M(byte* w, byte* a, int n) => Dot<Iq1mKernel>(w, a, n);

    /// <summary>4 IQ1_M rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, delta weights and scales once for the
    /// 4 tokens.</summary>
    public static void IQ1_Mx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq1mKernel>(w, a, n, y);

    private readonly struct Iq1mKernel : IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq1mRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    /// <summary>One sub-block's IQ1_M sum for one token: 8·Σu·y − Σ(delta weight)·y in i16, then the scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Iq1mSub(Vector256<byte> g, Vector256<short> scales, byte* y) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(g, Vector256.Load((sbyte*)y)), scales);

    /// <summary>s −= 9·Σ scale_j·bsum_j: the "+ 9" of the folded weights 8u + 9 − dk, from the 16 group sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Iq1mNine(Vector256<short> scales16, byte* a, Vector256<int> s)
    {
        Vector256<int> t = Avx2.MultiplyAddAdjacent(scales16, Vector256.Load((short*)(a + 260)));
        return s - ((t << 3) + t);
    }

    /// <summary>One IQ1_M row against 1 token (a0) or 4 (a0..a3), results into y[0..).</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq1mRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        ushort* idx = stackalloc ushort[64];
        byte* kk = stackalloc byte[64];
        short* scl = stackalloc short[32];
        // word i ← qh byte i / 2 (first 16 indices; the next 16 add 8); × 16 for even i, × 1 for odd i
        Vector256<byte> pairSpread = Vector256.Create(0x8001800180008000UL, 0x8003800380028002UL, 0x8005800580048004UL, 0x8007800780068006UL).AsByte();
        Vector256<ushort> nibbleMul = Vector256.Create(0x0001_0010_0001_0010UL).AsUInt16();
        // scale j ← scale word j / 4 (bytes 2·(j / 4), +1), × 2^(9 − 3·(j mod 4))
        Vector256<byte> quadSpread = Vector256.Create(0x0100010001000100UL, 0x0302030203020302UL, 0x0504050405040504UL, 0x0706070607060706UL).AsByte();
        Vector256<ushort> scaleMul = Vector256.Create(0x0001_0008_0040_0200UL).AsUInt16();
        Vector256<byte> groupSpread = GroupSpread;
        // the sub-block's two scales (adjacent words): one dword broadcast, the low word to elements 0-15
        Vector256<byte> scaleSpread = Vector256.Create(0x0100010001000100UL, 0x0100010001000100UL, 0x0302030203020302UL, 0x0302030203020302UL).AsByte();
        int nb = n / 256;
        if (nb > 0) Iq1mPrepare(w, idx, kk, scl, pairSpread, nibbleMul, quadSpread, scaleMul);
        fixed (ulong* grid = Iq1sGridPlus1)
            for (int b = 0; b < nb; b++, w += 56, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                int cur = b & 1;
                if (b + 1 < nb) Iq1mPrepare(w + 56, idx + 32 * (cur ^ 1), kk + 32 * (cur ^ 1), scl + 16 * (cur ^ 1), pairSpread, nibbleMul, quadSpread, scaleMul);
                ushort* ix = idx + 32 * cur;
                byte* k = kk + 32 * cur;
                short* ls = scl + 16 * cur;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, ix += 4, k += 4, ls += 2, o += 32)
                {
                    // one weight per element: 8·(grid + 1) + 9 − delta weight ∈ [0, 18] (8u fits the byte: u ≤ 2)
                    Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]]).AsByte();
                    g = (g.AsUInt16() << 3).AsByte() + Avx2.Shuffle(Vector256.Create(*(uint*)k).AsByte(), groupSpread);
                    Vector256<short> scales = Avx2.Shuffle(Vector256.Create(*(uint*)ls).AsByte(), scaleSpread).AsInt16();
                    s0 += Iq1mSub(g, scales, a0 + o);
                    if (TT.Four)
                    {
                        s1 += Iq1mSub(g, scales, a1 + o);
                        s2 += Iq1mSub(g, scales, a2 + o);
                        s3 += Iq1mSub(g, scales, a3 + o);
                    }
                }
                Vector256<short> sc16 = Vector256.Load(scl + 16 * cur);
                s0 = Iq1mNine(sc16, a0, s0);
                if (TT.Four)
                {
                    s1 = Iq1mNine(sc16, a1, s1);
                    s2 = Iq1mNine(sc16, a2, s2);
                    s3 = Iq1mNine(sc16, a3, s3);
                }
                ushort* sc = (ushort*)(w + 48);
                float dw = Fp16.ToFloat((ushort)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000)));
                TokenSums.Accumulate<TT>(dw, a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(0.125f, acc0, acc1, acc2, acc3, y);
    }

    // TQ2_0: 2-bit values stored +1; Σ (q − 1)·qa = Σ q·qa − Σ qa (Σ qa from the bsums). i16 lanes hold at most
    // 8 products of ≤ 2·2·128 and a 16-element bsum: far from overflow.
    public static float TQ2_0(byte* w, byte* a, int n)
    {
        Vector256<float> acc = default;
        Vector256<byte> m3 = Vector256.Create((byte)3);
        for (int b = 0; b < n / 256; b++, w += 66, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            Vector256<short> sum = -Vector256.Load((short*)(a + 260));
            for (int h = 0; h < 2; h++, y += 128)
            {
                Vector256<byte> q = Vector256.Load(w + 32 * h);
                sum += Avx2.MultiplyAddAdjacent(q & m3, Vector256.Load(y))
                     + Avx2.MultiplyAddAdjacent((q.AsUInt16() >>> 2).AsByte() & m3, Vector256.Load(y + 32))
                     + Avx2.MultiplyAddAdjacent((q.AsUInt16() >>> 4).AsByte() & m3, Vector256.Load(y + 64))
                     + Avx2.MultiplyAddAdjacent((q.AsUInt16() >>> 6).AsByte() & m3, Vector256.Load(y + 96));
            }
            Vector256<int> sumi = Avx2.MultiplyAddAdjacent(sum, Vector256.Create((short)1));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(*(float*)a * Fp16.Load(w + 64)), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Bit counts of the 16 nibbles, in both 128-bit lanes (vpshufb table).</summary>
    private static Vector256<byte> NibblePopCount => Vector256.Create(Vector128.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4)).AsByte();

    /// <summary>The IQ2_XS super-block at w: 32 grid indices (the low 9 bits of each u16), 32 sign bytes (the 7 stored
    /// bits and their parity as bit 7: ggml's ksigns, computed) and 16 scales, so the loop reads signs as IQ2_S does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2xsPrepare(byte* w, ushort* idx, byte* signs, short* scales, Vector256<byte> pop)
    {
        Vector256<ushort> q0 = Vector256.Load((ushort*)(w + 2)), q1 = Vector256.Load((ushort*)(w + 34)), m = Vector256.Create((ushort)511);
        (q0 & m).Store(idx);
        (q1 & m).Store(idx + 16);
        Vector256<byte> s = Avx2.Permute4x64(Avx2.PackUnsignedSaturate((q0 >>> 9).AsInt16(), (q1 >>> 9).AsInt16()).AsUInt64(), 0xD8).AsByte();
        Vector256<byte> m4 = Vector256.Create((byte)15);
        Vector256<byte> parity = (Avx2.Shuffle(pop, s & m4) + Avx2.Shuffle(pop, (s.AsUInt16() >>> 4).AsByte() & m4)) & Vector256<byte>.One;
        (s | (parity.AsUInt16() << 7).AsByte()).Store(signs);
        NibbleScales16(w + 66).Store(scales);
    }

    // IQ2_XS: per 32 elements four u16 = 9-bit grid index + 7 sign bits; a 4-bit scale per 16. Indices, sign bytes and
    // scales of the next super-block prepared as vectors (above) while the current one is processed.
    public static float IQ2_XS(byte* w, byte* a, int n) => Dot<Iq2xsKernel>(w, a, n);

    /// <summary>4 IQ2_XS rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scales once for the 4 tokens.</summary>
    public static void IQ2_XSx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq2xsKernel>(w, a, n, y);

    private readonly struct Iq2xsKernel : IRowKernel, IGrid4Type
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Grid4Row<Iq2xsKernel, TT>(w, a0, a1, a2, a3, n, y);
        public static int BlockBytes => 74;
        public static ulong* Grid => (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.Iq2xsGrid));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prepare(byte* w, ushort* idx, byte* signs, short* scales) => Iq2xsPrepare(w, idx, signs, scales, NibblePopCount);
    }

    /// <summary>A 2-bit grid type with 4 grid points of 8 per 32 elements, 32 sign bytes and 16 scale words per super-block,
    /// all prepared by <see cref="Prepare"/> (IQ2_XS, IQ2_S): what <see cref="Grid4Row{G, TT}"/> reads.</summary>
    private interface IGrid4Type
    {
        static abstract int BlockBytes { get; }
        static abstract ulong* Grid { get; }
        static abstract void Prepare(byte* w, ushort* idx, byte* signs, short* scales);
    }

    /// <summary>One IQ2_XS/IQ2_S row against 1 token (a0) or 4 (a0..a3): the next super-block prepared while the current
    /// one is processed (double-buffered), then per sub-block 4 grid points, the signs and the scale pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Grid4Row<G, TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where G : struct, IGrid4Type where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        ushort* idx = stackalloc ushort[64];
        byte* sgn = stackalloc byte[64];
        short* scl = stackalloc short[32];
        Vector256<byte> signSpread = SignSpread8, signBits = SignBits, one = Vector256.Create((byte)1);
        ulong* grid = G.Grid;
        int nb = n / 256;
        if (nb > 0) G.Prepare(w, idx, sgn, scl);
        for (int b = 0; b < nb; b++, w += G.BlockBytes, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
        {
            int cur = b & 1;
            if (b + 1 < nb) G.Prepare(w + G.BlockBytes, idx + 32 * (cur ^ 1), sgn + 32 * (cur ^ 1), scl + 16 * (cur ^ 1));
            ushort* ix = idx + 32 * cur;
            byte* sg = sgn + 32 * cur;
            short* sc = scl + 16 * cur;
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int ib = 0, o = 4; ib < 8; ib++, ix += 4, sg += 4, sc += 2, o += 32)
            {
                Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]]).AsByte();
                Vector256<sbyte> s = ExplicitSigns(sg, signSpread, signBits, one);
                Vector256<short> scale = Vector256.Create(Vector128.Create(sc[0]), Vector128.Create(sc[1]));
                AddSubBlock<TT>(g, s, scale, o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
            }
            TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
        }
        TokenSums.Store<TT>(0.125f, acc0, acc1, acc2, acc3, y);
    }

    // ---- IQ2_S, IQ3_S: explicit sign bytes. The next super-block's grid indices and scales are built as vectors and
    // stored ahead (the scalar index arithmetic ran out of integer ALUs), and each sub-block's 4 sign bytes become the
    // vpsignb operand by broadcast, vpshufb, test and or (no sign-mask table reads). ----

    /// <summary>vpshufb control spreading 4 sign bytes (broadcast to every dword) over 32 bytes: byte i takes sign byte
    /// i / 8.</summary>
    private static Vector256<byte> SignSpread8 => Vector256.Create(0x00000000_00000000UL, 0x01010101_01010101UL, 0x02020202_02020202UL, 0x03030303_03030303UL).AsByte();

    /// <summary>Byte i tests bit i mod 8.</summary>
    private static Vector256<byte> SignBits => Vector256.Create(0x80_40_20_10_08_04_02_01UL).AsByte();

    /// <summary>The vpsignb operand of 32 elements from their 4 explicit sign bytes at p: −1 where the bit is set, +1
    /// elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> ExplicitSigns(byte* p, Vector256<byte> spread, Vector256<byte> bits, Vector256<byte> one)
    {
        Vector256<byte> e = Avx2.Shuffle(Vector256.Create(*(uint*)p).AsByte(), spread) & bits;
        return (Vector256.Equals(e, bits) | one).AsSByte();
    }

    /// <summary>The 16 scales 2·s + 1 of 8 bytes of 4-bit scales (low nibble first), as i16 words in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> NibbleScales16(byte* sc)
    {
        Vector128<short> b = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(*(ulong*)sc).AsByte());
        Vector128<short> lo = b & Vector128.Create((short)15), hi = b >>> 4;
        Vector256<short> s = Vector256.Create(Sse2.UnpackLow(lo, hi), Sse2.UnpackHigh(lo, hi));
        return (s << 1) + Vector256<short>.One;
    }

    /// <summary>The 32 grid indices (qs byte | 2 qh bits · 256) of the IQ2_S super-block at w, its 32 sign bytes and 16
    /// scales: qh byte ib goes to the 4 words of its sub-block by vpshufb (word i of the first 16 takes byte i / 4, of the
    /// next 16 byte 4 + i / 4; the high byte zero), and word l takes bits 2l..2l+1 at 8..9 by a multiply with 2^(8 − 2l)
    /// (AVX2 has no 16-bit variable shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq2sPrepare(byte* w, ushort* idx, byte* signs, short* scales)
    {
        Vector256<byte> spread0 = Vector256.Create(0x8000800080008000UL, 0x8001800180018001UL, 0x8002800280028002UL, 0x8003800380038003UL).AsByte();
        Vector256<byte> spread1 = Vector256.Create(0x8004800480048004UL, 0x8005800580058005UL, 0x8006800680068006UL, 0x8007800780078007UL).AsByte();
        Vector256<ushort> mul = Vector256.Create(0x0004_0010_0040_0100UL).AsUInt16();
        Vector256<byte> qh = Vector256.Create(*(ulong*)(w + 66)).AsByte();
        Vector256<ushort> m = Vector256.Create((ushort)0x300);
        Vector256<ushort> h0 = Avx2.MultiplyLow(Avx2.Shuffle(qh, spread0).AsUInt16(), mul) & m;
        Vector256<ushort> h1 = Avx2.MultiplyLow(Avx2.Shuffle(qh, spread1).AsUInt16(), mul) & m;
        (Avx2.ConvertToVector256Int16(Vector128.Load(w + 2)).AsUInt16() | h0).Store(idx);
        (Avx2.ConvertToVector256Int16(Vector128.Load(w + 18)).AsUInt16() | h1).Store(idx + 16);
        Vector256.Load(w + 34).Store(signs);
        NibbleScales16(w + 74).Store(scales);
    }

    // IQ2_S: 10-bit grid indices (8 low bits in qs, 2 per 8 elements in qh), explicit sign bytes, 4-bit scales per 16.
    public static float IQ2_S(byte* w, byte* a, int n) => Dot<Iq2sKernel>(w, a, n);

    /// <summary>4 IQ2_S rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scales once for the 4 tokens.</summary>
    public static void IQ2_Sx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq2sKernel>(w, a, n, y);

    private readonly struct Iq2sKernel : IRowKernel, IGrid4Type
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Grid4Row<Iq2sKernel, TT>(w, a0, a1, a2, a3, n, y);
        public static int BlockBytes => 82;
        public static ulong* Grid => (ulong*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(IQTables.Iq2sGrid));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Prepare(byte* w, ushort* idx, byte* signs, short* scales) => Iq2sPrepare(w, idx, signs, scales);
    }

    /// <summary>The 64 grid indices (qs byte | qh bit · 256) of the IQ3_S super-block at w and its 8 scales 2·s + 1: qh
    /// byte j goes to its 8 words by vpshufb, word l takes bit l at 8 by a multiply with 2^(8 − l).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq3sPrepare(byte* w, ushort* idx, int* scales, Vector256<byte> spread, Vector256<ushort> mul)
    {
        Vector256<ushort> m = Vector256.Create((ushort)0x100);
        Vector256<byte> two = Vector256.Create((ushort)2).AsByte();
        Vector256<byte> qh = Vector256.Create(*(ulong*)(w + 66)).AsByte();
        Vector256<byte> sp = spread;
        for (int k = 0; k < 4; k++, sp += two)
        {
            Vector256<ushort> h = Avx2.MultiplyLow(Avx2.Shuffle(qh, sp).AsUInt16(), mul) & m;
            (Avx2.ConvertToVector256Int16(Vector128.Load(w + 2 + 16 * k)).AsUInt16() | h).Store(idx + 16 * k);
        }
        Vector256<int> b = Avx2.ConvertToVector256Int32(Vector128.CreateScalar(*(uint*)(w + 106)).AsByte());
        // scale ib: nibble ib & 1 of byte ib / 2 → bytes 0,0,1,1,2,2,3,3 widened, then shifted by 0 or 4
        Vector256<int> nib = Avx2.ShiftRightLogicalVariable(Avx2.PermuteVar8x32(b, Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3)).AsUInt32(),
            Vector256.Create(0u, 4, 0, 4, 0, 4, 0, 4)).AsInt32() & Vector256.Create(15);
        ((nib << 1) + Vector256<int>.One).Store(scales);
    }

    // IQ3_S: 9-bit indices into a grid of 4-value points (8 low bits in qs, the 9th in qh), explicit sign bytes, a 4-bit
    // scale per 32 (value d·(2s+1)·grid: no extra factor).
    public static float IQ3_S(byte* w, byte* a, int n) => Dot<Iq3sKernel>(w, a, n);

    /// <summary>4 IQ3_S rows × 4 tokens (<c>y[4·r + t]</c>): each sub-block's grid, signs and scale once for the 4 tokens.</summary>
    public static void IQ3_Sx4x4(byte** w, byte** a, int n, float* y) => Tile<Iq3sKernel>(w, a, n, y);

    private readonly struct Iq3sKernel : IRowKernel
    {
        public static void Row<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount =>
            Iq3sRow<TT>(w, a0, a1, a2, a3, n, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Iq3sRow<TT>(byte* w, byte* a0, byte* a1, byte* a2, byte* a3, int n, float* y) where TT : struct, ITokenCount
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        ushort* idx = stackalloc ushort[128];
        int* scl = stackalloc int[16];
        // word i of a 16-index group takes qh byte 2k + i / 8 (k: the group); each further group adds 2 to the bytes
        Vector256<byte> spread = Vector256.Create(0x8000800080008000UL, 0x8000800080008000UL, 0x8001800180018001UL, 0x8001800180018001UL).AsByte();
        Vector256<ushort> mul = Vector256.Create((ushort)256, 128, 64, 32, 16, 8, 4, 2, 256, 128, 64, 32, 16, 8, 4, 2);
        Vector256<byte> signSpread = SignSpread8, signBits = SignBits, one = Vector256.Create((byte)1);
        int nb = n / 256;
        if (nb > 0) Iq3sPrepare(w, idx, scl, spread, mul);
        fixed (uint* grid = IQTables.Iq3sGrid)
            for (int b = 0; b < nb; b++, w += 110, a0 += 292, a1 += 292, a2 += 292, a3 += 292)
            {
                int cur = b & 1;
                if (b + 1 < nb) Iq3sPrepare(w + 110, idx + 64 * (cur ^ 1), scl + 8 * (cur ^ 1), spread, mul);
                ushort* ix = idx + 64 * cur;
                int* sc = scl + 8 * cur;
                byte* sg = w + 74;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int ib = 0, o = 4; ib < 8; ib++, ix += 8, sg += 4, o += 32)
                {
                    Vector256<byte> g = Vector256.Create(grid[ix[0]], grid[ix[1]], grid[ix[2]], grid[ix[3]],
                        grid[ix[4]], grid[ix[5]], grid[ix[6]], grid[ix[7]]).AsByte();
                    Vector256<sbyte> s = ExplicitSigns(sg, signSpread, signBits, one);
                    AddSubBlock<TT>(g, s, Vector256.Create((short)sc[ib]), o, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                }
                TokenSums.Accumulate<TT>(Fp16.Load(w), a0, a1, a2, a3, s0, s1, s2, s3, ref acc0, ref acc1, ref acc2, ref acc3);
            }
        TokenSums.Store<TT>(1f, acc0, acc1, acc2, acc3, y);
    }

    /// <summary>Bytes times per-u16-lane factors mod 256 (AVX2 has no byte multiply): even bytes from the low byte of
    /// v·p, odd bytes from (v &amp; 0xFF00)·p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> MulBytes(Vector256<byte> v, Vector256<ushort> p)
    {
        Vector256<ushort> v16 = v.AsUInt16(), hi = Vector256.Create((ushort)0xFF00);
        return ((Avx2.MultiplyLow(v16, p) & ~hi) | (Avx2.MultiplyLow(v16 & hi, p) & hi)).AsByte();
    }

    /// <summary>×3 mod 256 per byte: the next trit moves to the top.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Times3(Vector256<byte> v) => v + v + v;

    /// <summary>The top trit of each byte, (3·q) >> 8 ∈ {0, 1, 2} (stored value + 1), through vpmulhuw on each byte
    /// placed in the high half of a u16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> TopTrit(Vector256<byte> q)
    {
        Vector256<ushort> q16 = q.AsUInt16(), three = Vector256.Create((ushort)3);
        Vector256<ushort> even = Avx2.MultiplyHigh(q16 << 8, three), odd = Avx2.MultiplyHigh(q16 & Vector256.Create((ushort)0xFF00), three);
        return (even | (odd << 8)).AsByte();
    }

    // TQ1_0: qs[0..31] hold 5 trits each (elements 32l + m), qs[32..47] 5 each (160 + 16l + m), qh[0..3] 4 each (240 + 4l + j);
    // trit l of byte q is the top trit of q·3ˡ mod 256. Σ (t − 1)·qa = Σ t·qa − Σ qa (bsums).
    public static float TQ1_0(byte* w, byte* a, int n)
    {
        Vector256<float> acc = default;
        Vector256<ushort> p1p3 = Vector256.Create(Vector128.Create((ushort)1), Vector128.Create((ushort)3));
        Vector256<ushort> p81qh = Vector256.Create(Vector128.Create((ushort)81), Vector128.Create((ushort)1, 1, 3, 3, 9, 9, 27, 27));
        for (int b = 0; b < n / 256; b++, w += 54, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            Vector256<short> sum = -Vector256.Load((short*)(a + 260));
            Vector256<byte> q = Vector256.Load(w);
            for (int l = 0; l < 5; l++, q = Times3(q))
                sum += Avx2.MultiplyAddAdjacent(TopTrit(q), Vector256.Load(y + 32 * l));
            Vector128<byte> q16 = Vector128.Load(w + 32);
            Vector256<byte> r = MulBytes(Vector256.Create(q16, q16), p1p3);        // l = 0 | 1: elements 160..191
            sum += Avx2.MultiplyAddAdjacent(TopTrit(r), Vector256.Load(y + 160));
            r = Times3(Times3(r));                                                   // l = 2 | 3: elements 192..223
            sum += Avx2.MultiplyAddAdjacent(TopTrit(r), Vector256.Load(y + 192));
            // l = 4 of qs[32..47] (elements 224..239) | qh's 4 trits (240..255: dword l = qh·3ˡ)
            r = MulBytes(Vector256.Create(q16, Vector128.Create(*(uint*)(w + 48)).AsByte()), p81qh);
            sum += Avx2.MultiplyAddAdjacent(TopTrit(r), Vector256.Load(y + 224));
            Vector256<int> sumi = Avx2.MultiplyAddAdjacent(sum, Vector256.Create((short)1));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(Fp16.Load(w + 52) * *(float*)a), acc);
        }
        return Vector256.Sum(acc);
    }
}
