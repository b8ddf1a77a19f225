using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Kimi.Cpu.Gguf;

namespace Kimi.Cpu.Oracle.Ggml;

/// <summary>
/// ggml's own quantization code, called through the native libggml-base.so (and libggml-cpu.so) shipped by the
/// LLamaSharp.Backend.Cpu package: the reference every Kimi.Cpu quant format is tested against.
/// </summary>
/// <remarks>
/// The libraries are loaded by full path from the test output (<c>runtimes/linux-x64/native/&lt;variant&gt;/</c>, copied there
/// by the package on build), picking the best variant this CPU runs (avx512, avx2, avx, noavx) as LLamaSharp does. The
/// quantization code in libggml-base is plain C compiled without FMA contraction in every variant, so results do not depend on
/// the variant. Override the folder with KIMI_GGML_NATIVE_DIR.
/// </remarks>
public static unsafe class GgmlNative
{
    private static readonly Lazy<Api> Lib = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder the native libraries were loaded from.</summary>
    public static string Directory => Lib.Value.Dir;

    /// <summary>True when the native library could be found and loaded here.</summary>
    public static bool IsAvailable
    {
        get
        {
            try { _ = Lib.Value; return true; }
            catch (DllNotFoundException) { return false; }
        }
    }

    /// <summary>ggml_blck_size: elements per block.</summary>
    public static long BlockSize(GgmlType type) => Lib.Value.BlckSize((int)type);

    /// <summary>ggml_type_size: bytes per block.</summary>
    public static long TypeSize(GgmlType type) => (long)Lib.Value.TypeSize((int)type);

    /// <summary>ggml_row_size: bytes of a row of <paramref name="ne"/> elements.</summary>
    public static long RowSize(GgmlType type, long ne) => (long)Lib.Value.RowSize((int)type, ne);

    /// <summary>ggml's type name (ggml_get_type_traits(type)->type_name), e.g. "q4_K".</summary>
    public static string TypeName(GgmlType type) => Marshal.PtrToStringUTF8((nint)Traits(type)->TypeName) ?? "";

    /// <summary>ggml_quantize_requires_imatrix.</summary>
    public static bool RequiresImatrix(GgmlType type) => Lib.Value.RequiresImatrix((int)type) != 0;

