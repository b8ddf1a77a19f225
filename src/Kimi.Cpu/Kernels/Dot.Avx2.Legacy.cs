using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// AVX2 + FMA dots for the other 32-element "legacy" blocks (also used by the AVX-512 set): Q4_1/Q5_1 against Q8_1
/// activations, Q5_0/IQ4_NL against Q8_0 activations (reading the row's sidecar). Same contract as <see cref="DotScalar"/>:
/// each block's integer sum is exact, then one float multiply-add per block; four accumulators to hide FMA latency.
/// Hot loops: no allocation, no calls that are not inlined intrinsics; reads stay inside each block.
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotAvx2Legacy
{
    /// <summary>
    /// The 32 bits of a Q5 block's qh as one byte per element: 0x10 where bit j is set, else 0 (element j is byte j,
    /// matching <see cref="DotAvx2.Nibbles"/>: low nibbles in the lower 128 bits, high nibbles in the upper).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> HighBits(uint qh)
    {
        // vpshufb works within 128-bit lanes, and every lane holds the broadcast qh in its bytes 0..3: bytes 0-7 take qh
        // byte 0, 8-15 byte 1 (lower lane), 16-23 byte 2, 24-31 byte 3 (upper lane); then keep bit (j mod 8) of each.
        Vector256<byte> spread = Avx2.Shuffle(Vector256.Create(qh).AsByte(),
            Vector256.Create(0UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL).AsByte());
        Vector256<byte> bit = Vector256.Create(0x8040201008040201UL).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    // Block scales: the main loops take 8 blocks at a time and convert their fp16 scales together (Fp16.Pairs8,
    // Fp16.Scales8Q5_0/Scales8Q4_0: no table, reads stay inside the 8 blocks), one window ahead (the pick + exact convert is
    // a ~40-cycle chain; converted in the same iteration it cost 10-16% with the rows in cache); the per-block products go
    // to a stack copy and are broadcast from it (loads, no shuffles: the nibble work already keeps the shuffle units busy). Only the last
    // < 8 blocks use the 256 KiB table (Fp16.Load), whose lines miss the cache for every block once weights stream from
    // RAM with real, spread-out scales (weight and Q8_1 activation lookups alike). GEMV of 1 GiB from RAM with random
    // scales, 1 thread, Zen 4, table → picks: Q4_1 7.0 → 11.2 GB/s, Q5_0 6.9 → 11.4, Q5_1 6.7 → 10.3, IQ4_NL 7.1 → 12.3;
    // rows in cache: Q5_0 12.2 → 13.0, IQ4_NL 13.5 → 12.8, Q5_1 11.6 → 10.6, Q4_1 12.9 → 11.2 (then two 16-value
    // converts per 8 blocks, weights and activations; the activations' d and s now come converted in the Q8_1 sidecar).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> B(float* p) => Vector256.Create(*p);

    /// <summary>8 Q4_1/Q5_1 blocks (<paramref name="stride"/> bytes) against 8 Q8_1 blocks whose d and s come from the
    /// activation's sidecar (<paramref name="da"/>, <paramref name="sa"/>): dw·da and mw·sa per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scales8Q8_1(byte* w, int stride, float* da, float* sa, out Vector256<float> scale, out Vector256<float> min)
    {
        Fp16.Pairs8(w, stride, out Vector256<float> dw, out Vector256<float> mw);
        scale = dw * Vector256.Load(da);
        min = mw * Vector256.Load(sa);
    }

    // ---- Q4_1 · Q8_1: Σ_b dw·da·Σ nib·qa + mw·sa. Weight block 20 bytes (d, m, 16 × nibble pairs), activation 36 (d, s, 32 × i8).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ4_1(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 4), Vector256.Load((sbyte*)(a + 4)))), scale, acc);


    // ---- Q5_1 · Q8_1: as Q4_1 with the fifth bit from qh (q = 0..31, still unsigned for vpmaddubsw). Block 24 bytes (d, m, qh, qs).
    // Both run one loop (WithMin below).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ5_1(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 8) | HighBits(*(uint*)(w + 4)), Vector256.Load((sbyte*)(a + 4)))),
            scale, acc);


    public static float Q4_1(byte* w, byte* a, int n) => WithMin<Q4_1Block>(w, a, n);

    public static float Q5_1(byte* w, byte* a, int n) => WithMin<Q5_1Block>(w, a, n);

    /// <summary>A Q8_1-activation block type for <see cref="WithMin{T}"/>: its size and its block dot (struct type arguments
    /// make the JIT compile one specialized loop per type, with the size a constant).</summary>
    private interface IMinBlock
    {
        static abstract int Size { get; }
        static abstract Vector256<float> Dot(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc);
    }

    private readonly struct Q4_1Block : IMinBlock
    {
        public static int Size => 20;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Dot(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) => BlockQ4_1(w, a, scale, acc);
    }

    private readonly struct Q5_1Block : IMinBlock
    {
        public static int Size => 24;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Dot(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) => BlockQ5_1(w, a, scale, acc);
    }

    /// <summary>The Q4_1 / Q5_1 loop: Σ_b dw·da·Σ q·qa + mw·sa (da, sa from the activation's sidecar). Not inlined into
    /// Q4_1/Q5_1: with dynamic PGO the JIT inlined this loop into them, ran out of inlining budget and left every block's
    /// dot a call (measured 10.1 against 4.3 cycles per block).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float WithMin<T>(byte* w, byte* a, int n) where T : struct, IMinBlock
    {
        int nb = n / 32, b = 0, size = T.Size;
        float* da = ActivationFormat.Q8_1Scales(a, nb), sa = da + nb;
        float* s = stackalloc float[8];
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default, macc = default;
        Vector256<float> sc = default, mn = default;
        if (Avx512BW.IsSupported && nb >= 8) Scales8Q8_1(w, size, da, sa, out sc, out mn);
        for (; Avx512BW.IsSupported && b + 8 <= nb; b += 8, w += 8 * size, a += 8 * 36)
        {
            sc.Store(s);
            macc += mn;
            if (b + 16 <= nb) Scales8Q8_1(w + 8 * size, size, da + b + 8, sa + b + 8, out sc, out mn);
            acc0 = T.Dot(w, a, B(s), acc0);
            acc1 = T.Dot(w + 1 * size, a + 36, B(s + 1), acc1);
            acc2 = T.Dot(w + 2 * size, a + 72, B(s + 2), acc2);
            acc3 = T.Dot(w + 3 * size, a + 108, B(s + 3), acc3);
            acc0 = T.Dot(w + 4 * size, a + 144, B(s + 4), acc0);
            acc1 = T.Dot(w + 5 * size, a + 180, B(s + 5), acc1);
            acc2 = T.Dot(w + 6 * size, a + 216, B(s + 6), acc2);
            acc3 = T.Dot(w + 7 * size, a + 252, B(s + 7), acc3);
        }
        // Without AVX-512 BW (two vpgatherdd per 8 blocks, slow on AMD) the table per block: with AVX-512 off on Zen 4 the
        // gathers measured 4.2 vs 7.1 GB/s from RAM and 8 vs 13 in cache.
        float m0 = Vector256.Sum(macc), m1 = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * size, a += 4 * 36)
        {
            acc0 = T.Dot(w, a, Vector256.Create(Fp16.Load(w) * da[b]), acc0);
            acc1 = T.Dot(w + 1 * size, a + 36, Vector256.Create(Fp16.Load(w + 1 * size) * da[b + 1]), acc1);
            acc2 = T.Dot(w + 2 * size, a + 72, Vector256.Create(Fp16.Load(w + 2 * size) * da[b + 2]), acc2);
            acc3 = T.Dot(w + 3 * size, a + 108, Vector256.Create(Fp16.Load(w + 3 * size) * da[b + 3]), acc3);
            m0 += Fp16.Load(w + 2) * sa[b] + Fp16.Load(w + 2 * size + 2) * sa[b + 2];
            m1 += Fp16.Load(w + size + 2) * sa[b + 1] + Fp16.Load(w + 3 * size + 2) * sa[b + 3];
        }
        float m = m0 + m1;
        for (; b < nb; b++, w += size, a += 36)
        {
            acc0 = T.Dot(w, a, Vector256.Create(Fp16.Load(w) * da[b]), acc0);
            m += Fp16.Load(w + 2) * sa[b];
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) + m;
    }

    // ---- Q5_0 · Q8_0: value q − 16 with q = 0..31 unsigned; Σ (q−16)·qa = Σ q·qa − 2·(8·Σqa), and da·8·Σqa is the sidecar's
    // c8, so the loop is Q5_1's without the min: Σ_b dw·(da·Σ q·qa − 2·c8). Block 22 bytes (d, qh, qs).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ5_0(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 6) | HighBits(*(uint*)(w + 2)), Vector256.Load((sbyte*)(a + 2)))),
            scale, acc);

    public static float Q5_0(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb), c8 = da + nb;
        float* s = stackalloc float[8];
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default, cacc = default;
        Vector256<float> next = nb >= 8 ? Fp16.Scales8Q5_0(w) : default;
        for (; b + 8 <= nb; b += 8, w += 8 * 22, a += 8 * 34)
        {
            (next * Vector256.Load(da + b)).Store(s);
            cacc = Fma.MultiplyAdd(next, Vector256.Load(c8 + b), cacc);
            if (b + 16 <= nb) next = Fp16.Scales8Q5_0(w + 176);
            acc0 = BlockQ5_0(w, a, B(s), acc0);
            acc1 = BlockQ5_0(w + 22, a + 34, B(s + 1), acc1);
            acc2 = BlockQ5_0(w + 44, a + 68, B(s + 2), acc2);
            acc3 = BlockQ5_0(w + 66, a + 102, B(s + 3), acc3);
            acc0 = BlockQ5_0(w + 88, a + 136, B(s + 4), acc0);
            acc1 = BlockQ5_0(w + 110, a + 170, B(s + 5), acc1);
            acc2 = BlockQ5_0(w + 132, a + 204, B(s + 6), acc2);
            acc3 = BlockQ5_0(w + 154, a + 238, B(s + 7), acc3);
        }
        float c = Vector256.Sum(cacc);
        for (; b < nb; b++, w += 22, a += 34)
        {
            float d0 = Fp16.Load(w);
            acc0 = BlockQ5_0(w, a, Vector256.Create(d0 * da[b]), acc0);
            c += d0 * c8[b];
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) - 2 * c;
    }

    // ---- IQ4_NL · Q8_0: nibble → grid value with one vpshufb of the 16-entry table (both 128-bit lanes hold it), then the
    // signed-byte dot (values reach −127, so the sign trick of DotAvx2.DotI8 keeps vpmaddubsw's pair sums in i16). Block 18
    // bytes, the Q4_0 layout (scale first), so the 8 scales come from Fp16.Scales8Q4_0.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockIQ4_NL(byte* w, byte* a, Vector256<sbyte> grid, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotI8(Avx2.Shuffle(grid, DotAvx2.Nibbles(w + 2).AsSByte()), Vector256.Load((sbyte*)(a + 2)))),
            scale, acc);

    public static float IQ4_NL(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        float* s = stackalloc float[8];
        Vector128<sbyte> g = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        Vector256<sbyte> grid = Vector256.Create(g, g);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> next = nb >= 8 ? Fp16.Scales8Q4_0(w) : default;
        for (; b + 8 <= nb; b += 8, w += 8 * 18, a += 8 * 34)
        {
            (next * Vector256.Load(da + b)).Store(s);
            if (b + 16 <= nb) next = Fp16.Scales8Q4_0(w + 144);
            acc0 = BlockIQ4_NL(w, a, grid, B(s), acc0);
            acc1 = BlockIQ4_NL(w + 18, a + 34, grid, B(s + 1), acc1);
            acc2 = BlockIQ4_NL(w + 36, a + 68, grid, B(s + 2), acc2);
            acc3 = BlockIQ4_NL(w + 54, a + 102, grid, B(s + 3), acc3);
            acc0 = BlockIQ4_NL(w + 72, a + 136, grid, B(s + 4), acc0);
            acc1 = BlockIQ4_NL(w + 90, a + 170, grid, B(s + 5), acc1);
            acc2 = BlockIQ4_NL(w + 108, a + 204, grid, B(s + 6), acc2);
            acc3 = BlockIQ4_NL(w + 126, a + 238, grid, B(s + 7), acc3);
        }
        for (; b < nb; b++, w += 18, a += 34) acc0 = BlockIQ4_NL(w, a, grid, Vector256.Create(Fp16.Load(w) * da[b]), acc0);
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
