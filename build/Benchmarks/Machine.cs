using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace MlnetLstm.Benchmarks
{
    /// <summary>Facts about the machine the benchmarks ran on.</summary>
    internal static class Machine
    {
        /// <summary>The CPU model, its widest vector instruction set, the core count, TorchSharp's default threads, .NET and the OS.</summary>
        public static string Describe()
            => $"{Cpu()}, {VectorIsa()}, {Environment.ProcessorCount} cores, TorchSharp threads {get_num_threads()}, .NET {Environment.Version}, {Environment.OSVersion}";

        /// <summary>The CPU's model name from /proc/cpuinfo.</summary>
        public static string Cpu() => CpuInfo("model name") ?? "unknown CPU";

        /// <summary>The widest vector instruction set the CPU reports (/proc/cpuinfo flags): what the kernels' speed depends on most.</summary>
        public static string VectorIsa()
        {
            var flags = (CpuInfo("flags") ?? CpuInfo("Features") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            return flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2 (no AVX-512)" : flags.Contains("asimd") ? "NEON" : "no AVX2";
        }

        private static string? CpuInfo(string key) => File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;

        /// <summary>The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.</summary>
        public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

        /// <summary>
        /// What the machine was doing at one moment: the 1-minute load average, and the CPU time (in clock ticks) of
        /// all cores by kind and of this process. Two samples tell what else ran between them.
        /// </summary>
        public sealed record Sample(double Load1, long Total, long Busy, long Steal, long Own)
        {
            public static Sample Take()
            {
                double load = File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) : double.NaN;
                if (!File.Exists("/proc/stat"))
                    return new Sample(load, 0, 0, 0, 0);
                // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
                var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
                long total = cpu.Sum(), idle = cpu[3] + cpu[4], steal = cpu[7];
                // utime, stime, cutime and cstime are fields 14 to 17 of /proc/self/stat (counted after the parenthesised
                // command name): this process and its finished children, such as the PyTorch contender.
                var own = File.ReadAllText("/proc/self/stat");
                var fields = own[(own.LastIndexOf(')') + 2)..].Split(' ');
                return new Sample(load, total, total - idle - steal, steal, fields[11..15].Sum(long.Parse));
            }

            /// <summary>Share of all cores' time, from this sample to <paramref name="later"/>, that other processes used.</summary>
            public double OthersShare(Sample later) => later.Total == Total ? 0 : Math.Max(0, (double)(later.Busy - Busy - (later.Own - Own)) / (later.Total - Total));

            /// <summary>Share of all cores' time, from this sample to <paramref name="later"/>, that the hypervisor took (steal).</summary>
            public double StealShare(Sample later) => later.Total == Total ? 0 : (double)(later.Steal - Steal) / (later.Total - Total);
        }

        /// <summary>Whether other processes or the hypervisor took more than 5% of the cores between two samples: a measurement to repeat, not to publish.</summary>
        public static bool Noisy(Sample before, Sample after) => before.OthersShare(after) + before.StealShare(after) > 0.05;

        /// <summary>Starts <c>yes &gt; /dev/null</c>, one CPU-bound process, until the result is disposed.</summary>
        public static IDisposable BusyProcess() => Start("/bin/sh", "-c", "exec yes > /dev/null");

        /// <summary>Starts a process that competes for the cores, until the result is disposed (then it is killed).</summary>
        public static IDisposable Start(string program, params string[] arguments)
        {
            var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false, RedirectStandardOutput = true })
                ?? throw new InvalidOperationException($"Could not start {program} {string.Join(' ', arguments)}.");
            return new Busy(process);
        }

        private sealed class Busy : IDisposable
        {
            private readonly Process _process;

            public Busy(Process process) => _process = process;

            public void Dispose()
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                _process.Dispose();
            }
        }

        /// <summary>Peak (VmHWM) and current (VmRSS) resident set size of this process, in MiB.</summary>
        public static (double Peak, double Current) ResidentMiB()
        {
            double Read(string key) => File.ReadLines("/proc/self/status").Where(l => l.StartsWith(key, StringComparison.Ordinal))
                .Select(l => double.Parse(l.Split(':')[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024).FirstOrDefault();
            return (Read("VmHWM"), Read("VmRSS"));
        }

        /// <summary>The best single-precision matmul rate of square matrices through TorchSharp, in GFLOP/s.</summary>
        public static double SgemmGflops()
        {
            double best = 0;
            foreach (int n in new[] { 512, 1024, 2048, 4096 })
            {
                using var scope = NewDisposeScope();
                var a = randn(n, n);
                var b = randn(n, n);
                a.matmul(b);
                int repeats = Math.Max(2, (int)(4e9 / (2.0 * n * n * n)));
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < repeats; i++)
                    a.matmul(b).Dispose();
                best = Math.Max(best, 2.0 * n * n * n * repeats / clock.Elapsed.TotalSeconds / 1e9);
            }
            return best;
        }
    }
}
