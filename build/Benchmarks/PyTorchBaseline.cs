using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using MlnetLstm.Trainers;

namespace MlnetLstm.Benchmarks
{
    /// <summary>The same hand-written loop in PyTorch (build/pytorch_baseline.py), when python3 can import torch.</summary>
    internal sealed class PyTorchBaseline
    {
        private readonly string? _python;

        private PyTorchBaseline(string? python, string note)
        {
            _python = python;
            Note = note;
        }

        public string Note { get; }

        public static PyTorchBaseline Find()
        {
            foreach (var python in new[] { "/usr/bin/python3", "python3" })
            {
                try
                {
                    var version = Run(python, "-c \"import torch; print(torch.__version__)\"", TimeSpan.FromSeconds(60)).Trim();
                    if (version.Length > 0)
                        return new PyTorchBaseline(python, $"PyTorch: {python}, torch {version}, same loop (build/pytorch_baseline.py).");
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }
            return new PyTorchBaseline(null,
                "PyTorch: skipped, no python3 here can import torch. On Debian 13, `apt-get install python3-torch` provides it (on Debian 12 the pinned trixie source of build/setup.sh can: `apt-get install -t trixie python3-torch`); the benchmark then measures it too.");
        }

        public double? Measure(ThroughputBenchmark.Config config, int vocabulary, long[] ids)
        {
            if (_python is null)
                return null;
            string file = Path.GetTempFileName();
            File.WriteAllText(file, string.Join(' ', ids));
            try
            {
                string script = Path.Combine(AppContext.BaseDirectory, "pytorch_baseline.py");
                var output = Run(_python, $"\"{script}\" \"{file}\" {vocabulary} {config.Hidden} {config.Layers} {(config.Cell == RecurrentCellKind.Lstm ? "lstm" : "gru")} " +
                    $"{ThroughputBenchmark.Steps} {ThroughputBenchmark.BatchSize} {ThroughputBenchmark.BatchesPerWindow} {ThroughputBenchmark.Windows}", TimeSpan.FromMinutes(10));
                return double.Parse(output.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture);
            }
            finally
            {
                File.Delete(file);
            }
        }

        private static string Run(string file, string arguments, TimeSpan timeout)
        {
            var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {file}.");
            var output = process.StandardOutput.ReadToEndAsync();
            process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(true);
                throw new InvalidOperationException($"{file} timed out.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{file} exited with {process.ExitCode}.");
            return output.Result;
        }
    }
}
