using System;
using System.Diagnostics;
using System.IO;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>The child-process helper of the round-trip tests fails loudly instead of passing or hanging silently.</summary>
    [TestClass]
    public sealed class ChildProcessTests
    {
        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        [TestMethod]
        public void NonZeroExitFailsWithTheChildsStandardError()
        {
            var inputs = Path.Combine(_directory, "inputs.txt");
            File.WriteAllLines(inputs, new[] { "a" });
            var missing = Path.Combine(_directory, "missing.zip");
            var e = Assert.ThrowsExactly<AssertFailedException>(() =>
                ChildProcess.RunDll(ChildProcess.ModelRunnerDll, new[] { missing, "tokens", inputs }, TimeSpan.FromSeconds(60)));
            Assert.Contains("exited with code", e.Message);
            Assert.Contains("missing.zip", e.Message, "The child's stderr (its exception) must be in the failure message.");
        }

        [TestMethod]
        [OSCondition(OperatingSystems.Linux | OperatingSystems.OSX)]
        public void ChildThatDoesNotFinishIsKilledAtTheTimeout()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "abc");
            var zip = Path.Combine(_directory, "model.zip");
            ml.Model.Save(ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data), data.Schema, zip);
            // Reading a named pipe that nobody writes blocks forever.
            var fifo = Path.Combine(_directory, "inputs.fifo");
            using (var mkfifo = Process.Start("mkfifo", fifo))
            {
                mkfifo.WaitForExit();
                Assert.AreEqual(0, mkfifo.ExitCode);
            }

            var watch = Stopwatch.StartNew();
            var e = Assert.ThrowsExactly<AssertFailedException>(() =>
                ChildProcess.RunDll(ChildProcess.ModelRunnerDll, new[] { zip, "tokens", fifo }, TimeSpan.FromSeconds(3)));
            Assert.Contains("did not finish within 3 s and was killed", e.Message);
            Assert.IsLessThan(30.0, watch.Elapsed.TotalSeconds);
        }
    }
}
