using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>Saving models into ML.NET zips and loading them back, in this process and in a fresh one.</summary>
    [TestClass]
    public sealed class PersistenceTests
    {
        private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(60);

        private static readonly string[] Training = { "hello world", "héllo wörld 😀", "the quick brown fox", "𠀀 rare", "" };

        // Unseen characters (✓, z, Ω), astral characters seen (😀, 𠀀) and unseen (🎉), case, the empty string, and spaces only.
        private static readonly string[] Inputs = { "hello world", "✓ unseen Ωz", "😀𠀀🎉", "", "HELLO", "   ", "wörld 😀 the end" };

        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        private static IEstimator<ITransformer> Pipeline(MLContext ml, string kind) => kind switch
        {
            "tokens" => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text"),
            "onehot" => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens")),
            "words" => ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text", caseFolding: true)
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens", maximumLength: 8)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        private static string OutputKind(string pipeline) => pipeline == "tokens" ? "tokens" : "onehot";

        private (MLContext Ml, ITransformer Model, string Zip) FitAndSave(string pipeline)
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, Training);
            var model = Pipeline(ml, pipeline).Fit(data);
            var zip = Path.Combine(_directory, $"{pipeline}.zip");
            ml.Model.Save(model, data.Schema, zip);
            return (ml, model, zip);
        }

        [TestMethod]
        [DataRow("tokens")]
        [DataRow("onehot")]
        [DataRow("words")]
        public void LoadedInAFreshProcessGivesExactlyTheSameOutputs(string pipeline)
        {
            var (ml, model, zip) = FitAndSave(pipeline);
            string kind = OutputKind(pipeline);
            var expected = Runner.Predict(ml, model, kind, Inputs).ToList();
            Assert.HasCount(Inputs.Length, expected);
            // Only "" and "   " may give the same output (in word mode): the inputs must exercise the model.
            Assert.IsGreaterThanOrEqualTo(Inputs.Length - 1, expected.Distinct().Count());

            var inputs = Path.Combine(_directory, "inputs.txt");
            File.WriteAllLines(inputs, Inputs);
            Assert.AreSequenceEqual(Inputs, File.ReadAllLines(inputs), "The inputs file must hold the inputs exactly.");
            var actual = ChildProcess.RunLines(ChildTimeout, ChildProcess.ModelRunnerDll, zip, kind, inputs);
            Assert.AreSequenceEqual(expected, actual);
        }

        [TestMethod]
        [DataRow(TokenizerLevel.Character)]
        [DataRow(TokenizerLevel.Word)]
        public void ModelTrainedOnTextWithLoneSurrogatesLoadsBack(TokenizerLevel level)
        {
            // Lone surrogates cannot go through the child's UTF-8 input file, so this round trip stays in this process.
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "a\uD800b c", "c\uDC00 d", "\uDBFF");
            var model = ml.Transforms.Text.TokenizeWithVocabulary(new VocabularyTokenizingEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text", Level = level })
                .Fit(data);
            var zip = Path.Combine(_directory, "surrogates.zip");
            ml.Model.Save(model, data.Schema, zip);
            var loaded = (VocabularyTokenizingTransformer)new MLContext(seed: 1).Model.Load(zip, out _);
            Assert.AreSequenceEqual(model.Vocabulary.Tokens.ToArray(), loaded.Vocabulary.Tokens.ToArray());
            string[] inputs = { "a\uD800b c", "\uDC00", "c\uDBFF d\uD800" };
            Assert.AreSequenceEqual(Runner.Predict(ml, model, "tokens", inputs).ToArray(), Runner.Predict(ml, loaded, "tokens", inputs).ToArray());
        }

        [TestMethod]
        public void LoadedInThisProcessKeepsVocabularyAndOptions()
        {
            var (_, model, zip) = FitAndSave("words");
            var loaded = new MLContext(seed: 7).Model.Load(zip, out var schema);
            Assert.IsNotNull(schema.GetColumnOrNull("Text"));
            var original = ((IEnumerable<ITransformer>)model).ToArray();
            var restored = ((IEnumerable<ITransformer>)loaded).ToArray();
            Assert.HasCount(2, restored);
            var tokenizer = (VocabularyTokenizingTransformer)original[0];
            var loadedTokenizer = (VocabularyTokenizingTransformer)restored[0];
            Assert.AreSequenceEqual(tokenizer.Vocabulary.Tokens.ToArray(), loadedTokenizer.Vocabulary.Tokens.ToArray());
            Assert.AreEqual(TokenizerLevel.Word, loadedTokenizer.Vocabulary.Level);
            Assert.IsTrue(loadedTokenizer.Vocabulary.CaseFolding);
            Assert.AreEqual(0, loadedTokenizer.Vocabulary.UnknownId);
            Assert.AreEqual("Tokens", loadedTokenizer.OutputColumnName);
            Assert.AreEqual("Text", loadedTokenizer.InputColumnName);
            var oneHot = (OneHotSequenceTransformer)restored[1];
            Assert.AreEqual(8, oneHot.MaximumLength);
            Assert.AreEqual("OneHot", oneHot.OutputColumnName);
            Assert.AreEqual("Tokens", oneHot.InputColumnName);
        }

        [TestMethod]
        [DataRow("tokens")]
        [DataRow("onehot")]
        public void ResavingALoadedModelGivesIdenticalEntries(string pipeline)
        {
            var (_, _, zip) = FitAndSave(pipeline);
            var ml = new MLContext(seed: 1);
            var loaded = ml.Model.Load(zip, out var schema);
            var resaved = Path.Combine(_directory, "resaved.zip");
            ml.Model.Save(loaded, schema, resaved);

            var first = ModelZip.ReadEntries(zip);
            var second = ModelZip.ReadEntries(resaved);
            Assert.AreSequenceEqual(first.Select(e => e.Name).ToArray(), second.Select(e => e.Name).ToArray());
            foreach (var ((name, a), (_, b)) in first.Zip(second))
                Assert.IsTrue(a.AsSpan().SequenceEqual(b), $"Entry {name} differs after a load and a save ({a.Length} and {b.Length} bytes).");
            // Our transformers' entries are among those compared.
            ModelZip.FindEntry(first, "VOCBTOKN");
            if (pipeline == "onehot")
                ModelZip.FindEntry(first, "ONEHOTSQ");
        }

        [TestMethod]
        public void SavingTheSameModelTwiceGivesIdenticalEntries()
        {
            var (ml, model, zip) = FitAndSave("onehot");
            var again = Path.Combine(_directory, "again.zip");
            ml.Model.Save(model, TestData.Texts(ml, "x").Schema, again);
            var first = ModelZip.ReadEntries(zip);
            var second = ModelZip.ReadEntries(again);
            Assert.AreSequenceEqual(first.Select(e => e.Name).ToArray(), second.Select(e => e.Name).ToArray());
            foreach (var ((name, a), (_, b)) in first.Zip(second))
                Assert.IsTrue(a.AsSpan().SequenceEqual(b), $"Entry {name} differs between two saves.");
        }
    }
}
