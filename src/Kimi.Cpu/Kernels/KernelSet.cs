using System.Runtime.CompilerServices;
using Kimi.Cpu.Gguf;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// The activation quantizer and dot kernel for each weight type on one <see cref="KernelIsa"/>, picked once.
/// A type a family has no code for falls back to the next family down (e.g. AVX-512 Q6_K → AVX2 Q6_K → scalar);
/// <see cref="DotName"/> says which one runs. Immutable after construction (a few hundred bytes; build one per owner).
/// </summary>
public sealed unsafe class KernelSet
{
    /// <summary>fp32 row of n values → activation row in <see cref="ActivationFormat"/>.</summary>
    internal delegate*<float*, byte*, int, void>[] Quantizers { get; }

    /// <summary>weight row · activation row over n values.</summary>
    internal delegate*<byte*, byte*, int, float>[] Dots { get; }

    /// <summary>Runs of two weight rows · one activation row (row0, row1, row stride, pairs, activation, n, y0[pairs],
    /// y1[pairs]: pair i is rows row0 + i·stride and row1 + i·stride), each output bit for bit the <see cref="Dots"/>
    /// kernel's; for GEMV, where two row streams from RAM outrun one. Null where a type has none.</summary>
    internal delegate*<byte*, byte*, long, int, byte*, int, float*, float*, void>[] PairDots { get; }

    /// <summary>Register-blocked micro-kernels (<see cref="TileAvx2"/>): 4 weight rows × 4 tokens of a batch; null where a
    /// type has none (the driver then calls <see cref="Dots"/> for every pair).</summary>
    internal delegate*<byte**, byte**, int, float*, void>[] Tiles4x4 { get; }

    /// <summary>
    /// Tiles that can take their 4 rows' block scales already in fp32 (<c>rs[r·blocks + b]</c>, from
    /// <see cref="RowScales"/>), so that a batch's driver converts them once per row group instead of once per 4 tokens:
    /// same results as <see cref="Tiles4x4"/>. Null where a type has none.
    /// </summary>
    internal delegate*<byte**, byte**, int, float*, float*, void>[] ScaledTiles4x4 { get; }

    /// <summary>A weight row's block scales as fp32 (exact): (row, blocks, destination). Set with <see cref="ScaledTiles4x4"/>.</summary>
    internal delegate*<byte*, int, float*, void>[] RowScales { get; }

    private readonly string[] _dotNames;

    /// <summary>
    /// For the types whose kernels finish whole 8-block windows (Q8_0 on the AVX-512 set): the kernel set that serves
    /// rows shorter than one window (<see cref="WindowCols"/> columns), where those kernels would run on their tail path
    /// alone (the 128-wide attention heads: 8.75 against 5.02 cycles per (row, token, block) in a GEMM). Null elsewhere.
    /// The drivers pick per product (<see cref="TileKernels.For"/>), so dot and tile of one product stay one arithmetic.
    /// </summary>
    internal KernelSet? ShortRows { get; private set; }

    private readonly bool[] _shortRowsFallback = new bool[TypeCount];

    /// <summary>Columns of one 8-block window of a 32-element block type.</summary>
    internal const int WindowCols = 256;

    /// <summary>The set whose kernels a product of <paramref name="type"/> rows of <paramref name="cols"/> columns uses.</summary>
    internal KernelSet For(GgmlType type, int cols) =>
        ShortRows != null && cols < WindowCols && _shortRowsFallback[(int)type] ? ShortRows : this;

    /// <summary>The family this set was built for.</summary>
    public KernelIsa Isa { get; }

    /// <summary>Builds the kernel set for <paramref name="isa"/> (<see cref="KernelIsa.Auto"/>: <see cref="KernelIsas.Default"/>).</summary>
    public static KernelSet Create(KernelIsa isa = KernelIsa.Auto) => new(KernelIsas.Resolve(isa));

    private const int TypeCount = 64;

    private static readonly Type[] StaticTableClasses =
        [typeof(Fp16), typeof(DotAvx2IQuants), typeof(DotAvx2KQuants), typeof(DotAvx512IQuants), typeof(DotAvx512), typeof(DotVector128IQuants), typeof(TileAvx512)];

