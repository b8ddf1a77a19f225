using Kimi.Cpu.Gguf;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// The format an activation row is converted to before it meets a weight row (ggml's <c>vec_dot_type</c>, spec §4.10).
/// Q8_0 / Q8_1 / Q8_K rows are stored in ggml's block layout, so the Quants dequantizer reads them.
/// A Q8_0 row of nb blocks is followed by a sidecar the SIMD kernels use instead of re-deriving it for every weight row:
/// <c>da[nb]</c> (each block's fp16 scale as fp32), <c>c8[nb] = da·(8·Σq)</c> (the Q4_0 "−8" term), and, 64-byte aligned
/// relative to the row, the quants again in block pairs (<see cref="Q8_0Pairs"/>) so that a 256-bit Q4_0 kernel can put
/// two blocks' nibbles in one register, then the same quants as transposed windows of 8 blocks with their sums and scales
/// (<see cref="Q8_0Windows"/>) for the AVX-512 VBMI Q4_0 kernels. A Q8_1 row is followed by <c>da[nb]</c> and <c>sa[nb]</c>, its blocks' fp16 d and s as
/// fp32 (<see cref="Q8_1Scales"/>), which the Q4_1/Q5_1 kernels would otherwise convert again for every weight row.
/// F16 and BF16 activations are stored as fp32 values already rounded to fp16/bf16: the products are the same numbers
/// as ggml's fp16·fp16 dot, and the kernel does not convert the activation again for every weight row.
/// </summary>
public static class ActivationFormat
{
    /// <summary>ggml's vec_dot_type of a weight type (F32 for F32 weights: no conversion).</summary>
    public static GgmlType For(GgmlType weight) => weight switch
    {
        GgmlType.F32 => GgmlType.F32,
        GgmlType.F16 => GgmlType.F16,
        GgmlType.BF16 => GgmlType.BF16,
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.IQ4_NL => GgmlType.Q8_0,
        GgmlType.Q4_1 or GgmlType.Q5_1 => GgmlType.Q8_1,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.IQ4_XS => GgmlType.Q8_K,
        GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ1_S
            or GgmlType.IQ1_M or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q8_K,
        _ => throw new NotSupportedException($"no matmul kernel for weight type {GgmlTypeInfo.Name(weight)}"),
    };

    /// <summary>Sidecar of a Q8_0 activation row: per-block fp32 scales, then per-block <c>da·8·Σq</c>.</summary>
    internal static unsafe float* Q8_0Scales(byte* row, int blocks) => (float*)(row + 34L * blocks);

    /// <summary>Sidecar of a Q8_1 activation row: per-block d as fp32, then per-block s (= fp16(d·Σq)) as fp32.</summary>
    internal static unsafe float* Q8_1Scales(byte* row, int blocks) => (float*)(row + 36L * blocks);

    /// <summary>
    /// The pair copy of a Q8_0 activation row: for blocks 2k and 2k+1, 64 bytes <c>[q_2k[0..16), q_2k+1[0..16),
    /// q_2k[16..32), q_2k+1[16..32)]</c> — the partners of the low and of the high nibbles of two Q4_0 blocks loaded side by
    /// side. An odd last block gets zeros as its partner. Starts 64-byte aligned relative to the row.
    /// </summary>
    internal static unsafe byte* Q8_0Pairs(byte* row, int blocks) => row + Q8_0PairsOffset(blocks);

    private static long Q8_0PairsOffset(int blocks) => (42L * blocks + 63) & ~63L;

    /// <summary>
    /// The window copy of a Q8_0 activation row (after the pair copy, 64-byte aligned relative to the row), for the
    /// AVX-512 VBMI Q4_0 kernels (<see cref="TileAvx512"/>): for each whole window of 8 blocks, 320 bytes. Bytes 0-255 hold
    /// the 8 × 8 dwords of its quants transposed — dword k (elements 4k..4k+3) of the window's block j at byte 32·k + 4·j —
    /// so that 32-bit lane j of every 64-byte quarter belongs to block j; then 8·Σq of each block as int32 (the Q4_0
    /// "−8" in integers), then each block's scale times 2^112 as fp32 (<see cref="WindowScaleBias"/>; exact and finite,
    /// the scale being an fp16 value). Blocks past the last whole window have no copy.
    /// </summary>
    internal static unsafe byte* Q8_0Windows(byte* row, int blocks) => row + Q8_0PairsOffset(blocks) + 64L * ((blocks + 1) / 2);

    /// <summary>Bytes per window of <see cref="Q8_0Windows"/>, and the offsets of its sums and scales.</summary>
    internal const int WindowBytes = 320, WindowSums = 256, WindowScales = 288;

    /// <summary>2^112: the window scales' factor, which takes an fp16 weight scale's bits shifted into fp32 position
    /// (exponent bias 15 read as 127) back to its value in the product.</summary>
    internal const float WindowScaleBias = 5.1922968585348276e33f;

    /// <summary>Bytes one converted activation row of <paramref name="cols"/> values takes in the scratch.</summary>
    public static long RowBytes(GgmlType weight, int cols)
    {
        GgmlType a = For(weight);
        return a switch
        {
            GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 4L * cols,
            GgmlType.Q8_0 => Q8_0PairsOffset(cols / 32) + 64L * ((cols / 32 + 1) / 2) + WindowBytes * (cols / 256L),
            GgmlType.Q8_1 => 44L * (cols / 32),
            _ => GgmlTypeInfo.RowBytes(a, cols),
        };
    }
}
