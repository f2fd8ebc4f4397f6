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

        [TestMethod]
        public void LikelihoodOfATenMegabyteTextIsBoundedByItsTokens()
        {
            // 10 MB of text: 20 MB as a .NET string, 40 MB each as the tokenizer's ids, its key vector and the scorer's
            // ids, 140 MB in all. The network's activations must add nothing that grows with the text (TorchSharp
            // scoring took 14.6 GB for it).
            string text = string.Concat(Enumerable.Repeat(Period, 10_000_000 / Period.Length));
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, LikelihoodOutput>(_model);
            engine.Predict(new TextRow { Text = "abc" });
            double logLikelihood = 0;
            long growth = ProcessMemory.PeakGrowthKiB(() => logLikelihood = engine.Predict(new TextRow { Text = text }).LogLikelihood) * 1024;
            Console.WriteLine($"log-likelihood {logLikelihood:F1}; peak resident growth {growth / (1 << 20)} MiB");
            Assert.IsTrue(double.IsFinite(logLikelihood) && logLikelihood < 0, $"log-likelihood {logLikelihood}");
            Assert.IsLessThan(160L << 20, growth, "bytes of resident growth while scoring a 10 MB text");
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
