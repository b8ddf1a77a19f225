using System.Globalization;

namespace Kimi.Cpu.Oracle;

/// <summary>
/// Compares a candidate's logits with a reference's, position by position: KL(reference ‖ candidate) of the two
/// softmax distributions and whether their arg-maxes agree. All arithmetic in double, with the row maximum
/// subtracted before exp so large logits cannot overflow.
/// </summary>
public static class LogitComparison
{
    /// <summary>Compares rows[i] of each; both must have the same number of rows, and each pair the same length.</summary>
    public static LogitComparisonResult Compare(float[][] reference, float[][] candidate)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        if (reference.Length != candidate.Length)
            throw new ArgumentException($"{reference.Length} reference rows but {candidate.Length} candidate rows");
        if (reference.Length == 0) throw new ArgumentException("no rows to compare");

        var kl = new double[reference.Length];
        int agree = 0, maxAt = 0;
        double sumKl = 0, sumTop1 = 0, maxMargin = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            kl[i] = KlDivergence(reference[i], candidate[i]);
            sumKl += kl[i];
            // A NaN becomes (and stays) the maximum, so a broken row is reported rather than hidden.
            if (!double.IsNaN(kl[maxAt]) && !(kl[i] <= kl[maxAt])) maxAt = i;
            int top = ArgMax(reference[i]), theirs = ArgMax(candidate[i]);
            if (top == theirs) agree++;
            else maxMargin = Math.Max(maxMargin, (double)reference[i][top] - reference[i][theirs]);
            sumTop1 += Probability(reference[i], top);
        }
        return new LogitComparisonResult(reference.Length, sumKl / kl.Length, kl[maxAt], maxAt, agree,
            (double)agree / kl.Length, sumTop1 / kl.Length, maxMargin, kl);
    }

    /// <summary>KL(softmax(p) ‖ softmax(q)) in nats: Σ pᵢ (log pᵢ − log qᵢ). Zero for identical rows, never negative (up to rounding).</summary>
    public static double KlDivergence(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        if (reference.Length != candidate.Length)
            throw new ArgumentException($"row lengths differ: {reference.Length} vs {candidate.Length}");
        if (reference.Length == 0) throw new ArgumentException("empty row");
        double refMax = Max(reference), candMax = Max(candidate);
        double refLogZ = LogSumExp(reference, refMax), candLogZ = LogSumExp(candidate, candMax);
        double kl = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double logP = reference[i] - refMax - refLogZ;
            double p = Math.Exp(logP);
            if (p == 0) continue; // 0 · log(0/q) = 0, even where q is 0 too
            double logQ = candidate[i] - candMax - candLogZ;
            kl += p * (logP - logQ);
        }
        return kl;
    }

    /// <summary>Index of the largest value; the lowest such index on ties (NaN never wins).</summary>
    public static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>softmax(row)[index] in double.</summary>
    public static double Probability(ReadOnlySpan<float> row, int index)
    {
        double max = Max(row);
        return Math.Exp(row[index] - max - LogSumExp(row, max));
    }

    private static double Max(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float v in row)
            if (v > max) max = v;
        return max;
    }

    /// <summary>log Σ exp(vᵢ − max), which lies in [0, log n].</summary>
    private static double LogSumExp(ReadOnlySpan<float> row, double max)
    {
        double sum = 0;
        foreach (float v in row) sum += Math.Exp(v - max);
        return Math.Log(sum);
    }
}

/// <summary>Outcome of <see cref="LogitComparison.Compare"/>.</summary>
/// <param name="Positions">Rows compared.</param>
/// <param name="MeanKl">Mean over positions of KL(reference ‖ candidate), nats.</param>
/// <param name="MaxKl">Largest per-position KL (NaN if any position's is NaN).</param>
/// <param name="MaxKlPosition">Where <paramref name="MaxKl"/> occurred.</param>
/// <param name="Top1Matches">Positions whose arg-max agrees.</param>
/// <param name="Top1Agreement">Top1Matches / Positions.</param>
/// <param name="MeanReferenceTop1Probability">Mean over positions of the reference's probability of its own top token (how peaked the reference is; agreement means more when this is low).</param>
/// <param name="MaxMismatchMargin">Over positions whose arg-maxes differ, the largest reference logit margin
/// <c>ref[ref top] − ref[candidate top]</c>: how far from a tie the worst disagreement is (0 when all agree). A
/// disagreement at a margin of the order of the logit noise that <paramref name="MeanKl"/> implies is a near tie
/// that any change of summation order can flip; one at a large margin is a real error.</param>
/// <param name="KlPerPosition">KL at each position.</param>
public sealed record LogitComparisonResult(
    int Positions,
    double MeanKl,
    double MaxKl,
    int MaxKlPosition,
    int Top1Matches,
    double Top1Agreement,
    double MeanReferenceTop1Probability,
    double MaxMismatchMargin,
    double[] KlPerPosition)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"positions={Positions} meanKL={MeanKl:E3} maxKL={MaxKl:E3}@{MaxKlPosition} top1={Top1Matches}/{Positions} ({Top1Agreement:P1}) refTop1P={MeanReferenceTop1Probability:F3} worstMismatchMargin={MaxMismatchMargin:F4}");
}
