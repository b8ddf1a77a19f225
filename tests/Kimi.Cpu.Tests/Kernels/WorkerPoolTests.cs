using Kimi.Cpu.Runtime;

namespace Kimi.Cpu.Tests.Kernels;

public class WorkerPoolTests
{
    private sealed class CountTask(int n) : IWorkerTask
    {
        public readonly int[] Hits = new int[n];
        public void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryIndexRunsExactlyOnceAcrossManyJobs(int threads)
    {
        using var pool = new WorkerPool(threads, TimeSpan.FromMicroseconds(20));
        Assert.Equal(threads, pool.ThreadCount);
        for (int job = 0; job < 300; job++)
        {
            int n = 1 + job % 50;
            var t = new CountTask(n);
            pool.Run(t, n);
            Assert.All(t.Hits, h => Assert.Equal(1, h));
            if (job % 100 == 99) Thread.Sleep(5); // let the workers park, then wake them
        }
    }

    private static unsafe void AddIndex(void* ctx, int i) => Interlocked.Add(ref *(long*)ctx, i + 1);

    [Fact]
    public unsafe void FunctionPointerFormRunsAllTasks()
    {
        using var pool = new WorkerPool(3);
        long sum = 0;
        pool.Run(&AddIndex, &sum, 1000);
        Assert.Equal(1000L * 1001 / 2, sum);
    }

    private sealed class Throwing : IWorkerTask
    {
        public int Ran;
        public void Execute(int index)
        {
            Interlocked.Increment(ref Ran);
            if (index == 7) throw new InvalidOperationException("task 7");
        }
    }

    [Fact]
    public void ExceptionIsRethrownAfterAllTasksRanAndPoolStaysUsable()
    {
        using var pool = new WorkerPool(2);
        var t = new Throwing();
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(t, 20));
        Assert.Equal("task 7", e.Message);
        Assert.Equal(20, t.Ran);
        var c = new CountTask(10);
        pool.Run(c, 10);
        Assert.All(c.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public async Task FirstJobOnAFreshPoolCompletesEvenIfThreadsStartLate()
    {
        // Regression: a worker that started after job 1 was dispatched used to skip it, and Run never returned.
        var done = Task.Run(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                using var pool = new WorkerPool(4);
                var t = new CountTask(64);
                pool.Run(t, 64);
                Assert.All(t.Hits, h => Assert.Equal(1, h));
            }
        });
        Assert.Same(done, await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(60))));
        await done;
    }

    /// <summary>Contexts of one model share its pool and may run on different threads: jobs started at the same time from
    /// two threads run one after the other, each index of each job exactly once (no hang, no lost or doubled task).</summary>
    [Fact]
    public void JobsFromTwoThreadsAtOnceEachRunCompletely()
    {
        using var pool = new WorkerPool(3, TimeSpan.FromMicroseconds(20));
        var failures = new int[2];
        void Drive(int who)
        {
            for (int job = 0; job < 3000; job++)
            {
                var t = new CountTask(5 + (job + who) % 13);
                pool.Run(t, t.Hits.Length);
                if (t.Hits.Any(h => h != 1)) Interlocked.Increment(ref failures[who]);
            }
        }
        var a = new Thread(() => Drive(0)) { IsBackground = true };
        var b = new Thread(() => Drive(1)) { IsBackground = true };
        a.Start();
        b.Start();
        Assert.True(a.Join(TimeSpan.FromSeconds(60)) && b.Join(TimeSpan.FromSeconds(60)), "the two drivers did not finish (hang)");
        Assert.Equal(new[] { 0, 0 }, failures);
    }

    [Fact]
    public void RunAfterDisposeThrows()
    {
        var pool = new WorkerPool(2);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new CountTask(4), 4));
    }
}
