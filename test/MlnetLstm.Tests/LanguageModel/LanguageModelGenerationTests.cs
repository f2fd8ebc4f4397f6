using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using static MlnetLstm.Tests.LanguageModelTestKit;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Generation by the managed engine: greedy continuations equal a TorchSharp network's on the same weights,
    /// streaming yields the Generated text token by token and stops when cancelled, the host's CancelExecution stops
    /// a long continuation, and the repetition penalty follows Hugging Face's rule.
    /// </summary>
    [TestClass]
    public sealed class LanguageModelGenerationTests
    {
        private static MLContext _ml = null!;
        private static TransformerChain<RecurrentLanguageModelTransformer> _periodic = null!;
        private static string _mobyDickText = null!;
        private static TransformerChain<RecurrentLanguageModelTransformer> _mobyDick = null!;

        [ClassInitialize]
        public static void TrainOnce(TestContext context)
        {
            _ml = new MLContext(seed: 1);
            _periodic = Fit(_ml, SmallOptions(epochs: 10), Enumerable.Repeat(Period, 40).ToArray());
            // A character LSTM 1×64 on 200,000 characters of Moby-Dick, two epochs: enough to write English-like loops.
            _mobyDickText = File.ReadAllText(TestData.Corpus("moby-dick.txt"))[20_000..220_000];
            var options = SmallOptions(seed: 2, epochs: 2);
            options.HiddenSize = 64;
            options.BatchSize = 32;
            options.SequenceLength = 32;
            options.LearningRate = 0.01;
            _mobyDick = Fit(_ml, options, _mobyDickText.Split("\n\n", StringSplitOptions.RemoveEmptyEntries));
        }

        [TestMethod]
        [DataRow("a", true)]
        [DataRow("abcab", true)]
        [DataRow("cd", false)]
        public void StreamedTokensAreTheGeneratedText(string prefix, bool greedy)
        {
            var generation = new GenerationOptions { Greedy = greedy, Seed = 4, Temperature = 1.5f, StopToken = null, MaximumNewTokens = 40 };
            var model = WithGeneration(_periodic, generation);
            var streamed = model.GenerateTokens(new TextRow { Text = prefix }).ToList();
            Assert.HasCount(40, streamed, "a character model yields one character per token");
            Assert.IsTrue(streamed.All(t => t.Length == 1), string.Join("|", streamed));
            Assert.AreEqual(Generate(_ml, model, prefix), string.Concat(streamed));
        }

        [TestMethod]
        public void CancellingTheTokenStopsStreamingBetweenTwoTokens()
        {
            var model = WithGeneration(_periodic, new GenerationOptions { StopToken = null, MaximumNewTokens = 1_000_000 });
            using var cancellation = new CancellationTokenSource();
            var received = new List<string>();
            Assert.ThrowsExactly<OperationCanceledException>(() =>
            {
                foreach (var token in model.GenerateTokens(new TextRow { Text = "a" }, cancellationToken: cancellation.Token))
                {
                    received.Add(token);
                    if (received.Count == 5)
                        cancellation.Cancel();
                }
            });
            Assert.AreEqual("bcdef", string.Concat(received));
        }

        [TestMethod]
        public void CancelExecutionStopsALongContinuation()
        {
            // Hidden size 128: a million tokens take seconds, far longer than the 200 ms before the cancellation.
            var ml = new MLContext(seed: 1);
            var options = SmallOptions(epochs: 2);
            options.HiddenSize = 128;
            var model = WithGeneration(Fit(ml, options, Enumerable.Repeat(Period, 20).ToArray()),
                new GenerationOptions { StopToken = null, MaximumNewTokens = 1_000_000 });
            using var engine = ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model);
            var clock = Stopwatch.StartNew();
            var prediction = Task.Run(() => engine.Predict(new TextRow { Text = "a" }));
            Thread.Sleep(200);
            CancelExecution(ml);
            var error = Assert.ThrowsExactly<AggregateException>(() => prediction.Wait(TimeSpan.FromSeconds(30)));
            Assert.IsInstanceOfType<OperationCanceledException>(error.InnerException);
            Console.WriteLine($"cancelled after {clock.ElapsedMilliseconds} ms");
        }

        /// <summary>Hugging Face's rule: a seen token's logit is divided by the penalty when positive, multiplied when negative.</summary>
        [TestMethod]
        public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens()
        {
            var vocabulary = new LanguageModelVocabulary(new TokenVocabulary(new[] { "<unk>", "<eos>", "a", "b", "c" }, "", 0), 1);
            var sampler = new TokenSampler(vocabulary);
            var greedy = new GenerationOptions { StopToken = "<eos>" };
            float[] logits = { 9, 0, 2.0f, 1.5f, -3 };
            sampler.Begin(new[] { 2 });
            Assert.AreEqual(2, sampler.Choose(logits, greedy, 1, new Random(1)), "without a penalty 'a' wins (the unknown token never does)");
            Assert.AreEqual(3, sampler.Choose(logits, greedy with { RepetitionPenalty = 2 }, 1, new Random(1)), "2.0 / 2 = 1.0 < 1.5: 'b' wins");
            Assert.AreEqual(2, sampler.Choose(logits, greedy with { RepetitionPenalty = 1.3f }, 1, new Random(1)), "2.0 / 1.3 = 1.54 > 1.5: 'a' still wins");

            // All letters below the end-of-text token's 0: a seen negative logit moves away from zero.
            float[] negative = { 0, -1, -1.0f, -1.5f, -4 };
            sampler.Begin(new[] { 2 });
            Assert.AreEqual(1, sampler.Choose(negative, greedy, 1, new Random(1)), "the stop token (−1) ties 'a' and has the lower id");
            Assert.AreEqual(3, sampler.Choose(negative, greedy with { RepetitionPenalty = 2, StopToken = null }, null, new Random(1)),
                "no stop token: '<eos>' is never generated; 'a' −1 × 2 = −2 < 'b' −1.5");
            sampler.Observe(3);
            Assert.AreEqual(2, sampler.Choose(negative, greedy with { RepetitionPenalty = 2, StopToken = null }, null, new Random(1)),
                "after 'b' is generated: 'a' −2, 'b' −3, 'c' −4");
        }

        [TestMethod]
        public void RepetitionPenaltyTakesGreedyContinuationsOutOfTheirLoops()
        {
            // Greedy continuations of a character model fall into loops of words; the penalty takes them out.
            string Continue(float penalty) => Generate(_ml, WithGeneration(_mobyDick, new GenerationOptions { MaximumNewTokens = 200, RepetitionPenalty = penalty }), "The whale ");
            static int RepeatedWords(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).GroupBy(w => w).Sum(g => g.Count() - 1);
            string plain = Continue(1), penalized = Continue(1.3f);
            Console.WriteLine($"plain: '{plain}' ({RepeatedWords(plain)} repeated words)\npenalized: '{penalized}' ({RepeatedWords(penalized)} repeated words)");
            Assert.IsGreaterThan(RepeatedWords(penalized), RepeatedWords(plain), "the penalty must make the continuation repeat fewer words");
        }

        [TestMethod]
        public void RepetitionPenaltyIsSavedWithTheModel()
        {
            var model = WithGeneration(_periodic, new GenerationOptions { RepetitionPenalty = 1.25f });
            string zip = Save(_ml, model, Path.Combine(TestData.TempDirectory("penalty"), "model.zip"));
            Assert.AreEqual(1.25f, _ml.Model.Load(zip, out _).GetLanguageModel().Generation.RepetitionPenalty);
            var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new GenerationOptions { RepetitionPenalty = 0 }.Validated());
            Assert.Contains("RepetitionPenalty", error.Message);
        }

        /// <summary>
        /// Greedy continuations (200 tokens after each of 20 prefixes) of a character LSTM trained on Moby-Dick are those
        /// of a TorchSharp network loaded with the same weights, argmax by argmax, with the same tokens excluded (the
        /// unknown and end-of-text tokens, without a stop token). Two implementations may split a near-tie differently:
        /// where they differ, the two best log-probabilities must be within 1e-5.
        /// </summary>
        [TestMethod]
        public void GreedyContinuationsEqualTorchSharpsOnMobyDick()
        {
            var text = _mobyDickText;
            var model = _mobyDick;
            var lm = model.LastTransformer;
            var vocabulary = lm.Vocabulary.ToList();
            int unknown = vocabulary.IndexOf("<unk>"), endOfText = vocabulary.IndexOf("<eos>");
            var generation = new GenerationOptions { StopToken = null, MaximumNewTokens = 200 };

            using var network = new RecurrentNetwork(lm.Trained.Architecture, 0, CPU);
            network.LoadWeights(lm.Trained.Weights);
            network.eval();
            var random = new Random(9);
            int nearTies = 0;
            for (int p = 0; p < 20; p++)
            {
                int start = random.Next(text.Length - 40);
                var prefix = text.Substring(start, 5 + random.Next(30)).Select(c => vocabulary.IndexOf(c.ToString())).ToArray();
                Assert.IsTrue(prefix.All(id => id >= 0), "prefixes come from the training text");
                var managed = lm.GenerateTokens(prefix, generation).Select(t => vocabulary.IndexOf(t)).ToList();
                Assert.HasCount(200, managed);

                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var context = new[] { (long)endOfText }.Concat(prefix.Select(id => (long)id)).ToArray();
                var (output, state) = network.Encode(tensor(context).view(-1, 1), network.ZeroState(1));
                var logProbabilities = network.Head(output[-1]).view(-1).log_softmax(0);
                for (int step = 0; step < 200; step++)
                {
                    var values = logProbabilities.data<float>().ToArray();
                    values[unknown] = values[endOfText] = float.NegativeInfinity;
                    int expected = Array.IndexOf(values, values.Max());
                    if (expected != managed[step])
                    {
                        var sorted = values.OrderByDescending(v => v).ToArray();
                        Assert.IsLessThanOrEqualTo(1e-5, sorted[0] - sorted[1],
                            $"prefix {p}, step {step}: TorchSharp chooses '{vocabulary[expected]}', the managed engine '{vocabulary[managed[step]]}', and they are no near-tie");
                        nearTies++;
                        break;
                    }
                    (output, state) = network.Encode(tensor(new[] { (long)expected }).view(1, 1), state);
                    logProbabilities = network.Head(output[-1]).view(-1).log_softmax(0);
                }
            }
            Console.WriteLine($"20 prefixes × 200 greedy tokens: {nearTies} continuations parted at a near-tie (within 1e-5).");
        }

        /// <summary>Scoring needs no libtorch: the runtime assembly references no TorchSharp assembly.</summary>
        [TestMethod]
        public void TheRuntimeAssemblyReferencesNoTorchSharp()
        {
            var references = typeof(RecurrentLanguageModelTransformer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
            Assert.Contains("Microsoft.ML.Data", references);
            Assert.IsFalse(references.Any(r => r.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)), string.Join(", ", references));
        }
    }
}
