using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Quants;

namespace Kimi.Cpu.Kernels;

/// <summary>
/// fp16 → fp32 for the kernels. .NET 10 exposes no F16C/vcvtph2ps, and <c>(float)Half</c> is a ~3 ns software routine,
/// so single block scales go through a 256 KiB table (as ggml does without F16C), vectors through an exact bit trick, and
/// the hottest kernels gather 8 scales at once (<see cref="Gather8"/>) so that no table line has to stay in cache.
/// </summary>
internal static unsafe class Fp16
{
    // Built once, read-only afterwards; a block scale lookup is one L1/L2 load.
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = GC.AllocateArray<float>(65536, pinned: true);
        for (int i = 0; i < t.Length; i++) t[i] = HalfConvert.HalfToFloat((ushort)i);
        return t;
    }

    /// <summary>Pinned table base (never moves: allocated on the pinned heap).</summary>
    internal static readonly float* TablePtr = (float*)Unsafe.AsPointer(ref Table[0]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => TablePtr[h];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(byte* p) => TablePtr[*(ushort*)p];

    /// <summary>
    /// The fp16 scales of 8 consecutive Q4_0 blocks (18 bytes apart) as fp32; reads only inside the
    /// 144 bytes of the 8 blocks. Real weights' scales are spread over thousands of fp16 values, so per-block table lookups
    /// miss the cache once weights stream from RAM (Q4_0 GEMV: 7.7 GB/s with random scales against 16 GB/s with 256
    /// distinct ones); this touches only the weight lines the block loop reads anyway. With AVX-512 BW the 8 words are
    /// picked out of the first 128 bytes with one vpermt2w; otherwise one vpgatherdd (slow on Zen 4, fine on Intel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8Q4_0(byte* p)
    {
        if (Avx512BW.IsSupported)
        {
            Vector512<ushort> idx = Vector512.Create((ushort)0, 9, 18, 27, 36, 45, 54, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            Vector512<ushort> h = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)p), idx, Vector512.Load((ushort*)(p + 64)));
            return ToFloat(Avx2.ConvertToVector256Int32(h.GetLower().GetLower()).AsUInt32());
        }
        return Gather8(p, 18);
    }

    /// <summary>The fp16 scales of 8 consecutive Q8_0 blocks (34 bytes apart), as <see cref="Scales8Q4_0"/>; reads only
    /// inside the 272 bytes of the 8 blocks (two 128-byte windows, 4 scales each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scales8Q8_0(byte* p)
    {
        if (Avx512BW.IsSupported)
        {
            // Words 0, 17, 34, 51 of each 128-byte window (indices ≥ 32 pick from the second 64 bytes): the window at p
            // gives lanes 0-3, the one at p + 136 lanes 4-7.
            Vector512<ushort> idx = Vector512.Create((ushort)0, 17, 34, 51, 0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            Vector512<ushort> lo = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)p), idx, Vector512.Load((ushort*)(p + 64)));
            Vector512<ushort> hi = Avx512BW.PermuteVar32x16x2(Vector512.Load((ushort*)(p + 136)), idx, Vector512.Load((ushort*)(p + 200)));
            Vector128<ushort> h = Sse41.Blend(lo.GetLower().GetLower(), hi.GetLower().GetLower(), 0xF0);
            return ToFloat(Avx2.ConvertToVector256Int32(h).AsUInt32());
        }
        return Gather8(p, 34);
    }

    /// <summary>8 fp16 scales <paramref name="stride"/> bytes apart via one vpgatherdd of the 32-bit words at them
    /// (reads 2 bytes past the last scale, inside its block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather8(byte* p, int stride)
    {
        Vector256<int> idx = Vector256.Create(0, stride, 2 * stride, 3 * stride, 4 * stride, 5 * stride, 6 * stride, 7 * stride);
        return ToFloat(Avx2.GatherVector256((int*)p, idx, 1).AsUInt32() & Vector256.Create(0xffffu));
    }

    // Exact fp16 → fp32 on 32-bit lanes holding the 16 half bits: move exponent+mantissa into place and rescale by 2^112
    // (0x77800000 = 2^112; this also turns fp16 subnormals into the right normal floats); exponent 31 (inf/NaN) maps to 255 instead.
    private const uint ExpInfShifted = 0x7c00u << 13;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToFloat(Vector512<uint> h)
    {
        Vector512<uint> em = (h & Vector512.Create(0x7fffu)) << 13;
        Vector512<float> scaled = em.AsSingle() * Vector512.Create(0x77800000u).AsSingle();
        Vector512<float> special = (em + Vector512.Create(224u << 23)).AsSingle();
        Vector512<float> mag = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(em, Vector512.Create(ExpInfShifted)).AsSingle(), special, scaled);
        return (mag.AsUInt32() | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat(Vector256<uint> h)
    {
        Vector256<uint> em = (h & Vector256.Create(0x7fffu)) << 13;
        Vector256<float> scaled = em.AsSingle() * Vector256.Create(0x77800000u).AsSingle();
        Vector256<float> special = (em + Vector256.Create(224u << 23)).AsSingle();
        Vector256<float> mag = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(em, Vector256.Create(ExpInfShifted)).AsSingle(), special, scaled);
        return (mag.AsUInt32() | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToFloat(Vector128<uint> h)
    {
        Vector128<uint> em = (h & Vector128.Create(0x7fffu)) << 13;
        Vector128<float> scaled = em.AsSingle() * Vector128.Create(0x77800000u).AsSingle();
        Vector128<float> special = (em + Vector128.Create(224u << 23)).AsSingle();
        Vector128<float> mag = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(em, Vector128.Create(ExpInfShifted)).AsSingle(), special, scaled);
        return (mag.AsUInt32() | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();
    }
}
