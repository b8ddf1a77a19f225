using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Portable <see cref="Vector128{T}"/> block kernels for Q4_1/Q5_1 (Q8_1 activations) and Q5_0/IQ4_NL (Q8_0
/// activations), run by <see cref="Legacy128{T}"/>; block values are formed as signed bytes and go through
/// <see cref="DotVector128.DotI8"/>.
/// </summary>
[SkipLocalsInit]
internal readonly unsafe struct Vector128LegacyBlocks : ILegacyBlocks128
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
    public static Vector128<float> Q4_1(byte* w, byte* a, Vector128<float> acc)
    {
        Vector128<byte> q = Vector128.Load(w + 4);
        Vector128<int> p = DotVector128.DotI8((q & Vector128.Create((byte)15)).AsSByte(), Vector128.Load((sbyte*)(a + 4)))
                         + DotVector128.DotI8((q >>> 4).AsSByte(), Vector128.Load((sbyte*)(a + 20)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)), acc);
    }

    // Q5_1 · Q8_1: q = nibble | fifth bit << 4 (0..31), plus mw·sa. Block 24 bytes (d, m, qh, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Q5_1(byte* w, byte* a, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 4), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = Vector128.Load(w + 8);
        Vector128<int> p = DotVector128.DotI8(((q & Vector128.Create((byte)15)) | hl).AsSByte(), Vector128.Load((sbyte*)(a + 4)))
                         + DotVector128.DotI8(((q >>> 4) | hh).AsSByte(), Vector128.Load((sbyte*)(a + 20)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)), acc);
    }

    // Q5_0 · Q8_0: value (nibble | fifth bit << 4) − 16 as a signed byte. Block 22 bytes (d, qh, qs); da from the sidecar.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Q5_0(byte* w, byte* a, float scale, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 2), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = Vector128.Load(w + 6), sixteen = Vector128.Create((byte)16);
        Vector128<int> p = DotVector128.DotI8((((q & Vector128.Create((byte)15)) | hl) - sixteen).AsSByte(), Vector128.Load((sbyte*)(a + 2)))
                         + DotVector128.DotI8((((q >>> 4) | hh) - sixteen).AsSByte(), Vector128.Load((sbyte*)(a + 18)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(scale), acc);
    }

    // IQ4_NL · Q8_0: nibble → grid value by a 16-entry byte shuffle (indices are 0..15, so the native form is exact).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> IQ4_NL(byte* w, byte* a, Vector128<sbyte> grid, float scale, Vector128<float> acc)
    {
        Vector128<byte> q = Vector128.Load(w + 2);
        Vector128<int> p = DotVector128.DotI8(Vector128.ShuffleNative(grid, (q & Vector128.Create((byte)15)).AsSByte()), Vector128.Load((sbyte*)(a + 2)))
                         + DotVector128.DotI8(Vector128.ShuffleNative(grid, (q >>> 4).AsSByte()), Vector128.Load((sbyte*)(a + 18)));
        return Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(p), Vector128.Create(scale), acc);
    }
}
