using System;
using System.Globalization;
using System.IO;

namespace MlnetLstm.ModelRunner
{
    /// <summary>The process's resident memory, from /proc/self/status: for the tests that bound what an operation costs, and the soak run.</summary>
    public static class ProcessMemory
    {
        /// <summary>A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: the peak).</summary>
        public static long KiB(string field)
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            throw new InvalidOperationException($"/proc/self/status has no {field} line; reading the process's memory needs Linux.");
        }

        /// <summary>Resets the peak (VmHWM) to the resident set through /proc/self/clear_refs, where the kernel allows it.</summary>
        public static bool TryResetPeak()
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>
        /// How far the resident set rose above its level before <paramref name="action"/>, at its peak, in KiB: measured
        /// from a reset peak where the kernel allows it, else from the peak before (which can hide a smaller rise).
        /// </summary>
        public static long PeakGrowthKiB(Action action)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            bool reset = TryResetPeak();
            long residentBefore = KiB("VmRSS"), peakBefore = KiB("VmHWM");
            action();
            long peak = KiB("VmHWM");
            return reset ? peak - residentBefore : peak - peakBefore;
        }
    }
}
