namespace Kimi.Cpu.Model.Moe;

/// <summary>
/// Expert selection of llama.cpp's <c>build_moe_ffn</c> for one token (spec §4.8): gating (sigmoid or softmax), the
/// correction bias added for selection only, optional group-limited selection, top-k by biased score (slot order =
/// descending score, ties to the lower expert id), weights from the unbiased probabilities, normalised (sum in double,
/// clamped to 2^−14) and scaled.
/// </summary>
internal static unsafe class MoeRouter
{
    /// <param name="c">hyper-parameters (gating, k, groups, norm, scale)</param>
    /// <param name="bias">exp_probs_b, or null</param>
    /// <param name="logits">router output, n_expert values; overwritten with the gate probabilities</param>
    /// <param name="selection">scratch of n_expert floats</param>
    /// <param name="experts">receives k expert ids in slot order</param>
    /// <param name="weights">receives k weights in slot order</param>
    public static void Route(KimiConfig c, float[]? bias, float* logits, float* selection, int* experts, float* weights)
    {
        int n = c.ExpertCount, k = c.ExpertUsedCount;
        float* probs = logits;
        if (c.ExpertGating == ExpertGating.Sigmoid)
            for (int i = 0; i < n; i++) probs[i] = Ops.Activations.Sigmoid(probs[i]);
        else
            Ops.Activations.Softmax(probs, n);

        for (int i = 0; i < n; i++) selection[i] = bias is null ? probs[i] : probs[i] + bias[i];

        int groups = c.ExpertGroupCount;
        if (groups > 1) MaskGroups(selection, n, groups, c.ExpertGroupUsedCount);

        TopK(selection, n, k, experts);

        for (int j = 0; j < k; j++) weights[j] = probs[experts[j]];
        if (c.ExpertWeightsNorm)
        {
            double sum = 0;
            for (int j = 0; j < k; j++) sum += weights[j];
            float s = MathF.Max((float)sum, 6.103515625e-5f);
            for (int j = 0; j < k; j++) weights[j] /= s;
        }
        float scale = c.ExpertWeightsScale;
        if (scale != 0f && scale != 1f)
            for (int j = 0; j < k; j++) weights[j] *= scale;
    }

    /// <summary>Indices of the <paramref name="k"/> largest values, largest first; ties go to the lower index.</summary>
    public static void TopK(float* values, int n, int k, int* result)
    {
        // n ≤ a few hundred experts: a taken-flag per value instead of searching the picks (k·n instead of k²·n steps)
        bool* taken = stackalloc bool[n];
        new Span<bool>(taken, n).Clear();
        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int i = 0; i < n; i++)
            {
                if (taken[i]) continue;
                if (best < 0 || values[i] > values[best]) best = i;
            }
            result[j] = best;
            if (best >= 0) taken[best] = true;
        }
    }

    // DeepSeek-V3 group-limited routing: score each group by the sum of its two best experts, keep the best
    // n_group_used groups and set every other expert's selection score to −∞.
    private static void MaskGroups(float* sel, int n, int groups, int used)
    {
        int per = n / groups;
        float* score = stackalloc float[groups];
        int* top2 = stackalloc int[2];
        for (int g = 0; g < groups; g++)
        {
            TopK(sel + g * per, per, Math.Min(2, per), top2);
            score[g] = per >= 2 ? sel[g * per + top2[0]] + sel[g * per + top2[1]] : sel[g * per + top2[0]];
        }
        int* keep = stackalloc int[used];
        TopK(score, groups, used, keep);
        for (int g = 0; g < groups; g++)
        {
            bool kept = false;
            for (int u = 0; u < used; u++) if (keep[u] == g) { kept = true; break; }
            if (!kept) for (int i = 0; i < per; i++) sel[g * per + i] = float.NegativeInfinity;
        }
    }
}
