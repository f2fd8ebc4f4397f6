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
    /// Scoring memory is bounded: a long text's likelihood and a long continuation cost memory for their tokens, not
    /// for the network's activations, and loading a model again and again does not accumulate memory.
    /// </summary>
    [TestClass]
    public sealed class ScoringMemoryTests
    {
        private static MLContext _ml = null!;
        private static ITransformer _model = null!;

        [ClassInitialize]
        public static void TrainOnce(TestContext context)
        {
            // Memory per token does not depend on the hidden size, time does: a small network keeps these runs short.
            _ml = new MLContext(seed: 1);
            _model = Fit(_ml, SmallOptions(epochs: 2), Enumerable.Repeat(Period, 20).ToArray());
        }

        private sealed class LikelihoodOutput
        {
            public double LogLikelihood { get; set; }
        }

        private sealed class GeneratedOutput
        {
            public string Generated { get; set; } = "";
        }

        /// <summary>The bound docs/bad-input.md gives for scoring one text of any length: resident growth over the loaded model.</summary>
        private const long LongTextBoundBytes = 150L << 20;

        [TestMethod]
        [DataRow("likelihood")]
        [DataRow("all")]
        public void ATenMegabyteTextIsScoredWithinTheDocumentedBound(string outputs)
        {
            // 10 MB of text (20 MB as the caller's .NET string, built before the measurement). The per-position
            // buffers left are the tokenizer's: its ids and its key vector, 4 bytes per token each. The language model
            // reads the key vector in place (it used to copy it, 4 bytes per token more), and the network's activations
            // add nothing that grows with the text (TorchSharp scoring took 14.6 GB for it). A fresh process, so that
            // what earlier tests left on the heap neither hides nor adds growth.
            const long tokens = 10_000_000;
            var model = WithGeneration(_model, new GenerationOptions { StopToken = null, MaximumNewTokens = 100 });
            string zip = Save(_ml, model, Path.Combine(TestData.TempDirectory("long-text-" + outputs), "model.zip"));
            var lines = ChildProcess.RunLines(TimeSpan.FromMinutes(3), ChildProcess.ModelRunnerDll, "memory", zip, tokens.ToString(System.Globalization.CultureInfo.InvariantCulture), outputs);
            Console.WriteLine(string.Join("\n", lines));
            string Value(string key) => lines.Single(line => line.StartsWith(key + " ", StringComparison.Ordinal))[(key.Length + 1)..];
            double logLikelihood = double.Parse(Value("log-likelihood"), System.Globalization.CultureInfo.InvariantCulture);
            long growth = long.Parse(Value("growth-kib"), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            Assert.IsTrue(double.IsFinite(logLikelihood) && logLikelihood < 0, $"log-likelihood {logLikelihood}");
            if (outputs == "all")
            {
                Assert.AreEqual("100", Value("generated"), "characters generated after the text");
                Assert.AreEqual("9", Value("probabilities"), "next-token probabilities");
            }
            Assert.IsLessThan(LongTextBoundBytes, growth, $"bytes of resident growth while scoring a 10 MB text ({outputs} outputs): the documented bound");
            Assert.IsLessThan(8 * tokens + (24L << 20), growth, $"bytes of resident growth while scoring a 10 MB text ({outputs} outputs): the tokenizer's two buffers and 24 MiB");
        }

        [TestMethod]
        public void AMillionGeneratedTokensCostOnlyTheirText()
        {
            var model = WithGeneration(_model, new GenerationOptions { StopToken = null, MaximumNewTokens = 1_000_000 });
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, GeneratedOutput>(model);
            engine.Predict(new TextRow { Text = "abc" });
            string generated = "";
            long growth = ProcessMemory.PeakGrowthKiB(() => generated = engine.Predict(new TextRow { Text = "abc" }).Generated) * 1024;
            Console.WriteLine($"generated {generated.Length:N0} characters; peak resident growth {growth / (1 << 20)} MiB");
            Assert.HasCount(1_000_000, generated);
            Assert.IsLessThan(20L << 20, growth, "bytes of resident growth while generating 1,000,000 tokens");
        }

        [TestMethod]
        public void LoadingAModelTwoHundredTimesDoesNotAccumulateMemory()
        {
            string zip = Save(_ml, _model, Path.Combine(TestData.TempDirectory("reload"), "model.zip"));
            long afterTenth = 0;
            for (int i = 1; i <= 200; i++)
            {
                var loaded = _ml.Model.Load(zip, out _);
                using (var engine = _ml.Model.CreatePredictionEngine<TextRow, LikelihoodOutput>(loaded))
                    engine.Predict(new TextRow { Text = "abcdefg" });
                if (i == 10 || i == 200)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    if (i == 10)
                        afterTenth = ProcessMemory.KiB("VmRSS") * 1024;
                }
            }
            long afterLast = ProcessMemory.KiB("VmRSS") * 1024;
            Console.WriteLine($"resident after the 10th load {afterTenth / (1 << 20)} MiB, after the 200th {afterLast / (1 << 20)} MiB");
            Assert.IsLessThan(afterTenth * 1.05, (double)afterLast, "resident bytes after the 200th load vs after the 10th (+5%)");
        }
    }
}
