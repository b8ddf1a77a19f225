using Kimi.Cpu.Oracle;

namespace Kimi.Cpu.Tests.Oracle;

public class LogitComparisonTests
{
    [Fact]
    public void IdenticalRowsHaveZeroKlAndFullAgreement()
    {
        float[][] rows = [[1f, 2f, 3f, -4f], [1000f, 999f, -1000f, 0f], [0f, 0f, 0f, 0f]];
        var result = LogitComparison.Compare(rows, rows.Select(r => (float[])r.Clone()).ToArray());
        Assert.Equal(0.0, result.MeanKl);
        Assert.Equal(0.0, result.MaxKl);
        Assert.Equal(3, result.Top1Matches);
        Assert.Equal(1.0, result.Top1Agreement);
    }

    [Fact]
    public void KlMatchesAHandComputedCase()
    {
        // p = softmax(ln 1, ln 3) = (1/4, 3/4); q = softmax(0, 0) = (1/2, 1/2).
        // KL(p‖q) = 1/4 ln(1/2) + 3/4 ln(3/2) = 3/4 ln 3 − ln 2 ≈ 0.130812035941137.
        float[] p = [0f, MathF.Log(3f)];
        float[] q = [5f, 5f]; // a constant shift changes nothing
        double expected = 0.75 * Math.Log(3) - Math.Log(2);
        Assert.Equal(expected, LogitComparison.KlDivergence(p, q), 1e-7);
        // Swapped: KL(q‖p) = 1/2 ln(2) + 1/2 ln(2/3) = ln 2 − 1/2 ln 3 ≈ 0.143841036225890: KL is not symmetric.
        Assert.Equal(Math.Log(2) - 0.5 * Math.Log(3), LogitComparison.KlDivergence(q, p), 1e-7);
        Assert.Equal(0.75, LogitComparison.Probability(p, 1), 1e-7);
    }

    [Fact]
    public void LargeLogitsDoNotOverflow()
    {
        // Without max subtraction exp(1e4) is infinite; the answer equals the hand case shifted by 1e4.
        float[] p = [1e4f, 1e4f + MathF.Log(3f)];
        float[] q = [-1e4f, -1e4f];
        double kl = LogitComparison.KlDivergence(p, q);
        Assert.True(double.IsFinite(kl));
        // float spacing at 1e4 is ~1e-3, so ln 3 is stored only to ~1e-3 absolute.
        Assert.Equal(0.75 * Math.Log(3) - Math.Log(2), kl, 1e-3);
    }

    [Fact]
    public void CountsTopOneAgreementAndAggregates()
    {
        float[][] reference = [[0f, 5f, 1f], [3f, 0f, 0f], [0f, 0f, 2f], [1f, 1f, 0f]];
        float[][] candidate = [[0f, 4f, 1f], [0f, 3f, 0f], [0f, 0f, 2f], [1f, 1f, 0f]];
        var result = LogitComparison.Compare(reference, candidate);
        Assert.Equal(4, result.Positions);
        Assert.Equal(3, result.Top1Matches); // row 1 disagrees; the tie in row 3 resolves to index 0 on both sides
        Assert.Equal(0.75, result.Top1Agreement);
        Assert.Equal(3.0, result.MaxMismatchMargin); // row 1: reference logit 3 for its top, 0 for the candidate's
        Assert.Equal(1, result.MaxKlPosition);
        Assert.Equal(0.0, result.KlPerPosition[2]);
        Assert.Equal(result.KlPerPosition.Average(), result.MeanKl, 1e-15);
        Assert.Equal(result.KlPerPosition.Max(), result.MaxKl);

        double top1 = (LogitComparison.Probability(reference[0], 1) + LogitComparison.Probability(reference[1], 0)
                       + LogitComparison.Probability(reference[2], 2) + LogitComparison.Probability(reference[3], 0)) / 4;
        Assert.Equal(top1, result.MeanReferenceTop1Probability, 1e-15);
        Assert.Contains("top1=3/4", result.ToString());
    }

    [Fact]
    public void NanIsReportedNotHidden()
    {
        float[][] reference = [[1f, 2f], [1f, 2f], [2f, 1f]];
        float[][] candidate = [[1f, 2f], [float.NaN, 2f], [1f, 2f]];
        var result = LogitComparison.Compare(reference, candidate);
        Assert.True(double.IsNaN(result.MaxKl));
        Assert.Equal(1, result.MaxKlPosition);
        Assert.True(double.IsNaN(result.MeanKl));
    }

    [Fact]
    public void RejectsMismatchedShapes()
    {
        Assert.Throws<ArgumentException>(() => LogitComparison.Compare([[1f]], [[1f], [2f]]));
        Assert.Throws<ArgumentException>(() => LogitComparison.KlDivergence([1f, 2f], [1f]));
    }
}
