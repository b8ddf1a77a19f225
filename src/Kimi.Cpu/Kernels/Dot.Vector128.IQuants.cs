using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Quants.Formats;

namespace Kimi.Cpu.Kernels;

// Portable Vector128 dots against Q8_K activations for the 2-bit grid types (IQ2_XXS, IQ2_XS, IQ2_S) and the ternary
// types (TQ1_0, TQ2_0): cross-platform API only, so one source JITs to SSE on x86 and AdvSimd on ARM64 (the Vector128
// and Neon sets both run it). Same contract as DotScalar: exact integer sums per super-block, one float term per block.
// (Other i-quants of this class live in other files; names here carry an Iq2/Tq prefix so the parts cannot collide.)
internal static unsafe partial class DotVector128IQuants
{
    // ---- IQ2 grids. Portable 128-bit code has no byte multiply-add (pmaddubsw / sdot), so the 8 grid magnitudes of a
    // point are stored pre-widened to i16 (16 bytes per point: 4/8/16 KiB for the three grids) and the 7- or 8-bit sign
    // field to 8 i16 of ±1 (2/4 KiB): per 8 elements two vector loads, two i16 multiplies and one add, against
    // activations sign-extended to i16. Grid magnitudes are ≤ 43, so |product| ≤ 43·128 = 5504 and an i16 lane can
    // take 4 products (4 grid points) before widening to i32.

    /// <summary>Grid points as 8 i16 magnitudes each.</summary>
    private static Vector128<short>[] Iq2Widen(ReadOnlySpan<ulong> grid)
    {
        var t = new Vector128<short>[grid.Length];
        for (int i = 0; i < t.Length; i++) t[i] = Vector128.WidenLower(Vector128.CreateScalar(grid[i]).AsByte()).AsInt16();
        return t;
    }

    /// <summary>Sign byte → 8 i16 of +1 / −1 (bit j set: element j negative); 128 entries: the 7 stored bits of
    /// IQ2_XXS/IQ2_XS through <see cref="IQTables.KSignsIq2xs"/> (ggml's even-parity 8th bit), 256: explicit sign bytes.</summary>
    private static Vector128<short>[] Iq2SignTable(int count)
    {
        var t = new Vector128<short>[count];
        Span<short> v = stackalloc short[8];
        for (int i = 0; i < count; i++)
        {
            int s = count == 128 ? IQTables.KSignsIq2xs[i] : i;
            for (int j = 0; j < 8; j++) v[j] = (short)((s >> j & 1) != 0 ? -1 : 1);
            t[i] = Vector128.Create<short>(v);
        }
        return t;
    }

    private static readonly Vector128<short>[] Iq2xxsGrid16 = Iq2Widen(IQTables.Iq2xxsGrid);
    private static readonly Vector128<short>[] Iq2xsGrid16 = Iq2Widen(IQTables.Iq2xsGrid);
    private static readonly Vector128<short>[] Iq2sGrid16 = Iq2Widen(IQTables.Iq2sGrid);
    private static readonly Vector128<short>[] Iq2KSigns16 = Iq2SignTable(128);
    private static readonly Vector128<short>[] Iq2ByteSigns16 = Iq2SignTable(256);

    /// <summary>Sum of each pair of i16 lanes as 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Iq2PairSums(Vector128<short> p)
    {
        Vector128<int> v = p.AsInt32();
        return ((v << 16) >> 16) + (v >> 16);
    }

    /// <summary>The table entry at byte offset <paramref name="offset"/> (a multiple of 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Iq2At(Vector128<short>* table, uint offset) => *(Vector128<short>*)((byte*)table + offset);

