using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kimi.Cpu.Kernels;

/// <summary>The per-block kernels of one 128-bit family for Q4_1/Q5_1 (Q8_1 activations) and Q5_0/IQ4_NL (Q8_0
/// activations): <see cref="NeonLegacyBlocks"/>, <see cref="Vector128LegacyBlocks"/>. <see cref="Legacy128{T}"/> runs the
/// block loops, which are the same for both.</summary>
internal unsafe interface ILegacyBlocks128
{
    /// <summary>acc + dw·da·Σ nib·qa for one Q4_1 block (20 bytes) and one Q8_1 block (36 bytes).</summary>
    static abstract Vector128<float> Q4_1(byte* w, byte* a, Vector128<float> acc);

    /// <summary>acc + dw·da·Σ q·qa for one Q5_1 block (24 bytes) and one Q8_1 block.</summary>
    static abstract Vector128<float> Q5_1(byte* w, byte* a, Vector128<float> acc);

    /// <summary>acc + scale·Σ (q − 16)·qa for one Q5_0 block (22 bytes) and one Q8_0 block (34 bytes).</summary>
    static abstract Vector128<float> Q5_0(byte* w, byte* a, float scale, Vector128<float> acc);

    /// <summary>acc + scale·Σ grid[nib]·qa for one IQ4_NL block (18 bytes) and one Q8_0 block.</summary>
    static abstract Vector128<float> IQ4_NL(byte* w, byte* a, Vector128<sbyte> grid, float scale, Vector128<float> acc);
}

/// <summary>
/// Q4_1, Q5_1, Q5_0 and IQ4_NL dots over the block kernels of <typeparamref name="T"/>: two accumulators over pairs of
/// blocks; the Q4_1/Q5_1 min term mw·sa from each block's stored s (as ggml), the Q8_0 scales from the sidecar. Same
/// contract as <see cref="DotScalar"/>.
/// </summary>
[SkipLocalsInit]
internal static unsafe class Legacy128<T> where T : ILegacyBlocks128
{
    public static float Q4_1(byte* w, byte* a, int n) => WithMin(w, a, n, 20, q5: false);

    public static float Q5_1(byte* w, byte* a, int n) => WithMin(w, a, n, 24, q5: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float WithMin(byte* w, byte* a, int n, int size, bool q5)
    {
        int nb = n / 32, b = 0;
        Vector128<float> acc0 = default, acc1 = default;
        float m = 0;
        for (; b + 2 <= nb; b += 2, w += 2 * size, a += 72)
        {
            acc0 = q5 ? T.Q5_1(w, a, acc0) : T.Q4_1(w, a, acc0);
            acc1 = q5 ? T.Q5_1(w + size, a + 36, acc1) : T.Q4_1(w + size, a + 36, acc1);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2) + Fp16.Load(w + size + 2) * Fp16.Load(a + 38);
        }
        if (b < nb)
        {
            acc0 = q5 ? T.Q5_1(w, a, acc0) : T.Q4_1(w, a, acc0);
            m += Fp16.Load(w + 2) * Fp16.Load(a + 2);
        }
        return Vector128.Sum(acc0 + acc1) + m;
    }

    public static float Q5_0(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<float> acc0 = default, acc1 = default;
        for (; b + 2 <= nb; b += 2, w += 44, a += 68)
        {
            acc0 = T.Q5_0(w, a, Fp16.Load(w) * da[b], acc0);
            acc1 = T.Q5_0(w + 22, a + 34, Fp16.Load(w + 22) * da[b + 1], acc1);
        }
        if (b < nb) acc0 = T.Q5_0(w, a, Fp16.Load(w) * da[b], acc0);
        return Vector128.Sum(acc0 + acc1);
    }

    public static float IQ4_NL(byte* w, byte* a, int n)
    {
        int nb = n / 32, b = 0;
        float* da = ActivationFormat.Q8_0Scales(a, nb);
        Vector128<sbyte> grid = Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
        Vector128<float> acc0 = default, acc1 = default;
        for (; b + 2 <= nb; b += 2, w += 36, a += 68)
        {
            acc0 = T.IQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
            acc1 = T.IQ4_NL(w + 18, a + 34, grid, Fp16.Load(w + 18) * da[b + 1], acc1);
        }
        if (b < nb) acc0 = T.IQ4_NL(w, a, grid, Fp16.Load(w) * da[b], acc0);
        return Vector128.Sum(acc0 + acc1);
    }
}
