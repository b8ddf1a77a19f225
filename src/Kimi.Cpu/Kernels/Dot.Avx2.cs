using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// AVX2 + FMA dot products (256-bit). Same contract as <see cref="DotScalar"/>. int8 products use vpmaddubsw (u8·s8 → i16
/// pairs) then vpmaddwd with ones (→ i32): exact for |q| ≤ 127 (Q8 activations never hold −128).
/// Hot loops: no allocation, no calls that are not inlined intrinsics.
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotAvx2
{
    public static float F32(byte* w, byte* a, int n)
    {
        float* x = (float*)w, y = (float*)a;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            s0 = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s0);
            s1 = Fma.MultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), s1);
            s2 = Fma.MultiplyAdd(Vector256.Load(x + i + 16), Vector256.Load(y + i + 16), s2);
            s3 = Fma.MultiplyAdd(Vector256.Load(x + i + 24), Vector256.Load(y + i + 24), s3);
        }
        for (; i <= n - 8; i += 8) s0 = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s0);
        float s = Vector256.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) s += x[i] * y[i];
        return s;
    }

    public static float F16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        Vector256<float> s0 = default, s1 = default;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            s0 = Fma.MultiplyAdd(Fp16.ToFloat(Avx2.ConvertToVector256Int32(x + i).AsUInt32()), Vector256.Load(y + i), s0);
            s1 = Fma.MultiplyAdd(Fp16.ToFloat(Avx2.ConvertToVector256Int32(x + i + 8).AsUInt32()), Vector256.Load(y + i + 8), s1);
        }
        for (; i <= n - 8; i += 8) s0 = Fma.MultiplyAdd(Fp16.ToFloat(Avx2.ConvertToVector256Int32(x + i).AsUInt32()), Vector256.Load(y + i), s0);
        float s = Vector256.Sum(s0 + s1);
        for (; i < n; i++) s += Fp16.ToFloat(x[i]) * y[i];
        return s;
    }

    public static float BF16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        Vector256<float> s0 = default, s1 = default;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            s0 = Fma.MultiplyAdd((Avx2.ConvertToVector256Int32(x + i) << 16).AsSingle(), Vector256.Load(y + i), s0);
            s1 = Fma.MultiplyAdd((Avx2.ConvertToVector256Int32(x + i + 8) << 16).AsSingle(), Vector256.Load(y + i + 8), s1);
        }
        for (; i <= n - 8; i += 8) s0 = Fma.MultiplyAdd((Avx2.ConvertToVector256Int32(x + i) << 16).AsSingle(), Vector256.Load(y + i), s0);
        float s = Vector256.Sum(s0 + s1);
        for (; i < n; i++) s += BitConverter.UInt32BitsToSingle((uint)x[i] << 16) * y[i];
        return s;
    }

    /// <summary>Σ x·y of signed bytes in 8 i32 lanes (each lane a sum of 4 products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> DotI8(Vector256<sbyte> x, Vector256<sbyte> y)
    {
        // vpmaddubsw needs one unsigned operand: |x| · (y with x's sign).
        Vector256<short> p = Avx2.MultiplyAddAdjacent(Avx2.Abs(x), Avx2.Sign(y, x));
        return Avx2.MultiplyAddAdjacent(p, Vector256<short>.One);
    }

    /// <summary>Σ nib·y for unsigned nibbles (0..15) in 8 i32 lanes; the Q4_0 "−8" is applied per block from the sidecar.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> DotU8(Vector256<byte> nib, Vector256<sbyte> y) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nib, y), Vector256<short>.One);

    /// <summary>16 packed bytes → 32 nibbles: low nibbles in the lower 128 bits, high nibbles in the upper.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Nibbles(byte* p)
    {
        Vector256<byte> t = Avx2.BroadcastVector128ToVector256(p);
        Vector256<byte> h = (t.AsUInt16() >>> 4).AsByte();
        return Avx2.Blend(t.AsInt32(), h.AsInt32(), 0xF0).AsByte() & Vector256.Create((byte)15);
    }

    // Q8_0 and Q4_0 cores, now only for the odd tail blocks of the (unselected) AVX-512 kernels: the AVX2 set runs
    // TileAvx2.Q8_0/Q4_0, whose arithmetic matches the register-blocked tiles. Each block's scale is a scalar table lookup
    // times the activation scale from the sidecar, then a broadcast; four accumulators.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ8_0(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotI8(Vector256.Load((sbyte*)(w + 2)), Vector256.Load((sbyte*)(a + 2)))), scale, acc);

    internal static float Q8_0Core(byte* w, byte* a, float* da, int nb)
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        int b = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * 34, a += 4 * 34)
        {
            acc0 = BlockQ8_0(w, a, Vector256.Create(Fp16.Load(w) * da[b]), acc0);
            acc1 = BlockQ8_0(w + 34, a + 34, Vector256.Create(Fp16.Load(w + 34) * da[b + 1]), acc1);
            acc2 = BlockQ8_0(w + 68, a + 68, Vector256.Create(Fp16.Load(w + 68) * da[b + 2]), acc2);
            acc3 = BlockQ8_0(w + 102, a + 102, Vector256.Create(Fp16.Load(w + 102) * da[b + 3]), acc3);
        }
        for (; b < nb; b++, w += 34, a += 34) acc0 = BlockQ8_0(w, a, Vector256.Create(Fp16.Load(w) * da[b]), acc0);
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BlockQ4_0(byte* w, byte* a, Vector256<float> scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(DotU8(Nibbles(w + 2), Vector256.Load((sbyte*)(a + 2)))), scale, acc);

    /// <summary>Σ_b dw·(da·Σ nib·qa − c8) with c8 = da·8·Σqa from the sidecar: no per-block "−8" work in the vector loop.</summary>
    internal static float Q4_0Core(byte* w, byte* a, float* da, float* c8, int nb)
    {
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        int b = 0;
        for (; b + 4 <= nb; b += 4, w += 4 * 18, a += 4 * 34)
        {
            float d0 = Fp16.Load(w), d1 = Fp16.Load(w + 18), d2 = Fp16.Load(w + 36), d3 = Fp16.Load(w + 54);
            acc0 = BlockQ4_0(w, a, Vector256.Create(d0 * da[b]), acc0);
            acc1 = BlockQ4_0(w + 18, a + 34, Vector256.Create(d1 * da[b + 1]), acc1);
            acc2 = BlockQ4_0(w + 36, a + 68, Vector256.Create(d2 * da[b + 2]), acc2);
            acc3 = BlockQ4_0(w + 54, a + 102, Vector256.Create(d3 * da[b + 3]), acc3);
            c0 += d0 * c8[b]; c1 += d1 * c8[b + 1]; c2 += d2 * c8[b + 2]; c3 += d3 * c8[b + 3];
        }
        float s = Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) - ((c0 + c1) + (c2 + c3));
        for (; b < nb; b++, w += 18, a += 34)
            s += Fp16.Load(w) * (da[b] * Vector256.Sum(DotU8(Nibbles(w + 2), Vector256.Load((sbyte*)(a + 2)))) - c8[b]);
        return s;
    }
}