    private KernelSet(KernelIsa isa)
    {
        Isa = isa;
        Quantizers = new delegate*<float*, byte*, int, void>[TypeCount];
        Dots = new delegate*<byte*, byte*, int, float>[TypeCount];
        PairDots = new delegate*<byte*, byte*, long, int, byte*, int, float*, float*, void>[TypeCount];
        Tiles4x4 = new delegate*<byte**, byte**, int, float*, void>[TypeCount];
        ScaledTiles4x4 = new delegate*<byte**, byte**, int, float*, float*, void>[TypeCount];
        RowScales = new delegate*<byte*, int, float*, void>[TypeCount];
        _dotNames = new string[TypeCount];
        // The kernels read static tables (fp16 scales, sign masks, derived grids). A kernel with a stackalloc is compiled
        // fully optimized at its first call and never recompiled; if a class it reads were not initialized by then, its
        // loop would keep a class-init check, whose helper call made the JIT keep the vector accumulators in memory
        // (the AVX-512 IQ1_S measured 1.1-1.2× slower). So the classes with static tables are initialized first.
        foreach (var t in StaticTableClasses) RuntimeHelpers.RunClassConstructor(t.TypeHandle);
        // Lowest family first, each one overriding what it implements.
        AddScalar();
        if (isa == KernelIsa.Vector128) AddVector128();
        if (isa == KernelIsa.Neon) AddNeon();
        if (isa is KernelIsa.Avx2 or KernelIsa.Avx512) AddAvx2();
        if (isa == KernelIsa.Avx512) AddAvx512();
    }

    /// <summary>True when this set has a dot kernel for <paramref name="weight"/>.</summary>
    public bool Supports(GgmlType weight) => (uint)weight < TypeCount && Dots[(int)weight] != null;

    /// <summary>Which implementation the dot for <paramref name="weight"/> uses, e.g. "Avx512.Q4_0" or "Scalar.Q5_K".</summary>
    public string DotName(GgmlType weight) => Supports(weight) ? _dotNames[(int)weight] : "none";

    internal delegate*<float*, byte*, int, void> Quantizer(GgmlType weight) =>
        Supports(weight) ? Quantizers[(int)weight] : throw new NotSupportedException($"no matmul kernel for {GgmlTypeInfo.Name(weight)}");

    internal delegate*<byte*, byte*, int, float> Dot(GgmlType weight) =>
        Supports(weight) ? Dots[(int)weight] : throw new NotSupportedException($"no matmul kernel for {GgmlTypeInfo.Name(weight)}");

    private void Set(GgmlType t, string family, delegate*<byte*, byte*, int, float> dot)
    {
        Dots[(int)t] = dot;
        _dotNames[(int)t] = $"{family}.{t}";
    }

    private void SetTile(GgmlType t, delegate*<byte**, byte**, int, float*, void> x4) => Tiles4x4[(int)t] = x4;

    private void SetScaledTile(GgmlType t, delegate*<byte**, byte**, int, float*, float*, void> x4, delegate*<byte*, int, float*, void> scales)
    {
        ScaledTiles4x4[(int)t] = x4;
        RowScales[(int)t] = scales;
    }

    private void SetQuant(GgmlType activation, delegate*<float*, byte*, int, void> q)
    {
        for (int t = 0; t < TypeCount; t++)
            if (Enum.IsDefined((GgmlType)t) && IsMatMulType((GgmlType)t) && ActivationFormat.For((GgmlType)t) == activation) Quantizers[t] = q;
    }

    /// <summary>Weight types every kernel set multiplies (each has at least the scalar dot).</summary>
    internal static bool IsMatMulType(GgmlType t) => t is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q4_0 or GgmlType.Q4_1
        or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.IQ4_NL or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K
        or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.IQ4_XS or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S
        or GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.TQ1_0 or GgmlType.TQ2_0;

