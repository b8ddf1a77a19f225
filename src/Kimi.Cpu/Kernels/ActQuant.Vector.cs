using System.Numerics;
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
            Vector256<int> i0 = Vector256.ConvertToInt32(Vector256.Round(v0 * vid)), i1 = Vector256.ConvertToInt32(Vector256.Round(v1 * vid));
            Vector256<int> i2 = Vector256.ConvertToInt32(Vector256.Round(v2 * vid)), i3 = Vector256.ConvertToInt32(Vector256.Round(v3 * vid));
            Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store((sbyte*)(y + 2));
            ActQuantScalar.Q8_0SidecarBlock(row, n / 32, b, Vector256.Sum((i0 + i1) + (i2 + i3)));
        }
        ActQuantScalar.Q8_0SidecarPadding(row, n / 32);
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
            int sum = 0;
            for (int k = 0; k < 32; k += 16)
            {
                Vector128<short> s0 = Vector128.Narrow(Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k) * vid)),
                                                       Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 4) * vid)));
                Vector128<short> s1 = Vector128.Narrow(Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 8) * vid)),
                                                       Vector128.ConvertToInt32(Vector128.Round(Vector128.Load(x + k + 12) * vid)));
                Vector128.Narrow(s0, s1).Store((sbyte*)(y + 2 + k));
                sum += Vector128.Sum(Vector128.WidenLower(s0) + Vector128.WidenUpper(s0) + Vector128.WidenLower(s1) + Vector128.WidenUpper(s1));
            }
            ActQuantScalar.Q8_0SidecarBlock(row, n / 32, b, sum);
        }
        ActQuantScalar.Q8_0SidecarPadding(row, n / 32);
    }

    /// <summary>Q8_1 (<see cref="ActQuantScalar.Q8_1"/>, same bytes): Q8_0V256's rounding, plus s = fp16(amax/127 · Σq).</summary>
    public static void Q8_1V256(float* x, byte* y, int n)
    {
        byte* row = y;
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
        ActQuantScalar.Q8_1Sidecar(row, n / 32);
    }

    /// <summary>Q8_1 with Vector128 (portable and NEON sets); same bytes as <see cref="ActQuantScalar.Q8_1"/>.</summary>
    public static void Q8_1V128(float* x, byte* y, int n)
    {
        byte* row = y;
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
        ActQuantScalar.Q8_1Sidecar(row, n / 32);
    }

    /// <summary>
    /// Q8_K with the bytes of <see cref="ActQuantScalar.Q8_K"/> (ggml quantize_row_q8_K_ref): max = the first element of
    /// largest |x| with its sign, iscale = −127/max, q = min(127, nearest_int(iscale·x)) by the same float add of 1.5·2²³
    /// (round half to even), d = 1/iscale, bsums = Σq per 16. A block with a NaN or infinity goes to the scalar code.
    /// </summary>
    public static void Q8_KV256(float* x, byte* y, int n)
    {
        Vector256<float> magic = Vector256.Create(12582912f);
        Vector256<int> mantissa = Vector256.Create(0x007fffff), bias = Vector256.Create(0x00400000), top = Vector256.Create(127);
        int* q32 = stackalloc int[256];
        for (int b = 0; b < n / 256; b++, x += 256, y += 292)
        {
            Vector256<float> m = Vector256<float>.Zero;
            for (int k = 0; k < 256; k += 8) m = Vector256.Max(m, Vector256.Abs(Vector256.Load(x + k)));
            float amax = MaxAcross(Vector128.Max(m.GetLower(), m.GetUpper()));
            if (!float.IsFinite(amax))
            {
                // NaN/inf input: the scalar loop's NaN-skipping compare decides (the vector max propagates NaN).
                ActQuantScalar.Q8_K(x, y, 256);
                continue;
            }
            if (amax == 0)
            {
                new Span<byte>(y, 292).Clear();
                continue;
            }
            // The scalar loop keeps the first element reaching amax (strict >): its sign decides the sign of d.
            Vector256<float> va = Vector256.Create(amax);
            int first = 0;
            for (int k = 0; k < 256; k += 8)
            {
                uint hit = Vector256.Equals(Vector256.Abs(Vector256.Load(x + k)), va).ExtractMostSignificantBits();
                if (hit != 0) { first = k + BitOperations.TrailingZeroCount(hit); break; }
            }
            float iscale = -127f / x[first];
            Vector256<float> vis = Vector256.Create(iscale);
            for (int k = 0; k < 256; k += 8)
            {
                // nearest_int: the product, plus 1.5·2²³ as a separate float add (no FMA), low mantissa bits − 2²².
                Vector256<int> bits = (Vector256.Load(x + k) * vis + magic).AsInt32();
                // In range except when iscale overflowed to ±inf (all |x| < ~4e-37): then each q is 0 or −2²², whose low
                // 8 and 16 bits are 0, so the narrowed bytes and the (short) bsums still equal the scalar's.
                Vector256.Min((bits & mantissa) - bias, top).Store(q32 + k);
            }
            for (int k = 0; k < 256; k += 32)
            {
                Vector256<short> s0 = Vector256.Narrow(Vector256.Load(q32 + k), Vector256.Load(q32 + k + 8));
                Vector256<short> s1 = Vector256.Narrow(Vector256.Load(q32 + k + 16), Vector256.Load(q32 + k + 24));
                Vector256.Narrow(s0, s1).Store((sbyte*)(y + 4 + k));
            }
            short* bsums = (short*)(y + 260);
            for (int g = 0; g < 16; g++) bsums[g] = (short)Vector256.Sum(Vector256.Load(q32 + 16 * g) + Vector256.Load(q32 + 16 * g + 8));
            *(float*)y = 1 / iscale;
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
