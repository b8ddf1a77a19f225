using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Register-blocked AVX2 micro-kernels for Q4_0 and Q8_0 (the AVX2 set's; the AVX-512 set runs Q4_0 on
/// <see cref="TileAvx512"/> and Q8_0 rows of 256 columns or more on <see cref="TileQ8_0Windows"/>) (activations Q8_0 with the sidecar, <see cref="ActivationFormat"/>):
/// 4 weight rows × 4 tokens per call (<c>y[4·r + t]</c>) for batches (prefill, several sequences), and the one-row,
/// one-token dots of the AVX2 kernel set. In a tile each weight block is loaded and expanded once for all four tokens and
/// each activation block once for all four rows (prefill matmuls measured 1.16× (Q8_0) to 1.3× (Q4_0) faster than
/// pair-by-pair dots).
/// <para>
/// Tile and dot run exactly the same per-(row, token) sequence, so an output never depends on how a batch is tiled: batch
/// and step logits are the same bits: each block's integer dot as floats (p) times its scale product (s = dw·da) goes into
/// one of two accumulators, alternately, so the two fma chains hide each other's latency. Q4_0 puts two blocks in one
/// register (see the Q4_0 section). Block scales come 8 at a time (<see cref="Fp16.Scales8Q4_0"/>,
/// <see cref="Fp16.Scales8Q8_0"/>) and are multiplied by the 8 activation scales in one vmulps. Results equal
/// <see cref="DotScalar"/> up to float summation order.
/// </para>
/// A 4-row × 1-token GEMV tile was tried and dropped: no faster from RAM for Q4_0, slower for Q8_0 (four interleaved row
/// streams instead of one; streams of adjacent rows, a few KiB apart, turned out slow in general — far-apart rows are what
/// <see cref="TileAvx512.Q4_0Pairs"/> pairs). Tiles take 4 row and 4 activation pointers; a caller with fewer repeats the last one.
/// </summary>
[SkipLocalsInit]
internal static unsafe class TileAvx2
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> B(float* p) => Vector256.Create(*p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Cvt(Vector256<int> p) => Avx.ConvertToVector256Single(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> AbsDot(Vector256<byte> absW, Vector256<sbyte> w, Vector256<sbyte> a, Vector256<short> ones) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(a, w)), ones);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Q(byte* block) => Vector256.Load((sbyte*)(block + 2));

    /// <summary>
    /// Products of the Q8_0 weight scales of the window of blocks at w (8 blocks when <paramref name="whole"/>, else 4)
    /// with each of <paramref name="tokens"/> activations' scales (d[t] + b), into ps[8·t ..); the weight scales from
    /// <paramref name="rs"/> (fp32, already converted) when not null, else picked from the blocks. The products are the
    /// same IEEE products whichever path computes them (every fp16 → fp32 conversion here is exact).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WindowScales(byte* w, float* rs, bool whole, float** d, int b, int tokens, float* ps)
    {
        if (whole)
        {
            Vector256<float> sv = rs != null ? Vector256.Load(rs) : Fp16.Scales8Q8_0(w);
            for (int t = 0; t < tokens; t++) (sv * Vector256.Load(d[t] + b)).Store(ps + 8 * t);
            return;
        }
        Vector128<float> f = rs != null ? Vector128.Load(rs) : Vector128.Create(Fp16.Load(w), Fp16.Load(w + 34), Fp16.Load(w + 68), Fp16.Load(w + 102));
        for (int t = 0; t < tokens; t++) (f * Vector128.Load(d[t] + b)).Store(ps + 8 * t);
    }

    /// <summary>A Q8_0 row's <paramref name="blocks"/> scales as fp32 (for <see cref="Q8_0x4x4Scaled"/>).</summary>
    public static void Q8_0RowScales(byte* w, int blocks, float* dst)
    {
        int b = 0;
        for (; b + 8 <= blocks; b += 8) Fp16.Scales8Q8_0(w + 34L * b).Store(dst + b);
        for (; b < blocks; b++) dst[b] = Fp16.Load(w + 34L * b);
    }

    // ---- Q4_0: two blocks per register, against the activation's pair copy (ActivationFormat.Q8_0Pairs) ----
    //
    // A block pair's 2 × 16 packed bytes sit side by side in one register: x & 15 are both blocks' low nibbles, (x >> 4) & 15
    // the high ones. Their vpmaddubsw products with the pair copy's matching halves add as 16-bit (|sum| ≤ 4·15·127), one
    // vpmaddwd widens, and lanes 0-3 hold block 2k's integer dot, lanes 4-7 block 2k+1's. So vpmaddwd, cvt and the scale
    // multiply run once per two blocks (measured 1.7× the one-block-per-register loop in L1, which spent its time on them).
    // Scale vector of unit k: [s_2k ×4, s_2k+1 ×4], s = dw·da, from the window's 8 products by one vpermps.
    //
    // Per (row, token) pair, units (block pairs; an odd last block is a unit with a zero partner) alternate between two
    // accumulators: even units acc0 = fma(P, S, acc0), odd units acc1 (measured 6 % faster than summing each pair of
    // units first), result Σ(acc0 + acc1) − Σ dw·c8. The "−8" term Σ dw·c8 is a vector fma
    // per whole window of 8 blocks, then the blocks past the last whole window one by one. Tile and dot run exactly this
    // sequence, so an output never depends on how a batch is tiled.

    // The loops take their constants as locals (Q4Consts, built once per call, and Fp16.Q4_0ScalePicker): written inline,
    // the JIT reloaded each of them from memory in every iteration (measured 5 % of the dot), and it folds locals built
    // from constants back into constants, so each one adds a run-time zero (the caller's nb >> 31) that it cannot fold.
    private struct Q4Consts
    {
        public Vector256<byte> Low4;
        public Vector256<short> Ones;
        public Vector256<int> Unit0, Unit1, Unit2, Unit3;
        public Fp16.Q4_0ScalePicker Scales;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Q4Consts Create(int zero)
        {
            Vector256<int> z = Vector256.Create(zero);
            return new()
            {
                Low4 = Vector256.Create((byte)15), Ones = Vector256<short>.One,
                Unit0 = Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1) + z, Unit1 = Vector256.Create(2, 2, 2, 2, 3, 3, 3, 3) + z,
                Unit2 = Vector256.Create(4, 4, 4, 4, 5, 5, 5, 5) + z, Unit3 = Vector256.Create(6, 6, 6, 6, 7, 7, 7, 7) + z,
                Scales = new Fp16.Q4_0ScalePicker(zero),
            };
        }
    }

    /// <summary>Low and high nibbles of the block pair at w (both blocks' 16 quant bytes side by side).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Expand(byte* w, Vector256<byte> low4, out Vector256<byte> lo, out Vector256<byte> hi)
    {
        Vector256<byte> x = Vector256.Create(Vector128.Load(w + 2), Vector128.Load(w + 20));
        lo = x & low4;
        hi = (x.AsUInt16() >>> 4).AsByte() & low4;
    }

    /// <summary><see cref="Expand"/> for a last, unpaired block: the partner half is zero (nothing past the row is read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpandLast(byte* w, Vector256<byte> low4, out Vector256<byte> lo, out Vector256<byte> hi)
    {
        Vector256<byte> x = Vector256.Create(Vector128.Load(w + 2), Vector128<byte>.Zero);
        lo = x & low4;
        hi = (x.AsUInt16() >>> 4).AsByte() & low4;
    }

    /// <summary>acc = fma(the unit's integer dots as floats, scale, acc): lanes 0-3 the first block's, 4-7 the second's
    /// (qLo, qHi = the unit's 64 pair-copy bytes; scale = the window's products permuted by the unit's pattern). One level
    /// and the loads written at the call site: the 4 × 4 tile inlines 64 of these, and nested helpers (even one-line load
    /// wrappers) exceeded the JIT's inlining budget there; loads inside cost the tile 3 % in address arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Unit(Vector256<byte> lo, Vector256<byte> hi, Vector256<sbyte> qLo, Vector256<sbyte> qHi, Vector256<short> ones,
        Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, qLo) + Avx2.MultiplyAddAdjacent(hi, qHi), ones)), scale, acc);

    /// <summary>
    /// Scale products of the blocks past the last whole window (rem &lt; 8 of them, at w): pv lanes 0..rem-1 = dw·da, the
    /// rest 0 (pv is an 8-float scratch); dw into dw[0..rem).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailScales(byte* w, float* da, int rem, float* dw, float* pv)
    {
        for (int i = 0; i < 8; i++) pv[i] = 0;
        for (int i = 0; i < rem; i++)
        {
            dw[i] = Fp16.LoadExact(w + 18 * i);
            pv[i] = dw[i] * da[i];
        }
        return Vector256.Load(pv);
    }

    /// <summary>
    /// The end of one pair's sequence, for dot and tile alike: the blocks past the last whole window (w, q at the first of
    /// them; units alternating between acc0 and acc1 as in a window), then Σ(acc0 + acc1) minus the "−8" term (the windows'
    /// vector c, then the tail blocks one by one). <paramref name="scratch"/>: 16 floats. Inlined: as a call, the
    /// accumulators it takes were kept in memory through the caller's whole loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_0Finish(byte* w, byte* q, float* da, int nb, int b, Vector256<float> acc0, Vector256<float> acc1,
        Vector256<float> c, float* scratch)
    {
        float cs = Vector256.Sum(c);
        int rem = nb - b;
        if (rem > 0)
        {
            Vector256<float> pv = TailScales(w, da + b, rem, scratch, scratch + 8);
            Q4Consts k4 = Q4Consts.Create(0);
            int units = (rem + 1) / 2;
            byte* wu = w, qu = q;
            for (int k = 0; k < units; k++, wu += 36, qu += 64)
            {
                Vector256<byte> lo, hi;
                if (2 * k + 2 <= rem) Expand(wu, k4.Low4, out lo, out hi);
                else ExpandLast(wu, k4.Low4, out lo, out hi);
                Vector256<float> scale = Avx2.PermuteVar8x32(pv, k4.Unit0 + Vector256.Create(2 * k));
                if ((k & 1) == 0) acc0 = Unit(lo, hi, Vector256.Load((sbyte*)qu), Vector256.Load((sbyte*)(qu + 32)), k4.Ones, scale, acc0);
                else acc1 = Unit(lo, hi, Vector256.Load((sbyte*)qu), Vector256.Load((sbyte*)(qu + 32)), k4.Ones, scale, acc1);
            }
            for (int i = 0; i < rem; i++) cs += scratch[i] * da[nb + b + i];
        }
        return Vector256.Sum(acc0 + acc1) - cs;
    }

    /// <summary>Q4_0 row · activation (the dot of the AVX2 set), with the per-pair arithmetic of <see cref="Q4_0x4x4"/>.</summary>
    /// <remarks>
    /// Software-pipelined: each unit's weights are loaded and split into nibbles one window ahead (8 registers carried
    /// across iterations), right after the unit that frees their registers, so the vpmaddubsw of a unit never waits on its
    /// weight load. Measured 2.50 → 2.37 cycles per block in L1, 5 % faster from L2 and 7 % from L3, 1–2 % from RAM (where the
    /// stream, not the loop, limits it). Loading the activation halves a unit ahead as well measured slower (register spills).
    /// </remarks>
    public static float Q4_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* da = ActivationFormat.Q8_0Scales(a, nb), c8 = da + nb;
        byte* q = ActivationFormat.Q8_0Pairs(a, nb);
        float* scratch = stackalloc float[16];
        Q4Consts k4 = Q4Consts.Create(nb >> 31);
        Vector256<float> s0 = default, s1 = default, c = default;
        int b = 0;
        if (nb >= 8)
        {
            // The window's weight scales are also picked one iteration ahead: the pick's latency stays off the chains.
            Vector256<float> next = k4.Scales.Pick8(w);
            Expand(w, k4.Low4, out var lo0, out var hi0);
            Expand(w + 36, k4.Low4, out var lo1, out var hi1);
            Expand(w + 72, k4.Low4, out var lo2, out var hi2);
            Expand(w + 108, k4.Low4, out var lo3, out var hi3);
            for (; b + 16 <= nb; b += 8, w += 144, q += 256)
            {
                Vector256<float> dw = next;
                next = k4.Scales.Pick8(w + 144);
                Vector256<float> pv = dw * Vector256.Load(da + b);
                c = Fma.MultiplyAdd(dw, Vector256.Load(c8 + b), c);
                s0 = Unit(lo0, hi0, Vector256.Load((sbyte*)q), Vector256.Load((sbyte*)(q + 32)), k4.Ones, Avx2.PermuteVar8x32(pv, k4.Unit0), s0);
                Expand(w + 144, k4.Low4, out lo0, out hi0);
                s1 = Unit(lo1, hi1, Vector256.Load((sbyte*)(q + 64)), Vector256.Load((sbyte*)(q + 96)), k4.Ones, Avx2.PermuteVar8x32(pv, k4.Unit1), s1);
                Expand(w + 180, k4.Low4, out lo1, out hi1);
                s0 = Unit(lo2, hi2, Vector256.Load((sbyte*)(q + 128)), Vector256.Load((sbyte*)(q + 160)), k4.Ones, Avx2.PermuteVar8x32(pv, k4.Unit2), s0);
                Expand(w + 216, k4.Low4, out lo2, out hi2);
                s1 = Unit(lo3, hi3, Vector256.Load((sbyte*)(q + 192)), Vector256.Load((sbyte*)(q + 224)), k4.Ones, Avx2.PermuteVar8x32(pv, k4.Unit3), s1);
                Expand(w + 252, k4.Low4, out lo3, out hi3);
            }
            // The last whole window, already expanded.
            Vector256<float> dl = next, pl = dl * Vector256.Load(da + b);
            c = Fma.MultiplyAdd(dl, Vector256.Load(c8 + b), c);
            s0 = Unit(lo0, hi0, Vector256.Load((sbyte*)q), Vector256.Load((sbyte*)(q + 32)), k4.Ones, Avx2.PermuteVar8x32(pl, k4.Unit0), s0);
            s1 = Unit(lo1, hi1, Vector256.Load((sbyte*)(q + 64)), Vector256.Load((sbyte*)(q + 96)), k4.Ones, Avx2.PermuteVar8x32(pl, k4.Unit1), s1);
            s0 = Unit(lo2, hi2, Vector256.Load((sbyte*)(q + 128)), Vector256.Load((sbyte*)(q + 160)), k4.Ones, Avx2.PermuteVar8x32(pl, k4.Unit2), s0);
            s1 = Unit(lo3, hi3, Vector256.Load((sbyte*)(q + 192)), Vector256.Load((sbyte*)(q + 224)), k4.Ones, Avx2.PermuteVar8x32(pl, k4.Unit3), s1);
            b += 8; w += 144; q += 256;
        }
        return Q4_0Finish(w, q, da, nb, b, s0, s1, c, scratch);
    }

    /// <summary>4 Q4_0 rows × 4 tokens (<c>y[4·r + t]</c>), each pair with exactly the arithmetic of <see cref="Q4_0"/>.</summary>
    public static void Q4_0x4x4(byte** w, byte** a, int n, float* y)
    {
        int nb = n / 32;
        Vector256<float>* c = stackalloc Vector256<float>[16];
        Vector256<float>* s = stackalloc Vector256<float>[32]; // acc0 of pair i at s[i], acc1 at s[16 + i]
        // The loop constants as plain locals (a Q4Consts, with its scale picker, measured 50 % slower here).
        Vector256<byte> low4 = Vector256.Create((byte)15);
        Vector256<short> ones = Vector256<short>.One;
        Vector256<int> u0 = Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1), u1 = Vector256.Create(2, 2, 2, 2, 3, 3, 3, 3);
        Vector256<int> u2 = Vector256.Create(4, 4, 4, 4, 5, 5, 5, 5), u3 = Vector256.Create(6, 6, 6, 6, 7, 7, 7, 7);
        byte* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        float* d0 = ActivationFormat.Q8_0Scales(a[0], nb), d1 = ActivationFormat.Q8_0Scales(a[1], nb);
        float* d2 = ActivationFormat.Q8_0Scales(a[2], nb), d3 = ActivationFormat.Q8_0Scales(a[3], nb);
        byte* q0 = ActivationFormat.Q8_0Pairs(a[0], nb), q1 = ActivationFormat.Q8_0Pairs(a[1], nb);
        byte* q2 = ActivationFormat.Q8_0Pairs(a[2], nb), q3 = ActivationFormat.Q8_0Pairs(a[3], nb);
        for (int i = 0; i < 16; i++) c[i] = s[i] = s[16 + i] = default;
        int b = 0;
        // Row and token pointers are locals and each (row, token) pair takes its scale products straight from the row's
        // picked scales: a per-window table of the 16 products (stored, then reloaded) measured 21 % slower in L1.
        for (; b + 8 <= nb; b += 8)
        {
            long wo = 18L * b, qo = 32L * b;
            Q4_0TileRow(w0 + wo, d0 + b, d1 + b, d2 + b, d3 + b, nb, q0 + qo, q1 + qo, q2 + qo, q3 + qo, low4, ones, u0, u1, u2, u3, s, c);
            Q4_0TileRow(w1 + wo, d0 + b, d1 + b, d2 + b, d3 + b, nb, q0 + qo, q1 + qo, q2 + qo, q3 + qo, low4, ones, u0, u1, u2, u3, s + 4, c + 4);
            Q4_0TileRow(w2 + wo, d0 + b, d1 + b, d2 + b, d3 + b, nb, q0 + qo, q1 + qo, q2 + qo, q3 + qo, low4, ones, u0, u1, u2, u3, s + 8, c + 8);
            Q4_0TileRow(w3 + wo, d0 + b, d1 + b, d2 + b, d3 + b, nb, q0 + qo, q1 + qo, q2 + qo, q3 + qo, low4, ones, u0, u1, u2, u3, s + 12, c + 12);
        }
        Q4_0TileFinish(w, a, nb, b, s, c, y);
    }

    /// <summary>The 16 pairs' <see cref="Q4_0Finish"/>, out of line: inlined into the tile it made the JIT stop keeping the
    /// window loop's values in registers (measured 3.0 against 1.7 cycles per (row, token, block)).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Q4_0TileFinish(byte** w, byte** a, int nb, int b, Vector256<float>* s, Vector256<float>* c, float* y)
    {
        if (b == nb) // no blocks past the last window (Kimi K2's 7168- and 2048-wide rows): Q4_0Finish's sums, 4 at a time
        {
            for (int r = 0; r < 4; r++)
            {
                int i = 4 * r;
                Vector128<float> acc = Sum4(s[i] + s[16 + i], s[i + 1] + s[17 + i], s[i + 2] + s[18 + i], s[i + 3] + s[19 + i]);
                (acc - Sum4(c[i], c[i + 1], c[i + 2], c[i + 3])).Store(y + i);
            }
            return;
        }
        float* scratch = stackalloc float[16];
        for (int r = 0; r < 4; r++)
            for (int t = 0; t < 4; t++)
            {
                int i = 4 * r + t;
                y[i] = Q4_0Finish(w[r] + 18L * b, ActivationFormat.Q8_0Pairs(a[t], nb) + 32L * b, ActivationFormat.Q8_0Scales(a[t], nb),
                    nb, b, s[i], s[16 + i], c[i], scratch);
            }
    }

    /// <summary>One row's window (8 blocks at wr) against the 4 tokens (their scales at d0…d3, "−8" terms nb floats
    /// further, pair copies at q0…q3): accumulators s[t], s[16 + t] and c[t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4_0TileRow(byte* wr, float* d0, float* d1, float* d2, float* d3, int nb, byte* q0, byte* q1, byte* q2, byte* q3,
        Vector256<byte> low4, Vector256<short> ones, Vector256<int> u0, Vector256<int> u1, Vector256<int> u2, Vector256<int> u3,
        Vector256<float>* s, Vector256<float>* c)
    {
        Vector256<float> dw = Fp16.Scales8Q4_0(wr);
        Expand(wr, low4, out var lo0, out var hi0);
        Expand(wr + 36, low4, out var lo1, out var hi1);
        Expand(wr + 72, low4, out var lo2, out var hi2);
        Expand(wr + 108, low4, out var lo3, out var hi3);
        Q4_0TilePair(dw, d0, nb, q0, lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, ones, u0, u1, u2, u3, s, c);
        Q4_0TilePair(dw, d1, nb, q1, lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, ones, u0, u1, u2, u3, s + 1, c + 1);
        Q4_0TilePair(dw, d2, nb, q2, lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, ones, u0, u1, u2, u3, s + 2, c + 2);
        Q4_0TilePair(dw, d3, nb, q3, lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, ones, u0, u1, u2, u3, s + 3, c + 3);
    }

    /// <summary>One (row, token) pair's window: the dot's window step (<see cref="Q4_0"/>) on the expanded row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4_0TilePair(Vector256<float> dw, float* d, int nb, byte* qt, Vector256<byte> lo0, Vector256<byte> hi0,
        Vector256<byte> lo1, Vector256<byte> hi1, Vector256<byte> lo2, Vector256<byte> hi2, Vector256<byte> lo3, Vector256<byte> hi3,
        Vector256<short> ones, Vector256<int> u0, Vector256<int> u1, Vector256<int> u2, Vector256<int> u3, Vector256<float>* s, Vector256<float>* c)
    {
        Vector256<float> p = dw * Vector256.Load(d);
        c[0] = Fma.MultiplyAdd(dw, Vector256.Load(d + nb), c[0]);
        Vector256<float> acc0 = Unit(lo0, hi0, Vector256.Load((sbyte*)qt), Vector256.Load((sbyte*)(qt + 32)), ones, Avx2.PermuteVar8x32(p, u0), s[0]);
        Vector256<float> acc1 = Unit(lo1, hi1, Vector256.Load((sbyte*)(qt + 64)), Vector256.Load((sbyte*)(qt + 96)), ones, Avx2.PermuteVar8x32(p, u1), s[16]);
        s[0] = Unit(lo2, hi2, Vector256.Load((sbyte*)(qt + 128)), Vector256.Load((sbyte*)(qt + 160)), ones, Avx2.PermuteVar8x32(p, u2), acc0);
        s[16] = Unit(lo3, hi3, Vector256.Load((sbyte*)(qt + 192)), Vector256.Load((sbyte*)(qt + 224)), ones, Avx2.PermuteVar8x32(p, u3), acc1);
    }

    // ---- Q8_0: per (row, token) pair, blocks alternate between two accumulators (even blocks acc0 = fma(p, s, acc0), odd
    // ones acc1; measured 8 % faster than summing groups of 4 first), result Σ(acc0 + acc1). ----

    /// <summary>A Q8_0 block's integer dot with the activation block at a, as 8 float lanes (sign trick for vpmaddubsw).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ8(Vector256<byte> absW, Vector256<sbyte> w, byte* a, Vector256<short> ones) =>
        Cvt(AbsDot(absW, w, Q(a), ones));

    /// <summary>Q8_0 row · activation (the dot of the AVX2 set), with the per-pair arithmetic of <see cref="Q8_0x4x4"/>.</summary>
    public static float Q8_0(byte* w, byte* a, int n)
    {
        int nb = n / 32;
        float* d = ActivationFormat.Q8_0Scales(a, nb);
        // Lane-broadcast patterns as locals: written inline, the JIT reloaded them from memory in every iteration.
        Vector256<int> i0 = Vector256.Create(0), i1 = Vector256.Create(1), i2 = Vector256.Create(2), i3 = Vector256.Create(3);
        Vector256<int> i4 = Vector256.Create(4), i5 = Vector256.Create(5), i6 = Vector256.Create(6), i7 = Vector256.Create(7);
        Vector256<short> ones = Vector256<short>.One;
        Vector256<float> s0 = default, s1 = default;
        int b = 0;
        // The next window's weight scales are picked one iteration ahead (measured 12 % faster than in place).
        Vector256<float> next = nb >= 8 ? Fp16.Scales8Q8_0(w) : default;
        for (; b + 8 <= nb; b += 8, w += 272, a += 272)
        {
            Vector256<float> pv = next * Vector256.Load(d + b);
            if (b + 16 <= nb) next = Fp16.Scales8Q8_0(w + 272);
            Vector256<sbyte> x = Q(w);
            s0 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a, ones), Avx2.PermuteVar8x32(pv, i0), s0);
            x = Q(w + 34);
            s1 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 34, ones), Avx2.PermuteVar8x32(pv, i1), s1);
            x = Q(w + 68);
            s0 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 68, ones), Avx2.PermuteVar8x32(pv, i2), s0);
            x = Q(w + 102);
            s1 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 102, ones), Avx2.PermuteVar8x32(pv, i3), s1);
            x = Q(w + 136);
            s0 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 136, ones), Avx2.PermuteVar8x32(pv, i4), s0);
            x = Q(w + 170);
            s1 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 170, ones), Avx2.PermuteVar8x32(pv, i5), s1);
            x = Q(w + 204);
            s0 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 204, ones), Avx2.PermuteVar8x32(pv, i6), s0);
            x = Q(w + 238);
            s1 = Fma.MultiplyAdd(BlockQ8(Avx2.Abs(x), x, a + 238, ones), Avx2.PermuteVar8x32(pv, i7), s1);
        }
        for (; b < nb; b++, w += 34, a += 34)
        {
            Vector256<sbyte> x = Q(w);
            Vector256<float> p = BlockQ8(Avx2.Abs(x), x, a, ones), scale = Vector256.Create(Fp16.Load(w) * d[b]);
            if ((b & 1) == 0) s0 = Fma.MultiplyAdd(p, scale, s0);
            else s1 = Fma.MultiplyAdd(p, scale, s1);
        }
        return Vector256.Sum(s0 + s1);
    }

    /// <summary>One row's 4 blocks at wr against the 4 tokens' blocks (at0..at3): written out, as a loop the JIT
    /// recomputed every pointer from the arrays per token (GEMM 2048 → 2048, 512 tokens, 1 thread: 3.46 → 3.15 cycles per
    /// (row, token, block)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Row(byte* wr, byte* at0, byte* at1, byte* at2, byte* at3, float* p, Vector256<short> ones, Vector256<float>* s)
    {
        Vector256<sbyte> x0 = Q(wr), x1 = Q(wr + 34), x2 = Q(wr + 68), x3 = Q(wr + 102);
        Vector256<byte> ax0 = Avx2.Abs(x0), ax1 = Avx2.Abs(x1), ax2 = Avx2.Abs(x2), ax3 = Avx2.Abs(x3);
        Q8Pair(ax0, x0, ax1, x1, ax2, x2, ax3, x3, at0, p, ones, s);
        Q8Pair(ax0, x0, ax1, x1, ax2, x2, ax3, x3, at1, p + 8, ones, s + 1);
        Q8Pair(ax0, x0, ax1, x1, ax2, x2, ax3, x3, at2, p + 16, ones, s + 2);
        Q8Pair(ax0, x0, ax1, x1, ax2, x2, ax3, x3, at3, p + 24, ones, s + 3);
    }

    /// <summary>One (row, token) pair's 4 blocks of a tile step: acc0 (at s) takes blocks 0 and 2, acc1 (at s + 16)
    /// blocks 1 and 3, as in <see cref="Q8_0"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8Pair(Vector256<byte> ax0, Vector256<sbyte> x0, Vector256<byte> ax1, Vector256<sbyte> x1, Vector256<byte> ax2,
        Vector256<sbyte> x2, Vector256<byte> ax3, Vector256<sbyte> x3, byte* at, float* p, Vector256<short> ones, Vector256<float>* s)
    {
        Vector256<float> acc0 = Fma.MultiplyAdd(BlockQ8(ax0, x0, at, ones), B(p), s[0]);
        Vector256<float> acc1 = Fma.MultiplyAdd(BlockQ8(ax1, x1, at + 34, ones), B(p + 1), s[16]);
        s[0] = Fma.MultiplyAdd(BlockQ8(ax2, x2, at + 68, ones), B(p + 2), acc0);
        s[16] = Fma.MultiplyAdd(BlockQ8(ax3, x3, at + 102, ones), B(p + 3), acc1);
    }

    /// <summary>4 Q8_0 rows × 4 tokens (<c>y[4·r + t]</c>), each pair with exactly the arithmetic of <see cref="Q8_0"/>.</summary>
    public static void Q8_0x4x4(byte** w, byte** a, int n, float* y) => Q8_0Tile(w, a, n, y, null);

    /// <summary><see cref="Q8_0x4x4"/> with the rows' block scales already converted (<c>rs[r·n/32 + b]</c>, from
    /// <see cref="Q8_0RowScales"/>): a batch's driver converts them once per row group instead of once per 4 tokens.</summary>
    public static void Q8_0x4x4Scaled(byte** w, byte** a, int n, float* y, float* rs) => Q8_0Tile(w, a, n, y, rs);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q8_0Tile(byte** w, byte** a, int n, float* y, float* rs)
    {
        int nb = n / 32;
        float* ps = stackalloc float[128]; // [row][token][8]: the window's scale products
        float** d = stackalloc float*[4];
        Vector256<float>* s = stackalloc Vector256<float>[32]; // acc0 of pair i at s[i], acc1 at s[16 + i]
        Vector256<short> ones = Vector256<short>.One; // a local, as the dot's (inline, every vpmaddwd took it from memory)
        for (int i = 0; i < 32; i++) s[i] = default;
        for (int t = 0; t < 4; t++) d[t] = ActivationFormat.Q8_0Scales(a[t], nb);
        byte* a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        int b = 0;
        for (; b + 4 <= nb; b += 4)
        {
            long o = 34L * b;
            if ((b & 7) == 0)
            {
                bool whole = b + 8 <= nb;
                for (int r = 0; r < 4; r++) WindowScales(w[r] + o, rs == null ? null : rs + r * nb + b, whole, d, b, 4, ps + 32 * r);
            }
            byte* at0 = a0 + o, at1 = a1 + o, at2 = a2 + o, at3 = a3 + o;
            float* p = ps + (b & 4);
            Q8Row(w0 + o, at0, at1, at2, at3, p, ones, s);
            Q8Row(w1 + o, at0, at1, at2, at3, p + 32, ones, s + 4);
            Q8Row(w2 + o, at0, at1, at2, at3, p + 64, ones, s + 8);
            Q8Row(w3 + o, at0, at1, at2, at3, p + 96, ones, s + 12);
        }
        for (; b < nb; b++)
            for (int r = 0; r < 4; r++)
            {
                byte* wr = w[r] + 34L * b;
                Vector256<sbyte> x = Q(wr);
                Vector256<byte> ax = Avx2.Abs(x);
                float f = Fp16.Load(wr);
                for (int t = 0; t < 4; t++)
                {
                    int i = 4 * r + t + 16 * (b & 1);
                    s[i] = Fma.MultiplyAdd(BlockQ8(ax, x, a[t] + 34L * b, ones), Vector256.Create(f * d[t][b]), s[i]);
                }
            }
        for (int r = 0; r < 4; r++)
            Sum4(s[4 * r] + s[16 + 4 * r], s[4 * r + 1] + s[17 + 4 * r], s[4 * r + 2] + s[18 + 4 * r], s[4 * r + 3] + s[19 + 4 * r]).Store(y + 4 * r);
    }

    /// <summary>
    /// [Sum(a), Sum(b), Sum(c), Sum(d)] with <see cref="Vector256.Sum{T}"/>'s order, ((x0+x1)+(x2+x3)) + ((x4+x5)+(x6+x7)),
    /// the dots' final reduction, as a transposition: two shuffle-add rounds and one add instead of four reductions
    /// (a tile over short rows, such as the 128-wide attn_k_b heads, spent a third of its time in its 16 sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        Vector256<float> ab = Avx.Shuffle(a, b, 0x88) + Avx.Shuffle(a, b, 0xDD); // [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, …]
        Vector256<float> cd = Avx.Shuffle(c, d, 0x88) + Avx.Shuffle(c, d, 0xDD);
        Vector256<float> h = Avx.Shuffle(ab, cd, 0x88) + Avx.Shuffle(ab, cd, 0xDD); // [(a0+a1)+(a2+a3), … | (a4+a5)+(a6+a7), …]
        return h.GetLower() + h.GetUpper();
    }
}
