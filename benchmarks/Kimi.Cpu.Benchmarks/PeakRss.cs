using System.Diagnostics;

namespace Kimi.Cpu.Benchmarks;

/// <summary>
/// The process's peak resident set: Linux's VmHWM (mapped weight pages count once they are touched), elsewhere the peak
/// working set. <see cref="Reset"/> lets one process measure two engines one after the other.
/// </summary>
internal static class PeakRss
{
    public static long Bytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>Resets the high-water mark to the current resident set (Linux, "5" into /proc/self/clear_refs); false
    /// where that is not possible, and then a later figure includes what came before.</summary>
    public static bool Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    public static string Describe() => $"peak RSS {Bytes() / (1024.0 * 1024 * 1024):F2} GiB";
}
