using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Portable <see cref="Vector128{T}"/> dots for Q4_1/Q5_1 (Q8_1 activations) and Q5_0/IQ4_NL (Q8_0 activations).
/// Same contract as <see cref="DotScalar"/>; block values are formed as signed bytes and go through
/// <see cref="DotVector128.DotI8"/>; two accumulators.
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotVector128Legacy
{
    /// <summary>Bits 0-15 (<paramref name="lo"/>) and 16-31 (<paramref name="hi"/>) of a Q5 qh as 0x10 / 0 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HighBits(uint qh, out Vector128<byte> lo, out Vector128<byte> hi)
    {
        // Byte i of a lane takes qh byte i/8 (constant byte shuffle: pshufb / tbl), then keeps its bit i mod 8.
        Vector128<byte> q = Vector128.Create(qh).AsByte();
        Vector128<byte> bit = Vector128.Create(0x8040201008040201UL).AsByte(), b4 = Vector128.Create((byte)0x10);
        Vector128<byte> l = Vector128.Shuffle(q, Vector128.Create(0UL, 0x0101010101010101UL).AsByte());
        Vector128<byte> h = Vector128.Shuffle(q, Vector128.Create(0x0202020202020202UL, 0x0303030303030303UL).AsByte());
        lo = Vector128.Equals(l & bit, bit) & b4;
        hi = Vector128.Equals(h & bit, bit) & b4;
    }

    // Q4_1 · Q8_1: Σ_b dw·da·Σ nib·qa + mw·sa (weight block 20 bytes: d, m, qs; activation 36: d, s, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> BlockQ4_1(byte* w, byte* a, Vector128<float> acc)
    {
        Vector128<byte> q = Vector128.Load(w + 4);
        Vector128<int> p = DotVector128.DotI8((q & Vector128.Create((byte)15)).AsSByte(), Vector128.Load((sbyte*)(a + 4)))
                         + DotVector128.DotI8((q >>> 4).AsSByte(), Vector128.Load((sbyte*)(a + 20)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)), acc);
    }

    public static float Q4_1(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        Vector128<float> acc0 = default, acc1 = default;
        float m = 0;
        for (; b + 2 <= nb; b += 2, w += 40, a += 72)
        {
            acc0 = BlockQ4_1(w, a, acc0);
            acc1 = BlockQ4_1(w + 20, a + 36, acc1);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2) + Fp16.Load(w + 22) * Fp16.Load(a + 38);
        }
        if (b < nb)
        {
            acc0 = BlockQ4_1(w, a, acc0);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return Vector128.Sum(acc0 + acc1) + m;
    }

    // Q5_1 · Q8_1: q = nibble | fifth bit << 4 (0..31), plus mw·sa. Block 24 bytes (d, m, qh, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> BlockQ5_1(byte* w, byte* a, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 4), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = Vector128.Load(w + 8);
        Vector128<int> p = DotVector128.DotI8(((q & Vector128.Create((byte)15)) | hl).AsSByte(), Vector128.Load((sbyte*)(a + 4)))
                         + DotVector128.DotI8(((q >>> 4) | hh).AsSByte(), Vector128.Load((sbyte*)(a + 20)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)), acc);
    }

    public static float Q5_1(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        Vector128<float> acc0 = default, acc1 = default;
        float m = 0;
        for (; b + 2 <= nb; b += 2, w += 48, a += 72)
        {
            acc0 = BlockQ5_1(w, a, acc0);
            acc1 = BlockQ5_1(w + 24, a + 36, acc1);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2) + Fp16.Load(w + 26) * Fp16.Load(a + 38);
        }
        if (b < nb)
        {
            acc0 = BlockQ5_1(w, a, acc0);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return Vector128.Sum(acc0 + acc1) + m;
    }

    // Q5_0 · Q8_0: value (nibble | fifth bit << 4) − 16 as a signed byte. Block 22 bytes (d, qh, qs); da from the sidecar.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> BlockQ5_0(byte* w, byte* a, float scale, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 2), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = Vector128.Load(w + 6), sixteen = Vector128.Create((byte)16);
        Vector128<int> p = DotVector128.DotI8((((q & Vector128.Create((byte)15)) | hl) - sixteen).AsSByte(), Vector128.Load((sbyte*)(a + 2)))
                         + DotVector128.DotI8((((q >>> 4) | hh) - sixteen).AsSByte(), Vector128.Load((sbyte*)(a + 18)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(scale), acc);
    }

    public static float Q5_0(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<float> acc0 = default, acc1 = default;
        for (; b + 2 <= nb; b += 2, w += 44, a += 68)
        {
            acc0 = BlockQ5_0(w, a, Fp16.Load(w) * da[b], acc0);
            acc1 = BlockQ5_0(w + 22, a + 34, Fp16.Load(w + 22) * da[b + 1], acc1);
        }
        if (b < nb) acc0 = BlockQ5_0(w, a, Fp16.Load(w) * da[b], acc0);
        return Vector128.Sum(acc0 + acc1);
    }

    // IQ4_NL · Q8_0: nibble → grid value by a 16-entry byte shuffle (indices are 0..15, so the native form is exact).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> BlockIQ4_NL(byte* w, byte* a, Vector128<sbyte> grid, float scale, Vector128<float> acc)
    {
        Vector128<byte> q = Vector128.Load(w + 2);
        Vector128<int> p = DotVector128.DotI8(Vector128.ShuffleNative(grid, (q & Vector128.Create((byte)15)).AsSByte()), Vector128.Load((sbyte*)(a + 2)))
                         + DotVector128.DotI8(Vector128.ShuffleNative(grid, (q >>> 4).AsSByte()), Vector128.Load((sbyte*)(a + 18)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(scale), acc);
    }

    public static float IQ4_NL(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<sbyte> grid = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        Vector128<float> acc0 = default, acc1 = default;
        for (; b + 2 <= nb; b += 2, w += 36, a += 68)
        {
            acc0 = BlockIQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
            acc1 = BlockIQ4_NL(w + 18, a + 34, grid, Fp16.Load(w + 18) * da[b + 1], acc1);
        }
        if (b < nb) acc0 = BlockIQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
        return Vector128.Sum(acc0 + acc1);
    }
}
