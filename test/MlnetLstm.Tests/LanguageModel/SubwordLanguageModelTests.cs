using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>A language model on learned BPE subwords: it trains, generates text the tokenizer decodes, scores, and survives the zip.</summary>
    [TestClass]
    public sealed class SubwordLanguageModelTests
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
        public void TrainsGeneratesAndScoresOnLearnedBpeAndSurvivesTheZip()
        {
            var ml = new MLContext(seed: 1);
            var corpus = TinyLanguageModel.Corpus(3000, seed: 4);
            var options = LanguageModelTestKit.SmallOptions(epochs: 6);
            options.Generation = new GenerationOptions { MaximumNewTokens = 12, Greedy = false, Seed = 5, Temperature = 1.5f };
            var pipeline = ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 60)
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options));
            var model = pipeline.Fit(TestData.Texts(ml, corpus));
            var vocabulary = TransformerChains.Flatten(model).OfType<BpeTokenizingTransformer>().Single().Vocabulary;
            var lm = LanguageModelTestKit.LanguageModel(model);
            CollectionAssert.AreEqual(vocabulary.Tokens.ToArray(), lm.Vocabulary.ToArray());
            Assert.IsLessThan(lm.TrainingHistory[0].TrainingPerplexity, lm.TrainingHistory[^1].TrainingPerplexity, "training lowers the perplexity");

            const string prefix = "the whale ";
            var output = LanguageModelTestKit.Predict(ml, model, prefix);
            // Streamed pieces concatenate to the Generated column, and each is a whole token of the vocabulary.
            var pieces = model.GenerateTokens(new TextRow { Text = prefix }).ToList();
            Assert.AreEqual(output.Generated, string.Concat(pieces));
            Assert.IsTrue(pieces.All(p => vocabulary.Tokens.Contains(p)), string.Join("|", pieces));
            Assert.IsTrue(pieces.All(p => !char.IsLowSurrogate(p[0]) && !char.IsHighSurrogate(p[^1])));
            // The Microsoft.ML.Tokenizers tokenizer decodes the generated ids to the same text.
            var ids = pieces.Select(p => vocabulary.Tokens.ToList().IndexOf(p)).ToArray();
            Assert.AreEqual(output.Generated, vocabulary.Tokenizer.Decode(ids));

            // Bits per token divide by the subword count; bits per character of the text divide the same log-likelihood by its characters.
            int tokens = vocabulary.Encode(prefix, out _).Length;
            Assert.AreEqual(-output.LogLikelihood / tokens / Math.Log(2), output.BitsPerToken, 1e-9);
            Assert.IsLessThan(prefix.Length, tokens);

            string path = LanguageModelTestKit.Save(ml, model, Path.Combine(_directory, "bpe-lm.zip"));
            var loaded = new MLContext().Model.Load(path, out _);
            var reloaded = LanguageModelTestKit.Predict(ml, loaded, prefix);
            Assert.AreEqual(output.Generated, reloaded.Generated);
            Assert.AreEqual(output.LogLikelihood, reloaded.LogLikelihood);
            CollectionAssert.AreEqual(output.NextTokenProbabilities.DenseValues().ToArray(), reloaded.NextTokenProbabilities.DenseValues().ToArray());
        }

        [TestMethod]
        public void ClassifierReadsLearnedBpeTokens()
        {
            var ml = new MLContext(seed: 1);
            var rows = TinyLanguageModel.Corpus(1500, seed: 6).Select((text, i) => new LabeledText { Text = text, Label = text.Contains("whale") ? "whale" : "other" }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 50)
                .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options { HiddenSize = 8, Epochs = 2, NumberOfThreads = 1, Seed = 1 }));
            var model = pipeline.Fit(data);
            var scored = model.Transform(data);
            Assert.AreEqual(rows.Count, scored.GetColumn<uint>("PredictedLabel").Count());
        }

        private sealed class LabeledText
        {
            public string Text { get; set; } = "";

            public string Label { get; set; } = "";
        }
    }
}
