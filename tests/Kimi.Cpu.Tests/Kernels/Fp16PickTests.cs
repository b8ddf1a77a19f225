using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// The table-free scale pickers of <see cref="Fp16"/> (8 block scales at once, one exact scalar): every fp16 bit pattern
/// (subnormals, ±0, ±inf, NaN) placed in every block position must come back as the table's fp32, bit for bit (NaN as a
/// NaN). Q8_0 always uses the scalar pick; under <c>DOTNET_EnableAVX512=0</c> (tests/neon/x86-fallbacks.sh) Q4_0 and Q5_0 do too.
/// </summary>
public unsafe class Fp16PickTests
{
    private static void AssertSame(ushort h, float got)
    {
        float expected = HalfConvert.HalfToFloat(h);
        if (float.IsNaN(expected)) Assert.True(float.IsNaN(got), $"0x{h:x4}: {got}");
        else Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(got));
    }

    [Fact]
    public void ScalarLoadExactMatchesTheTableForAllBitPatterns()
    {
        ushort h;
        for (int i = 0; i < 65536; i++)
        {
            h = (ushort)i;
            AssertSame(h, Fp16.LoadExact((byte*)&h));
        }
    }

    [Fact]
    public void VectorConvertsMatchTheTableForAllBitPatterns()
    {
        for (int i = 0; i < 65536; i += 16)
        {
            Vector512<uint> h = Vector512.Create((uint)i) + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            Vector512<float> f512 = Fp16.ToFloat(h);
            Vector256<float> f256 = Fp16.ToFloat(h.GetLower()), g256 = Fp16.ToFloat(h.GetUpper());
            // High-half form, with junk in the low 16 bits that must be ignored.
            Vector256<float> hi = Fp16.ToFloatHigh((h.GetLower() << 16) | Vector256.Create(0xa5c3u));
            Vector128<float> f128 = Fp16.ToFloat(h.GetLower().GetLower());
            for (int k = 0; k < 16; k++)
            {
                ushort x = (ushort)(i + k);
                AssertSame(x, f512[k]);
                AssertSame(x, k < 8 ? f256[k] : g256[k - 8]);
                if (k < 8) AssertSame(x, hi[k]);
                if (k < 4) AssertSame(x, f128[k]);
            }
        }
    }

    [Theory]
    [InlineData(18)]
    [InlineData(22)]
    [InlineData(34)]
    public void EightScalesMatchTheTable(int stride)
    {
        if (!Avx2.IsSupported) return;
        byte* p = (byte*)NativeMemory.Alloc((nuint)(8 * stride));
        try
        {
            new Random(stride).NextBytes(new Span<byte>(p, 8 * stride));
            for (int i = 0; i < 65536; i += 8)
            {
                for (int k = 0; k < 8; k++) *(ushort*)(p + k * stride) = (ushort)(i + (k * 3 + i / 8) % 8);
                Vector256<float> got = stride switch { 18 => Fp16.Scales8Q4_0(p), 22 => Fp16.Scales8Q5_0(p), _ => Fp16.Scales8Q8_0(p) };
                for (int k = 0; k < 8; k++) AssertSame(*(ushort*)(p + k * stride), got[k]);
            }
        }
        finally { NativeMemory.Free(p); }
    }

    [Theory]
    [InlineData(20)]
    [InlineData(24)]
    [InlineData(36)]
    public void EightPairsMatchTheTable(int stride)
    {
        if (!Avx2.IsSupported) return;
        byte* p = (byte*)NativeMemory.Alloc((nuint)(8 * stride));
        try
        {
            new Random(stride).NextBytes(new Span<byte>(p, 8 * stride));
            for (int i = 0; i < 65536; i += 16)
            {
                // Both fields of all 8 blocks get distinct patterns, rotated so that each pattern visits every position.
                for (int k = 0; k < 8; k++)
                {
                    *(ushort*)(p + k * stride) = (ushort)(i + (2 * k + i / 16) % 16);
                    *(ushort*)(p + k * stride + 2) = (ushort)(i + (2 * k + 1 + i / 16) % 16);
                }
                Fp16.Pairs8(p, stride, out Vector256<float> d, out Vector256<float> m);
                for (int k = 0; k < 8; k++)
                {
                    AssertSame(*(ushort*)(p + k * stride), d[k]);
                    AssertSame(*(ushort*)(p + k * stride + 2), m[k]);
                }
            }
        }
        finally { NativeMemory.Free(p); }
    }
}
