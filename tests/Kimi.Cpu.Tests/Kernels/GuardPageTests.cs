using System.Runtime.InteropServices;
using Kimi.Cpu.Gguf;
using Kimi.Cpu.Kernels;

namespace Kimi.Cpu.Tests.Kernels;

/// <summary>
/// Weight tensors come straight from a memory-mapped file, so a kernel must never read past the last byte of the last
/// row. Each case puts the weight row (and the activation row) so it ends exactly at an inaccessible page: any overread
/// crashes the test process. Linux only (mmap/mprotect).
/// </summary>
public unsafe partial class GuardPageTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint addr, nuint length);

    private const int ProtNone = 0, ProtReadWrite = 3, MapPrivateAnonymous = 0x02 | 0x20;

    /// <summary>A buffer of <paramref name="bytes"/> whose last byte is followed by a PROT_NONE page.</summary>
    private sealed class Guarded : IDisposable
    {
        private readonly nint _base;
        private readonly nuint _length;
        public readonly byte* Data;

        public Guarded(long bytes)
        {
            long page = Environment.SystemPageSize;
            long dataPages = (bytes + page - 1) / page;
            _length = (nuint)((dataPages + 1) * page);
            _base = mmap(0, _length, ProtReadWrite, MapPrivateAnonymous, -1, 0);
            Assert.NotEqual(-1, _base);
            Assert.Equal(0, mprotect(_base + (nint)(dataPages * page), (nuint)page, ProtNone));
            Data = (byte*)_base + dataPages * page - bytes;
        }

        public void Dispose() => munmap(_base, _length);
    }

    public static IEnumerable<object[]> Cases() => KernelTestData.TypeIsaPairs().Concat(KernelTestData.Types().Select(t => new object[] { t[0], KernelIsa.Scalar }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void DotNeverReadsPastTheRows(GgmlType type, KernelIsa isa)
    {
        if (!OperatingSystem.IsLinux()) return;
        KernelSet k = KernelSet.Create(isa);
        var rng = new Random(21);
        int block = GgmlTypeInfo.BlockSize(type);
        foreach (int cols in block == 1 ? new[] { 1, 7, 33, 1031 } : block == 32 ? new[] { 32, 96, 256, 544 } : new[] { 256, 768 })
        {
            byte[] w = KernelTestData.WeightRow(rng, type, cols);
            float[] x = KernelTestData.Activations(rng, cols);
            long aBytes = ActivationFormat.RowBytes(type, cols);
            using var gw = new Guarded(w.Length);
            using var ga = new Guarded(aBytes);
            w.CopyTo(new Span<byte>(gw.Data, w.Length));
            fixed (float* px = x) k.Quantizer(type)(px, ga.Data, cols);
            float got = k.Dot(type)(gw.Data, ga.Data, cols);
            Assert.True(float.IsFinite(got));
        }
    }
}