    private void AddScalar()
    {
        SetQuant(GgmlType.F32, &ActQuantScalar.F32);
        SetQuant(GgmlType.F16, &ActQuantScalar.F16);
        SetQuant(GgmlType.BF16, &ActQuantScalar.BF16);
        SetQuant(GgmlType.Q8_0, &ActQuantScalar.Q8_0);
        SetQuant(GgmlType.Q8_1, &ActQuantScalar.Q8_1);
        SetQuant(GgmlType.Q8_K, &ActQuantScalar.Q8_K);
        const string f = "Scalar";
        Set(GgmlType.F32, f, &DotScalar.F32);
        Set(GgmlType.F16, f, &DotScalar.F16);
        Set(GgmlType.BF16, f, &DotScalar.BF16);
        Set(GgmlType.Q8_0, f, &DotScalar.Q8_0);
        Set(GgmlType.Q4_0, f, &DotScalar.Q4_0);
        Set(GgmlType.Q4_1, f, &DotScalar.Q4_1);
        Set(GgmlType.Q5_0, f, &DotScalar.Q5_0);
        Set(GgmlType.Q5_1, f, &DotScalar.Q5_1);
        Set(GgmlType.IQ4_NL, f, &DotScalar.IQ4_NL);
        Set(GgmlType.Q4_K, f, &DotScalar.Q4_K);
        Set(GgmlType.Q5_K, f, &DotScalar.Q5_K);
        Set(GgmlType.Q6_K, f, &DotScalar.Q6_K);
        Set(GgmlType.Q2_K, f, &DotScalar.Q2_K);
        Set(GgmlType.Q3_K, f, &DotScalar.Q3_K);
        Set(GgmlType.IQ4_XS, f, &DotScalar.IQ4_XS);
        Set(GgmlType.IQ2_XXS, f, &DotScalar.IQ2_XXS);
        Set(GgmlType.IQ2_XS, f, &DotScalar.IQ2_XS);
        Set(GgmlType.IQ2_S, f, &DotScalar.IQ2_S);
        Set(GgmlType.IQ3_XXS, f, &DotScalar.IQ3_XXS);
        Set(GgmlType.IQ3_S, f, &DotScalar.IQ3_S);
        Set(GgmlType.IQ1_S, f, &DotScalar.IQ1_S);
        Set(GgmlType.IQ1_M, f, &DotScalar.IQ1_M);
        Set(GgmlType.TQ1_0, f, &DotScalar.TQ1_0);
        Set(GgmlType.TQ2_0, f, &DotScalar.TQ2_0);
    }

    private void AddVector128()
    {
        SetQuant(GgmlType.Q8_0, &ActQuantVector.Q8_0V128);
        SetQuant(GgmlType.Q8_K, &ActQuantVectorQ8K.Q8_KV128);
        const string f = "Vector128";
        Set(GgmlType.F32, f, &DotVector128.F32);
        Set(GgmlType.F16, f, &DotVector128.F16);
        Set(GgmlType.BF16, f, &DotVector128.BF16);
        Set(GgmlType.Q8_0, f, &DotVector128.Q8_0);
        Set(GgmlType.Q4_0, f, &DotVector128.Q4_0);
        SetQuant(GgmlType.Q8_1, &ActQuantVector.Q8_1V128);
        Set(GgmlType.Q4_1, f, &Legacy128<Vector128LegacyBlocks>.Q4_1);
        Set(GgmlType.Q5_0, f, &Legacy128<Vector128LegacyBlocks>.Q5_0);
        Set(GgmlType.Q5_1, f, &Legacy128<Vector128LegacyBlocks>.Q5_1);
        Set(GgmlType.IQ4_NL, f, &Legacy128<Vector128LegacyBlocks>.IQ4_NL);
        Set(GgmlType.Q4_K, f, &DotVector128KQuants.Q4_K);
        Set(GgmlType.Q5_K, f, &DotVector128KQuants.Q5_K);
        Set(GgmlType.Q6_K, f, &DotVector128KQuants.Q6_K);
        Set(GgmlType.IQ4_XS, f, &DotVector128KQuants.IQ4_XS);
        Set(GgmlType.Q2_K, f, &DotVector128KQuants.Q2_K);
        Set(GgmlType.Q3_K, f, &DotVector128KQuants.Q3_K);
        // i-quant/ternary dots (Dot.Vector128.IQuants.cs; the Neon set runs the same code), same setup, scalar → Vector128
        // (AVX2): IQ2_XXS 0.19 → 2.9 (4.0), IQ2_XS 0.22 → 2.35 (3.2), IQ2_S 0.24 → 2.4 (3.0), TQ1_0 0.18 → 3.05 (5.75),
        // TQ2_0 0.25 → 4.45 (19.4).
        Set(GgmlType.IQ2_XXS, f, &DotVector128IQuants.IQ2_XXS);
        Set(GgmlType.IQ2_XS, f, &DotVector128IQuants.IQ2_XS);
        Set(GgmlType.IQ2_S, f, &DotVector128IQuants.IQ2_S);
        Set(GgmlType.TQ1_0, f, &DotVector128IQuants.TQ1_0);
        Set(GgmlType.TQ2_0, f, &DotVector128IQuants.TQ2_0);
        // K-quants vs scalar, 1 thread, weights in L2, Zen 4 on a loaded machine (GB/s of weights, spread over runs):
        // Q4_K 2.9-5.3 vs 0.5, Q5_K 4.6-5.8 vs 0.14, Q6_K 4.7-6.1 vs 0.45; Q8_K quantizer 4-6.7 vs 1.2-2 (GB/s of fp32).
        // Same setup (64 rows of 7168, best of 7, tiering off), AVX2 for comparison: IQ4_XS 5.0 vs 0.71 (AVX2 13.4),
        // Q2_K 3.4 vs 0.33 (13.9), Q3_K 3.1 vs 0.31 (11.8).
        // IQ3_XXS/IQ3_S/IQ1_S/IQ1_M (Dot.Vector128.IQ1IQ3.cs), 1 thread, 64 rows of 7168 in L2, best of 15, GB/s of weights,
        // scalar → Vector128 (AVX2 of the same run in brackets):
        // IQ3_XXS 0.27 → 3.6 (4.6), IQ3_S 0.28 → 3.2 (2.7), IQ1_S 0.18 → 2.3 (2.3), IQ1_M 0.12 → 1.75 (2.0).
        Set(GgmlType.IQ3_XXS, f, &DotVector128IQuants.IQ3_XXS);
        Set(GgmlType.IQ3_S, f, &DotVector128IQuants.IQ3_S);
        Set(GgmlType.IQ1_S, f, &DotVector128IQuants.IQ1_S);
        Set(GgmlType.IQ1_M, f, &DotVector128IQuants.IQ1_M);
    }

