using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// ARM64 AdvSimd block kernels for Q4_1/Q5_1 (Q8_1 activations) and Q5_0/IQ4_NL (Q8_0 activations), run by
/// <see cref="Legacy128{T}"/>. Block values become signed bytes (tbl for the IQ4_NL grid and the Q5 high-bit spread, cmtst
/// for the bit test) and go through <see cref="DotNeon.DotI8"/> (sdot, or smull + sadalp without dotprod). Not run on x86: tested under qemu-aarch64 (tests/neon/run.sh).
/// </summary>
[SkipLocalsInit]
internal readonly unsafe struct NeonLegacyBlocks : ILegacyBlocks128
{
    /// <summary>Bits 0-15 (<paramref name="lo"/>) and 16-31 (<paramref name="hi"/>) of a Q5 qh as 0x10 / 0 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HighBits(uint qh, out Vector128<byte> lo, out Vector128<byte> hi)
    {
        // tbl: byte i takes qh byte i/8; cmtst against 1 << (i mod 8) gives 0xFF where the bit is set.
        Vector128<byte> q = Vector128.Create(qh).AsByte();
        Vector128<byte> bit = Vector128.Create(0x8040201008040201UL).AsByte(), b4 = Vector128.Create((byte)0x10);
        lo = AdvSimd.And(AdvSimd.CompareTest(AdvSimd.Arm64.VectorTableLookup(q, Vector128.Create(0UL, 0x0101010101010101UL).AsByte()), bit), b4);
        hi = AdvSimd.And(AdvSimd.CompareTest(AdvSimd.Arm64.VectorTableLookup(q, Vector128.Create(0x0202020202020202UL, 0x0303030303030303UL).AsByte()), bit), b4);
    }

    // Q4_1 · Q8_1: Σ_b dw·da·Σ nib·qa + mw·sa (weight block 20 bytes: d, m, qs; activation 36: d, s, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Q4_1(byte* w, byte* a, Vector128<float> acc)
    {
        Vector128<byte> q = AdvSimd.LoadVector128(w + 4);
        Vector128<sbyte> lo = AdvSimd.And(q, Vector128.Create((byte)15)).AsSByte(), hi = AdvSimd.ShiftRightLogical(q, 4).AsSByte();
        Vector128<int> p = DotNeon.DotI8(DotNeon.DotI8(default, lo, AdvSimd.LoadVector128((sbyte*)(a + 4))), hi, AdvSimd.LoadVector128((sbyte*)(a + 20)));
        return AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)));
    }

    // Q5_1 · Q8_1: q = nibble | fifth bit << 4 (0..31), plus mw·sa. Block 24 bytes (d, m, qh, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Q5_1(byte* w, byte* a, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 4), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = AdvSimd.LoadVector128(w + 8);
        Vector128<sbyte> lo = AdvSimd.Or(AdvSimd.And(q, Vector128.Create((byte)15)), hl).AsSByte();
        Vector128<sbyte> hi = AdvSimd.Or(AdvSimd.ShiftRightLogical(q, 4), hh).AsSByte();
        Vector128<int> p = DotNeon.DotI8(DotNeon.DotI8(default, lo, AdvSimd.LoadVector128((sbyte*)(a + 4))), hi, AdvSimd.LoadVector128((sbyte*)(a + 20)));
        return AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)));
    }

    // Q5_0 · Q8_0: value (nibble | fifth bit << 4) − 16 as a signed byte. Block 22 bytes (d, qh, qs); da from the sidecar.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Q5_0(byte* w, byte* a, float scale, Vector128<float> acc)
    {
        HighBits(*(uint*)(w + 2), out Vector128<byte> hl, out Vector128<byte> hh);
        Vector128<byte> q = AdvSimd.LoadVector128(w + 6), sixteen = Vector128.Create((byte)16);
        Vector128<sbyte> lo = AdvSimd.Subtract(AdvSimd.Or(AdvSimd.And(q, Vector128.Create((byte)15)), hl), sixteen).AsSByte();
        Vector128<sbyte> hi = AdvSimd.Subtract(AdvSimd.Or(AdvSimd.ShiftRightLogical(q, 4), hh), sixteen).AsSByte();
        Vector128<int> p = DotNeon.DotI8(DotNeon.DotI8(default, lo, AdvSimd.LoadVector128((sbyte*)(a + 2))), hi, AdvSimd.LoadVector128((sbyte*)(a + 18)));
        return AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(p), Vector128.Create(scale));
    }

    // IQ4_NL · Q8_0: nibble → grid value with one tbl each for the low and the high nibbles. Block 18 bytes (d, qs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> IQ4_NL(byte* w, byte* a, Vector128<sbyte> grid, float scale, Vector128<float> acc)
    {
        Vector128<byte> q = AdvSimd.LoadVector128(w + 2);
        Vector128<sbyte> lo = AdvSimd.Arm64.VectorTableLookup(grid, AdvSimd.And(q, Vector128.Create((byte)15)).AsSByte());
        Vector128<sbyte> hi = AdvSimd.Arm64.VectorTableLookup(grid, AdvSimd.ShiftRightLogical(q, 4).AsSByte());
        Vector128<int> p = DotNeon.DotI8(DotNeon.DotI8(default, lo, AdvSimd.LoadVector128((sbyte*)(a + 2))), hi, AdvSimd.LoadVector128((sbyte*)(a + 18)));
        return AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(p), Vector128.Create(scale));
    }
}
