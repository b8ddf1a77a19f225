using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: Xunit.TestFramework("Kimi.Cpu.Tests.CleaningTestFramework", "Kimi.Cpu.Tests")]

namespace Kimi.Cpu.Tests;

/// <summary>
/// Temporary folders for the large synthetic models tests write (up to ~2 GB a run). The test host is ended without
/// running exit handlers, so every folder made here is deleted when the test assembly finishes
/// (<see cref="CleaningTestFramework"/>), and a folder's name carries the creating process id: the first folder made
/// in a process removes those of test processes that are gone, so a crashed or killed run leaves one set behind until
/// the next run instead of filling the disk run after run.
/// </summary>
public static class TestTempDirectory
{
    private const string Prefix = "kimi-test-";
    private static readonly Lazy<bool> Swept = new(SweepDeadProcesses);
    private static readonly ConcurrentDictionary<string, bool> Created = new();

    /// <summary>Creates <c>kimi-test-{pid}-{name}-{random}</c> under the temporary path.</summary>
    public static string Create(string name)
    {
        _ = Swept.Value;
        string path = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        Created[path] = true;
        return path;
    }

    /// <summary>Deletes every folder this process made (the test assembly has finished).</summary>
    public static void DeleteAll()
    {
        foreach (string path in Created.Keys) Delete(path);
    }

    /// <summary>Deletes a folder, ignoring one already gone or still in use.</summary>
    public static void Delete(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool SweepDeadProcesses()
    {
        foreach (string dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            string rest = Path.GetFileName(dir)[Prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest.AsSpan(0, dash), out int pid) || IsAlive(pid)) continue;
            Delete(dir);
        }
        return true;
    }

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}

/// <summary>xUnit's own framework, with <see cref="TestTempDirectory.DeleteAll"/> once all tests have run.</summary>
public sealed class CleaningTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName name, ISourceInformationProvider source, IMessageSink diagnostics)
        : XunitTestFrameworkExecutor(name, source, diagnostics)
    {
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink,
            ITestFrameworkExecutionOptions executionOptions)
        {
            using var runner = new Runner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class Runner(ITestAssembly assembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnostics,
        IMessageSink executionMessageSink, ITestFrameworkExecutionOptions options)
        : XunitTestAssemblyRunner(assembly, testCases, diagnostics, executionMessageSink, options)
    {
        // Before the "assembly finished" message: after it the host may end the process at any moment.
        protected override Task BeforeTestAssemblyFinishedAsync()
        {
            TestTempDirectory.DeleteAll();
            return base.BeforeTestAssemblyFinishedAsync();
        }
    }
}