    private void AddNeon()
    {
        SetQuant(GgmlType.Q8_0, &ActQuantVector.Q8_0V128);
        SetQuant(GgmlType.Q8_K, &ActQuantVectorQ8K.Q8_KV128);
        const string f = "Neon";
        Set(GgmlType.F32, f, &DotNeon.F32);
        Set(GgmlType.F16, f, &DotNeon.F16);
        Set(GgmlType.BF16, f, &DotNeon.BF16);
        Set(GgmlType.Q8_0, f, &DotNeon.Q8_0);
        Set(GgmlType.Q4_0, f, &DotNeon.Q4_0);
        SetQuant(GgmlType.Q8_1, &ActQuantVector.Q8_1V128);
        Set(GgmlType.Q4_1, f, &Legacy128<NeonLegacyBlocks>.Q4_1);
        Set(GgmlType.Q5_0, f, &Legacy128<NeonLegacyBlocks>.Q5_0);
        Set(GgmlType.Q5_1, f, &Legacy128<NeonLegacyBlocks>.Q5_1);
        Set(GgmlType.IQ4_NL, f, &Legacy128<NeonLegacyBlocks>.IQ4_NL);
        Set(GgmlType.Q4_K, f, &DotNeonKQuants.Q4_K);
        Set(GgmlType.Q5_K, f, &DotNeonKQuants.Q5_K);
        Set(GgmlType.Q6_K, f, &DotNeonKQuants.Q6_K);
        Set(GgmlType.IQ4_XS, f, &DotNeonKQuants.IQ4_XS);
        Set(GgmlType.Q2_K, f, &DotNeonKQuants.Q2_K);
        Set(GgmlType.Q3_K, f, &DotNeonKQuants.Q3_K);
        // No AdvSimd-specific versions of the i-quant and ternary dots: the portable Vector128 ones (Dot.Vector128.IQuants.cs,
        // Dot.Vector128.IQ1IQ3.cs) JIT to NEON and are named so; checked under qemu, not timed on ARM hardware.
        const string v = "Vector128";
        Set(GgmlType.IQ2_XXS, v, &DotVector128IQuants.IQ2_XXS);
        Set(GgmlType.IQ2_XS, v, &DotVector128IQuants.IQ2_XS);
        Set(GgmlType.IQ2_S, v, &DotVector128IQuants.IQ2_S);
        Set(GgmlType.TQ1_0, v, &DotVector128IQuants.TQ1_0);
        Set(GgmlType.TQ2_0, v, &DotVector128IQuants.TQ2_0);
        Set(GgmlType.IQ3_XXS, v, &DotVector128IQuants.IQ3_XXS);
        Set(GgmlType.IQ3_S, v, &DotVector128IQuants.IQ3_S);
        Set(GgmlType.IQ1_S, v, &DotVector128IQuants.IQ1_S);
        Set(GgmlType.IQ1_M, v, &DotVector128IQuants.IQ1_M);
    }

