using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Model.Ops;

/// <summary>
/// The one seam every weight·activation product of the forward pass goes through, so a faster kernel (SIMD, GPU) can
/// replace <see cref="KernelMatMul"/> without touching the model. Numerics contract (what ggml's CPU backend does):
/// the activation is first converted to the weight type's vec_dot type (<see cref="Kimi.Cpu.Kernels.ActivationFormat"/>), then each
/// output is the block-by-block dot product of one weight row with it.
/// </summary>
internal unsafe interface IMatMul
{
    /// <summary>
    /// <c>y[t·yStride + r] = dot(W row r, x[t·xStride ..])</c> for every token t &lt; <paramref name="tokens"/> and row
    /// r &lt; <c>w.Rows</c>. <paramref name="x"/> rows hold <c>w.Cols</c> floats. x and y must not overlap.
    /// </summary>
    void Multiply(in WeightMatrix w, float* x, int xStride, int tokens, float* y, int yStride);

    /// <summary>
    /// One product per matrix of a stack (the per-head <c>attn_k_b</c>/<c>attn_v_b</c>, ggml's batched mul_mat):
    /// for every matrix h, <c>Multiply(w[h], x + h·xHeadOffset, xStride, tokens, y + h·yHeadOffset, yStride)</c>,
    /// done as one job so implementations can spread all heads over their threads at once.
    /// </summary>
    void MultiplyStack(in WeightStack w, float* x, int xHeadOffset, int xStride, int tokens, float* y, int yHeadOffset, int yStride);

    /// <summary>
    /// Two products of one input (an FFN's gate and up, attention's q_a and kv_a_mqa): the same outputs as two
    /// <see cref="Multiply"/> calls, with the input converted once when both weight types take the same activation format
    /// (ggml converts it per product; the conversion is deterministic, so the bits are the same).
    /// </summary>
    void MultiplyPair(in WeightMatrix a, float* ya, int yaStride, in WeightMatrix b, float* yb, int ybStride, float* x, int xStride, int tokens);

    /// <summary>
    /// Routed experts (ggml's mul_mat_id): for each of <paramref name="count"/> groups — one matrix of
    /// <paramref name="w"/>'s shape and type at <c>groups[g].W</c> and its token rows i in
    /// [TokenStart, TokenStart + Tokens) — <c>groups[g].Y[i·yStride + r] = dot(row r, x row aRows[i])</c> (x row i when
    /// <paramref name="aRows"/> is null). The <paramref name="xRows"/> input rows are converted once for all groups, and
    /// all groups run as one job. With <paramref name="b"/> (the experts' up matrices next to the gate ones, groups
    /// <c>count .. 2·count−1</c> of the array) both run on the one conversion.
    /// </summary>
    void MultiplyGroups(in WeightStack w, in WeightStack b, MatMulGroup* groups, int count, float* x, int xStride, int xRows, int* aRows, int yStride);
}
