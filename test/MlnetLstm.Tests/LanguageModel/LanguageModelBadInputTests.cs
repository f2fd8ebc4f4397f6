using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>Every mistake gets an exception of a precise type whose message names the option or column and the fix.</summary>
    [TestClass]
    public sealed class LanguageModelBadInputTests
    {
        private static MLContext _ml = null!;
        private static TransformerChain<RecurrentLanguageModelTransformer> _model = null!;
        private static string _directory = null!;

        [ClassInitialize]
        public static void TrainOnce(TestContext context)
        {
            _ml = new MLContext(seed: 1);
            _model = Fit(_ml, SmallOptions(epochs: 1), PeriodicText(20));
            _directory = TestData.TempDirectory(nameof(LanguageModelBadInputTests));
        }

        private static void AssertMentions(Exception exception, params string[] fragments)
        {
            foreach (var fragment in fragments)
                Assert.IsTrue(exception.Message.Contains(fragment, StringComparison.Ordinal),
                    $"The {exception.GetType().Name} message should mention '{fragment}'; it is: {exception.Message}");
        }

        /// <summary>
        /// ML.NET creates each component of a model zip through reflection, so what a component's loader throws reaches
        /// the caller of Model.Load wrapped in one TargetInvocationException per level of the pipeline; this unwraps
        /// those, and only those.
        /// </summary>
        private static Exception LoadFailure(string zip)
        {
            var thrown = Assert.Throws<Exception>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            var cause = thrown;
            while (cause is TargetInvocationException { InnerException: { } inner })
                cause = inner;
            return cause;
        }

        private static RecurrentLanguageModelTrainer.Options Tiny(Action<RecurrentLanguageModelTrainer.Options> change)
        {
            var options = SmallOptions(epochs: 1);
            change(options);
            return options;
        }

        // *** Training data ***

        [TestMethod]
        public void TrainingDataWithoutRowsIsRejected()
        {
            var tokenizer = _ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(_ml, "abc"));
            var empty = tokenizer.Transform(TestData.Texts(_ml, Array.Empty<string>()));
            var estimator = _ml.Transforms.Text.RecurrentLanguageModel(SmallOptions());

            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => estimator.Fit(empty));
            AssertMentions(exception, "no rows", "'Tokens'");
        }

        [TestMethod]
        public void TextShorterThanOneBatchIsRejected()
        {
            // 19 characters and the end-of-text token: 20 tokens, one fewer than BatchSize × SequenceLength + 1.
            var options = Tiny(o => { o.BatchSize = 2; o.SequenceLength = 10; o.ValidationFraction = 0; });
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(_ml, options, PeriodicText(3)[..19]));
            AssertMentions(exception, "20 tokens", "21", "BatchSize 2", "SequenceLength 10", "lower BatchSize or SequenceLength");
        }

        [TestMethod]
        public void TextOfExactlyOneBatchTrainsWhateverTheSeed()
        {
            // 20 characters and the end-of-text token: exactly BatchSize × SequenceLength + 1 = 21 tokens, the documented minimum.
            foreach (int seed in Enumerable.Range(1, 8))
            {
                var options = Tiny(o => { o.BatchSize = 2; o.SequenceLength = 10; o.ValidationFraction = 0; o.Epochs = 2; o.Seed = seed; });
                foreach (var sampling in new[] { BatchSampling.Sequential, BatchSampling.RandomWindows })
                {
                    options.BatchSampling = sampling;
                    var model = Fit(_ml, options, PeriodicText(3)[..20]);
                    Assert.HasCount(2, model.LastTransformer.TrainingHistory, $"seed {seed}, {sampling}");
                }
            }
        }

        // *** Token column ***

        [TestMethod]
        public void MissingTokenColumnIsRejected()
        {
            var options = Tiny(o => o.TokenColumnName = "Missing");
            var inPipeline = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(_ml, options, PeriodicText(20)));
            AssertMentions(inPipeline, "'Missing'", "TokenizeWithCharacterVocabulary", "TokenColumnName");

            var tokens = _ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(_ml, PeriodicText(20))).Transform(TestData.Texts(_ml, PeriodicText(20)));
            var alone = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ml.Transforms.Text.RecurrentLanguageModel(options).Fit(tokens));
            AssertMentions(alone, "'Missing'", "TokenizeWithCharacterVocabulary", "TokenColumnName");
        }

        [TestMethod]
        public void RawTextAsTokenColumnIsRejected()
        {
            var options = Tiny(o => o.TokenColumnName = "Text");
            var inPipeline = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(_ml, options, PeriodicText(20)));
            AssertMentions(inPipeline, "'Text'", "TokenizeWithCharacterVocabulary");

            var alone = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ml.Transforms.Text.RecurrentLanguageModel(options).Fit(TestData.Texts(_ml, PeriodicText(20))));
            AssertMentions(alone, "'Text'", "TokenizeWithCharacterVocabulary");
        }

        [TestMethod]
        public void EndOfTextAndStopTokensMustBeInTheVocabulary()
        {
            var endOfText = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(_ml, Tiny(o => o.EndOfTextToken = "<end>"), PeriodicText(20)));
            AssertMentions(endOfText, "'<end>'", "EndOfTextToken", "ReservedTokens");

            var stop = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(_ml, Tiny(o => o.Generation = new GenerationOptions { StopToken = "." }), PeriodicText(20)));
            AssertMentions(stop, "StopToken '.'", "null");

            var later = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _model.LastTransformer.WithGeneration(new GenerationOptions { StopToken = "z" }));
            AssertMentions(later, "StopToken 'z'");
        }

        // *** Options ***

        [TestMethod]
        [DataRow("HiddenSize", "1 to 65536")]
        [DataRow("LearningRate", "a positive number")]
        [DataRow("Dropout", "below 1")]
        [DataRow("Layers", "1 to 64")]
        [DataRow("EmbeddingSize", "with InputEncoding = Embedding")]
        [DataRow("ResumeFromCheckpoint", "CheckpointPath")]
        public void OutOfRangeOptionIsRejectedWithItsNameAndRange(string option, string range)
        {
            var options = Tiny(o =>
            {
                switch (option)
                {
                    case "HiddenSize": o.HiddenSize = 0; break;
                    case "LearningRate": o.LearningRate = -0.1; break;
                    case "Dropout": o.Dropout = 1.0f; break;
                    case "Layers": o.Layers = 0; break;
                    case "EmbeddingSize": o.InputEncoding = TokenInputEncoding.Embedding; o.EmbeddingSize = 0; break;
                    case "ResumeFromCheckpoint": o.ResumeFromCheckpoint = true; break;
                    default: throw new ArgumentOutOfRangeException(nameof(option), option, null);
                }
            });
            var exception = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ml.Transforms.Text.RecurrentLanguageModel(options));
            Assert.AreEqual(option, exception.ParamName);
            AssertMentions(exception, $"Option {option} is", range);
        }

        [TestMethod]
        public void InvalidGenerationOptionIsRejectedWithItsName()
        {
            var exception = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _model.LastTransformer.WithGeneration(new GenerationOptions { Temperature = 0 }));
            Assert.AreEqual("Temperature", exception.ParamName);
            AssertMentions(exception, "Temperature is 0", "positive");
        }

        // *** Generation ***

        [TestMethod]
        public void PrefixOfOnlyUnseenCharactersCannotBeContinued()
        {
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Predict(_ml, _model, "xyz"));
            AssertMentions(exception, "'Tokens'", "unknown ('<unk>')", "training text's alphabet");
        }

        /// <summary>A word model says words, not characters, when a prefix holds none it knows.</summary>
        [TestMethod]
        public void PrefixOfOnlyUnseenWordsCannotBeContinued()
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(SmallOptions(epochs: 1)))
                .Fit(TestData.Texts(ml, Enumerable.Repeat("the whale and the sea and the ship", 20)));
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Predict(ml, model, "harpoon lantern"));
            AssertMentions(exception, "'Tokens'", "unknown ('<unk>') tokens: the model never saw these words", "Give a prefix in the training text's vocabulary.");
        }

        [TestMethod]
        public void EmptyPrefixCannotBeContinuedUnlessAllowed()
        {
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Predict(_ml, _model, ""));
            AssertMentions(exception, "'Tokens' is empty", "AllowEmptyPrefix = true");
        }

        // *** Damaged model files ***

        private string SavedModel(string name) => Save(_ml, _model, Path.Combine(_directory, name + ".zip"));

        [TestMethod]
        public void WeightsOfAnotherVocabularyFailToLoad()
        {
            // The same network trained on one more character: every weight that touches the vocabulary has one more row or column.
            var other = Fit(new MLContext(seed: 1), SmallOptions(epochs: 1), PeriodicText(20) + "h");
            string zip = SavedModel("mismatch");
            string otherZip = Save(_ml, other, Path.Combine(_directory, "other-vocabulary.zip"));
            var (name, _) = ReadEntry(zip, "/Weights");
            ReplaceEntry(zip, name, Weights(otherZip));

            var cause = LoadFailure(zip);
            Assert.IsInstanceOfType<FormatException>(cause, cause.ToString());
            // LSTM: 4 gates × 16 hidden units = 64 rows, one column per token (9 here, 10 in the other model).
            AssertMentions(cause, "'layer0.fused.weight_ih_l0'", "[64, 10]", "[64, 9]");
        }

        [TestMethod]
        public void BitFlipsInTheWeightsHeaderFailToLoad()
        {
            string zip = SavedModel("flipped-count");
            var (name, weights) = ReadEntry(zip, "/Weights");
            // The header starts with the number of parameter tensors: 6 for one LSTM layer (two weights and two biases) and the head (weight and bias).
            Assert.AreEqual(6, BitConverter.ToInt32(weights, 0));
            // The changes below come with a checksum that matches (a crafted file): the weights reader itself must catch them.
            var flipped = (byte[])weights.Clone();
            flipped[0] ^= 0x40;
            ReplaceEntry(zip, name, ModelZip.ResignedWeights(flipped));
            var cause = LoadFailure(zip);
            Assert.IsInstanceOfType<FormatException>(cause, cause.ToString());
            AssertMentions(cause, "70 parameter tensors", "has 6");

            // Then the first parameter's name, a BinaryWriter string: its length byte, then "layer0.fused.weight_ih_l0".
            zip = SavedModel("flipped-name");
            Assert.AreEqual("layer0.fused.weight_ih_l0", Encoding.UTF8.GetString(weights, 5, weights[4]));
            flipped = (byte[])weights.Clone();
            flipped[5] ^= 0x01; // 'l' → 'm'
            ReplaceEntry(zip, name, ModelZip.ResignedWeights(flipped));
            cause = LoadFailure(zip);
            Assert.IsInstanceOfType<FormatException>(cause, cause.ToString());
            AssertMentions(cause, "expected parameter 'layer0.fused.weight_ih_l0' but found 'mayer0.fused.weight_ih_l0'");
        }

        [TestMethod]
        public void ArchitectureThatDisagreesWithTheVocabularyFailsToLoad()
        {
            string zip = SavedModel("architecture");
            var (name, model) = ReadEntry(zip, "Transform_001/Model.key");
            // The saved architecture record: cell LSTM (0), one-hot token input (0), 9 input tokens, embedding size 0,
            // 16 hidden units, 1 layer, dropout 0, 9 output tokens.
            var architecture = new MemoryStream();
            using (var writer = new BinaryWriter(architecture))
            {
                foreach (int field in new[] { 0, 0, 9, 0, 16, 1 })
                    writer.Write(field);
                writer.Write(0f);
                writer.Write(9);
            }
            byte[] pattern = architecture.ToArray();
            int at = model.AsSpan().IndexOf(pattern);
            Assert.IsGreaterThanOrEqualTo(0, at, "the architecture record should be in the model entry");
            Assert.AreEqual(-1, model.AsSpan(at + 1).IndexOf(pattern), "and only once");
            var patched = (byte[])model.Clone();
            patched[at + 8] = 10; // input size 9 → 10
            ReplaceEntry(zip, name, ModelZip.Resigned(patched)); // With a matching checksum: the reader must catch it.

            var cause = LoadFailure(zip);
            Assert.IsInstanceOfType<FormatException>(cause, cause.ToString());
            AssertMentions(cause, "reads 10 tokens and predicts 9 tokens", "vocabulary has 9", "inconsistent");
        }

        // *** Divergence ***

        [TestMethod]
        public void DivergenceToNaNStopsTrainingNamingLearningRate()
        {
            // ReLU units are unbounded: after one step at learning rate 10^6 the hidden state overflows within a few time
            // steps, and the loss is NaN. (Saturating LSTM/GRU/tanh units keep it finite, if enormous.)
            var options = Tiny(o =>
            {
                o.Cell = RecurrentCell.RnnRelu;
                o.Optimizer = Optimizer.Sgd;
                o.LearningRate = 1e6;
                o.GradientClippingNorm = 0;
                o.Epochs = 3;
            });
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(_ml, options, PeriodicText(20)));
            AssertMentions(exception, "diverged", "NaN", "Lower LearningRate (now 1E+06)", "GradientClippingNorm (now 0");
        }

        [TestMethod]
        public void DivergenceInTheLastStepIsCaughtByValidation()
        {
            // One epoch of one batch: its loss is computed before the step that breaks the weights, so only the
            // validation after the epoch can see the damage.
            var options = Tiny(o =>
            {
                o.Cell = RecurrentCell.RnnRelu;
                o.Optimizer = Optimizer.Sgd;
                o.LearningRate = 1e6;
                o.GradientClippingNorm = 0;
                o.Epochs = 1;
                o.BatchSize = 2;
                o.SequenceLength = 10;
                o.ValidationFraction = 0.5; // 41 characters and the end-of-text token: 21 tokens to train on (one batch), 21 to validate
            });
            var exception = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(_ml, options, PeriodicText(6)[..41]));
            AssertMentions(exception, "diverged in epoch 1", "validation loss", "NaN", "Lower LearningRate (now 1E+06)", "GradientClippingNorm (now 0");
        }
    }
}
