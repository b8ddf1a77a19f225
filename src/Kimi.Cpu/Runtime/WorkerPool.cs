using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Kimi.Cpu.Runtime;

/// <summary>A unit of parallel work run by <see cref="WorkerPool.Run(IWorkerTask, int)"/>: called once per task index.</summary>
public interface IWorkerTask
{
    /// <summary>Runs task <paramref name="index"/> (0 ≤ index &lt; count). Called concurrently from several threads.</summary>
    void Execute(int index);
}

/// <summary>
/// A persistent pool of worker threads owned by whoever creates it (no global pool): <c>ThreadCount − 1</c> background
/// threads plus the calling thread, which always takes part. <see cref="Run(IWorkerTask, int)"/> hands out task indices
/// through one shared counter (threads that are descheduled on a busy machine simply take fewer tasks) and returns when all
/// tasks are done. Between jobs the workers spin for <see cref="SpinTime"/> (consecutive matmuls of one token are a few
/// microseconds apart) and then park on a monitor. No allocation per job. Jobs started from several threads at once run
/// one after the other (the contexts of one model share its pool); a task must not start a job on its own pool.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly object _gate = new();
    // One job at a time: contexts of one model share its pool and may be driven from different threads; a second
    // caller waits here until the running job is done (a task must not start a job on its own pool).
    private readonly object _run = new();
    private readonly long _spinTicks;

    // Job state: written by the caller before _generation is bumped (a full fence), read by workers after they see it.
    private int _generation;
    private int _sleepers;
    private int _pending;
    private int _next;
    private int _count;
    private delegate*<void*, int, void> _fn;
    private void* _context;
    private IWorkerTask? _task;
    private ExceptionDispatchInfo? _error;
    private volatile bool _disposed;

    /// <summary>Creates a pool running jobs on <paramref name="threadCount"/> threads in all (the caller included).</summary>
    /// <param name="threadCount">Degree of parallelism, ≥ 1; default <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="spinTime">How long an idle worker spins before parking; default 100 µs.</param>
    public WorkerPool(int threadCount = 0, TimeSpan? spinTime = null)
    {
        if (threadCount <= 0) threadCount = Environment.ProcessorCount;
        ThreadCount = threadCount;
        SpinTime = spinTime ?? TimeSpan.FromMicroseconds(100);
        _spinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
        _threads = new Thread[threadCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"kimi-worker-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that run a job, the calling thread included.</summary>
    public int ThreadCount { get; }

    /// <summary>How long an idle worker spins before it parks.</summary>
    public TimeSpan SpinTime { get; }

    /// <summary>Runs <paramref name="task"/> for indices 0..count−1 across the pool; returns when all are done.
    /// The first exception thrown by a task is rethrown here (remaining tasks still run).</summary>
    public void Run(IWorkerTask task, int count)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (count <= 0) return;
        if (count == 1 || _threads.Length == 0)
        {
            for (int i = 0; i < count; i++) task.Execute(i);
            return;
        }
        lock (_run)
        {
            _task = task;
            _fn = null;
            _context = null;
            Dispatch(count);
        }
    }

    /// <summary>Allocation-free form for unmanaged callers: runs <c>body(context, i)</c> for i in 0..count−1.
    /// <paramref name="context"/> typically points at a struct on the caller's stack, which stays alive because Run blocks.</summary>
    public void Run(delegate*<void*, int, void> body, void* context, int count)
    {
        if (count <= 0) return;
        if (count == 1 || _threads.Length == 0)
        {
            for (int i = 0; i < count; i++) body(context, i);
            return;
        }
        lock (_run)
        {
            _task = null;
            _fn = body;
            _context = context;
            Dispatch(count);
        }
    }

    private void Dispatch(int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _count = count;
        _next = 0;
        _error = null;
        _pending = _threads.Length;
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
            lock (_gate) Monitor.PulseAll(_gate);

        Work();

        // The caller found no task left: the others are finishing their last one.
        SpinWait sw = default;
        while (Volatile.Read(ref _pending) != 0) sw.SpinOnce(sleep1Threshold: -1);
        _task = null;
        _fn = null;
        _context = null;
        _error?.Throw();
    }

    private void Work()
    {
        int count = _count;
        IWorkerTask? task = _task;
        delegate*<void*, int, void> fn = _fn;
        void* ctx = _context;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < count)
        {
            try
            {
                if (task != null) task.Execute(i);
                else fn(ctx, i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
        }
    }

    private void WorkerLoop()
    {
        // Generation 0 is the state before any job: a thread that starts late must still take part in job 1
        // (reading _generation here instead would make it skip a job and leave _pending above zero forever).
        int seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (++spins < 64 || Stopwatch.GetTimestamp() - start < _spinTicks)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                // Park. _sleepers is raised before the last check so that a dispatcher bumping _generation either sees
                // a sleeper (and pulses under the lock) or we see the new generation here.
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            seen = Volatile.Read(ref _generation);
            if (_disposed) return;
            Work();
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Stops and joins the workers. Must not race with <see cref="Run(IWorkerTask, int)"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interlocked.Increment(ref _generation);
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (Thread t in _threads) t.Join();
    }
}
