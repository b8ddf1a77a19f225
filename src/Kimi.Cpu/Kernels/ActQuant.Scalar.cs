using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// Scalar reference activation quantizers (fp32 row → <see cref="ActivationFormat"/>), on top of the block quantizers of
/// <see cref="ActivationQuants"/> (tested bit-exact against ggml there). Q8_0/Q8_1 follow ggml's SIMD
/// quantize_row_q8_0/q8_1 (x86 AVX2 and ARM NEON: round half to even, <c>id = 127/amax</c>), which is what the llama.cpp CPU
/// backend runs; the C <c>_ref</c> versions differ only on exact .5 ties. Q8_K is quantize_row_q8_K_ref.
/// </summary>
[SkipLocalsInit]
internal static unsafe class ActQuantScalar
{
    /// <summary>n floats → n/32 Q8_0 blocks (34 bytes: fp16 d, 32 × i8), then the sidecar (<see cref="Q8_0Sidecar"/>).</summary>
    public static void Q8_0(float* x, byte* y, int n)
    {
        ActivationQuants.QuantizeQ8_0(new ReadOnlySpan<float>(x, n), new Span<byte>(y, n / 32 * 34), Q8Rounding.X86Simd);
        Q8_0Sidecar(y, n / 32);
    }

    /// <summary>Fills the sidecar after nb Q8_0 blocks: da[b] = fp16 scale as fp32, c8[b] = da[b]·(8·Σq), the pair and
    /// window copies of the quants (<see cref="ActivationFormat.Q8_0Pairs"/>, <see cref="ActivationFormat.Q8_0Windows"/>)
    /// and 8·Σq as int32.</summary>
    internal static void Q8_0Sidecar(byte* row, int nb)
    {
        for (int b = 0; b < nb; b++)
        {
            sbyte* q = (sbyte*)(row + 34 * b + 2);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += q[j];
            Q8_0SidecarBlock(row, nb, b, sum);
        }
        Q8_0SidecarPadding(row, nb);
    }

    /// <summary>Block b's part of the sidecar, given its quants' sum (the vector quantizers have it before packing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Q8_0SidecarBlock(byte* row, int nb, int b, int sum)
    {
        byte* blk = row + 34 * b;
        float* da = ActivationFormat.Q8_0Scales(row, nb);
        da[b] = Fp16.Load(blk);
        da[nb + b] = da[b] * (8 * sum);
        byte* dst = ActivationFormat.Q8_0Pairs(row, nb) + 64 * (b >> 1) + 16 * (b & 1);
        Vector128.Load(blk + 2).Store(dst);
        Vector128.Load(blk + 18).Store(dst + 32);
        if (b < (nb & ~7))
        {
            byte* win = ActivationFormat.Q8_0Windows(row, nb) + ActivationFormat.WindowBytes * (long)(b >> 3);
            uint* src = (uint*)(blk + 2), dw = (uint*)win + (b & 7);
            for (int k = 0; k < 8; k++) dw[8 * k] = src[k];
            ((int*)(win + ActivationFormat.WindowSums))[b & 7] = 8 * sum;
            ((float*)(win + ActivationFormat.WindowScales))[b & 7] = da[b] * ActivationFormat.WindowScaleBias;
        }
    }

    /// <summary>The alignment gap before the pair copy and an odd last block's partner are zeros: a converted row's bytes
    /// are a function of its input alone.</summary>
    internal static void Q8_0SidecarPadding(byte* row, int nb)
    {
        byte* pairs = ActivationFormat.Q8_0Pairs(row, nb);
        new Span<byte>(row + 42L * nb, (int)(pairs - (row + 42L * nb))).Clear();
        if ((nb & 1) != 0)
        {
            byte* dst = pairs + 64 * (nb >> 1) + 16;
            new Span<byte>(dst, 16).Clear();
            new Span<byte>(dst + 32, 16).Clear();
        }
    }

    /// <summary>n floats → n/32 Q8_1 blocks (36 bytes: fp16 d, fp16 s = d·Σq, 32 × i8), then the sidecar
    /// (<see cref="Q8_1Sidecar"/>).</summary>
    public static void Q8_1(float* x, byte* y, int n)
    {
        ActivationQuants.QuantizeQ8_1(new ReadOnlySpan<float>(x, n), new Span<byte>(y, n / 32 * 36), Q8Rounding.X86Simd);
        Q8_1Sidecar(y, n / 32);
    }

    /// <summary>Fills the sidecar after nb Q8_1 blocks: da[b] and sa[b], the blocks' fp16 d and s as fp32
    /// (<see cref="ActivationFormat.Q8_1Scales"/>).</summary>
    internal static void Q8_1Sidecar(byte* row, int nb)
    {
        float* da = ActivationFormat.Q8_1Scales(row, nb);
        for (int b = 0; b < nb; b++)
        {
            da[b] = Fp16.Load(row + 36 * b);
            da[nb + b] = Fp16.Load(row + 36 * b + 2);
        }
    }

    /// <summary>n floats → n/256 Q8_K blocks (292 bytes: f32 d, 256 × i8, 16 × i16 sums of 16).</summary>
    public static void Q8_K(float* x, byte* y, int n) =>
        ActivationQuants.QuantizeQ8_K(new ReadOnlySpan<float>(x, n), new Span<byte>(y, n / 256 * 292));

    /// <summary>fp32 copy (F32 weights take the activation as it is).</summary>
    public static void F32(float* x, byte* y, int n) => new ReadOnlySpan<float>(x, n).CopyTo(new Span<float>(y, n));

    /// <summary>fp32 → fp32 holding the fp16-rounded value (round to nearest even; overflow → ±inf as ggml).</summary>
    public static void F16(float* x, byte* y, int n)
    {
        float* o = (float*)y;
        for (int i = 0; i < n; i++) o[i] = HalfConvert.HalfToFloat(HalfConvert.FloatToHalf(x[i]));
    }

    /// <summary>fp32 → fp32 holding the bf16-rounded value (ggml_compute_fp32_to_bf16).</summary>
    public static void BF16(float* x, byte* y, int n)
    {
        float* o = (float*)y;
        for (int i = 0; i < n; i++) o[i] = HalfConvert.BFloat16ToFloat(HalfConvert.FloatToBFloat16(x[i]));
    }
}
