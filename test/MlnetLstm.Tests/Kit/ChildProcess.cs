using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MlnetLstm.Tests
{
    /// <summary>Runs a .NET program (a dll next to the tests) in a separate process, for save-in-one, load-in-another tests.</summary>
    internal static class ChildProcess
    {
        /// <summary>The helper that loads a model zip in a fresh process and prints PredictionEngine outputs (test/ModelRunner).</summary>
        public const string ModelRunnerDll = "MlnetLstm.ModelRunner.dll";

        /// <summary>A scoring-only app, which references MlnetLstm.Transforms but not the trainers nor TorchSharp (test/ScoringRunner).</summary>
        public const string ScoringRunnerDll = "MlnetLstm.ScoringRunner.dll";

        /// <summary>How long a child may run before it is killed and the test fails.</summary>
        public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(60);

        /// <summary>
        /// Runs <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> and returns its standard output. The test
        /// fails, with the child's standard error, if it exits with a non-zero code or runs longer than
        /// <see cref="Timeout"/> (it is then killed, with its children).
        /// </summary>
        /// <param name="dll">The program's dll: a path, or a file name resolved against the test assembly's directory.</param>
        /// <param name="args">Its command-line arguments, passed each as one argument (no shell quoting needed).</param>
        public static string Run(string dll, params string[] args) => Run(Timeout, dll, args);

        /// <summary>As <see cref="Run(string, string[])"/>, with another time limit.</summary>
        public static string Run(TimeSpan timeout, string dll, params string[] args)
        {
            string path = Path.IsPathRooted(dll) ? dll : Path.Combine(AppContext.BaseDirectory, dll);
            if (!File.Exists(path))
                Assert.Fail($"Child program '{path}' does not exist; is it referenced by the test project so that it is copied next to the tests?");

            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(path);
            foreach (var arg in args)
                start.ArgumentList.Add(arg);

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName} {path}.");
            // Both pipes are drained concurrently, so a child that writes a lot to either cannot block on a full pipe.
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited between the timeout and the kill.
                }
                process.WaitForExit();
                Assert.Fail($"Child process '{Path.GetFileName(path)} {string.Join(" ", args)}' (process {process.Id}) did not finish within {timeout.TotalSeconds:F0} s and was killed. " +
                    $"Its standard error:\n{Drain(stderr)}\nIts standard output:\n{Drain(stdout)}");
            }
            process.WaitForExit(); // Lets the redirected streams reach their end.
            string output = stdout.GetAwaiter().GetResult();
            string errors = stderr.GetAwaiter().GetResult();
            if (process.ExitCode != 0)
                Assert.Fail($"Child process '{Path.GetFileName(path)} {string.Join(" ", args)}' exited with code {process.ExitCode}. Its standard error:\n{errors}\nIts standard output:\n{output}");
            return output;
        }

        /// <summary>As <see cref="Run(TimeSpan, string, string[])"/>, returning the non-empty lines of the standard output.</summary>
        public static string[] RunLines(TimeSpan timeout, string dll, params string[] args)
            => Run(timeout, dll, args).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();

        /// <summary>The dotnet host running the tests, so the child runs on the same runtime; "dotnet" from PATH otherwise.</summary>
        private static string DotnetHost()
        {
            string? current = Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }

        private static string Drain(Task<string> stream) => stream.Wait(TimeSpan.FromSeconds(5)) ? stream.Result : "(not available)";
    }
}
