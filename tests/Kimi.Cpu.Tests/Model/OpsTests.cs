using Kimi.Cpu.Gguf;
using Kimi.Cpu.Model;
using Kimi.Cpu.Model.Moe;
using Kimi.Cpu.Model.Ops;
using Kimi.Cpu.Quants;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Tests.Model;

public unsafe class OpsTests
{
    private static KimiConfig TinyConfig()
    {
        string path = TinyModelFile.Write();
        try
        {
            using var g = GgufModel.Open(path);
            return KimiConfig.FromGguf(g);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void RmsNormScalesThenMultipliesByTheWeight()
    {
        float[] x = [1, -2, 3, -4];
        float[] w = [1, 0.5f, 2, 1];
        var y = new float[4];
        fixed (float* px = x, py = y) RmsNorm.Apply(px, w, 1e-6f, py);
        float scale = 1f / MathF.Sqrt(30f / 4 + 1e-6f);
        for (int i = 0; i < 4; i++) Assert.Equal(x[i] * scale * w[i], y[i]);
    }

    [Fact]
    public void RopeRotatesAdjacentPairsWithYarnMixedAngles()
    {
        var c = TinyConfig(); // n_rot 16, base 50000, factor 32, orig ctx 4096
        int n = c.RopeDimensionCount;
        var cache = new float[n];
        const int pos = 1000;
        fixed (float* pc = cache) Rope.BuildCache(c, pos, pc);
        // independent double-precision YaRN (spec §4.5)
        double lowD = Math.Floor(n * Math.Log(4096 / (32 * 2 * Math.PI)) / (2 * Math.Log(50000)));
        double highD = Math.Ceiling(n * Math.Log(4096 / (1 * 2 * Math.PI)) / (2 * Math.Log(50000)));
        Assert.Equal(lowD, c.YarnCorrLow);
        Assert.Equal(highD, c.YarnCorrHigh);
        for (int i = 0; i < n / 2; i++)
        {
            double thExt = pos * Math.Pow(50000, -2.0 * i / n);
            double ramp = 1 - Math.Clamp((i - lowD) / Math.Max(0.001, highD - lowD), 0, 1);
            double th = thExt / 32 * (1 - ramp) + thExt * ramp;
            // magnitude yarn_attn_factor·(1+0.1 ln 32) ≈ 1; float32 theta drifts ~1e-4 rad at pos 1000
            Assert.Equal(Math.Cos(th), cache[2 * i], 3);
            Assert.Equal(Math.Sin(th), cache[2 * i + 1], 3);
        }
        float[] x = [1, 0, 0, 1];
        float[] rot = [cache[0], cache[1], cache[2], cache[3]];
        fixed (float* px = x, pr = rot) Rope.Apply(px, pr, 4);
        Assert.Equal(rot[0], x[0]);      // (1,0) → (cos, sin)
        Assert.Equal(rot[1], x[1]);
        Assert.Equal(-rot[3], x[2]);     // (0,1) → (−sin, cos)
        Assert.Equal(rot[2], x[3]);
    }

    [Fact]
    public void RouterSelectsWithBiasButWeighsWithoutIt()
    {
        var c = TinyConfig(); // 8 experts, top 3, sigmoid, norm, scale 2.827
        float[] logits = [0.0f, 2.0f, -1.0f, 1.5f, 0.5f, -3.0f, 1.0f, 0.2f];
        float[] bias = [0, 0, 5, 0, 0, 0, -5, 0]; // promotes expert 2, demotes expert 6
        var sel = new float[8];
        var ids = new int[3];
        var w = new float[3];
        var probs = (float[])logits.Clone();
        fixed (float* pl = probs, ps = sel, pw = w)
        fixed (int* pi = ids)
            MoeRouter.Route(c, bias, pl, ps, pi, pw);
        Assert.Equal([2, 1, 3], ids); // by biased score: 2 (σ(−1)+5), 1, 3 — 6 would have been third without the bias
        double s1 = Sig(-1), s2 = Sig(2), s3 = Sig(1.5);
        double sum = s1 + s2 + s3;
        Assert.Equal(s1 / sum * 2.827, w[0], 5);
        Assert.Equal(s2 / sum * 2.827, w[1], 5);
        Assert.Equal(s3 / sum * 2.827, w[2], 5);
        static double Sig(double x) => 1 / (1 + Math.Exp(-x));
    }

    /// <summary>TopK (a taken flag per value) picks exactly what the definition does: k times the first largest value not
    /// yet picked (ties to the lower index, NaN never above a number, −1 once nothing is left), on values with many ties.</summary>
    [Fact]
    public void TopKEqualsRepeatedFirstMaximum()
    {
        var rng = new Random(21);
        foreach (int n in new[] { 1, 2, 8, 64, 384 })
            for (int rep = 0; rep < 200; rep++)
            {
                int k = Math.Min(n + 1, 1 + rng.Next(9));
                var v = new float[n];
                for (int i = 0; i < n; i++) v[i] = rep % 9 == 0 && i % 7 == 3 ? float.NaN : rng.Next(6) * 0.25f - (rep % 2) * 10;
                var expected = new int[k];
                for (int j = 0; j < k; j++)
                {
                    int best = -1;
                    for (int i = 0; i < n; i++)
                        if (!expected.AsSpan(0, j).Contains(i) && (best < 0 || v[i] > v[best])) best = i;
                    expected[j] = best;
                }
                var got = new int[k];
                fixed (float* pv = v) fixed (int* pg = got) MoeRouter.TopK(pv, n, k, pg);
                Assert.Equal(expected, got);
            }
    }

    [Fact]
    public void TopKBreaksTiesTowardTheLowerIndex()
    {
        float[] v = [1, 3, 3, 2, 3];
        var r = new int[3];
        fixed (float* pv = v) fixed (int* pr = r) MoeRouter.TopK(pv, 5, 3, pr);
        Assert.Equal([1, 2, 4], r);
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q5_0)]      // (Q4_1/Q5_1 use the activation block's stored fp16 sum: see Kernels/DotKernelTests)
    [InlineData(GgmlType.IQ4_NL)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.Q2_K)]
    [InlineData(GgmlType.IQ4_XS)]
    [InlineData(GgmlType.IQ3_S)]
    [InlineData(GgmlType.TQ2_0)]
    public void MatMulEqualsDequantizedWeightsTimesConvertedActivation(GgmlType type)
    {
        const int cols = 256, rows = 5, tokens = 3;
        var rng = new Random(3);
        var wf = new float[cols * rows];
        for (int i = 0; i < wf.Length; i++) wf[i] = (float)(rng.NextDouble() * 2 - 1);
        long rb = GgmlTypeInfo.RowBytes(type, cols);
        var wq = new byte[rb * rows];
        for (int r = 0; r < rows; r++) Quantizer.QuantizeRow(type, wf.AsSpan(r * cols, cols), wq.AsSpan((int)(r * rb), (int)rb));
        var x = new float[tokens * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        var y = new float[tokens * rows];
        foreach (var isa in Kimi.Cpu.Kernels.KernelIsas.Supported)
        {
            using var mm = new KernelMatMul(cols, tokens, null, Kimi.Cpu.Kernels.KernelSet.Create(isa));
            fixed (byte* pw = wq) fixed (float* px = x, py = y)
                mm.Multiply(new WeightMatrix("w", pw, type, cols, rows), px, cols, tokens, py, rows);
            CheckAgainstReference(type, cols, rows, tokens, wq, rb, x, y);
        }
    }

    /// <summary>
    /// MultiplyPair (one conversion for gate and up, q_a and kv_a) gives the bits of two Multiply calls, and converting
    /// the input rows on a pool gives the bits of one thread: same-format pairs, pairs whose formats differ (converted
    /// twice) and Q4_0 (whose activation carries the pair copy) against Q8_0.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q6_K)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q8_0)]
    [InlineData(GgmlType.F32, GgmlType.F16)]
    public void MultiplyPairEqualsTwoProductsOnAnyThreadCount(GgmlType ta, GgmlType tb)
    {
        const int cols = 512, rowsA = 7, rowsB = 9, tokens = 37;
        var rng = new Random(11);
        byte[] qa = RandomWeights(rng, ta, cols, rowsA), qb = RandomWeights(rng, tb, cols, rowsB);
        var x = new float[tokens * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        var kernels = Kimi.Cpu.Kernels.KernelSet.Create(Kimi.Cpu.Kernels.KernelIsas.Default);
        float[] ya1 = new float[tokens * rowsA], yb1 = new float[tokens * rowsB], ya2 = new float[tokens * rowsA], yb2 = new float[tokens * rowsB];
        using var pool = new WorkerPool(3);
        using (var one = new KernelMatMul(cols, tokens, null, kernels))
        using (var pooled = new KernelMatMul(cols, tokens, pool, kernels))
        fixed (byte* pa = qa, pb = qb) fixed (float* px = x, pya1 = ya1, pyb1 = yb1, pya2 = ya2, pyb2 = yb2)
        {
            var a = new WeightMatrix("a", pa, ta, cols, rowsA);
            var b = new WeightMatrix("b", pb, tb, cols, rowsB);
            one.Multiply(a, px, cols, tokens, pya1, rowsA);
            one.Multiply(b, px, cols, tokens, pyb1, rowsB);
            pooled.MultiplyPair(a, pya2, rowsA, b, pyb2, rowsB, px, cols, tokens);
        }
        Assert.Equal(ya1, ya2);
        Assert.Equal(yb1, yb2);
        Assert.Contains(ya1, v => v != 0);
    }

    /// <summary>
    /// The routed experts' grouped product (mul_mat_id) equals one Multiply per expert over that expert's gathered rows,
    /// bit for bit: groups of 1, 3, 4 and 9 tokens (dots, tiles and both), rows read by index, on a pool; gate and up of
    /// one type as one job, of two types as two.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q6_K)]
    [InlineData(GgmlType.IQ2_XXS, GgmlType.IQ2_XXS)]
    public void GroupedExpertProductEqualsPerExpertProducts(GgmlType gateType, GgmlType upType)
    {
        const int cols = 256, rows = 10, experts = 5, inputs = 8;
        int[] tokens = { 1, 3, 4, 9 }; // groups over experts 3, 0, 4, 1
        int[] expertOf = { 3, 0, 4, 1 };
        var rng = new Random(5);
        byte[] gq = RandomWeights(rng, gateType, cols, rows * experts), uq = RandomWeights(rng, upType, cols, rows * experts);
        var x = new float[inputs * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        int m = tokens.Sum();
        var rowOf = new int[m];
        for (int i = 0; i < m; i++) rowOf[i] = rng.Next(inputs);
        var kernels = Kimi.Cpu.Kernels.KernelSet.Create(Kimi.Cpu.Kernels.KernelIsas.Default);
        float[] g1 = new float[m * rows], u1 = new float[m * rows], g2 = new float[m * rows], u2 = new float[m * rows];
        var gathered = new float[m * cols];
        for (int i = 0; i < m; i++) Array.Copy(x, rowOf[i] * cols, gathered, i * cols, cols);
        using var pool = new WorkerPool(3);
        using var one = new KernelMatMul(cols, m, null, kernels);
        using var grouped = new KernelMatMul(cols, m, pool, kernels);
        fixed (byte* pg = gq, pu = uq) fixed (float* px = x, pgx = gathered, pg1 = g1, pu1 = u1, pg2 = g2, pu2 = u2) fixed (int* prow = rowOf)
        {
            var gate = new WeightStack("gate", pg, gateType, cols, rows, experts);
            var up = new WeightStack("up", pu, upType, cols, rows, experts);
            var groups = stackalloc Kimi.Cpu.Kernels.MatMulGroup[2 * tokens.Length];
            int start = 0;
            for (int g = 0; g < tokens.Length; g++)
            {
                one.Multiply(gate[expertOf[g]], pgx + start * cols, cols, tokens[g], pg1 + start * rows, rows);
                one.Multiply(up[expertOf[g]], pgx + start * cols, cols, tokens[g], pu1 + start * rows, rows);
                groups[g] = new Kimi.Cpu.Kernels.MatMulGroup { W = gate[expertOf[g]].Data, Y = pg2, TokenStart = start, Tokens = tokens[g] };
                groups[tokens.Length + g] = new Kimi.Cpu.Kernels.MatMulGroup { W = up[expertOf[g]].Data, Y = pu2, TokenStart = start, Tokens = tokens[g] };
                start += tokens[g];
            }
            grouped.MultiplyGroups(gate, up, groups, tokens.Length, px, cols, inputs, prow, rows);
        }
        Assert.Equal(g1, g2);
        Assert.Equal(u1, u2);
        Assert.Contains(g1, v => v != 0);
    }

    /// <summary>Rows of uniform random weights in [−1, 1) quantized to <paramref name="type"/> (a flat importance matrix
    /// for the types that need one).</summary>
    private static byte[] RandomWeights(Random rng, GgmlType type, int cols, int rows)
    {
        long rb = GgmlTypeInfo.RowBytes(type, cols);
        var wq = new byte[rb * rows];
        var wf = new float[cols];
        var imatrix = Quantizer.RequiresImportance(type) ? Enumerable.Repeat(1f, cols).ToArray() : null;
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < cols; i++) wf[i] = (float)(rng.NextDouble() * 2 - 1);
            Quantizer.QuantizeRow(type, wf, wq.AsSpan((int)(r * rb), (int)rb), imatrix);
        }
        return wq;
    }

    private static unsafe void CheckAgainstReference(GgmlType type, int cols, int rows, int tokens, byte[] wq, long rb, float[] x, float[] y)
    {

        // reference: dequantize the weight row, convert the activation to the vec_dot type and back, sum in double
        var vt = type is GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.IQ4_XS ? GgmlType.Q8_K : Kimi.Cpu.Kernels.ActivationFormat.For(type);
        var wRow = new float[cols];
        var xq = new byte[GgmlTypeInfo.RowBytes(vt, cols)];
        var xBack = new float[cols];
        for (int t = 0; t < tokens; t++)
        {
            var xt = x.AsSpan(t * cols, cols);
            switch (vt)
            {
                case GgmlType.Q8_0: ActivationQuants.QuantizeQ8_0(xt, xq, Q8Rounding.X86Simd); break;
                case GgmlType.Q8_1: ActivationQuants.QuantizeQ8_1(xt, xq, Q8Rounding.X86Simd); break;
                case GgmlType.Q8_K: ActivationQuants.QuantizeQ8_K(xt, xq); break;
                default: Quantizer.QuantizeRow(vt, xt, xq); break; // F32 exact, F16/BF16 rounded
            }
            Quantizer.DequantizeRow(vt, xq, xBack);
            for (int r = 0; r < rows; r++)
            {
                Quantizer.DequantizeRow(type, wq.AsSpan((int)(r * rb), (int)rb), wRow);
                double s = 0, magnitude = 0;
                for (int k = 0; k < cols; k++)
                {
                    s += (double)wRow[k] * xBack[k];
                    magnitude += Math.Abs((double)wRow[k] * xBack[k]);
                }
                // float summation in any order: error within a few ulps of the sum of magnitudes
                Assert.True(Math.Abs(s - y[t * rows + r]) <= 1e-6 * magnitude + 1e-6, $"{type} row {r} token {t}: reference {s}, got {y[t * rows + r]}");
            }
        }
    }

    [Fact]
    public void Q8_0ActivationsRoundHalfToEvenWithScale127OverMax()
    {
        // amax 127 → id = 1 exactly: 62.5 → 62 and 2.5 → 2 (half to even; ggml's reference roundf would give 63 and 3)
        var x = new float[32];
        x[0] = 127f; x[1] = 62.5f; x[2] = -1.5f; x[3] = 2.5f;
        var q = new byte[34 + 8]; // block + the kernels' per-block sidecar
        fixed (float* px = x) fixed (byte* pq = q) Kimi.Cpu.Kernels.ActQuantScalar.Q8_0(px, pq, 32);
        Assert.Equal(127, (sbyte)q[2]);
        Assert.Equal(62, (sbyte)q[3]);
        Assert.Equal(-2, (sbyte)q[4]);
        Assert.Equal(2, (sbyte)q[5]);
        Assert.Equal(HalfConvert.FloatToHalf(1f), BitConverter.ToUInt16(q, 0));
    }
}