    /// <summary>
    /// ggml_quantize_chunk(type, src, dst, 0, rows, perRow, imatrix): what llama-quantize writes. <paramref name="imatrix"/>
    /// (perRow floats, shared by all rows) may be empty, except for the types <see cref="RequiresImatrix"/> names (ggml aborts).
    /// </summary>
    public static long Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst, int rows, int perRow, ReadOnlySpan<float> imatrix = default)
    {
        if (src.Length < (long)rows * perRow) throw new ArgumentException("src too short");
        if (dst.Length < RowSize(type, perRow) * rows) throw new ArgumentException("dst too short");
        if (imatrix.IsEmpty && RequiresImatrix(type)) throw new ArgumentException($"{type} needs an importance matrix (ggml would abort)");
        if (!imatrix.IsEmpty && imatrix.Length != perRow) throw new ArgumentException("imatrix needs one weight per column");
        Api api = Lib.Value;
        api.QuantizeInit((int)type);
        fixed (float* s = src)
        fixed (byte* d = dst)
        fixed (float* im = imatrix)
            return (long)api.QuantizeChunk((int)type, s, d, 0, rows, perRow, imatrix.IsEmpty ? null : im);
    }

    /// <summary>dequantize_row_&lt;type&gt; (ggml_get_type_traits(type)->to_float) over a whole number of blocks.</summary>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        TypeTraits* t = Traits(type);
        delegate* unmanaged<void*, float*, long, void> toFloat = t->ToFloat;
        // Q8_K has no to_float in the traits table, but dequantize_row_q8_K is exported
        if (toFloat == null && NativeLibrary.TryGetExport(Lib.Value.Handle, "dequantize_row_" + TypeName(type), out nint f))
            toFloat = (delegate* unmanaged<void*, float*, long, void>)f;
        if (toFloat == null) throw new NotSupportedException($"ggml has no to_float for {type}");
        long bytes = RowSize(type, dst.Length);
        if (src.Length < bytes) throw new ArgumentException($"src too short: {src.Length} < {bytes}");
        fixed (byte* s = src)
        fixed (float* d = dst)
            toFloat(s, d, dst.Length);
    }

    /// <summary>quantize_row_&lt;type&gt;_ref (ggml_get_type_traits(type)->from_float_ref), e.g. the Q8_0/Q8_1/Q8_K references.</summary>
    public static void QuantizeRowRef(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        TypeTraits* t = Traits(type);
        delegate* unmanaged<float*, void*, long, void> fromFloat = t->FromFloatRef;
        // Q8_K has no from_float_ref in the traits table, but quantize_row_q8_K_ref is exported
        if (fromFloat == null && NativeLibrary.TryGetExport(Lib.Value.Handle, "quantize_row_" + TypeName(type) + "_ref", out nint f))
            fromFloat = (delegate* unmanaged<float*, void*, long, void>)f;
        if (fromFloat == null) throw new NotSupportedException($"ggml has no from_float_ref for {type}");
        if (dst.Length < RowSize(type, src.Length)) throw new ArgumentException("dst too short");
        fixed (float* s = src)
        fixed (byte* d = dst)
            fromFloat(s, d, src.Length);
    }

    /// <summary>
    /// ggml-cpu's from_float (ggml_get_type_traits_cpu(type)->from_float): the SIMD activation quantizer llama.cpp runs before
    /// dot products on this CPU (e.g. Q8_0 with half-to-even rounding).
    /// </summary>
    public static void QuantizeRowCpu(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        CpuTraits* t = CpuTraitsOf(type);
        if (t->FromFloat == null) throw new NotSupportedException($"ggml-cpu has no from_float for {type}");
        if (dst.Length < RowSize(type, src.Length)) throw new ArgumentException("dst too short");
        fixed (float* s = src)
        fixed (byte* d = dst)
            t->FromFloat(s, d, src.Length);
    }

    /// <summary>The activation type ggml-cpu quantizes to before a dot product with <paramref name="weightType"/>.</summary>
    public static GgmlType VecDotType(GgmlType weightType) => (GgmlType)CpuTraitsOf(weightType)->VecDotType;

    /// <summary>ggml-cpu's vec_dot for one row: Σ w·a over <paramref name="n"/> elements, a already in <see cref="VecDotType"/>.</summary>
    public static float VecDot(GgmlType weightType, int n, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a)
    {
        CpuTraits* t = CpuTraitsOf(weightType);
        float s;
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            t->VecDot(n, &s, 0, pw, 0, pa, 0, 1);
        return s;
    }

    /// <summary>ggml-cpu's vec_dot for <paramref name="weightType"/> as a function pointer (n, &amp;s, bs, w, bw, a, ba, nrc),
    /// for timing it without marshalling; null when ggml-cpu has none.</summary>
    public static delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> VecDotFunction(GgmlType weightType) =>
        CpuTraitsOf(weightType)->VecDot;

    private static TypeTraits* Traits(GgmlType type) => (TypeTraits*)Lib.Value.GetTypeTraits((int)type);

    private static CpuTraits* CpuTraitsOf(GgmlType type)
    {
        Api api = Lib.Value;
        if (api.GetTypeTraitsCpu == null) throw new DllNotFoundException("libggml-cpu.so was not loaded");
        return (CpuTraits*)api.GetTypeTraitsCpu((int)type);
    }

    // struct ggml_type_traits (ggml.h)
    [StructLayout(LayoutKind.Sequential)]
    private struct TypeTraits
    {
        public byte* TypeName;
        public long BlckSize;
        public long BlckSizeInterleave;
        public nuint TypeSize;
        public byte IsQuantized;
        public delegate* unmanaged<void*, float*, long, void> ToFloat;
        public delegate* unmanaged<float*, void*, long, void> FromFloatRef;
    }

    // struct ggml_type_traits_cpu (ggml-cpu.h)
    [StructLayout(LayoutKind.Sequential)]
    private struct CpuTraits
    {
        public delegate* unmanaged<float*, void*, long, void> FromFloat;
        public delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> VecDot;
        public int VecDotType;
        public long NRows;
    }

    private sealed class Api
    {
        public required string Dir;
        public required nint Handle;
        public required delegate* unmanaged<int, long> BlckSize;
        public required delegate* unmanaged<int, nuint> TypeSize;
        public required delegate* unmanaged<int, long, nuint> RowSize;
        public required delegate* unmanaged<int, void*> GetTypeTraits;
        public required delegate* unmanaged<int, void> QuantizeInit;
        public required delegate* unmanaged<int, byte> RequiresImatrix;
        public required delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> QuantizeChunk;
        public delegate* unmanaged<int, void*> GetTypeTraitsCpu;
    }

    private static IEnumerable<string> CandidateDirs()
    {
        string? env = Environment.GetEnvironmentVariable("KIMI_GGML_NATIVE_DIR");
        if (!string.IsNullOrEmpty(env)) yield return env;
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        string baseDir = Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native");
        var variants = new List<string>();
        if (Avx512F.IsSupported && Avx512BW.IsSupported) variants.Add("avx512");
        if (Avx2.IsSupported) variants.Add("avx2");
        if (Avx.IsSupported) variants.Add("avx");
        variants.Add("noavx");
        foreach (string v in variants) yield return Path.Combine(baseDir, v);
        yield return baseDir;
    }

    private static Api Load()
    {
        if (!OperatingSystem.IsLinux()) throw new DllNotFoundException("the ggml oracle is wired for Linux only");
        foreach (string dir in CandidateDirs())
        {
            string basePath = Path.Combine(dir, "libggml-base.so");
            if (!File.Exists(basePath)) continue;
            nint h = NativeLibrary.Load(basePath);
            var api = new Api
            {
                Dir = dir,
                Handle = h,
                BlckSize = (delegate* unmanaged<int, long>)NativeLibrary.GetExport(h, "ggml_blck_size"),
                TypeSize = (delegate* unmanaged<int, nuint>)NativeLibrary.GetExport(h, "ggml_type_size"),
                RowSize = (delegate* unmanaged<int, long, nuint>)NativeLibrary.GetExport(h, "ggml_row_size"),
                GetTypeTraits = (delegate* unmanaged<int, void*>)NativeLibrary.GetExport(h, "ggml_get_type_traits"),
                QuantizeInit = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(h, "ggml_quantize_init"),
                RequiresImatrix = (delegate* unmanaged<int, byte>)NativeLibrary.GetExport(h, "ggml_quantize_requires_imatrix"),
                QuantizeChunk = (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)NativeLibrary.GetExport(h, "ggml_quantize_chunk"),
            };
            string cpuPath = Path.Combine(dir, "libggml-cpu.so");
            if (File.Exists(cpuPath) && NativeLibrary.TryLoad(cpuPath, out nint hc))
            {
                if (NativeLibrary.TryGetExport(hc, "ggml_cpu_init", out nint init)) ((delegate* unmanaged<void>)init)();
                api.GetTypeTraitsCpu = (delegate* unmanaged<int, void*>)NativeLibrary.GetExport(hc, "ggml_get_type_traits_cpu");
            }
            return api;
        }
        throw new DllNotFoundException($"libggml-base.so not found under {Path.Combine(AppContext.BaseDirectory, "runtimes")} (restore and build the test project)");
    }
}
