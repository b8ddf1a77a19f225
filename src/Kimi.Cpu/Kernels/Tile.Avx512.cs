using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Q4_0 kernels for AVX-512 VBMI + GFNI (Zen 4, Ice Lake and later): the one-token dot, a two-row dot for GEMV and the
/// 4 × 4 tile for batches, all with one per-(row, token) arithmetic, so an output never depends on how a batch is tiled or
/// paired.
/// <para>
/// Windows of 8 blocks (144 bytes) are transposed on the fly: one vpermt2b over two 64-byte loads gathers quant bytes
/// 0-7 of all 8 blocks (P), a second bytes 8-15 (Q), so that 32-bit lane j of P and Q belongs to block j. The high
/// nibbles come from one gf2p8affineqb each. Against the activation's window copy (<see cref="ActivationFormat.Q8_0Windows"/>,
/// the same transposition) four vpmaddubsw, three adds and one vpmaddwd leave each block's exact integer dot in its own
/// lane; minus 8·Σq (the "−8", in integers), one cvt and one fma per window add the 8 blocks times their scale product
/// into the accumulator. The 8 weight scales, picked by a third vpermt2b into the high halves of 32-bit lanes, become fp32
/// by an arithmetic shift and a mask: the fp16 bits in fp32 position, the value times 2^-112, exact for normal and
/// subnormal halves alike; the activation's window scales carry the 2^112 back, so the product is the same IEEE product
/// dw·da. Inf/NaN scales would come out finite, so the scales are ORed together as they pass, and a row where some lane
/// has all five exponent bits set is computed again with the exact conversion (<see cref="Fp16.Q4_0ScalePicker.Convert"/>), which propagates them.
/// </para>
/// <para>
/// Measured (1 thread, 7168-wide rows, Zen 4; a /tmp harness, its streaming read at 32.8–33.4 GB/s): the AVX2 pair dot
/// 2.37 cycles per block in L1 and 24.5 GB/s from RAM; this dot 1.85 and 28.3; two rows at once (<see cref="Q4_0Pairs"/>)
/// 1.84 and 29.7–30.3 (90–91 %). The transposed windows with shift-and-mask nibbles and the exact scale conversion ran 2.00
/// in L1 but only 24 GB/s from RAM: there the loop's operations per byte count, not only its speed in L1 (fewer operations
/// let the core run further ahead of its loads).
/// </para>
/// <para>
/// Per (row, token): acc = Σ over whole windows, in order, fma(float(isum − 8·Σq), dw·da, acc); the result is
/// <c>Vector256.Sum(acc)</c>, then each block past the last whole window adds float(isum − 8·Σq)·(dw·da), in order.
/// The loads never leave the row: the four per window end at its last byte; tail blocks are read one by one.
/// </para>
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileAvx512
{
    /// <summary>
    /// How far ahead of each window <see cref="Q4_0Pairs"/> prefetches both rows (into L1, two lines per row per window).
    /// `bandwidth-ratio 1 q4_0`, medians of 5–7 rounds, alternated (Zen 4): none 87–91 %, 256 bytes 93–96 %, 320–512
    /// 92–100 %, 576 and beyond 76–83 % (prefetching further than the hardware's own stream has reached costs more than
    /// it hides), so the distance stays short: it moves lines already on their way into L1 ahead of the loads.
    /// </summary>
    private const int PrefetchAhead = 256;
    public static bool IsSupported => Avx512Vbmi.IsSupported && Gfni.V512.IsSupported;

    /// <summary>The constants of one call, held as locals (in registers), built with a run-time zero the JIT cannot fold.</summary>
    private readonly struct Consts
    {
        public readonly Vector512<byte> P, Q, S, Low4, High4;
        public readonly Vector512<short> Ones;
        public readonly Vector256<uint> Keep;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Consts(int zero)
        {
            Vector512<byte> z = Vector512.Create((byte)zero);
            P = IndexP + z;
            Q = IndexQ + z;
            S = IndexS + z;
            Low4 = Vector512.Create((byte)15) + z;
            High4 = Vector512.Create(0x1020408000000000ul).AsByte() + z; // gf2p8affineqb matrix: bit i = x bit i + 4
            Ones = Vector512<short>.One + z.AsInt16();
            Keep = Vector256.Create(0x8FFFE000u) + z.GetLower().AsUInt32(); // the sign, the exponent's 5 bits, the mantissa
        }
    }

    /// <summary>How a window's weight scales become fp32 times 2^-112.</summary>
    private interface IScales
    {
        Vector256<float> Convert(Vector256<uint> v, in Consts k, ref Vector256<uint> seen);
    }

    /// <summary>Shift and mask; ORs the scales into <c>seen</c> (one operation: the loops count operations, see the
    /// class notes), which has all five exponent bits set in a lane if any scale there is inf or NaN, and otherwise only
    /// when the row also holds scales of 2 or more, rare in Q4_0 weights: a false alarm costs one exact pass.</summary>
    private struct FastScales : IScales
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Convert(Vector256<uint> v, in Consts k, ref Vector256<uint> seen)
        {
            seen |= v;
            return ((v.AsInt32() >> 3).AsUInt32() & k.Keep).AsSingle();
        }
    }

    /// <summary>The exact conversion (inf and NaN too), scaled by 2^-112 (exact: every fp16 value stays a normal or
    /// subnormal fp32).</summary>
    private struct ExactScales : IScales
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Convert(Vector256<uint> v, in Consts k, ref Vector256<uint> seen) =>
            new Fp16.Q4_0ScalePicker(0).Convert(v) * Vector256.Create(1 / ActivationFormat.WindowScaleBias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SawInfOrNaN(Vector256<uint> seen) =>
        Vector256.EqualsAny(seen & Vector256.Create(0x7C000000u), Vector256.Create(0x7C000000u));

    // vpermt2b indices over the window's loads: P from (w, w + 72), Q from (w + 10, w + 80), the scales from (w, w + 72).
    // Byte 4·L + k of P is quant byte k (L < 8) or 4 + k (L ≥ 8) of block L mod 8; Q the same 8 bytes higher; the scales
    // land in the high halves of the 32-bit lanes 0..7.
    private static readonly Vector512<byte> IndexP = Index(0), IndexQ = Index(8), IndexS = ScaleIndex();

    private static Vector512<byte> Index(int first)
    {
        var b = new byte[64];
        int lo = first == 0 ? 0 : 10, hi = first == 0 ? 72 : 80;
        for (int p = 0; p < 64; p++)
        {
            int lane = p / 4, j = lane % 8, m = first + (lane < 8 ? 0 : 4) + p % 4, off = 18 * j + 2 + m;
            b[p] = (byte)(j < 4 ? off - lo : 64 + off - hi);
        }
        return Vector512.Create(b);
    }

    private static Vector512<byte> ScaleIndex()
    {
        var b = new byte[64];
        for (int j = 0; j < 8; j++)
        {
            int i = j < 4 ? 18 * j : 64 + 18 * j - 72;
            b[4 * j + 2] = (byte)i;
            b[4 * j + 3] = (byte)(i + 1);
        }
        return Vector512.Create(b);
    }

    /// <summary>
    /// One window of one row against one activation window: acc = fma(float(isum − 8·Σq), dw·da, acc), the weight scales
    /// dw (times 2^-112) given, the activation window aw (quants, sums, scales times 2^112).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Window(Vector512<byte> p, Vector512<byte> q, Vector256<float> dw, in Consts k, byte* aw, Vector256<float> acc)
    {
        // |each vpmaddubsw lane| ≤ 2·15·127 and four of them add up to ≤ 15 240: no 16-bit overflow.
        Vector512<short> s = (Avx512BW.MultiplyAddAdjacent(p & k.Low4, Vector512.Load((sbyte*)aw))
                + Avx512BW.MultiplyAddAdjacent(q & k.Low4, Vector512.Load((sbyte*)(aw + 64))))
            + (Avx512BW.MultiplyAddAdjacent(Gfni.V512.GaloisFieldAffineTransform(p, k.High4, 0), Vector512.Load((sbyte*)(aw + 128)))
                + Avx512BW.MultiplyAddAdjacent(Gfni.V512.GaloisFieldAffineTransform(q, k.High4, 0), Vector512.Load((sbyte*)(aw + 192))));
        Vector512<int> d = Avx512BW.MultiplyAddAdjacent(s, k.Ones);
        Vector256<int> dots = d.GetLower() + d.GetUpper() - Vector256.Load((int*)(aw + ActivationFormat.WindowSums));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(dots), dw * Vector256.Load((float*)(aw + ActivationFormat.WindowScales)), acc);
    }

    /// <summary>A window's transposed quants (P: bytes 0-7 of each block, Q: bytes 8-15) and its 8 weight scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Expand<TS>(byte* w, in Consts k, out Vector512<byte> p, out Vector512<byte> q, ref Vector256<uint> seen)
        where TS : struct, IScales
    {
        Vector512<byte> z0 = Vector512.Load(w), z1 = Vector512.Load(w + 72);
        p = Avx512Vbmi.PermuteVar64x8x2(z0, k.P, z1);
        q = Avx512Vbmi.PermuteVar64x8x2(Vector512.Load(w + 10), k.Q, Vector512.Load(w + 80));
        return default(TS).Convert(Avx512Vbmi.PermuteVar64x8x2(z0, k.S, z1).GetLower().AsUInt32(), k, ref seen);
    }

    /// <summary>The blocks past the last whole window (from block b), added one by one to r: each block's integer dot
    /// (nibbles · q − 8·Σq, exact in 16-bit lanes: ≤ 7 620 + 4 064) by 128-bit vectors, its float product scalar.</summary>
    private static float Tail(byte* w, byte* a, int nb, int b, float r)
    {
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<byte> low4 = Vector128.Create((byte)15), one8 = Vector128.Create((byte)1);
        for (; b < nb; b++)
        {
            byte* x = w + 18L * b;
            Vector128<byte> v = Vector128.Load(x + 2);
            Vector128<sbyte> q0 = Vector128.Load((sbyte*)(a + 34L * b + 2)), q1 = Vector128.Load((sbyte*)(a + 34L * b + 18));
            Vector128<short> p = Ssse3.MultiplyAddAdjacent(v & low4, q0) + Ssse3.MultiplyAddAdjacent((v.AsUInt16() >>> 4).AsByte() & low4, q1)
                - ((Ssse3.MultiplyAddAdjacent(one8, q0) + Ssse3.MultiplyAddAdjacent(one8, q1)) << 3);
            int sum = Vector128.Sum(Sse2.MultiplyAddAdjacent(p, Vector128<short>.One));
            r += sum * (Fp16.Load(x) * da[b]);
        }
        return r;
    }

    /// <summary>Q4_0 row · activation row (the dot of the AVX-512 VBMI set).</summary>
    public static float Q4_0(byte* w, byte* a, int n)
    {
        Vector256<uint> seen = default;
        float r = Q4_0<FastScales>(w, a, n, ref seen);
        return SawInfOrNaN(seen) ? Q4_0<ExactScales>(w, a, n, ref seen) : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_0<TS>(byte* w, byte* a, int n, ref Vector256<uint> seen) where TS : struct, IScales
    {
        int nb = n / 32, whole = nb & ~7;
        byte* aw = ActivationFormat.Q8_0Windows(a, nb);
        var k = new Consts(nb >> 31);
        Vector256<float> acc = default;
        byte* wb = w;
        for (int b = 0; b < whole; b += 8, wb += 144, aw += ActivationFormat.WindowBytes)
        {
            Vector256<float> dw = Expand<TS>(wb, k, out var p, out var q, ref seen);
            acc = Window(p, q, dw, k, aw, acc);
        }
        return Tail(w, a, nb, whole, Vector256.Sum(acc));
    }

    /// <summary>
    /// Pairs of Q4_0 rows · one activation row: for i &lt; pairs, y0[i] = row (w0 + i·rowBytes)'s <see cref="Q4_0"/> and
    /// y1[i] = row (w1 + i·rowBytes)'s, bit for bit, the two rows' windows interleaved. For GEMV: one thread streaming two
    /// rows far apart in the matrix (the driver pairs each row with one half a task away) outran one stream from RAM (see
    /// the class notes); rows a few KiB to 64 KiB apart measured slower than one stream (10–22 GB/s against 24 for the
    /// plain-windows dot). A run of pairs per call keeps the constants in registers from one pair to the next; called a
    /// few times per product, it is compiled fully optimized at once (tiering had it run as on-stack-replaced code: 22 GB/s
    /// instead of 28).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0Pairs(byte* w0, byte* w1, long rowBytes, int pairs, byte* a, int n, float* y0, float* y1)
    {
        int nb = n / 32, whole = nb & ~7;
        byte* aw0 = ActivationFormat.Q8_0Windows(a, nb);
        var k = new Consts(nb >> 31);
        // No calls in here: vectors live across a call are kept on the stack (all vector registers are caller-saved), so
        // the tails and the exact passes run after the loop; a pair that needs an exact pass is marked by NaN outputs.
        for (long i = 0, o0 = 0; i < pairs; i++, o0 += rowBytes)
        {
            Vector256<float> acc0 = default, acc1 = default;
            Vector256<uint> seen = default;
            byte* aw = aw0;
            for (long b = 0, o = o0; b < whole; b += 8, o += 144, aw += ActivationFormat.WindowBytes)
            {
                Sse.Prefetch0(w0 + o + PrefetchAhead);
                Sse.Prefetch0(w1 + o + PrefetchAhead);
                Sse.Prefetch0(w0 + o + PrefetchAhead + 72);
                Sse.Prefetch0(w1 + o + PrefetchAhead + 72);
                Vector256<float> d0 = Expand<FastScales>(w0 + o, k, out var p0, out var q0, ref seen);
                acc0 = Window(p0, q0, d0, k, aw, acc0);
                Vector256<float> d1 = Expand<FastScales>(w1 + o, k, out var p1, out var q1, ref seen);
                acc1 = Window(p1, q1, d1, k, aw, acc1);
            }
            bool exact = SawInfOrNaN(seen);
            y0[i] = exact ? float.NaN : Vector256.Sum(acc0);
            y1[i] = exact ? float.NaN : Vector256.Sum(acc1);
        }
        for (int i = 0; i < pairs; i++)
        {
            if (float.IsNaN(y0[i]) || float.IsNaN(y1[i])) // an inf/NaN scale (or an alarm, or a NaN result): exactly
            {
                Vector256<uint> unused = default;
                y0[i] = Q4_0<ExactScales>(w0 + i * rowBytes, a, n, ref unused);
                y1[i] = Q4_0<ExactScales>(w1 + i * rowBytes, a, n, ref unused);
            }
            else if (whole < nb)
            {
                y0[i] = Tail(w0 + i * rowBytes, a, nb, whole, y0[i]);
                y1[i] = Tail(w1 + i * rowBytes, a, nb, whole, y1[i]);
            }
        }
    }

    /// <summary>4 Q4_0 rows × 4 tokens (<c>y[4·r + t]</c>): each row's windows expanded once for the four tokens, each
    /// (row, token) with exactly the arithmetic of <see cref="Q4_0"/>.</summary>
    public static void Q4_0x4x4(byte** w, byte** a, int n, float* y)
    {
        for (int r = 0; r < 4; r++)
        {
            Vector256<uint> seen = default;
            RowTimes4<FastScales>(w[r], a, n, y + 4 * r, ref seen);
            if (SawInfOrNaN(seen)) RowTimes4<ExactScales>(w[r], a, n, y + 4 * r, ref seen);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTimes4<TS>(byte* w, byte** a, int n, float* y, ref Vector256<uint> seen) where TS : struct, IScales
    {
        int nb = n / 32, whole = nb & ~7;
        byte* a0 = ActivationFormat.Q8_0Windows(a[0], nb), a1 = ActivationFormat.Q8_0Windows(a[1], nb),
            a2 = ActivationFormat.Q8_0Windows(a[2], nb), a3 = ActivationFormat.Q8_0Windows(a[3], nb);
        var k = new Consts(nb >> 31);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        byte* wb = w;
        for (long b = 0, o = 0; b < whole; b += 8, wb += 144, o += ActivationFormat.WindowBytes)
        {
            Vector256<float> dw = Expand<TS>(wb, k, out var p, out var q, ref seen);
            acc0 = Window(p, q, dw, k, a0 + o, acc0);
            acc1 = Window(p, q, dw, k, a1 + o, acc1);
            acc2 = Window(p, q, dw, k, a2 + o, acc2);
            acc3 = Window(p, q, dw, k, a3 + o, acc3);
        }
        y[0] = Tail(w, a[0], nb, whole, Vector256.Sum(acc0));
        y[1] = Tail(w, a[1], nb, whole, Vector256.Sum(acc1));
        y[2] = Tail(w, a[2], nb, whole, Vector256.Sum(acc2));
        y[3] = Tail(w, a[3], nb, whole, Vector256.Sum(acc3));
    }
}
