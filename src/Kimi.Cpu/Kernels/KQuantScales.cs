using System.Runtime.CompilerServices;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Q4_K/Q5_K 12-byte scale field → 8 six-bit scales and 8 six-bit mins, one byte each, with three 32-bit loads instead
/// of 16 calls to <see cref="DotScalar.ScaleMinK4"/> (same values; ggml unpacks the same way with its kmask words).
/// Bytes 0-3 hold scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7; bytes 4-7 the same for the mins; bytes 8-11
/// the low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high nibble). Little-endian: byte j of the result is entry j.
/// </summary>
internal static unsafe class KQuantScales
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* q, out ulong scales, out ulong mins)
    {
        uint u0 = Unsafe.ReadUnaligned<uint>(q), u1 = Unsafe.ReadUnaligned<uint>(q + 4), u2 = Unsafe.ReadUnaligned<uint>(q + 8);
        const uint Low6 = 0x3f3f3f3f, Low4 = 0x0f0f0f0f, Low2 = 0x03030303;
        uint scHi = (u2 & Low4) | (((u0 >> 6) & Low2) << 4);
        uint mnHi = ((u2 >> 4) & Low4) | (((u1 >> 6) & Low2) << 4);
        scales = (u0 & Low6) | ((ulong)scHi << 32);
        mins = (u1 & Low6) | ((ulong)mnHi << 32);
    }
}