    private void AddAvx2()
    {
        SetQuant(GgmlType.Q8_0, &ActQuantVector.Q8_0V256);
        const string f = "Avx2";
        Set(GgmlType.F32, f, &DotAvx2.F32);
        Set(GgmlType.F16, f, &DotAvx2.F16);
        Set(GgmlType.BF16, f, &DotAvx2.BF16);
        // The tiles' one-token twins, not DotAvx2.Q8_0/Q4_0: outputs must not depend on how a batch is tiled.
        Set(GgmlType.Q8_0, f, &TileAvx2.Q8_0);
        Set(GgmlType.Q4_0, f, &TileAvx2.Q4_0);
        // Q4_1/Q5_0/Q5_1/IQ4_NL (Dot.Avx2.Legacy.cs): 12-14 GB/s of weights with the rows in L2, 1 thread, Zen 4, vs 0.7-1.0
        // for the scalar dots (Q4_0 14.7 on the same run).
        SetQuant(GgmlType.Q8_1, &ActQuantVector.Q8_1V256);
        Set(GgmlType.Q4_1, f, &DotAvx2Legacy.Q4_1);
        Set(GgmlType.Q5_0, f, &DotAvx2Legacy.Q5_0);
        Set(GgmlType.Q5_1, f, &DotAvx2Legacy.Q5_1);
        Set(GgmlType.IQ4_NL, f, &DotAvx2Legacy.IQ4_NL);
        Set(GgmlType.Q4_K, f, &DotAvx2KQuants.Q4_K);
        Set(GgmlType.Q6_K, f, &DotAvx2KQuants.Q6_K);
        // K-quants, 1 thread, 7168-column rows in L2, GB/s of weights per CPU-second, scalar → AVX2 (Zen 4, shared machine):
        // Q2_K 0.34 → 14.9, Q3_K 0.31 → 12.0, Q4_K 0.70 → 20.9, Q5_K 0.61 → 18.5, Q6_K 0.58 → 26.0, IQ4_XS 0.71 → 14.9.
        // Q8_K activation row of 7168: 13 µs scalar, 2.5 µs Vector256.
        Set(GgmlType.Q5_K, f, &DotAvx2KQuants.Q5_K);
        Set(GgmlType.Q2_K, f, &DotAvx2KQuants.Q2_K);
        Set(GgmlType.Q3_K, f, &DotAvx2KQuants.Q3_K);
        Set(GgmlType.IQ4_XS, f, &DotAvx2KQuants.IQ4_XS);
        // i-quants and ternary types (Dot.Avx2.IQuants.cs), 1 thread, 64 rows of 7168 in L2, GB/s of weights, scalar dot →
        // AVX2 dot, shared Zen 4 (the model's former generic path, dequantized row + float dot: 0.06-0.22):
        // IQ2_XXS 0.19 → 4.0, IQ3_XXS 0.27 → 4.7, IQ1_S 0.17 → 2.3, IQ1_M 0.12 → 2.0, TQ2_0 0.25 → 19.4, IQ2_XS 0.22 → 3.2,
        // IQ2_S 0.24 → 3.0, IQ3_S 0.28 → 2.7, TQ1_0 0.18 → 5.8 (the grid types are bound by the per-8-element table reads).
        // Then, with the next super-block's indices, signs and scales prepared as vectors (the AVX-512 kernels' scheme in
        // AVX2 operations; ggml's AVX2 dots in brackets, same run): IQ2_XS 3.2 → 4.8 (4.6), IQ2_S 3.0 → 4.7-5.1 (5.1),
        // IQ3_S 2.7 → 5.2 (4.0), IQ1_S 2.3 → 3.7 (3.0), IQ1_M 2.0 → 3.3 (3.6).
        Set(GgmlType.IQ2_XXS, f, &DotAvx2IQuants.IQ2_XXS);
        Set(GgmlType.IQ3_XXS, f, &DotAvx2IQuants.IQ3_XXS);
        // IQ1_S: grid indices and scales of the next super-block computed as vectors and stored ahead; grid + 1 with one
        // vpmaddubsw (1 thread, 64 rows of 7168 in L2, Zen 4: 78.8 → 46.5 cycles per super-block), and its 4 × 4 tile.
        Set(GgmlType.IQ1_S, f, &DotAvx2IQuants.IQ1_S);
        SetTile(GgmlType.IQ1_S, &DotAvx2IQuants.IQ1_Sx4x4);
        // IQ1_M the same way (next super-block's indices, delta weights and scales stored ahead; grid + 1): 102.5 → 61.5.
        Set(GgmlType.IQ1_M, f, &DotAvx2IQuants.IQ1_M);
        SetTile(GgmlType.IQ1_M, &DotAvx2IQuants.IQ1_Mx4x4);
        Set(GgmlType.TQ2_0, f, &DotAvx2IQuants.TQ2_0);
        Set(GgmlType.IQ2_XS, f, &DotAvx2IQuants.IQ2_XS);
        Set(GgmlType.IQ2_S, f, &DotAvx2IQuants.IQ2_S);
        Set(GgmlType.IQ3_S, f, &DotAvx2IQuants.IQ3_S);
        SetTile(GgmlType.IQ2_XXS, &DotAvx2IQuants.IQ2_XXSx4x4);
        SetTile(GgmlType.IQ3_XXS, &DotAvx2IQuants.IQ3_XXSx4x4);
        SetTile(GgmlType.IQ2_XS, &DotAvx2IQuants.IQ2_XSx4x4);
        SetTile(GgmlType.IQ2_S, &DotAvx2IQuants.IQ2_Sx4x4);
        SetTile(GgmlType.IQ3_S, &DotAvx2IQuants.IQ3_Sx4x4);
        Set(GgmlType.TQ1_0, f, &DotAvx2IQuants.TQ1_0);
        SetQuant(GgmlType.Q8_K, &ActQuantVector.Q8_KV256);
        SetTile(GgmlType.Q4_0, &TileAvx2.Q4_0x4x4);
        SetTile(GgmlType.Q8_0, &TileAvx2.Q8_0x4x4);
        SetScaledTile(GgmlType.Q8_0, &TileAvx2.Q8_0x4x4Scaled, &TileAvx2.Q8_0RowScales);
        SetTile(GgmlType.Q4_K, &DotAvx2KQuants.Q4_Kx4x4);
        SetTile(GgmlType.Q6_K, &DotAvx2KQuants.Q6_Kx4x4);
        SetTile(GgmlType.Q2_K, &DotAvx2KQuants.Q2_Kx4x4);
        SetTile(GgmlType.Q3_K, &DotAvx2KQuants.Q3_Kx4x4);
        SetTile(GgmlType.Q5_K, &DotAvx2KQuants.Q5_Kx4x4);
        SetTile(GgmlType.IQ4_XS, &DotAvx2KQuants.IQ4_XSx4x4);
    }

