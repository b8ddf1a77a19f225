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

    // ---- Q4_1 · Q8_1: Σ_b dw·da·Σ nib·qa + mw·sa. Weight block 20 bytes (d, m, 16 × nibble pairs), activation 36 (d, s, 32 × i8).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ4_1(byte* w, byte* a, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 4), Vector256.Load((sbyte*)(a + 4)))),
            Vector256.Create(Fp16.Load(w) * Fp16.Load(a)), acc);

    public static float Q4_1(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float m0 = 0, m1 = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * 20, a += 4 * 36)
        {
            acc0 = BlockQ4_1(w, a, acc0);
            acc1 = BlockQ4_1(w + 20, a + 36, acc1);
            acc2 = BlockQ4_1(w + 40, a + 72, acc2);
            acc3 = BlockQ4_1(w + 60, a + 108, acc3);
            m0 += Fp16.Load(w + 2) * Fp16.Load(a + 2) + Fp16.Load(w + 42) * Fp16.Load(a + 74);
            m1 += Fp16.Load(w + 22) * Fp16.Load(a + 38) + Fp16.Load(w + 62) * Fp16.Load(a + 110);
        }
        for (; b < nb; b++, w += 20, a += 36)
        {
            acc0 = BlockQ4_1(w, a, acc0);
            m0 += Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) + (m0 + m1);
    }

    // ---- Q5_1 · Q8_1: as Q4_1 with the fifth bit from qh (q = 0..31, still unsigned for vpmaddubsw). Block 24 bytes (d, m, qh, qs).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ5_1(byte* w, byte* a, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 8) | HighBits(*(uint*)(w + 4)), Vector256.Load((sbyte*)(a + 4)))),
            Vector256.Create(Fp16.Load(w) * Fp16.Load(a)), acc);

    public static float Q5_1(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float m0 = 0, m1 = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * 24, a += 4 * 36)
        {
            acc0 = BlockQ5_1(w, a, acc0);
            acc1 = BlockQ5_1(w + 24, a + 36, acc1);
            acc2 = BlockQ5_1(w + 48, a + 72, acc2);
            acc3 = BlockQ5_1(w + 72, a + 108, acc3);
            m0 += Fp16.Load(w + 2) * Fp16.Load(a + 2) + Fp16.Load(w + 50) * Fp16.Load(a + 74);
            m1 += Fp16.Load(w + 26) * Fp16.Load(a + 38) + Fp16.Load(w + 74) * Fp16.Load(a + 110);
        }
        for (; b < nb; b++, w += 24, a += 36)
        {
            acc0 = BlockQ5_1(w, a, acc0);
            m0 += Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) + (m0 + m1);
    }

    // ---- Q5_0 · Q8_0: value q − 16 with q = 0..31 unsigned; Σ (q−16)·qa = Σ q·qa − 2·(8·Σqa), and da·8·Σqa is the sidecar's
    // c8, so the loop is Q5_1's without the min: Σ_b dw·(da·Σ q·qa − 2·c8). Block 22 bytes (d, qh, qs).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ5_0(byte* w, byte* a, float scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotU8(DotAvx2.Nibbles(w + 6) | HighBits(*(uint*)(w + 2)), Vector256.Load((sbyte*)(a + 2)))),
            Vector256.Create(scale), acc);

    public static float Q5_0(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb), c8 = da + nb;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float c0 = 0, c1 = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * 22, a += 4 * 34)
        {
            float d0 = Fp16.Load(w), d1 = Fp16.Load(w + 22), d2 = Fp16.Load(w + 44), d3 = Fp16.Load(w + 66);
            acc0 = BlockQ5_0(w, a, d0 * da[b], acc0);
            acc1 = BlockQ5_0(w + 22, a + 34, d1 * da[b + 1], acc1);
            acc2 = BlockQ5_0(w + 44, a + 68, d2 * da[b + 2], acc2);
            acc3 = BlockQ5_0(w + 66, a + 102, d3 * da[b + 3], acc3);
            c0 += d0 * c8[b] + d2 * c8[b + 2];
            c1 += d1 * c8[b + 1] + d3 * c8[b + 3];
        }
        for (; b < nb; b++, w += 22, a += 34)
        {
            float d0 = Fp16.Load(w);
            acc0 = BlockQ5_0(w, a, d0 * da[b], acc0);
            c0 += d0 * c8[b];
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) - 2 * (c0 + c1);
    }

    // ---- IQ4_NL · Q8_0: nibble → grid value with one vpshufb of the 16-entry table (both 128-bit lanes hold it), then the
    // signed-byte dot (values reach −127, so the sign trick of DotAvx2.DotI8 keeps vpmaddubsw's pair sums in i16). Block 18 bytes.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockIQ4_NL(byte* w, byte* a, Vector256<sbyte> grid, float scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotAvx2.DotI8(Avx2.Shuffle(grid, DotAvx2.Nibbles(w + 2).AsSByte()), Vector256.Load((sbyte*)(a + 2)))),
            Vector256.Create(scale), acc);

    public static float IQ4_NL(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<sbyte> g = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        Vector256<sbyte> grid = Vector256.Create(g, g);
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (; b + 4 <= nb; b += 4, w += 4 * 18, a += 4 * 34)
        {
            acc0 = BlockIQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
            acc1 = BlockIQ4_NL(w + 18, a + 34, grid, Fp16.Load(w + 18) * da[b + 1], acc1);
            acc2 = BlockIQ4_NL(w + 36, a + 68, grid, Fp16.Load(w + 36) * da[b + 2], acc2);
            acc3 = BlockIQ4_NL(w + 54, a + 102, grid, Fp16.Load(w + 54) * da[b + 3], acc3);
        }
        for (; b < nb; b++, w += 18, a += 34) acc0 = BlockIQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
