using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// A production app that only scores references MlnetLstm.Transforms, not the trainers: a zip saved here loads
    /// there in a fresh process, scores bit for bit as here, and no TorchSharp or libtorch library is ever mapped.
    /// </summary>
    [TestClass]
    public sealed class ScoringOnlyAppTests
    {
        private static readonly string[] Inputs = { "a", "abc", "gfe", "abcdefgab" };

        [TestMethod]
        public void ZipLoadsAndScoresTheSameWithoutTorchSharp()
        {
            var ml = new MLContext(seed: 1);
            var model = WithGeneration(Fit(ml, SmallOptions(epochs: 3), Enumerable.Repeat(Period, 20).ToArray()), new GenerationOptions { MaximumNewTokens = 15 });
            string directory = TestData.TempDirectory("scoring-only");
            string zip = Save(ml, model, Path.Combine(directory, "model.zip"));
            string inputs = Path.Combine(directory, "inputs.txt");
            File.WriteAllLines(inputs, Inputs);

            var lines = ChildProcess.RunLines(ChildProcess.Timeout, ChildProcess.ScoringRunnerDll, zip, "lm", inputs);
            Assert.AreEqual("torch libraries mapped: none", lines[^1]);
            Assert.AreSequenceEqual(Runner.Predict(ml, model, "lm", Inputs).ToArray(), lines[..^1]);
        }

        [TestMethod]
        public void ZipOfFormat1NamesTheTrainersAssemblyItNeeds()
        {
            string inputs = Path.Combine(TestData.TempDirectory("scoring-only-old"), "inputs.txt");
            File.WriteAllLines(inputs, Inputs);
            var failure = Assert.ThrowsExactly<AssertFailedException>(() =>
                ChildProcess.Run(ChildProcess.ScoringRunnerDll, TestData.Fixture("Format1/language-model.zip"), "lm", inputs));
            Assert.Contains("MlnetLstm.Trainers", failure.Message);
        }
    }
}