    private void AddAvx512()
    {
        const string f = "Avx512";
        Set(GgmlType.F32, f, &DotAvx512.F32);
        Set(GgmlType.BF16, f, &DotAvx512.BF16);
        // F16 stays on the AVX2 kernel, and DotAvx512.Q4_0/Q8_0 are not used: on Zen 4 (512-bit ops split into two 256-bit
        // halves, no 512-bit VNNI in .NET 10) the AVX2 dots measured faster with the weight row in L1 (GB/s of weights per
        // CPU-second: F16 19.8 vs 14.6, Q8_0 35.9 vs 24.2, Q4_0 15.4 vs 13.0; BF16 37.7 for AVX-512 vs 29.5, F32 equal).
        // The AVX-512 versions are kept, and tested, for CPUs with full-width 512-bit units. Since then the AVX2 Q4_0 and
        // Q8_0 dots (Tile.Avx2.cs: block pairs, two accumulators, scale picks one window ahead) went from 4.95 to 2.52 and
        // from 4.52 to 3.35 cycles per block in L1 (one thread; a 512-bit version of the Q4_0 pair loop ran at 5.5); this
        // set now replaces both with the window kernels below.
        // Q8_0 by windows of 8 blocks (Tile.Avx2.Q8_0Windows.cs, AVX2 code measured on Zen 4): the tile transposes each
        // row's window once for 4 tokens, 2.93-3.01 → 2.34-2.43 cycles per (row, token, block); GEMV through the pair dot.
        // Dot, pair dot and tile share one arithmetic (the tile with converted row scales does not apply here).
        Set(GgmlType.Q8_0, "Avx2Windows", &TileQ8_0Windows.Q8_0);
        SetTile(GgmlType.Q8_0, &TileQ8_0Windows.Q8_0x4x4);
        SetScaledTile(GgmlType.Q8_0, null, null);
        PairDots[(int)GgmlType.Q8_0] = &TileQ8_0Windows.Q8_0WindowPairs;
        ShortRows = new KernelSet(KernelIsa.Avx2);
        _shortRowsFallback[(int)GgmlType.Q8_0] = true;
        if (TileAvx512.IsSupported)
        {
            // Q4_0 by transposed windows of 8 blocks (Tile.Avx512.cs): one integer dot per block in its own lane, one cvt
            // and fma per 8 blocks, GFNI high nibbles, scales by shift and mask; with two row streams per thread
            // (PairDots, which also prefetch 256 bytes ahead), 1-thread GEMV from RAM 24.5 → 30.1-31.3 GB/s (Zen 4);
            // GEMM tile 1.88 → 1.54 cycles per (row, token, block). Tile, dot and pair dot share one arithmetic.
            Set(GgmlType.Q4_0, "Avx512Vbmi", &TileAvx512.Q4_0);
            SetTile(GgmlType.Q4_0, &TileAvx512.Q4_0x4x4);
            PairDots[(int)GgmlType.Q4_0] = &TileAvx512.Q4_0Pairs;
        }
        if (DotAvx512IQuants.IsSupported)
        {
            // Signs by vpmultishiftqb + vpermt2b + vpermb + gf2p8affineqb instead of the AVX2 dots' table reads
            // (Dot.Avx512.IQuants.cs). IQ2_XXS, 1 thread, 64 rows of 7168 in L2, Zen 4: 58.6 → 45.4 cycles per super-block.
            Set(GgmlType.IQ2_XXS, "Avx512Vbmi+Gfni", &DotAvx512IQuants.IQ2_XXS);
            Set(GgmlType.IQ2_XS, "Avx512Vbmi+Gfni", &DotAvx512IQuants.IQ2_XS);
            Set(GgmlType.IQ3_XXS, "Avx512Vbmi+Gfni", &DotAvx512IQuants.IQ3_XXS);
            // Their 4 × 4 tiles (each sub-block's grid, signs and scale once for 4 tokens; the dots' arithmetic).
            SetTile(GgmlType.IQ2_XXS, &DotAvx512IQuants.IQ2_XXSx4x4);
            SetTile(GgmlType.IQ2_XS, &DotAvx512IQuants.IQ2_XSx4x4);
            SetTile(GgmlType.IQ3_XXS, &DotAvx512IQuants.IQ3_XXSx4x4);
            SetTile(GgmlType.IQ3_S, &DotAvx512IQuants.IQ3_Sx4x4);
            SetTile(GgmlType.IQ2_S, &DotAvx512IQuants.IQ2_Sx4x4);
            // IQ3_S: next super-block's indices and scales stored ahead, sign bytes by vpermt2b + gf2p8affineqb: 149.3 → 73.7.
            Set(GgmlType.IQ3_S, "Avx512Vbmi+Gfni", &DotAvx512IQuants.IQ3_S);
            Set(GgmlType.IQ2_S, "Avx512Vbmi+Gfni", &DotAvx512IQuants.IQ2_S); // the same way: 100.1 → 58.8
        }
    }
}
