using System;
using System.Diagnostics;
using System.IO;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MlnetLstm.Tests
{
    /// <summary>Entries that are not regular files (named pipes, devices), made and inspected with the system's own tools: what the code under test must refuse.</summary>
    internal static class SpecialFiles
    {
        /// <summary>The entry's type as <c>stat -c %F</c> names it ("regular file", "fifo", "character special file", "symbolic link", …).</summary>
        public static string Kind(string path) => Run("stat", "-c", "%F", path);

        /// <summary>Makes a named pipe at <paramref name="path"/> with <c>mkfifo</c>.</summary>
        public static string NamedPipe(string path)
        {
            Run("mkfifo", path);
            return path;
        }

        /// <summary>
        /// A character device that must survive the test: as root a copy of /dev/null made with <c>mknod</c> in
        /// <paramref name="directory"/> (so that a failure cannot break the machine's), otherwise /dev/null itself,
        /// which only root could replace.
        /// </summary>
        public static string NullDevice(string directory)
        {
            if (!Environment.IsPrivilegedProcess)
                return "/dev/null";
            string path = Path.Combine(directory, "null");
            Run("mknod", path, "c", "1", "3");
            return path;
        }

        private static string Run(string tool, params string[] arguments)
        {
            using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true })!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            Assert.AreEqual(0, process.ExitCode, $"{tool} {string.Join(' ', arguments)} failed");
            return output;
        }
    }
}
