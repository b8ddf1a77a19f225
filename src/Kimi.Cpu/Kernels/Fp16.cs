using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// fp16 → fp32 for the kernels. .NET 10 exposes no F16C/vcvtph2ps, and <c>(float)Half</c> is a ~3 ns software routine,
/// so single block scales go through a 256 KiB table (as ggml does without F16C), vectors through an exact bit trick, and
/// the hottest kernels pick 8 scales at once out of the blocks (vpermt2b/vpermt2w or <see cref="ScalarPick8"/>) so that no
/// table line has to stay in cache.
/// </summary>
internal static unsafe class Fp16
{
    // Built once, read-only afterwards; a block scale lookup is one L1/L2 load.
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = GC.AllocateArray<float>(65536, pinned: true);
        for (int i = 0; i < t.Length; i++) t[i] = HalfConvert.HalfToFloat((ushort)i);
        return t;
    }

    /// <summary>Pinned table base (never moves: allocated on the pinned heap).</summary>
    internal static readonly float* TablePtr = (float*)Unsafe.AsPointer(ref Table[0]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => TablePtr[h];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(byte* p) => TablePtr[*(ushort*)p];

    /// <summary>
    /// The fp16 scales of 8 consecutive Q4_0 blocks (18 bytes apart) as fp32; reads only inside the
    /// 144 bytes of the 8 blocks. Real weights' scales are spread over thousands of fp16 values, so per-block table lookups
    /// miss the cache once weights stream from RAM (Q4_0 GEMV: 7.7 GB/s with random scales against 16 GB/s with 256
    /// distinct ones); this touches only the weight lines the block loop reads anyway. With AVX-512 VBMI the 8 words are
    /// picked out of the first 128 bytes with one vpermt2b; otherwise by <see cref="ScalarPick8"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8Q4_0(byte* p)
    {
        if (Avx512Vbmi.IsSupported)
        {
            // vpermt2b puts scale k's two bytes straight into the high half of 32-bit lane k (the low half is ignored):
            // no zero-extension, and the sign is already in place (ToFloatHigh).
            Vector512<byte> idx = Vector512.Create((byte)0, 0, 0, 1, 0, 0, 18, 19, 0, 0, 36, 37, 0, 0, 54, 55, 0, 0, 72, 73, 0, 0, 90, 91, 0, 0, 108, 109, 0, 0, 126, 127,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            return ToFloatHigh(Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(p), idx, Vector512.Load(p + 64)).GetLower().AsUInt32());
        }
        return ScalarPick8(p, 18);
    }

    /// <summary>
    /// <see cref="Scales8Q4_0"/> with its constants held as values (a loop's locals, in registers): written inline, the JIT
    /// keeps them as memory operands and reloads the pick index and five masks for every window (measured 3 % of the Q4_0
    /// dot). <c>zero</c> must be 0 at run time; adding it is what makes the vectors values rather than constants. Loops
    /// short of registers keep <see cref="Scales8Q4_0"/>: the 4 × 4 tile measured 5 % and IQ4_NL 3 % slower with this.
    /// </summary>
    internal readonly struct Q4_0ScalePicker
    {
        private readonly Vector512<byte> _index;
        private readonly Vector256<uint> _magnitude, _sign, _rebias, _expMin, _normalRange;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Q4_0ScalePicker(int zero)
        {
            Vector256<uint> z = Vector256.Create((uint)zero);
            _index = Vector512.Create((byte)0, 0, 0, 1, 0, 0, 18, 19, 0, 0, 36, 37, 0, 0, 54, 55, 0, 0, 72, 73, 0, 0, 90, 91, 0, 0, 108, 109, 0, 0, 126, 127,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) + Vector512.Create((byte)zero);
            _magnitude = Vector256.Create(0x7fff0000u) + z;
            _sign = Vector256.Create(0x80000000u) + z;
            _rebias = Vector256.Create(Rebias) + z;
            _expMin = Vector256.Create(ExpMinShifted) + z;
            _normalRange = Vector256.Create(ExpInfShifted - ExpMinShifted) + z;
        }

        /// <summary>The 8 scales at p, exactly as <see cref="Scales8Q4_0"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Pick8(byte* p)
        {
            if (!Avx512Vbmi.IsSupported) return ScalarPick8(p, 18);
            return Convert(Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(p), _index, Vector512.Load(p + 64)).GetLower().AsUInt32());
        }

        /// <summary>8 fp16 values in the high halves of v's 32-bit lanes (the low halves ignored) as fp32, exactly: the
        /// normal-range bit trick, or <see cref="ToFloatHigh"/> when any lane is zero, subnormal, inf or NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Convert(Vector256<uint> v)
        {
            Vector256<uint> em = (v & _magnitude) >>> 3;
            if (!Vector256.LessThanAll(em - _expMin, _normalRange)) return ToFloatHigh(v);
            return ((em + _rebias) | (v & _sign)).AsSingle();
        }
    }

    /// <summary>The fp16 scales of 8 consecutive Q8_0 blocks (34 bytes apart), as <see cref="Scales8Q4_0"/>, by
    /// <see cref="ScalarPick8"/>: measured 10 % faster in the Q8_0 dot than two vpermt2b of four 64-byte loads, which span
    /// the 272 bytes of the 8 blocks for 16 bytes of scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8Q8_0(byte* p) => ScalarPick8(p, 34);

    /// <summary>
    /// The 8 fp16 words <paramref name="stride"/> bytes apart as fp32, reading only them: scalar loads and shifts in
    /// general registers (idle in these kernels), two 64-bit moves, one zero-extension. Without AVX-512 VBMI it also
    /// serves Q4_0: vpgatherdd measured 3.60 against 2.86 cycles per block in the Q4_0 dot on Zen 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ScalarPick8(byte* p, int stride)
    {
        ulong q0 = *(ushort*)p | ((ulong)*(ushort*)(p + stride) << 16) | ((ulong)*(ushort*)(p + 2 * stride) << 32)
            | ((ulong)*(ushort*)(p + 3 * stride) << 48);
        byte* p4 = p + 4 * stride;
        ulong q1 = *(ushort*)p4 | ((ulong)*(ushort*)(p4 + stride) << 16) | ((ulong)*(ushort*)(p4 + 2 * stride) << 32)
            | ((ulong)*(ushort*)(p4 + 3 * stride) << 48);
        return ToFloat(Avx2.ConvertToVector256Int32(Vector128.Create(q0, q1).AsUInt16()).AsUInt32());
    }

    /// <summary>The fp16 scales of 8 consecutive Q5_0 blocks (22 bytes apart), as <see cref="Scales8Q4_0"/>; reads only
    /// inside the 176 bytes of the 8 blocks: words 0, 11, 22, 33 of the 128-byte window at p (blocks 0-3) and of the one
    /// at p + 48 (blocks 4-7 start at its bytes 40, 62, 84, 106).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8Q5_0(byte* p)
    {
        if (Avx512BW.IsSupported)
        {
            Vector512<ushort> idx = Vector512.Create((ushort)0, 11, 22, 33, 20, 31, 42, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            return ToFloat(Avx2.ConvertToVector256Int32(PickWindows(p, 48, idx).GetLower()).AsUInt32());
        }
        return ScalarPick8(p, 22);
    }

    /// <summary>
    /// The two fp16 fields at the start of 8 consecutive blocks <paramref name="stride"/> bytes apart (Q4_1 20 and Q5_1 24:
    /// d and m; Q8_1 activations 36: d and s) as fp32: <paramref name="d"/> lane k = first field of block k,
    /// <paramref name="m"/> the second. Reads only inside the 8 blocks; the same pick as <see cref="Scales8Q4_0"/> (one or
    /// two vpermt2w with AVX-512 BW, else one vpgatherdd of the 32-bit field pairs; the Q4_1/Q5_1 dots use it only with
    /// AVX-512 BW: with AVX-512 off on Zen 4 their two gathers per 8 blocks were slower than the table).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Pairs8(byte* p, int stride, out Vector256<float> d, out Vector256<float> m)
    {
        if (Avx512BW.IsSupported && stride is 20 or 24 or 36)
        {
            Vector256<ushort> h;
            if (stride == 20)
            {
                // All 8 pairs lie in bytes 0-63 (blocks 0-3) and 80-143 (blocks 4-7): one vpermt2w of those two registers.
                Vector512<ushort> idx = Vector512.Create((ushort)0, 10, 20, 30, 32, 42, 52, 62, 1, 11, 21, 31, 33, 43, 53, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                h = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)p), idx, Vector512.Load((ushort*)(p + 80))).GetLower();
            }
            else if (stride == 24)
            {
                // Blocks 0-3 from the window at p (words 0, 12, 24, 36), blocks 4-7 from the one at p + 64 (16, 28, 40, 52).
                Vector512<ushort> idx = Vector512.Create((ushort)0, 12, 24, 36, 16, 28, 40, 52, 1, 13, 25, 37, 17, 29, 41, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                h = PickWindows(p, 64, idx);
            }
            else
            {
                // Blocks 0-3 at words 0, 18, 36, 54 of the window at p, blocks 4-7 at the same words of the one at p + 144.
                Vector512<ushort> idx = Vector512.Create((ushort)0, 18, 36, 54, 0, 18, 36, 54, 1, 19, 37, 55, 1, 19, 37, 55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                h = PickWindows(p, 144, idx);
            }
            Vector512<float> f = ToFloat(Avx512F.ConvertToVector512UInt32(h));
            d = f.GetLower();
            m = f.GetUpper();
            return;
        }
        Vector256<int> off = Vector256.Create(0, stride, 2 * stride, 3 * stride, 4 * stride, 5 * stride, 6 * stride, 7 * stride);
        Vector256<uint> pairs = Avx2.GatherVector256((int*)p, off, 1).AsUInt32();
        d = ToFloat(pairs & Vector256.Create(0xffffu));
        m = ToFloat(pairs >>> 16);
    }

    /// <summary>vpermt2w on two 128-byte windows, at p and p + <paramref name="second"/>: the same word indices
    /// <paramref name="idx"/> pick from both, and lanes 4-7 of each 8 (bits 4-7 of each vpblendw lane) take the second
    /// window's word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> PickWindows(byte* p, int second, Vector512<ushort> idx)
    {
        Vector512<ushort> a = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)p), idx, Vector512.Load((ushort*)(p + 64)));
        Vector512<ushort> b = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)(p + second)), idx, Vector512.Load((ushort*)(p + second + 64)));
        return Avx2.Blend(a.GetLower(), b.GetLower(), 0xF0);
    }

    /// <summary>The fp16 at p as fp32 without the table, exact: for normal halves the exponent is rebiased with an
    /// integer add (no float operation at all); zero and subnormals (m·2^-24) convert the 10-bit m and scale it by 2^-24,
    /// which never touches a denormal float; inf/NaN move their exponent to 255. For one scale per large block (K-quant
    /// super-blocks): the SIMD loops leave the integer ports idle, so this costs less than the vector conversion, and
    /// less than a table line that misses the cache once weights stream from RAM.
    /// <para>Why not "shift into place and multiply by 2^112": for a subnormal half that multiplies a denormal float,
    /// which costs a microcode assist on x86 (measured on Zen 4: Q4_K and Q6_K dots 3× slower on weights of magnitude
    /// 0.02, whose super-block scales are fp16 subnormals — as in real checkpoints).</para></summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LoadExact(byte* p)
    {
        uint h = *(ushort*)p, em = h & 0x7fffu, sign = (h & 0x8000u) << 16;
        if (em - 0x0400u < 0x7800u) return BitConverter.UInt32BitsToSingle(sign | ((em << 13) + (112u << 23)));
        if (em < 0x0400u) return BitConverter.UInt32BitsToSingle(sign | BitConverter.SingleToUInt32Bits((int)em * (1f / 16777216f)));
        return BitConverter.UInt32BitsToSingle(sign | ((em << 13) + (224u << 23)));
    }

    // Exact fp16 → fp32 on 32-bit lanes, as LoadExact: exponent+mantissa moved into place (em = bits 14..0 << 13) and the
    // exponent rebiased by an integer add (+112, or +224 for exponent 31: inf/NaN), zero and subnormals from the converted
    // mantissa times 2^-37 (em < 2^23: exact, and no denormal operand anywhere), then the sign. When every lane is a normal
    // half (block scales nearly always) the rebias alone is taken, behind one compare and a predicted branch.
    private const uint ExpInfShifted = 0x7c00u << 13, ExpMinShifted = 0x0400u << 13, Rebias = 112u << 23;
    private const float SubScale = 1f / 137438953472f; // 2^-37

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Magnitude(Vector512<uint> em)
    {
        if (Vector512.LessThanAll(em - Vector512.Create(ExpMinShifted), Vector512.Create(ExpInfShifted - ExpMinShifted)))
            return (em + Vector512.Create(Rebias)).AsSingle();
        Vector512<uint> bits = em + Vector512.Create(Rebias) + (Vector512.GreaterThanOrEqual(em, Vector512.Create(ExpInfShifted)) & Vector512.Create(Rebias));
        Vector512<float> sub = Vector512.ConvertToSingle(em.AsInt32()) * Vector512.Create(SubScale);
        return Vector512.ConditionalSelect(Vector512.LessThan(em, Vector512.Create(ExpMinShifted)).AsSingle(), sub, bits.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Magnitude(Vector256<uint> em)
    {
        // Block scales are normal halves but for rare blocks: then the rebias alone is exact (one compare and a predicted
        // branch instead of the zero/subnormal/inf handling measured 12 % faster in the Q4_0 and Q8_0 dots).
        if (Vector256.LessThanAll(em - Vector256.Create(ExpMinShifted), Vector256.Create(ExpInfShifted - ExpMinShifted)))
            return (em + Vector256.Create(Rebias)).AsSingle();
        Vector256<uint> bits = em + Vector256.Create(Rebias) + (Vector256.GreaterThanOrEqual(em, Vector256.Create(ExpInfShifted)) & Vector256.Create(Rebias));
        Vector256<float> sub = Vector256.ConvertToSingle(em.AsInt32()) * Vector256.Create(SubScale);
        return Vector256.ConditionalSelect(Vector256.LessThan(em, Vector256.Create(ExpMinShifted)).AsSingle(), sub, bits.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Magnitude(Vector128<uint> em)
    {
        if (Vector128.LessThanAll(em - Vector128.Create(ExpMinShifted), Vector128.Create(ExpInfShifted - ExpMinShifted)))
            return (em + Vector128.Create(Rebias)).AsSingle();
        Vector128<uint> bits = em + Vector128.Create(Rebias) + (Vector128.GreaterThanOrEqual(em, Vector128.Create(ExpInfShifted)) & Vector128.Create(Rebias));
        Vector128<float> sub = Vector128.ConvertToSingle(em.AsInt32()) * Vector128.Create(SubScale);
        return Vector128.ConditionalSelect(Vector128.LessThan(em, Vector128.Create(ExpMinShifted)).AsSingle(), sub, bits.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector512<uint> h) =>
        (Magnitude((h & Vector512.Create(0x7fffu)) << 13).AsUInt32() | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<uint> h) =>
        (Magnitude((h & Vector256.Create(0x7fffu)) << 13).AsUInt32() | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();

    /// <summary>dst[i] = (float)h[i] for i &lt; n, exact (same bits as <c>(float)Half</c>): 16 or 8 values per step through the
    /// integer conversion. A 576-value KV-cache row in ~200 cycles against ~385 for TensorPrimitives.ConvertToSingle
    /// (both without F16C), which the attention pays once per key.</summary>
    public static void ToFloat(ushort* h, float* dst, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) ToFloat(Vector512.WidenLower(Vector256.Load(h + i).ToVector512Unsafe())).Store(dst + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) ToFloat(Vector256.WidenLower(Vector128.Load(h + i).ToVector256Unsafe())).Store(dst + i);
        for (; i < n; i++) dst[i] = ToFloat(h[i]);
    }

    /// <summary><see cref="ToFloat(Vector256{uint})"/> for lanes holding the fp16 bits in their high 16 bits (low 16 ignored):
    /// two operations fewer (no zero-extension, sign already at bit 31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloatHigh(Vector256<uint> v) =>
        (Magnitude((v & Vector256.Create(0x7fff0000u)) >>> 3).AsUInt32() | (v & Vector256.Create(0x80000000u))).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToFloat(Vector128<uint> h) =>
        (Magnitude((h & Vector128.Create(0x7fffu)) << 13).AsUInt32() | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();

    // ---- fp32 → nearest fp16 → fp32 without F16C (ggml's F16 flash-attention accumulator) ----
    // Normal halves: round the mantissa to 10 bits, ties to even, by integer add and mask (a carry moves into the exponent;
    // at 65520 and above the result reaches 2^16 and becomes inf). Subnormal halves (|x| < 2^-14): (|x| + 0.5) − 0.5 in
    // fp32 rounds |x| to a multiple of 2^-24, ties to even, which is exactly the fp16 subnormal grid. NaN lanes take the
    // scalar conversion. Same bits as (float)(Half)x (tested), several times faster than TensorPrimitives' convert pair.
    private const uint HalfNormalMin = 0x38800000, HalfOverflow = 0x47800000, F32Inf = 0x7F800000;
    // |x| below 65520 (this value's bits) rounds to a finite half.
    private const uint HalfRoundsFinite = 0x477FF000;

    // The fast loops below store fp16(x) when every lane is a normal half that stays finite (attention accumulators
    // nearly always): the rounding alone (MagicRound), behind one range check that also catches zero, subnormals, overflow,
    // inf and NaN. A vector that fails it ends the fast loop, and the rest of the row goes through the exact 256-bit,
    // 128-bit and scalar loops. The fast loops contain no call, so the JIT keeps their vectors in registers (with the
    // lane-by-lane fallback inline, it spilled and reloaded them every iteration); same bits as (float)(Half)x.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryStoreRoundedToHalf(Vector512<float> x, float* dst)
    {
        Vector512<uint> u = x.AsUInt32();
        if (!Vector512.LessThanAll((u & Vector512.Create(0x7FFFFFFFu)) - Vector512.Create(HalfNormalMin), Vector512.Create(HalfRoundsFinite - HalfNormalMin)))
            return false;
        MagicRound(x).Store(dst);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryStoreRoundedToHalf(Vector256<float> x, float* dst)
    {
        Vector256<uint> u = x.AsUInt32();
        if (!Vector256.LessThanAll((u & Vector256.Create(0x7FFFFFFFu)) - Vector256.Create(HalfNormalMin), Vector256.Create(HalfRoundsFinite - HalfNormalMin)))
            return false;
        MagicRound(x).Store(dst);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryStoreRoundedToHalf(Vector128<float> x, float* dst)
    {
        Vector128<uint> u = x.AsUInt32();
        if (!Vector128.LessThanAll((u & Vector128.Create(0x7FFFFFFFu)) - Vector128.Create(HalfNormalMin), Vector128.Create(HalfRoundsFinite - HalfNormalMin)))
            return false;
        MagicRound(x).Store(dst);
        return true;
    }

    /// <summary>x rounded to fp16's 11 significant bits, ties to even, for normal halves: x + c − c with c = ±2^(e+13) of
    /// x's sign and exponent e, so the fp32 add rounds at fp16's last place and the subtraction is exact (2 integer and 2
    /// float operations against 5 integer ones for <see cref="RoundMantissa(Vector256{uint})"/>; same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> MagicRound(Vector512<float> x)
    {
        Vector512<float> c = ((x.AsUInt32() & Vector512.Create(0xFF800000u)) + Vector512.Create(13u << 23)).AsSingle();
        return (x + c) - c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MagicRound(Vector256<float> x)
    {
        Vector256<float> c = ((x.AsUInt32() & Vector256.Create(0xFF800000u)) + Vector256.Create(13u << 23)).AsSingle();
        return (x + c) - c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MagicRound(Vector128<float> x)
    {
        Vector128<float> c = ((x.AsUInt32() & Vector128.Create(0xFF800000u)) + Vector128.Create(13u << 23)).AsSingle();
        return (x + c) - c;
    }

    /// <summary>fp16(x) for any 8 lanes (the exact loops): the vector conversion, NaN lanes through the scalar one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRoundedToHalf(Vector256<float> x, float* dst)
    {
        if (Vector256.EqualsAll(x, x)) RoundToHalf(x).Store(dst);
        else for (int k = 0; k < 8; k++) dst[k] = RoundToHalf(x.GetElement(k));
    }

    /// <summary>x (fp32 bits, either sign) with its mantissa rounded to fp16's 10 bits, ties to even (exact for normal
    /// halves: the sign bit is untouched, as no carry reaches it below 2^128); the exact loops' 256- and 128-bit lanes
    /// (the fast loops round with <see cref="MagicRound(Vector256{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RoundMantissa(Vector256<uint> a) =>
        (a + Vector256.Create(0x0FFFu) + ((a >>> 13) & Vector256<uint>.One)) & Vector256.Create(0xFFFFE000u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RoundMantissa(Vector128<uint> a) =>
        (a + Vector128.Create(0x0FFFu) + ((a >>> 13) & Vector128<uint>.One)) & Vector128.Create(0xFFFFE000u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundToHalf(Vector256<float> x)
    {
        Vector256<uint> u = x.AsUInt32(), a = u & Vector256.Create(0x7FFFFFFFu);
        Vector256<uint> r = RoundMantissa(a);
        r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(r, Vector256.Create(HalfOverflow)), Vector256.Create(F32Inf), r);
        Vector256<float> sub = (a.AsSingle() + Vector256.Create(0.5f)) - Vector256.Create(0.5f);
        r = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(HalfNormalMin)), sub.AsUInt32(), r);
        return (r | (u & Vector256.Create(0x80000000u))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> RoundToHalf(Vector128<float> x)
    {
        Vector128<uint> u = x.AsUInt32(), a = u & Vector128.Create(0x7FFFFFFFu);
        Vector128<uint> r = RoundMantissa(a);
        r = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(r, Vector128.Create(HalfOverflow)), Vector128.Create(F32Inf), r);
        Vector128<float> sub = (a.AsSingle() + Vector128.Create(0.5f)) - Vector128.Create(0.5f);
        r = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(HalfNormalMin)), sub.AsUInt32(), r);
        return (r | (u & Vector128.Create(0x80000000u))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RoundToHalf(float x) => (float)(Half)x;

    /// <summary>x[i] = (float)(Half)x[i] for i &lt; n: every value rounded to the nearest fp16 (ties to even, overflow to
    /// ±inf), in place.</summary>
    public static void RoundToHalf(float* x, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                if (!TryStoreRoundedToHalf(Vector512.Load(x + i), x + i)) break;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
                if (!TryStoreRoundedToHalf(Vector256.Load(x + i), x + i)) break;
            for (; i + 8 <= n; i += 8) StoreRoundedToHalf(Vector256.Load(x + i), x + i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4)
                if (!TryStoreRoundedToHalf(Vector128.Load(x + i), x + i)) break;
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> v = Vector128.Load(x + i);
                if (Vector128.EqualsAll(v, v)) RoundToHalf(v).Store(x + i);
                else for (int k = 0; k < 4; k++) x[i + k] = RoundToHalf(x[i + k]);
            }
        }
        for (; i < n; i++) x[i] = RoundToHalf(x[i]);
    }

    /// <summary>
    /// acc[i] = fp16(fma(v[i], s, acc[i])) for i &lt; n, v in fp16: ggml_vec_mad_f16 into an F16 accumulator (converted,
    /// one fused multiply-add, rounded back), in one pass and without F16C.
    /// </summary>
    public static void MadRoundHalf(float* acc, byte* v, float s, int n)
    {
        int i = 0;
        ushort* h = (ushort*)v;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vs = Vector256.Create(s);
            for (; i + 8 <= n; i += 8)
                if (!TryStoreRoundedToHalf(Vector256.FusedMultiplyAdd(ToFloat(Vector256.WidenLower(Vector128.Load(h + i).ToVector256Unsafe())), vs, Vector256.Load(acc + i)), acc + i))
                    break;
            for (; i + 8 <= n; i += 8)
                StoreRoundedToHalf(Vector256.FusedMultiplyAdd(ToFloat(Vector256.WidenLower(Vector128.Load(h + i).ToVector256Unsafe())), vs, Vector256.Load(acc + i)), acc + i);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> vs = Vector128.Create(s);
            for (; i + 4 <= n; i += 4)
                if (!TryStoreRoundedToHalf(Vector128.FusedMultiplyAdd(ToFloat(Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)(h + i)).AsUInt16())), vs, Vector128.Load(acc + i)), acc + i))
                    break;
            for (; i + 4 <= n; i += 4)
            {
                Vector128<float> r = Vector128.FusedMultiplyAdd(ToFloat(Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)(h + i)).AsUInt16())), vs, Vector128.Load(acc + i));
                if (Vector128.EqualsAll(r, r)) RoundToHalf(r).Store(acc + i);
                else for (int k = 0; k < 4; k++) acc[i + k] = RoundToHalf(r.GetElement(k));
            }
        }
        for (; i < n; i++) acc[i] = RoundToHalf(MathF.FusedMultiplyAdd(HalfConvert.HalfToFloat(h[i]), s, acc[i]));
    }

    /// <summary>Σ h[i]·q[i] for an fp16 row h and fp32 q (F32 products and sums): one pass, converting 8 halves at a time
    /// (the attention score against an F16 KV cache; TensorPrimitives' convert-then-dot made two passes over a scratch
    /// row).</summary>
    public static float DotHalf(byte* h, float* q, int n)
    {
        int i = 0;
        ushort* hp = (ushort*)h;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 = Vector256.FusedMultiplyAdd(ToFloat(Vector256.WidenLower(Vector128.Load(hp + i).ToVector256Unsafe())), Vector256.Load(q + i), a0);
                a1 = Vector256.FusedMultiplyAdd(ToFloat(Vector256.WidenLower(Vector128.Load(hp + i + 8).ToVector256Unsafe())), Vector256.Load(q + i + 8), a1);
            }
            sum = Vector256.Sum(a0 + a1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> a0 = default;
            for (; i + 4 <= n; i += 4)
                a0 = Vector128.FusedMultiplyAdd(ToFloat(Vector128.WidenLower(Vector128.CreateScalarUnsafe(*(ulong*)(hp + i)).AsUInt16())), Vector128.Load(q + i), a0);
            sum = Vector128.Sum(a0);
        }
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(HalfConvert.HalfToFloat(hp[i]), q[i], sum);
        return sum;
    }

    /// <summary><see cref="MadRoundHalf(float*, byte*, float, int)"/> for a V row already in fp32 (converted once for
    /// several heads): acc[i] = fp16(fma(v[i], s, acc[i])).</summary>
    public static void MadRoundHalf(float* acc, ReadOnlySpan<float> v, float s, int n)
    {
        if (v.Length < n) throw new ArgumentException("v is shorter than n", nameof(v));
        fixed (float* vp = v)
        {
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> vs = Vector512.Create(s);
                for (; i + 16 <= n; i += 16)
                    if (!TryStoreRoundedToHalf(Vector512.FusedMultiplyAdd(Vector512.Load(vp + i), vs, Vector512.Load(acc + i)), acc + i)) break;
            }
            if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> vs = Vector256.Create(s);
                for (; i + 8 <= n; i += 8)
                    if (!TryStoreRoundedToHalf(Vector256.FusedMultiplyAdd(Vector256.Load(vp + i), vs, Vector256.Load(acc + i)), acc + i)) break;
                for (; i + 8 <= n; i += 8)
                    StoreRoundedToHalf(Vector256.FusedMultiplyAdd(Vector256.Load(vp + i), vs, Vector256.Load(acc + i)), acc + i);
            }
            if (Vector128.IsHardwareAccelerated)
            {
                Vector128<float> vs = Vector128.Create(s);
                for (; i + 4 <= n; i += 4)
                    if (!TryStoreRoundedToHalf(Vector128.FusedMultiplyAdd(Vector128.Load(vp + i), vs, Vector128.Load(acc + i)), acc + i)) break;
                for (; i + 4 <= n; i += 4)
                {
                    Vector128<float> r = Vector128.FusedMultiplyAdd(Vector128.Load(vp + i), vs, Vector128.Load(acc + i));
                    if (Vector128.EqualsAll(r, r)) RoundToHalf(r).Store(acc + i);
                    else for (int k = 0; k < 4; k++) acc[i + k] = RoundToHalf(r.GetElement(k));
                }
            }
            for (; i < n; i++) acc[i] = RoundToHalf(MathF.FusedMultiplyAdd(vp[i], s, acc[i]));
        }
    }
}
