using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;
using Kimi.Cpu.Runtime;
using Kimi.Cpu.Tests.Kernels;

// For every kernel family this CPU runs and every matmul weight type: GEMV through the public MatMul API equals the
// scalar family within float-summation tolerance, and the converted activations are byte-identical. Prints the plain
// "N passed, M failed" line and exits non-zero on any failure.
Console.WriteLine($"{RuntimeInformation.ProcessArchitecture}; AdvSimd={AdvSimd.IsSupported} Dp={Dp.IsSupported} " +
                  $"V128={Vector128.IsHardwareAccelerated}; families: {string.Join(", ", KernelIsas.Supported)}; default {KernelIsas.Default}");
int passed = 0, failed = 0;
using var pool = new WorkerPool(2);
using var scalar = new MatMul(pool, KernelIsa.Scalar);
foreach (KernelIsa isa in KernelIsas.Supported)
{
    using var mm = new MatMul(pool, isa);
    foreach (GgmlType type in KernelTestData.MatMulTypes)
    {
        var rng = new Random(17 + (int)type);
        int block = GgmlTypeInfo.BlockSize(type);
        int[] shapes = block == 1 ? [17, 100, 1031] : block == 32 ? [32, 96, 224, 1056] : [256, 768, 1280];
        foreach (int cols in shapes)
        {
            const int rows = 9;
            long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
            var w = new byte[rowBytes * rows];
            for (int r = 0; r < rows; r++) KernelTestData.WeightRow(rng, type, cols).CopyTo(w, r * rowBytes);
            float[] x = KernelTestData.Activations(rng, cols);
            var y = new float[rows];
            var yRef = new float[rows];
            using var q = new QuantizedActivations();
            using var qRef = new QuantizedActivations();
            bool ok = true;
            string why = "";
            unsafe
            {
                fixed (byte* pw = w)
                {
                    mm.Gemv(type, pw, rowBytes, rows, cols, x, y);
                    scalar.Gemv(type, pw, rowBytes, rows, cols, x, yRef);
                }
                mm.Quantize(type, x, 1, cols, q);
                scalar.Quantize(type, x, 1, cols, qRef);
                var qa = new ReadOnlySpan<byte>(q.Data, (int)q.RowBytes);
                if (!qa.SequenceEqual(new ReadOnlySpan<byte>(qRef.Data, (int)qRef.RowBytes))) { ok = false; why = "activation bytes differ"; }
                double[] da = KernelTestData.ActivationValues(type, qa, cols);
                for (int r = 0; r < rows && ok; r++)
                {
                    double[] dw = KernelTestData.Dequantize(type, w.AsSpan((int)(r * rowBytes), (int)rowBytes), cols);
                    double mag = 0;
                    for (int i = 0; i < cols; i++) mag += Math.Abs(dw[i] * da[i]);
                    if (!(Math.Abs(y[r] - yRef[r]) <= 2e-6 * mag + 1e-30)) { ok = false; why = $"row {r}: {y[r]} vs scalar {yRef[r]}"; }
                }
            }
            if (ok) passed++;
            else { failed++; Console.WriteLine($"FAIL {mm.Kernels.DotName(type)} cols={cols}: {why}"); }
        }
    }
    // Worst-case rows for the integer accumulators (i16 lanes in the smlal / Vector128 paths): Gemv against scalar.
    foreach (GgmlType type in KernelExtremes.Types())
    {
        int cols = GgmlTypeInfo.BlockSize(type) == 256 ? 512 : 96;
        foreach (byte pattern in KernelExtremes.Patterns)
            foreach (float[] x in KernelExtremes.Activations(cols))
            {
                byte[] w = KernelExtremes.WeightRow(type, cols, pattern);
                float[] y = new float[1], yRef = new float[1];
                unsafe
                {
                    fixed (byte* pw = w)
                    {
                        mm.Gemv(type, pw, w.Length, 1, cols, x, y);
                        scalar.Gemv(type, pw, w.Length, 1, cols, x, yRef);
                    }
                }
                // Tolerance as above: a few ulps of Σ|w·x| (x ±1 quantizes to ±127·d, so |x| is a fine stand-in).
                double mag = KernelTestData.Dequantize(type, w, cols).Sum(Math.Abs);
                if (Math.Abs(y[0] - yRef[0]) <= 2e-6 * mag + 1e-30) passed++;
                else { failed++; Console.WriteLine($"FAIL {mm.Kernels.DotName(type)} extreme pattern {pattern:X2}: {y[0]} vs scalar {yRef[0]}"); }
            }
    }
    Console.WriteLine($"{isa}: checked ({string.Join(", ", KernelTestData.MatMulTypes.Select(t => mm.Kernels.DotName(t)).Where(n => !n.StartsWith("Scalar", StringComparison.Ordinal)))})");
}
// The attention's fp16 helpers (Vector128 on NEON, Vector256 where accelerated): exact round trips and the fused steps.
{
    var rng = new Random(23);
    int bad = 0;
    var x = new float[4099];
    for (int rep = 0; rep < 64; rep++)
    {
        for (int i = 0; i < x.Length; i++) x[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
        x[0] = 65504; x[1] = 65519.996f; x[2] = 65520; x[3] = 6.1035156e-5f; x[4] = 2.9802322e-8f; x[5] = -0f; x[6] = float.NaN;
        var y = (float[])x.Clone();
        unsafe { fixed (float* py = y) Fp16.RoundToHalf(py, y.Length); }
        for (int i = 0; i < x.Length; i++)
        {
            float e = (float)(Half)x[i];
            if (!(float.IsNaN(e) ? float.IsNaN(y[i]) : BitConverter.SingleToUInt32Bits(e) == BitConverter.SingleToUInt32Bits(y[i]))) bad++;
        }
        int n = 1 + rng.Next(600);
        var v = new Half[n];
        var acc = new float[n];
        double dot = 0, mag = 0;
        for (int i = 0; i < n; i++)
        {
            v[i] = (Half)(float)(rng.NextDouble() * 4 - 2);
            acc[i] = (float)(Half)(float)(rng.NextDouble() * 8 - 4);
            dot += (double)(float)v[i] * acc[i];
            mag += Math.Abs((double)(float)v[i] * acc[i]);
        }
        float s = (float)rng.NextDouble(), got;
        var mad = (float[])acc.Clone();
        var madF32 = (float[])acc.Clone();
        float[] vf = v.Select(h => (float)h).ToArray();
        unsafe
        {
            fixed (Half* pv = v) fixed (float* pa = acc) got = Fp16.DotHalf((byte*)pv, pa, n);
            fixed (Half* pv = v) fixed (float* pm = mad) Fp16.MadRoundHalf(pm, (byte*)pv, s, n);
            fixed (float* pm = madF32) Fp16.MadRoundHalf(pm, vf, s, n);
        }
        if (!(Math.Abs(got - dot) <= n * Math.Pow(2, -24) * mag + 1e-30)) bad++;
        for (int i = 0; i < n; i++)
        {
            uint expected = BitConverter.SingleToUInt32Bits((float)(Half)MathF.FusedMultiplyAdd((float)v[i], s, acc[i]));
            if (BitConverter.SingleToUInt32Bits(mad[i]) != expected || BitConverter.SingleToUInt32Bits(madF32[i]) != expected) bad++;
        }
    }
    if (bad == 0) passed++;
    else { failed++; Console.WriteLine($"FAIL Fp16.RoundToHalf/MadRoundHalf/DotHalf: {bad} wrong values"); }
    Console.WriteLine("fp16 attention helpers: checked");
}
// The tiled attention's F32 GEMM (Vector128 on NEON) gives the scalar chains' bits; the KV rows' fp16 → fp32 conversion
// is exact for every half.
{
    var rng = new Random(29);
    int bad = 0;
    foreach (var (m, k, n) in new[] { (4, 576, 64), (7, 64, 512), (5, 33, 8), (3, 10, 20) })
    {
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] c = Enumerable.Range(0, m * n).Select(_ => (float)rng.NextDouble()).ToArray(), cRef = (float[])c.Clone();
        unsafe
        {
            fixed (float* pa = a, pb = b, pc = c, pr = cRef)
            {
                FloatGemm.MultiplyAdd(pc, n, pa, k, pb, n, m, k, n);
                FloatGemm.Scalar(pr, n, pa, k, pb, n, m, k, n);
            }
        }
        for (int i = 0; i < c.Length; i++) if (BitConverter.SingleToUInt32Bits(c[i]) != BitConverter.SingleToUInt32Bits(cRef[i])) bad++;
    }
    var h = new ushort[65536 + 13];
    for (int i = 0; i < h.Length; i++) h[i] = (ushort)i;
    var f = new float[h.Length];
    unsafe { fixed (ushort* ph = h) fixed (float* pf = f) Fp16.ToFloat(ph, pf, h.Length); }
    for (int i = 0; i < h.Length; i++)
    {
        float e = (float)BitConverter.UInt16BitsToHalf(h[i]);
        if (!(float.IsNaN(e) ? float.IsNaN(f[i]) : BitConverter.SingleToUInt32Bits(e) == BitConverter.SingleToUInt32Bits(f[i]))) bad++;
    }
    if (bad == 0) passed++;
    else { failed++; Console.WriteLine($"FAIL FloatGemm / Fp16.ToFloat rows: {bad} wrong values"); }
    Console.WriteLine("attention GEMM and row conversion: checked");
}
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
