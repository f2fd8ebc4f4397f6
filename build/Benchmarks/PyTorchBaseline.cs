using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

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
                "PyTorch: skipped, no python3 here can import torch. `bash build/benchmark.sh --install-pytorch` installs Debian 13's python3-torch (on Debian 12 from the pinned trixie source of build/setup.sh) and measures it too.");
        }

        /// <summary>
        /// PyTorch runs <see cref="Windows"/> timed windows of <see cref="BatchesPerWindow"/> batches after one warm-up
        /// window: fewer than the TorchSharp contenders, because it is by far the slowest (at V ≈ 4,300 the same windows
        /// would take several minutes per configuration). Its window rate is the same quantity, tokens per second.
        /// </summary>
        public const int Windows = 3, BatchesPerWindow = 5;

        /// <summary>Tokens per second of the PyTorch loop, or null when PyTorch is absent or its run failed (the failure is printed).</summary>
        public double? Measure(ThroughputBenchmark.Config config, int vocabulary, long[] ids)
        {
            if (_python is null)
                return null;
            string file = Path.GetTempFileName();
            File.WriteAllText(file, string.Join(' ', ids));
            try
            {
                string script = Path.Combine(AppContext.BaseDirectory, "pytorch_baseline.py");
                var output = Run(_python, $"\"{script}\" \"{file}\" {vocabulary} {config.Hidden} {config.Layers} {(config.Cell == RecurrentCell.Lstm ? "lstm" : "gru")} " +
                    $"{ThroughputBenchmark.Steps} {ThroughputBenchmark.BatchSize} {BatchesPerWindow} {Windows} {TorchSharp.torch.get_num_threads()}", TimeSpan.FromMinutes(20));
                return double.Parse(output.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"PyTorch run for {config} failed: {e.Message}");
                return null;
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
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(true);
                throw new InvalidOperationException($"{file} timed out.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{file} exited with {process.ExitCode}: {errors.Result.Trim().Split('\n').LastOrDefault()}");
            return output.Result;
        }
    }
}
