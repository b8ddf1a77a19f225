using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// SIMD Q8_0 activation quantizers with the same rounding as <see cref="ActQuantScalar.Q8_0"/> (round half to even after
/// multiplying by <c>127/amax</c>), so every path produces the same bytes. Portable vector API: Vector256 for the x86
/// kernel sets, Vector128 for NEON and the portable set.
/// </summary>
[SkipLocalsInit]
internal static unsafe class ActQuantVector
{
    public static void Q8_0V256(float* x, byte* y, int n)
    {
        byte* row = y;
        for (int b = 0; b < n / 32; b++, x += 32, y += 34)
        {
            Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = MaxAcross(Vector128.Max(m.GetLower(), m.GetUpper()));
            float id = amax != 0 ? 127f / amax : 0f;
            *(ushort*)y = HalfConvert.FloatToHalf(amax / 127f);
            Vector256<float> vid = Vector256.Create(id);
            Vector256<short> s0 = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v0 * vid)), Vector256.ConvertToInt32(Vector256.Round(v1 * vid)));
            Vector256<short> s1 = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v2 * vid)), Vector256.ConvertToInt32(Vector256.Round(v3 * vid)));
            Vector256.Narrow(s0, s1).Store((sbyte*)(y + 2));
        }
        ActQuantScalar.Q8_0Sidecar(row, n / 32);
    }

    public static void Q8_0V128(float* x, byte* y, int n)
    {
        byte* row = y;
        for (int b = 0; b < n / 32; b++, x += 32, y += 34)
        {
            Vector128<float> m = Vector128<float>.Zero;
            for (int k = 0; k < 32; k += 4) m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + k)));
            float amax = MaxAcross(m);
            float id = amax != 0 ? 127f / amax : 0f;
            *(ushort*)y = HalfConvert.FloatToHalf(amax / 127f);
            Vector128<float> vid = Vector128.Create(id);
            for (int k = 0; k < 32; k += 16)
            {
                Vector128<short> s0 = Vector128.Narrow(Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k) * vid)),
                                                       Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 4) * vid)));
                Vector128<short> s1 = Vector128.Narrow(Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 8) * vid)),
                                                       Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 12) * vid)));
                Vector128.Narrow(s0, s1).Store((sbyte*)(y + 2 + k));
            }
        }
        ActQuantScalar.Q8_0Sidecar(row, n / 32);
    }

    /// <summary>Q8_1 (<see cref="ActQuantScalar.Q8_1"/>, same bytes): Q8_0V256's rounding, plus s = fp16(amax/127 · Σq).</summary>
    public static void Q8_1V256(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += 36)
        {
            Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = MaxAcross(Vector128.Max(m.GetLower(), m.GetUpper()));
            float id = amax != 0 ? 127f / amax : 0f, d = amax / 127f;
            Vector256<float> vid = Vector256.Create(id);
            Vector256<int> q0 = Vector256.ConvertToInt32(Vector256.Round(v0 * vid)), q1 = Vector256.ConvertToInt32(Vector256.Round(v1 * vid));
            Vector256<int> q2 = Vector256.ConvertToInt32(Vector256.Round(v2 * vid)), q3 = Vector256.ConvertToInt32(Vector256.Round(v3 * vid));
            int sum = Vector256.Sum((q0 + q1) + (q2 + q3));
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            *(ushort*)(y + 2) = HalfConvert.FloatToHalf(sum * d);
            Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).Store((sbyte*)(y + 4));
        }
    }

    /// <summary>Q8_1 with Vector128 (portable and NEON sets); same bytes as <see cref="ActQuantScalar.Q8_1"/>.</summary>
    public static void Q8_1V128(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += 36)
        {
            Vector128<float> m = Vector128<float>.Zero;
            for (int k = 0; k < 32; k += 4) m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + k)));
            float amax = MaxAcross(m);
            float id = amax != 0 ? 127f / amax : 0f, d = amax / 127f;
            Vector128<float> vid = Vector128.Create(id);
            Vector128<int> sum = Vector128<int>.Zero;
            for (int k = 0; k < 32; k += 16)
            {
                Vector128<int> q0 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k) * vid));
                Vector128<int> q1 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 4) * vid));
                Vector128<int> q2 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 8) * vid));
                Vector128<int> q3 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 12) * vid));
                sum += (q0 + q1) + (q2 + q3);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).Store((sbyte*)(y + 4 + k));
            }
            *(ushort*)y = HalfConvert.FloatToHalf(d);
            *(ushort*)(y + 2) = HalfConvert.FloatToHalf(Vector128.Sum(sum) * d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxAcross(Vector128<float> t)
    {
        t = Vector128.Max(t, Vector128.Shuffle(t, Vector128.Create(2, 3, 0, 1)));
        t = Vector128.Max(t, Vector128.Shuffle(t, Vector128.Create(1, 0, 3, 2)));
        return t.ToScalar();
    }
}