    // IQ2_XXS (66 bytes: d, then per 32 elements 4 index bytes + u32 of 4×7 sign bits and a 4-bit scale in bits 28..31).
    [SkipLocalsInit]
    public static float IQ2_XXS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (Vector128<short>* grid = Iq2xxsGrid16, signs = Iq2KSigns16)
            for (int b = 0; b < n / 256; b++, w += 66, a += 292)
            {
                float d = Fp16.Load(w) * *(float*)a;
                sbyte* y = (sbyte*)(a + 4);
                byte* q = w + 2;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, q += 8, y += 32)
                {
                    uint aux = Unsafe.ReadUnaligned<uint>(q + 4);
                    (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                    (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                    // 4 products per i16 lane (≤ 4·5504)
                    // sign fields as byte offsets into the 16-byte entries (one shift and one mask each)
                    Vector128<short> p = grid[q[0]] * Iq2At(signs, (aux << 4) & 0x7F0) * y0 + grid[q[1]] * Iq2At(signs, (aux >> 3) & 0x7F0) * y1
                                       + grid[q[2]] * Iq2At(signs, (aux >> 10) & 0x7F0) * y2 + grid[q[3]] * Iq2At(signs, (aux >> 17) & 0x7F0) * y3;
                    sumi += Iq2PairSums(p) * Vector128.Create((int)(2 * (aux >> 28) + 1));
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }

    /// <summary>Two 16-element halves with their own 4-bit scales (IQ2_XS, IQ2_S): low nibble of <paramref name="sc"/> for
    /// <paramref name="p0"/>, high for <paramref name="p1"/> (each lane holds 2 products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Iq2Scaled(Vector128<short> p0, Vector128<short> p1, int sc) =>
        Iq2PairSums(p0) * Vector128.Create(2 * (sc & 15) + 1) + Iq2PairSums(p1) * Vector128.Create(2 * (sc >> 4) + 1);

    // IQ2_XS (74 bytes: d, u16 qs[32] = 9-bit grid index + 7 sign bits, scales[8] = two 4-bit scales per 32).
    [SkipLocalsInit]
    public static float IQ2_XS(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (Vector128<short>* grid = Iq2xsGrid16, signs = Iq2KSigns16)
            for (int b = 0; b < n / 256; b++, w += 74, a += 292)
            {
                float d = Fp16.Load(w) * *(float*)a;
                sbyte* y = (sbyte*)(a + 4);
                ushort* q = (ushort*)(w + 2);
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, q += 4, y += 32)
                {
                    (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                    (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                    Vector128<short> p0 = grid[q[0] & 511] * signs[q[0] >> 9] * y0 + grid[q[1] & 511] * signs[q[1] >> 9] * y1;
                    Vector128<short> p1 = grid[q[2] & 511] * signs[q[2] >> 9] * y2 + grid[q[3] & 511] * signs[q[3] >> 9] * y3;
                    sumi += Iq2Scaled(p0, p1, w[66 + ib]);
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }

    // IQ2_S (82 bytes: d, qs[32] low 8 index bits, signs[32] explicit sign bytes, qh[8] 2 high index bits per 8 elements,
    // scales[8] two 4-bit scales per 32).
    [SkipLocalsInit]
    public static float IQ2_S(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        fixed (Vector128<short>* grid = Iq2sGrid16, signs = Iq2ByteSigns16)
            for (int b = 0; b < n / 256; b++, w += 82, a += 292)
            {
                float d = Fp16.Load(w) * *(float*)a;
                sbyte* y = (sbyte*)(a + 4);
                byte* qs = w + 2, sg = w + 34;
                Vector128<int> sumi = default;
                for (int ib = 0; ib < 8; ib++, qs += 4, sg += 4, y += 32)
                {
                    int qh = w[66 + ib];
                    (Vector128<short> y0, Vector128<short> y1) = Vector128.Widen(Vector128.Load(y));
                    (Vector128<short> y2, Vector128<short> y3) = Vector128.Widen(Vector128.Load(y + 16));
                    Vector128<short> p0 = grid[qs[0] | ((qh << 8) & 0x300)] * signs[sg[0]] * y0
                                        + grid[qs[1] | ((qh << 6) & 0x300)] * signs[sg[1]] * y1;
                    Vector128<short> p1 = grid[qs[2] | ((qh << 4) & 0x300)] * signs[sg[2]] * y2
                                        + grid[qs[3] | ((qh << 2) & 0x300)] * signs[sg[3]] * y3;
                    sumi += Iq2Scaled(p0, p1, w[74 + ib]);
                }
                acc = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(sumi), Vector128.Create(d), acc);
            }
        return 0.125f * Vector128.Sum(acc);
    }

    // ---- Ternary types: values stored +1 (0..2), so Σ (t − 1)·qa = Σ t·qa − Σ qa with Σ qa from the Q8_K bsums. The
    // digits are formed in i16 lanes, even and odd bytes apart (shifts, no shuffles, as DotVector128KQuants), against the
    // activation bytes split the same way. A lane takes 2 products of ≤ 3·128 per 16 elements (TQ2_0's unused code 3
    // included), 32 per block, plus two bsums of ≤ 16·128: ≤ 16384, so the whole block adds up in i16 and widens once.

    /// <summary>xEven·y[even] + xOdd·y[odd] for 16 activation bytes, in 8 i16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> TqMul16(Vector128<short> xEven, Vector128<short> xOdd, sbyte* y)
    {
        Vector128<short> v = Vector128.Load((short*)y);
        return xEven * ((v << 8) >> 8) + xOdd * (v >> 8);
    }

    /// <summary>Block total: i16 lanes (with −bsums already in) → i32, times the block scale, into <paramref name="acc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> TqFinish(Vector128<short> sum, float d, Vector128<float> acc) =>
        Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(Iq2PairSums(sum)), Vector128.Create(d), acc);

    /// <summary>−(bsums[0..7] + bsums[8..15]) in i16 lanes: the "−1" of all 256 stored values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> TqMinusBsums(byte* a) => -(Vector128.Load((short*)(a + 260)) + Vector128.Load((short*)(a + 276)));

    // TQ2_0 (66 bytes: qs[64], d): element 128h + 32l + m is bits 2l..2l+1 of qs[32h + m].
    [SkipLocalsInit]
    public static float TQ2_0(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<short> m3 = Vector128.Create((short)3);
        for (int b = 0; b < n / 256; b++, w += 66, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            Vector128<short> sum = TqMinusBsums(a);
            for (int k = 0; k < 4; k++)
            {
                // bytes 16k..16k+15: elements 128(k/2) + 32l + 16(k&1) + (0..15) for l = 0..3
                Vector128<short> q = Vector128.Load((short*)(w + 16 * k));
                sbyte* yk = y + 128 * (k >> 1) + 16 * (k & 1);
                sum += TqMul16(q & m3, (q >>> 8) & m3, yk)
                     + TqMul16((q >>> 2) & m3, (q >>> 10) & m3, yk + 32)
                     + TqMul16((q >>> 4) & m3, (q >>> 12) & m3, yk + 64)
                     + TqMul16((q >>> 6) & m3, q >>> 14, yk + 96);
            }
            acc = TqFinish(sum, *(float*)a * Fp16.Load(w + 64), acc);
        }
        return Vector128.Sum(acc);
    }

    /// <summary>
    /// Next trit of 16 bytes held as even/odd u16 lanes <paramref name="e"/>/<paramref name="o"/> (0..255) against 16
    /// activation bytes: trit l of byte q is (3·(q·3ˡ mod 256)) >> 8, so each step multiplies by 3, takes the high byte as
    /// the trit and keeps the low byte for the next one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> TqTrit(ref Vector128<short> e, ref Vector128<short> o, sbyte* y)
    {
        Vector128<short> ff = Vector128.Create((short)0xff);
        Vector128<short> e3 = e * Vector128.Create((short)3), o3 = o * Vector128.Create((short)3);
        e = e3 & ff;
        o = o3 & ff;
        return TqMul16(e3 >>> 8, o3 >>> 8, y);
    }

    // TQ1_0 (54 bytes: qs[48], qh[4], d): qs[0..31] hold 5 trits each (element 32l + m), qs[32..47] 5 each
    // (160 + 16l + m), qh[0..3] 4 each (240 + 4l + j).
    [SkipLocalsInit]
    public static float TQ1_0(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<short> ff = Vector128.Create((short)0xff);
        // qh: the 4 bytes repeated 4 times; i16 lane k holds bytes 2k, 2k+1, i.e. trit l = k/2 of qh[2k mod 4] and
        // qh[2k+1 mod 4]: start them at q·3ˡ mod 256 and take one trit each.
        Vector128<short> qhPow = Vector128.Create((short)1, 1, 3, 3, 9, 9, 27, 27);
        for (int b = 0; b < n / 256; b++, w += 54, a += 292)
        {
            sbyte* y = (sbyte*)(a + 4);
            Vector128<short> sum = TqMinusBsums(a);
            // qs[0..15], qs[16..31]: elements 32l + m; qs[32..47]: 160 + 16l + m. Three independent multiply chains per step.
            Vector128<short> q0 = Vector128.Load((short*)w), q1 = Vector128.Load((short*)(w + 16)), q2 = Vector128.Load((short*)(w + 32));
            Vector128<short> e0 = q0 & ff, o0 = q0 >>> 8, e1 = q1 & ff, o1 = q1 >>> 8, e2 = q2 & ff, o2 = q2 >>> 8;
            for (int l = 0; l < 5; l++)
                sum += TqTrit(ref e0, ref o0, y + 32 * l) + TqTrit(ref e1, ref o1, y + 32 * l + 16) + TqTrit(ref e2, ref o2, y + 160 + 16 * l);
            Vector128<short> h = Vector128.Create(Unsafe.ReadUnaligned<uint>(w + 48)).AsInt16();
            Vector128<short> eh = ((h & ff) * qhPow) & ff, oh = ((h >>> 8) * qhPow) & ff;
            sum += TqTrit(ref eh, ref oh, y + 240);
            acc = TqFinish(sum, Fp16.Load(w + 52) * *(float*)a, acc);
        }
        return Vector128.Sum(acc);
    }
}
