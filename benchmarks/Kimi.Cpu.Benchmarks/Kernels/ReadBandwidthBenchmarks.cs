using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Benchmarks.Kernels;

/// <summary>
/// This machine's streaming DRAM read bandwidth: sum a 1 GiB buffer (far beyond cache) with 4 independent 256-bit
/// accumulators, on 1 and 2 threads of a <see cref="WorkerPool"/>. The yardstick for "GEMV from RAM" figures.
/// Run: dotnet run -c Release --project benchmarks/Kimi.Cpu.Benchmarks -- --filter '*ReadBandwidthBenchmarks*'
/// </summary>
[Config(typeof(Config))]
public unsafe class ReadBandwidthBenchmarks : IBytesPerOperation
{
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10));
            AddColumn(new GigabytesPerSecondColumn());
        }
    }

    private const long Size = 1L << 30;

    [Params(1, 2)]
    public int Threads { get; set; }

    public long BytesPerOperation => Size;

    private byte* _buf;
    private WorkerPool? _pool;
    private long _sink;

    [GlobalSetup]
    public void Setup()
    {
        _buf = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 64);
        new Span<byte>(_buf, (int)Size).Fill(1); // touch every page so the timing sees DRAM, not page faults
        _pool = new WorkerPool(Threads);
    }

    [Benchmark]
    public long Read() => _sink = ReadAll(_pool!, _buf, Size);

    /// <summary>Sums <paramref name="size"/> bytes (a multiple of 8 KiB) on every thread of the pool: 64 tasks, both
    /// threads stream concurrently, the shared counter balances them.</summary>
    internal static long ReadAll(WorkerPool pool, byte* buffer, long size)
    {
        var job = new ReadJob { Buffer = buffer, Chunk = size / Tasks };
        pool.Run(&ReadTask, &job, Tasks);
        return job.Total;
    }

    private struct ReadJob
    {
        public byte* Buffer;
        public long Chunk;
        public long Total;
    }

    private const int Tasks = 64;

    [SkipLocalsInit]
    private static void ReadTask(void* context, int task)
    {
        ReadJob* j = (ReadJob*)context;
        byte* p = j->Buffer + task * j->Chunk, end = p + j->Chunk;
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; p < end; p += 128)
        {
            a0 += Vector256.Load((int*)p);
            a1 += Vector256.Load((int*)(p + 32));
            a2 += Vector256.Load((int*)(p + 64));
            a3 += Vector256.Load((int*)(p + 96));
        }
        Interlocked.Add(ref j->Total, Vector256.Sum((a0 + a1) + (a2 + a3)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool?.Dispose();
        NativeMemory.AlignedFree(_buf);
    }
}
