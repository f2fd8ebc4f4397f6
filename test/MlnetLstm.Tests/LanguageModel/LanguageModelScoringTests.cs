using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The scoring outputs (perplexity, bits per token, next-token probabilities) agree with each other, computed
    /// independently here; generation honours its options (top-k, seed, stop token, maximum length); unseen
    /// characters are read as the unknown token. The model is trained once on many short documents "abcdefg", so
    /// the end-of-text token follows every "g".
    /// </summary>
    [TestClass]
    public sealed class LanguageModelScoringTests
    {
        /// <summary>Only the probabilities: asking for them must not need a continuation (so the empty prefix is fine).</summary>
        public sealed class ProbabilitiesOutput
        {
            /// <summary>Next-token probabilities.</summary>
            public VBuffer<float> NextTokenProbabilities { get; set; }
        }

        private static MLContext _ml = null!;
        private static TransformerChain<RecurrentLanguageModelTransformer> _model = null!;

        [ClassInitialize]
        public static void TrainOnce(TestContext context)
        {
            _ml = new MLContext(seed: 1);
            _model = Fit(_ml, SmallOptions(epochs: 10), Enumerable.Repeat(Period, 40).ToArray());
        }

        private static ITransformer With(GenerationOptions generation) => WithGeneration(_model, generation);

        private static string[] SlotNames()
        {
            var column = _model.GetOutputSchema(TestData.Texts(_ml, "a").Schema)["NextTokenProbabilities"];
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.GetSlotNames(ref names);
            return names.DenseValues().Select(n => n.ToString()).ToArray();
        }

        [TestMethod]
        [DataRow("abcdefg")]
        [DataRow("gfedcba")]
        [DataRow("ba")]
        [DataRow("abcxyzab")]
        [DataRow("abcdefgabcdefg")]
        [DataRow("long")]
        public void PerplexityAndBitsPerTokenAgreeWithProbabilitiesOfSuccessivePrefixes(string text)
        {
            if (text == "long")
                text = string.Concat(Enumerable.Repeat("abcdefgxgfedcba", 20)); // 300 characters: past the scorer's 256-token chunk
            var vocabulary = SlotNames();
            int unknown = Array.IndexOf(vocabulary, "<unk>");

            // log p(x) = Σ_t log p(x_t | x_<t), each factor read from the probabilities after the prefix x[..t].
            double logLikelihood = 0;
            using (var engine = _ml.Model.CreatePredictionEngine<TextRow, ProbabilitiesOutput>(_model))
            {
                for (int t = 0; t < text.Length; t++)
                {
                    var probabilities = engine.Predict(new TextRow { Text = text[..t] }).NextTokenProbabilities.DenseValues().ToArray();
                    int id = Array.IndexOf(vocabulary, text[t].ToString());
                    logLikelihood += Math.Log(probabilities[id < 0 ? unknown : id]);
                }
            }
            double expectedPerplexity = Math.Exp(-logLikelihood / text.Length);
            double expectedBits = -logLikelihood / text.Length / Math.Log(2);

            var output = Predict(_ml, _model, text);
            Assert.AreEqual(expectedPerplexity, output.Perplexity, 1e-4 * expectedPerplexity, "Perplexity");
            Assert.AreEqual(logLikelihood, output.LogLikelihood, 1e-4 * Math.Abs(logLikelihood), "LogLikelihood");
            Assert.AreEqual(expectedBits, output.BitsPerToken, 1e-4 * expectedBits, "BitsPerToken against the independent likelihood");
            Assert.AreEqual(-output.LogLikelihood / text.Length / Math.Log(2), output.BitsPerToken, 1e-12 * output.BitsPerToken, "BitsPerToken = −LL / n / ln 2");
            Assert.AreEqual(Math.Exp(-output.LogLikelihood / text.Length), output.Perplexity, 1e-12 * output.Perplexity, "Perplexity = exp(−LL / n)");
        }

        [TestMethod]
        public void ProbabilitiesSumToOneWithTheVocabularyAsSlotNames()
        {
            CollectionAssert.AreEqual(PeriodicVocabulary, SlotNames());
            CollectionAssert.AreEqual(PeriodicVocabulary, _model.LastTransformer.Vocabulary.ToArray());

            using var engine = _ml.Model.CreatePredictionEngine<TextRow, ProbabilitiesOutput>(_model);
            foreach (var prefix in new[] { "", "a", "abc", "gfe", "xyz", "abcdefg" })
            {
                var probabilities = engine.Predict(new TextRow { Text = prefix }).NextTokenProbabilities.DenseValues().ToArray();
                Assert.HasCount(PeriodicVocabulary.Length, probabilities, $"prefix '{prefix}'");
                Assert.IsTrue(probabilities.All(p => p >= 0 && p <= 1), $"prefix '{prefix}': {string.Join(", ", probabilities)}");
                Assert.AreEqual(1.0, probabilities.Sum(p => (double)p), 1e-5, $"prefix '{prefix}'");
            }

            // The model learned the documents: after "abc" comes "d", after "abcdefg" the end of the text, and a document starts with "a".
            string MostLikely(string prefix)
            {
                var probabilities = engine.Predict(new TextRow { Text = prefix }).NextTokenProbabilities.DenseValues().ToList();
                return PeriodicVocabulary[probabilities.IndexOf(probabilities.Max())];
            }
            Assert.AreEqual("d", MostLikely("abc"));
            Assert.AreEqual("<eos>", MostLikely("abcdefg"));
            Assert.AreEqual("a", MostLikely(""));
        }

        [TestMethod]
        public void SamplingFromTheTopTokenOnlyEqualsGreedy()
        {
            var greedy = new GenerationOptions { StopToken = null, MaximumNewTokens = 15 };
            foreach (var prefix in new[] { "gfe", "abcdefg", "ca" })
            {
                string expected = Generate(_ml, With(greedy), prefix);
                Assert.IsGreaterThanOrEqualTo(15, expected.Length, "15 tokens, none of them empty");
                foreach (int seed in new[] { 1, 2, 3 })
                {
                    Assert.AreEqual(expected, Generate(_ml, With(greedy with { Greedy = false, TopK = 1, Temperature = 1, Seed = seed }), prefix), $"top-k 1, seed {seed}, prefix '{prefix}'");
                    // A nucleus smaller than any token's probability keeps only the most likely one, through the sampling path.
                    Assert.AreEqual(expected, Generate(_ml, With(greedy with { Greedy = false, TopP = 1e-6f, Temperature = 3, Seed = seed }), prefix), $"top-p 1e-6, seed {seed}, prefix '{prefix}'");
                }
            }
        }

        [TestMethod]
        public void SeededSamplingIsReproducibleAndDiffersBetweenSeeds()
        {
            var sampling = new GenerationOptions { Greedy = false, Temperature = 3, StopToken = null, MaximumNewTokens = 20 };
            var continuations = new List<string>();
            foreach (int seed in Enumerable.Range(1, 6))
            {
                var model = With(sampling with { Seed = seed });
                string first = Generate(_ml, model, "abc");
                using var engine = _ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model);
                Assert.AreEqual(first, engine.Predict(new TextRow { Text = "abc" }).Generated, $"seed {seed}: a new engine must give the same continuation");
                Assert.AreEqual(first, engine.Predict(new TextRow { Text = "abc" }).Generated, $"seed {seed}: the same engine must give it again");
                continuations.Add(first);
            }
            Assert.IsGreaterThanOrEqualTo(2, continuations.Distinct().Count(), $"different seeds should give different continuations at temperature 3: {string.Join(" | ", continuations)}");
        }

        /// <summary>An empty text has log-likelihood 0 over 0 tokens: perplexity and bits per token are 0/0, NaN, as documented; its next-token distribution is defined.</summary>
        [TestMethod]
        public void EmptyTextHasNoPerplexityButADistribution()
        {
            var output = Predict(_ml, With(new GenerationOptions { AllowEmptyPrefix = true }), "");
            Assert.AreEqual(0.0, output.LogLikelihood);
            Assert.IsTrue(double.IsNaN(output.Perplexity), $"{output.Perplexity}");
            Assert.IsTrue(double.IsNaN(output.BitsPerToken), $"{output.BitsPerToken}");
            Assert.AreEqual(1.0, output.NextTokenProbabilities.DenseValues().Sum(p => (double)p), 1e-5);
        }

        [TestMethod]
        public void GenerationStopsAtTheEndOfTextToken()
        {
            var generation = new GenerationOptions { MaximumNewTokens = 50 };
            Assert.AreEqual("bcdefg", Generate(_ml, With(generation), "a"));
            Assert.AreEqual("fg", Generate(_ml, With(generation), "abcde"));
            Assert.AreEqual("", Generate(_ml, With(generation), "abcdefg"), "the end of the text comes right after 'g'");
            Assert.AreEqual("abcdefg", Generate(_ml, With(generation with { AllowEmptyPrefix = true }), ""), "from the start of a document");

            // Without a stop token the end-of-text token is never generated (it would insert a document break into
            // the text): the model's next choice takes its place, and generation runs to MaximumNewTokens.
            string unstopped = Generate(_ml, With(generation with { StopToken = null, MaximumNewTokens = 10 }), "a");
            Assert.AreEqual(10, unstopped.Length, unstopped);
            Assert.StartsWith("bcdefg", unstopped);
            Assert.DoesNotContain("<", unstopped);
        }

        [TestMethod]
        public void MaximumNewTokensIsRespected()
        {
            var generation = new GenerationOptions { StopToken = null };
            Assert.AreEqual("", Generate(_ml, With(generation with { MaximumNewTokens = 0 }), "a"));
            Assert.AreEqual("b", Generate(_ml, With(generation with { MaximumNewTokens = 1 }), "a"));
            Assert.AreEqual("bcd", Generate(_ml, With(generation with { MaximumNewTokens = 3 }), "a"));
            Assert.AreEqual("bcd", Generate(_ml, With(new GenerationOptions { MaximumNewTokens = 3 }), "a"), "the limit also applies before the stop token");
            Assert.AreEqual(100, new GenerationOptions().MaximumNewTokens, "the documented default");
            string sampled = Generate(_ml, With(generation with { Greedy = false, Temperature = 3, Seed = 5, MaximumNewTokens = 7 }), "a");
            Assert.AreEqual(7, sampled.Replace("<eos>", "#").Replace("<unk>", "#").Length, $"7 sampled tokens: '{sampled}'");
        }

        [TestMethod]
        public void UnseenCharactersAreReadAsTheUnknownToken()
        {
            var outputs = new[] { "aXb", "aéb", "a😀b" }.Select(text => Runner.Format(Predict(_ml, _model, text))).ToArray();
            Assert.AreEqual(outputs[0], outputs[1], "every unseen character is the same token <unk>");
            Assert.AreEqual(outputs[0], outputs[2], "an astral character is one token, <unk>");
            Assert.AreNotEqual(Runner.Format(Predict(_ml, _model, "ab")), outputs[0], "the unknown token is a token: it is not dropped");

            var output = Predict(_ml, _model, "aXb");
            Assert.IsTrue(double.IsFinite(output.LogLikelihood) && output.LogLikelihood < 0, $"log-likelihood {output.LogLikelihood}");
            Assert.AreEqual(1.0, output.NextTokenProbabilities.DenseValues().Sum(p => (double)p), 1e-5);
            Assert.IsFalse(string.IsNullOrEmpty(output.Generated), "a prefix with some known characters is continued");
        }
    }
}
