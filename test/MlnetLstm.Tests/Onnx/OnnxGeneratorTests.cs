using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The standalone step-by-step ONNX graph of a language model (ExportOnnxGenerator), its vocabulary JSON, and what
    /// ONNX export refuses and why.
    /// </summary>
    [TestClass]
    public sealed class OnnxGeneratorTests
    {
        private static ITransformer Fit(MLContext ml, RecurrentCell cell, int layers, TokenInputEncoding encoding, bool caseFolding = false)
        {
            var options = LanguageModelTestKit.SmallOptions(seed: 4, epochs: 3);
            options.Cell = cell;
            options.Layers = layers;
            options.HiddenSize = 12;
            options.InputEncoding = encoding;
            options.EmbeddingSize = encoding == TokenInputEncoding.Embedding ? 6 : 0;
            return ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", caseFolding: caseFolding)
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options))
                .Fit(TestData.Texts(ml, LanguageModelTestKit.PeriodicText(12), "gfedcba gfedcba"));
        }

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 2, TokenInputEncoding.OneHot)]
        [DataRow(RecurrentCell.Gru, 1, TokenInputEncoding.Embedding)]
        [DataRow(RecurrentCell.RnnTanh, 2, TokenInputEncoding.OneHot)]
        public void GreedyStepByStepGenerationMatchesTheModel(RecurrentCell cell, int layers, TokenInputEncoding encoding)
        {
            var ml = new MLContext(seed: 1);
            var pipeline = Fit(ml, cell, layers, encoding);
            var model = pipeline.GetLanguageModel();
            using var stream = new MemoryStream();
            pipeline.ExportOnnxGenerator(stream);
            using var session = OnnxTestKit.Session(stream.ToArray());
            using var vocabularyJson = JsonDocument.Parse(session.ModelMetadata.CustomMetadataMap["mlnetlstm.vocabulary"]);
            var vocabulary = vocabularyJson.RootElement;
            var tokens = vocabulary.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
            CollectionAssert.AreEqual(model.Vocabulary.ToArray(), tokens);
            int endOfText = vocabulary.GetProperty("end_of_text_id").GetInt32();
            int unknown = vocabulary.GetProperty("unknown_id").GetInt32();
            bool lstm = cell == RecurrentCell.Lstm;

            var greedy = new GenerationOptions { Greedy = true, StopToken = null, MaximumNewTokens = 25 };
            using var engine = ml.Model.CreatePredictionEngine<TextRow, NextTokenScores>(pipeline);
            double delta = 0;
            foreach (var prefix in new[] { "abc", "gfe", "a", "dcbagfedcba" })
            {
                var ids = prefix.Select(c => (long)Array.IndexOf(tokens, c.ToString())).ToArray();
                var expected = model.GenerateTokens(ids.Select(i => (int)i).ToArray(), greedy).ToList();
                var scored = engine.Predict(new TextRow { Text = prefix });

                // Read the prefix from the start of a document: end-of-text first, zero state.
                var feed = new[] { (long)endOfText }.Concat(ids).ToArray();
                var zeros = (new double[layers * 12], new long[] { layers, 1, 12 });
                var outputs = Step(session, feed, zeros, lstm ? zeros : null);
                delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(scored.NextTokenProbabilities.Select(v => (double)v).ToArray(), outputs["next_token_probabilities"].Values, $"next-token probabilities after '{prefix}'"));
                // log_probabilities[t] predicts token t + 1 of what was fed: the prefix's tokens are at positions 0 … T − 1.
                var logProbabilities = outputs["log_probabilities"].Values;
                double logLikelihood = ids.Select((id, t) => logProbabilities[t * tokens.Length + (int)id]).Sum();
                delta = Math.Max(delta, Math.Abs(scored.LogLikelihood - logLikelihood));

                var generated = new List<string>();
                for (int step = 0; step < greedy.MaximumNewTokens; step++)
                {
                    // The model never generates its unknown token, nor the end-of-text token unless it is the stop token.
                    var logits = outputs["next_token_logits"].Values.ToArray();
                    logits[unknown] = double.NegativeInfinity;
                    logits[endOfText] = double.NegativeInfinity;
                    int token = Array.IndexOf(logits, logits.Max());
                    generated.Add(tokens[token]);
                    outputs = Step(session, new[] { (long)token }, outputs["Y_h"], lstm ? outputs["Y_c"] : null);
                }
                CollectionAssert.AreEqual(expected, generated, $"greedy continuation of '{prefix}': model '{string.Concat(expected)}', ONNX '{string.Concat(generated)}'");
            }
            Console.WriteLine($"generator {cell} {layers} layer(s) {encoding}: max |Δ| {delta:E2}");
            Assert.IsTrue(delta < OnnxTestKit.Tolerance, $"max |Δ| {delta}");
        }

        [TestMethod]
        public void LearnedBpeModelExportsTheGeneratorWithItsMergesAndScoresAsTheModel()
        {
            var ml = new MLContext(seed: 1);
            var options = LanguageModelTestKit.SmallOptions(seed: 4, epochs: 2);
            options.HiddenSize = 12;
            var pipeline = ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 40)
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options))
                .Fit(TestData.Texts(ml, TinyLanguageModel.Corpus(800, seed: 7)));
            var bpe = TransformerChains.Flatten(pipeline).OfType<BpeTokenizingTransformer>().Single().Vocabulary;
            using var stream = new MemoryStream();
            pipeline.ExportOnnxGenerator(stream);
            using var session = OnnxTestKit.Session(stream.ToArray());
            using var vocabularyJson = JsonDocument.Parse(session.ModelMetadata.CustomMetadataMap["mlnetlstm.vocabulary"]);
            var vocabulary = vocabularyJson.RootElement;
            Assert.AreEqual("bpe", vocabulary.GetProperty("level").GetString());
            CollectionAssert.AreEqual(bpe.Merges.Select(m => $"{m.Left} {m.Right}").ToArray(),
                vocabulary.GetProperty("merges").EnumerateArray().Select(m => string.Join(" ", m.EnumerateArray().Select(t => t.GetString()))).ToArray());

            // Tokenized outside the pipeline by the Microsoft.ML.Tokenizers BpeTokenizer, the graph scores as the model does.
            const string prefix = "the old ship";
            var ids = bpe.Tokenizer.EncodeToIds(prefix).Select(id => (long)id).ToArray();
            using var engine = ml.Model.CreatePredictionEngine<TextRow, NextTokenScores>(pipeline);
            var scored = engine.Predict(new TextRow { Text = prefix });
            var zeros = (new double[12], new long[] { 1, 1, 12 });
            var outputs = Step(session, new[] { (long)vocabulary.GetProperty("end_of_text_id").GetInt32() }.Concat(ids).ToArray(), zeros, zeros);
            double delta = OnnxTestKit.MaxAbsDiff(scored.NextTokenProbabilities.Select(v => (double)v).ToArray(), outputs["next_token_probabilities"].Values, "next-token probabilities");
            Assert.IsTrue(delta < OnnxTestKit.Tolerance, $"max |Δ| {delta}");
        }

        [TestMethod]
        public void VocabularyJsonDescribesTheTokenizer()
        {
            var ml = new MLContext(seed: 1);
            var pipeline = Fit(ml, RecurrentCell.Gru, 1, TokenInputEncoding.OneHot, caseFolding: true);
            using var stream = new MemoryStream();
            pipeline.WriteOnnxVocabulary(stream);
            using var json = JsonDocument.Parse(stream.ToArray());
            var root = json.RootElement;
            Assert.AreEqual("mlnetlstm-vocabulary/1", root.GetProperty("format").GetString());
            Assert.AreEqual("character", root.GetProperty("level").GetString());
            Assert.IsTrue(root.GetProperty("case_folding").GetBoolean());
            Assert.AreEqual("", root.GetProperty("separator").GetString());
            CollectionAssert.AreEqual(pipeline.GetLanguageModel().Vocabulary.ToArray(), root.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToArray());
            Assert.AreEqual(1, root.GetProperty("end_of_text_id").GetInt32());
            Assert.AreEqual(0, root.GetProperty("unknown_id").GetInt32());
        }

        [TestMethod]
        public void ConvertToOnnxRefusesTheGeneratedColumnAndSaysWhatToDo()
        {
            var ml = new MLContext(seed: 1);
            var pipeline = Fit(ml, RecurrentCell.Lstm, 1, TokenInputEncoding.OneHot);
            var data = TestData.Texts(ml, "abc");
            var error = Assert.ThrowsExactly<NotSupportedException>(() => OnnxTestKit.Convert(ml, pipeline, data));
            StringAssert.Contains(error.Message, "'Generated'");
            StringAssert.Contains(error.Message, "WithoutGeneratedColumn()");
            StringAssert.Contains(error.Message, "ExportOnnxGenerator");
            // The same pipeline without the column converts.
            Assert.IsTrue(OnnxTestKit.Convert(ml, pipeline.WithoutGeneratedColumn(), data).Length > 0);
        }

        [TestMethod]
        public void ConvertToOnnxRefusesCaseFoldedWordsAndOldOpsets()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "The cat sat on the mat");
            var words = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text", caseFolding: true).Fit(data);
            var error = Assert.ThrowsExactly<NotSupportedException>(() => OnnxTestKit.Convert(ml, words, data));
            StringAssert.Contains(error.Message, "lower-cases words");
            StringAssert.Contains(error.Message, "ExportOnnxGenerator");

            var model = Fit(ml, RecurrentCell.Lstm, 1, TokenInputEncoding.OneHot).WithoutGeneratedColumn();
            using var stream = new MemoryStream();
            var opset = Assert.Throws<Exception>(() => ml.Model.ConvertToOnnx(model, data, 9, stream));
            StringAssert.Contains(opset.Message, "10");
        }

        /// <summary>One call of the generator graph; <paramref name="cell"/> only for LSTM.</summary>
        private static Dictionary<string, (double[] Values, long[] Shape)> Step(InferenceSession session, long[] ids,
            (double[] Values, long[] Shape) hidden, (double[] Values, long[] Shape)? cell)
        {
            var inputs = new Dictionary<string, OrtValue>
            {
                ["token_ids"] = OnnxTestKit.Longs(ids, 1, ids.Length),
                ["initial_h"] = OnnxTestKit.Floats(hidden.Values.Select(v => (float)v).ToArray(), hidden.Shape),
            };
            if (cell is { } c)
                inputs["initial_c"] = OnnxTestKit.Floats(c.Values.Select(v => (float)v).ToArray(), c.Shape);
            try
            {
                return OnnxTestKit.Run(session, inputs);
            }
            finally
            {
                foreach (var value in inputs.Values)
                    value.Dispose();
            }
        }
    }
}
