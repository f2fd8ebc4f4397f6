using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MlnetLstm.Tests
{
    /// <summary>The helper that the save-here, load-there tests rely on reports a failing or hanging child instead of hiding it.</summary>
    [TestClass]
    public sealed class ChildProcessTests
    {

        [TestMethod]
        public void FailingChildFailsTheTestWithItsStandardError()
        {
            string missing = Path.Combine(TestData.TempDirectory(nameof(FailingChildFailsTheTestWithItsStandardError)), "missing.zip");
            var failure = Assert.ThrowsExactly<AssertFailedException>(() => ChildProcess.Run(ChildProcess.ModelRunnerDll, missing, "lm", missing + ".txt"));
            foreach (var fragment in new[] { "exited with code", "FileNotFoundException", missing })
                Assert.IsTrue(failure.Message.Contains(fragment, StringComparison.Ordinal), $"'{fragment}' should be in: {failure.Message}");
        }

        [TestMethod]
        public void HangingChildIsKilledAtTheTimeout()
        {
            // A named pipe that nobody writes to: the child blocks opening it as its model file.
            string fifo = SpecialFiles.NamedPipe(Path.Combine(TestData.TempDirectory(nameof(HangingChildIsKilledAtTheTimeout)), "model.zip"));

            var clock = Stopwatch.StartNew();
            var failure = Assert.ThrowsExactly<AssertFailedException>(() => ChildProcess.Run(TimeSpan.FromSeconds(3), ChildProcess.ModelRunnerDll, fifo, "lm", fifo));
            clock.Stop();

            Assert.IsTrue(failure.Message.Contains("did not finish within 3 s and was killed", StringComparison.Ordinal), failure.Message);
            Assert.IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(3), clock.Elapsed);
            Assert.IsLessThan(TimeSpan.FromSeconds(20), clock.Elapsed);
            int pid = int.Parse(Regex.Match(failure.Message, @"\(process (\d+)\)").Groups[1].Value);
            Assert.ThrowsExactly<ArgumentException>(() => Process.GetProcessById(pid), $"the child {pid} must be gone");
        }
    }
}
