using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Runs a .NET dll in a child process with a timeout. On a timeout the child (and its own children) is killed;
    /// on a timeout or a non-zero exit code the test fails with the child's stderr.
    /// </summary>
    internal static class ChildProcess
    {
        /// <summary>The dll of the helper that loads a model zip and prints PredictionEngine outputs.</summary>
        public static string ModelRunnerDll => Path.Combine(AppContext.BaseDirectory, "MlnetLstm.ModelRunner.dll");

        /// <summary>Runs <c>dotnet &lt;dll&gt; &lt;arguments&gt;</c> and returns the lines it wrote to stdout.</summary>
        public static IReadOnlyList<string> RunDll(string dll, IEnumerable<string> arguments, TimeSpan timeout)
        {
            if (!File.Exists(dll))
                Assert.Fail($"The child process's dll {dll} does not exist; is the project reference copied next to the test dll?");
            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(dll);
            foreach (var argument in arguments)
                start.ArgumentList.Add(argument);

            var stdout = new List<string>();
            var stderr = new StringBuilder();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.Add(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"{Describe(start)} did not finish within {timeout.TotalSeconds:F0} s and was killed. stderr:\n{Text(stderr)}");
            }
            process.WaitForExit(); // Drains the asynchronous stdout/stderr readers.
            if (process.ExitCode != 0)
                Assert.Fail($"{Describe(start)} exited with code {process.ExitCode}. stderr:\n{Text(stderr)}");
            lock (stdout)
                return stdout.ToArray();
        }

        private static string Text(StringBuilder stderr)
        {
            lock (stderr)
                return stderr.Length == 0 ? "(empty)" : stderr.ToString();
        }

        private static string Describe(ProcessStartInfo start) => $"'{start.FileName} {string.Join(" ", start.ArgumentList)}'";

        /// <summary>The dotnet host running the tests, so the child uses the same runtime.</summary>
        private static string DotnetHost()
        {
            var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            if (Environment.ProcessPath is { } current && Path.GetFileName(current) == exe)
                return current;
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
                return host;
            if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, exe)))
                return Path.Combine(root, exe);
            return exe;
        }
    }
}
