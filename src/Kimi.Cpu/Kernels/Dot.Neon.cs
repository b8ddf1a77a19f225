using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// ARM64 AdvSimd dot products. Same contract as <see cref="DotScalar"/>. int8 products use sdot (<see cref="Dp"/>) when the
/// CPU has it (ARMv8.2+ dotprod), else smull/smull2 + sadalp. Not run on x86: tested under qemu-aarch64 (tests/neon/run.sh).
/// </summary>
[SkipLocalsInit]
internal static unsafe class DotNeon
{
    public static float F32(byte* w, byte* a, int n)
    {
        float* x = (float*)w, y = (float*)a;
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            s0 = AdvSimd.FusedMultiplyAdd(s0, AdvSimd.LoadVector128(x + i), AdvSimd.LoadVector128(y + i));
            s1 = AdvSimd.FusedMultiplyAdd(s1, AdvSimd.LoadVector128(x + i + 4), AdvSimd.LoadVector128(y + i + 4));
            s2 = AdvSimd.FusedMultiplyAdd(s2, AdvSimd.LoadVector128(x + i + 8), AdvSimd.LoadVector128(y + i + 8));
            s3 = AdvSimd.FusedMultiplyAdd(s3, AdvSimd.LoadVector128(x + i + 12), AdvSimd.LoadVector128(y + i + 12));
        }
        for (; i <= n - 4; i += 4) s0 = AdvSimd.FusedMultiplyAdd(s0, AdvSimd.LoadVector128(x + i), AdvSimd.LoadVector128(y + i));
        float s = Vector128.Sum((s0 + s1) + (s2 + s3));
        for (; i < n; i++) s += x[i] * y[i];
        return s;
    }

    public static float F16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        Vector128<float> s0 = default, s1 = default;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            Vector128<ushort> h = AdvSimd.LoadVector128(x + i);
            s0 = AdvSimd.FusedMultiplyAdd(s0, Fp16.ToFloat(AdvSimd.ZeroExtendWideningLower(h.GetLower())), AdvSimd.LoadVector128(y + i));
            s1 = AdvSimd.FusedMultiplyAdd(s1, Fp16.ToFloat(AdvSimd.ZeroExtendWideningUpper(h)), AdvSimd.LoadVector128(y + i + 4));
        }
        float s = Vector128.Sum(s0 + s1);
        for (; i < n; i++) s += Fp16.ToFloat(x[i]) * y[i];
        return s;
    }

    public static float BF16(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w; float* y = (float*)a;
        Vector128<float> s0 = default, s1 = default;
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            Vector128<ushort> h = AdvSimd.LoadVector128(x + i);
            // bf16 → f32 is the 16 bits moved to the top of a 32-bit lane.
            s0 = AdvSimd.FusedMultiplyAdd(s0, (AdvSimd.ZeroExtendWideningLower(h.GetLower()) << 16).AsSingle(), AdvSimd.LoadVector128(y + i));
            s1 = AdvSimd.FusedMultiplyAdd(s1, (AdvSimd.ZeroExtendWideningUpper(h) << 16).AsSingle(), AdvSimd.LoadVector128(y + i + 4));
        }
        float s = Vector128.Sum(s0 + s1);
        for (; i < n; i++) s += BitConverter.UInt32BitsToSingle((uint)x[i] << 16) * y[i];
        return s;
    }

    /// <summary>Σ x·y of 16 signed bytes added into 4 i32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> DotI8(Vector128<int> acc, Vector128<sbyte> x, Vector128<sbyte> y)
    {
        if (Dp.IsSupported) return Dp.DotProduct(acc, x, y);
        acc = AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(x.GetLower(), y.GetLower()));
        return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpper(x, y));
    }

    public static float Q8_0(byte* w, byte* a, int n)
    {
        Vector128<float> acc0 = default, acc1 = default;
        int nb = n / 32, b = 0;
        for (; b + 1 < nb; b += 2, w += 68, a += 68)
        {
            Vector128<int> p0 = DotI8(DotI8(default, AdvSimd.LoadVector128((sbyte*)(w + 2)), AdvSimd.LoadVector128((sbyte*)(a + 2))),
                AdvSimd.LoadVector128((sbyte*)(w + 18)), AdvSimd.LoadVector128((sbyte*)(a + 18)));
            Vector128<int> p1 = DotI8(DotI8(default, AdvSimd.LoadVector128((sbyte*)(w + 36)), AdvSimd.LoadVector128((sbyte*)(a + 36))),
                AdvSimd.LoadVector128((sbyte*)(w + 52)), AdvSimd.LoadVector128((sbyte*)(a + 52)));
            acc0 = AdvSimd.FusedMultiplyAdd(acc0, AdvSimd.ConvertToSingle(p0), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)));
            acc1 = AdvSimd.FusedMultiplyAdd(acc1, AdvSimd.ConvertToSingle(p1), Vector128.Create(Fp16.Load(w + 34) * Fp16.Load(a + 34)));
        }
        if (b < nb)
        {
            Vector128<int> p0 = DotI8(DotI8(default, AdvSimd.LoadVector128((sbyte*)(w + 2)), AdvSimd.LoadVector128((sbyte*)(a + 2))),
                AdvSimd.LoadVector128((sbyte*)(w + 18)), AdvSimd.LoadVector128((sbyte*)(a + 18)));
            acc0 = AdvSimd.FusedMultiplyAdd(acc0, AdvSimd.ConvertToSingle(p0), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)));
        }
        return Vector128.Sum(acc0 + acc1);
    }

    public static float Q4_0(byte* w, byte* a, int n)
    {
        Vector128<float> acc = default;
        Vector128<byte> m4 = Vector128.Create((byte)15);
        Vector128<sbyte> eight = Vector128.Create((sbyte)8);
        for (int b = 0; b < n / 32; b++, w += 18, a += 34)
        {
            Vector128<byte> q = AdvSimd.LoadVector128(w + 2);
            Vector128<sbyte> lo = AdvSimd.Subtract(AdvSimd.And(q, m4).AsSByte(), eight);
            Vector128<sbyte> hi = AdvSimd.Subtract(AdvSimd.ShiftRightLogical(q, 4).AsSByte(), eight);
            Vector128<int> p = DotI8(DotI8(default, lo, AdvSimd.LoadVector128((sbyte*)(a + 2))), hi, AdvSimd.LoadVector128((sbyte*)(a + 18)));
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(p), Vector128.Create(Fp16.Load(w) * Fp16.Load(a)));
        }
        return Vector128.Sum(acc);
    }
}
