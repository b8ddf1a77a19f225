using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// How many tokens a kernel dots one weight row with at once: 1 (a dot) or 4 (a 4 × 4 tile, row by row). A kernel written
/// once over this parameter serves both, so a tile's outputs are its set's dots bit for bit; the JIT compiles each
/// instance separately and drops the other's branches.
/// </summary>
internal interface ITokenCount
{
    static abstract bool Four { get; }
}

internal readonly struct OneToken : ITokenCount
{
    public static bool Four => false;
}

internal readonly struct FourTokens : ITokenCount
{
    public static bool Four => true;
}

/// <summary>The per-super-block float steps of the 1-or-4-token row kernels (K-quants, i-quants).</summary>
internal static unsafe class TokenSums
{
    /// <summary>acc_t = fma(s_t as floats, dw·da_t, acc_t) for 1 or 4 tokens, da_t the Q8_K scale at a_t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<TT>(float dw, byte* a0, byte* a1, byte* a2, byte* a3, Vector256<int> s0, Vector256<int> s1, Vector256<int> s2,
        Vector256<int> s3, ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3)
        where TT : struct, ITokenCount
    {
        acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s0), Vector256.Create(dw * *(float*)a0), acc0);
        if (!TT.Four) return;
        acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s1), Vector256.Create(dw * *(float*)a1), acc1);
        acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s2), Vector256.Create(dw * *(float*)a2), acc2);
        acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(s3), Vector256.Create(dw * *(float*)a3), acc3);
    }

    /// <summary>y[t] = factor · Σ acc_t for 1 or 4 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TT>(float factor, Vector256<float> acc0, Vector256<float> acc1, Vector256<float> acc2, Vector256<float> acc3, float* y)
        where TT : struct, ITokenCount
    {
        y[0] = factor * Vector256.Sum(acc0);
        if (!TT.Four) return;
        y[1] = factor * Vector256.Sum(acc1);
        y[2] = factor * Vector256.Sum(acc2);
        y[3] = factor * Vector256.Sum(acc3);
    }
}
