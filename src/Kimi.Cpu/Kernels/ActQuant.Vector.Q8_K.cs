using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Portable Vector128 Q8_K activation quantizer (NEON and the portable set) with exactly the bytes of
/// <see cref="ActQuantScalar.Q8_K"/>: the same <c>iscale·x</c> product, the same round-half-even through the
/// 1.5·2^23 magic add as ggml's nearest_int, the same truncating int → i8 store. Only the search for the largest |x| is
/// vectorized differently, and it picks the same element (the first one with |x| = amax). A block whose amax is not
/// finite (NaN/inf input) goes to the scalar code, whose NaN-skipping compare a vector max does not reproduce.
/// </summary>
[SkipLocalsInit]
internal static unsafe class ActQuantVectorQ8K
{
    public static void Q8_KV128(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 256; b++, x += 256, y += 292)
        {
            Vector128<float> m0 = default, m1 = default;
            for (int j = 0; j < 256; j += 8)
            {
                m0 = Vector128.Max(m0, Vector128.Abs(Vector128.Load(x + j)));
                m1 = Vector128.Max(m1, Vector128.Abs(Vector128.Load(x + j + 4)));
            }
            m0 = Vector128.Max(m0, m1);
            float amax = MathF.Max(MathF.Max(m0[0], m0[1]), MathF.Max(m0[2], m0[3]));
            if (!float.IsFinite(amax))
            {
                ActQuantScalar.Q8_K(x, y, 256);
                continue;
            }
            if (amax == 0)
            {
                new Span<byte>(y, 292).Clear();
                continue;
            }
            int first = 0;
            while (MathF.Abs(x[first]) != amax) first++;
            float iscale = -127f / x[first];

            Vector128<float> vs = Vector128.Create(iscale), magic = Vector128.Create(12582912f);
            Vector128<int> low23 = Vector128.Create(0x007fffff), bias = Vector128.Create(0x00400000), max = Vector128.Create(127);
            short* bsums = (short*)(y + 260);
            for (int g = 0; g < 16; g++)
            {
                float* xg = x + 16 * g;
                // nearest_int: the float add rounds half to even into the low mantissa bits (|iscale·x| ≤ 127 ≪ 2^22).
                Vector128<int> r0 = Round(Vector128.Load(xg) * vs, magic, low23, bias, max);
                Vector128<int> r1 = Round(Vector128.Load(xg + 4) * vs, magic, low23, bias, max);
                Vector128<int> r2 = Round(Vector128.Load(xg + 8) * vs, magic, low23, bias, max);
                Vector128<int> r3 = Round(Vector128.Load(xg + 12) * vs, magic, low23, bias, max);
                Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128.Narrow(r2, r3)).Store((sbyte*)(y + 4 + 16 * g));
                bsums[g] = (short)Vector128.Sum((r0 + r1) + (r2 + r3));
            }
            *(float*)y = 1 / iscale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Round(Vector128<float> v, Vector128<float> magic, Vector128<int> low23, Vector128<int> bias, Vector128<int> max) =>
        Vector128.Min(max, ((v + magic).AsInt32() & low23) - bias);
}
