using System;
using System.Collections.Generic;
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

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Bad data, options and model files of the sequence regressor and classifier: each fails with an exception of a
    /// known type whose message names the column or option and the fix.
    /// </summary>
    [TestClass]
    public sealed class SequenceModelBadInputTests
    {
        private static string _directory = "";

        [ClassInitialize]
        public static void CreateDirectory(TestContext context) => _directory = TestData.TempDirectory();

        [ClassCleanup]
        public static void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        // *** Data ***

        private sealed class WindowRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();

            public float Label { get; set; }
        }

        private sealed class TextFeaturesRow
        {
            public string Features { get; set; } = "";

            public float Label { get; set; }
        }

        private sealed class ClassRow
        {
            public string Label { get; set; } = "";
        }

        /// <summary>Windows of <paramref name="size"/> values in a Features column, each with the label i.</summary>
        private static IDataView Windows(MLContext ml, int size, IEnumerable<float[]> windows)
        {
            var definition = SchemaDefinition.Create(typeof(WindowRow));
            definition[nameof(WindowRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
            return ml.Data.LoadFromEnumerable(windows.Select((w, i) => new WindowRow { Features = w, Label = i }).ToList(), definition);
        }

        private static float[] Window(int size, int row) => Enumerable.Range(0, size).Select(i => (float)Math.Sin(row + i * 0.5)).ToArray();

        private static IEnumerable<float[]> Windows(int size, int rows) => Enumerable.Range(0, rows).Select(r => Window(size, r));

        private static RecurrentRegressionTrainer.Options Small(int featuresPerStep = 1) => new() { FeaturesPerStep = featuresPerStep, HiddenSize = 4, Epochs = 1, Seed = 1 };

        private static readonly Lazy<(MLContext Ml, RecurrentRegressionTransformer Model)> Regressor = new(() =>
        {
            var ml = new MLContext(seed: 1);
            return (ml, ml.Regression.Trainers.Recurrent(Small()).Fit(Windows(ml, 10, Windows(10, 20))));
        });

        private static IDataView Texts(MLContext ml, params string[] classes)
            => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 24).Select(i => new TextWithLabel { Text = new string("abcde"[i % 5], 1 + i % 4), Label = classes[i % classes.Length] }).ToList());

        private static RecurrentClassificationTrainer.Options SmallClassifier() => new() { HiddenSize = 4, EmbeddingSize = 2, Epochs = 1, Seed = 1, Bidirectional = true };

        /// <summary>A tokenizer → classifier chain fitted on a keyed label, and its saved zip (the label mapped outside the chain).</summary>
        private static readonly Lazy<(MLContext Ml, ITransformer Model, string Zip)> Classifier = new(() =>
        {
            var ml = new MLContext(seed: 1);
            var data = Texts(ml, "x", "y", "z");
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier())).Fit(keyed);
            var zip = Path.Combine(_directory, "classifier.zip");
            ml.Model.Save(model, keyed.Schema, zip);
            return (ml, model, zip);
        });

        private static IDataView Tokenized(MLContext ml, IDataView data) => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(data).Transform(data);

        // *** Regression: columns ***

        [TestMethod]
        public void RegressionFeatureColumnMissing()
        {
            var ml = new MLContext(seed: 1);
            var options = Small();
            options.FeatureColumnName = "Window";
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.Recurrent(options).Fit(Windows(ml, 10, Windows(10, 5))));
            Assert.Contains("Feature column 'Window' is not in the data", e.Message);
            Assert.Contains("FeatureColumnName option", e.Message);

            var atSchema = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
                ml.Regression.Trainers.Recurrent(options).GetOutputSchema(TestData.Shape(Windows(ml, 10, Windows(10, 5)).Schema)));
            Assert.Contains("Feature column 'Window'", atSchema.Message);
        }

        [TestMethod]
        public void RegressionFeatureColumnOfText()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new TextFeaturesRow { Features = "1,2,3", Label = 4 } });
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.Recurrent(Small()).Fit(data));
            Assert.Contains("Feature column 'Features' is String", e.Message);
            Assert.Contains("must be a known-size vector of Single", e.Message);
            Assert.Contains("SequenceWindows.FromSeries", e.Message);
            Assert.Contains("ConvertType", e.Message);
        }

        [TestMethod]
        public void RegressionFeatureSizeNotAWholeNumberOfSteps()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.Recurrent(Small(featuresPerStep: 2)).Fit(Windows(ml, 9, Windows(9, 5))));
            Assert.Contains("Feature column 'Features' has 9 values", e.Message);
            Assert.Contains("FeaturesPerStep = 2", e.Message);
            Assert.Contains("set FeaturesPerStep to the number of features per step", e.Message);
            Assert.Contains("step-major", e.Message);
        }

        [TestMethod]
        public void RegressionWindowsOfAnotherLengthAtScoring()
        {
            var (ml, model) = Regressor.Value;
            var shorter = Windows(ml, 8, Windows(8, 3));
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(shorter));
            Assert.Contains("Feature column 'Features' has 8 values", e.Message);
            Assert.Contains("trained on windows of 10 steps × 1 features = 10", e.Message);
            Assert.Contains("Make windows of that length", e.Message);
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.GetOutputSchema(shorter.Schema));
        }

        /// <summary>
        /// ML.NET passes a row's array through whatever size the column declares: a shorter or longer window is refused,
        /// naming the column and both sizes, never scored partly or truncated.
        /// </summary>
        [TestMethod]
        [DataRow(3)]
        [DataRow(12)]
        public void RegressionRowOfAnotherLengthThanItsDeclaredWindowAtScoring(int length)
        {
            var (ml, model) = Regressor.Value;
            using var engine = ml.Model.CreatePredictionEngine<WindowRow, RegressionOutput>(model, inputSchemaDefinition: WindowDefinition(10));
            Assert.IsTrue(float.IsFinite(engine.Predict(new WindowRow { Features = Window(10, 0) }).Score));
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => engine.Predict(new WindowRow { Features = Window(length, 0) }));
            Assert.Contains($"Feature column 'Features' holds {length} values in this row, but the model reads windows of exactly 10", e.Message);
            Assert.Contains("Give every row a window of that length", e.Message);
        }

        /// <summary>
        /// A NaN window given to PredictionEngine.Predict after three good ones: the message names the row being
        /// scored, not "Row 3" (the engine's row position counts its calls, which no data of the user's has).
        /// </summary>
        [TestMethod]
        public void RegressionNaNFeatureThroughAPredictionEngineNamesTheRowOfThatCall()
        {
            var (ml, model) = Regressor.Value;
            using var engine = ml.Model.CreatePredictionEngine<WindowRow, RegressionOutput>(model, inputSchemaDefinition: WindowDefinition(10));
            for (int call = 0; call < 3; call++)
                Assert.IsTrue(float.IsFinite(engine.Predict(new WindowRow { Features = Window(10, call) }).Score));
            var bad = Window(10, 0);
            bad[4] = float.NaN;
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => engine.Predict(new WindowRow { Features = bad }));
            Assert.StartsWith("Column 'Features' of the row being scored holds NaN. Recurrent models need finite numbers", e.Message);
        }

        private static SchemaDefinition WindowDefinition(int size)
        {
            var definition = SchemaDefinition.Create(typeof(WindowRow));
            definition[nameof(WindowRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
            return definition;
        }

        // *** Regression: values ***

        [TestMethod]
        [DataRow(float.NaN)]
        [DataRow(float.PositiveInfinity)]
        [DataRow(float.NegativeInfinity)]
        public void RegressionNonFiniteFeatureAtFit(float value)
        {
            string shown = value.ToString(); // As the current culture writes it.
            var ml = new MLContext(seed: 1);
            var windows = Windows(10, 6).ToArray();
            windows[3][7] = value;
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.Recurrent(Small()).Fit(Windows(ml, 10, windows)));
            Assert.Contains($"Row 3 of column 'Features' holds {shown}", e.Message);
            Assert.Contains("ReplaceMissingValues", e.Message);

            if (float.IsNaN(value))
            {
                // The fix the message gives works.
                var filled = ml.Transforms.ReplaceMissingValues("Features").Fit(Windows(ml, 10, windows)).Transform(Windows(ml, 10, windows));
                Assert.IsNotNull(ml.Regression.Trainers.Recurrent(Small()).Fit(filled));
            }
        }

        [TestMethod]
        public void RegressionNaNLabelAtFit()
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 30).Select(t => (float)Math.Sin(t)).ToArray();
            series[15] = float.NaN;
            // Window start 5 (values 5 to 14) is the first whose label is series[15]; window 6 is the first whose features hold it.
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.Recurrent(Small()).Fit(ml.Data.FromSeries(series, windowSize: 10)));
            Assert.Contains("Row 5 of column 'Label' holds NaN", e.Message);
        }

        [TestMethod]
        public void RegressionNaNFeatureAtScoring()
        {
            var (ml, model) = Regressor.Value;
            var windows = Windows(10, 4).ToArray();
            windows[2][0] = float.NaN;
            var scored = model.Transform(Windows(ml, 10, windows));

            // ML.NET reads transformed rows through parallel worker cursors, which wrap what a getter throws: the innermost
            // exception is ours, with the row of the input data, whether the rows are read or evaluated.
            foreach (Action read in new Action[] { () => scored.GetColumn<float>("Score").ToList(), () => ml.Regression.Evaluate(scored) })
            {
                var e = Assert.Throws<Exception>(read);
                var inner = Innermost(e);
                Assert.AreEqual(typeof(InvalidOperationException), inner.GetType(), e.ToString());
                Assert.Contains("Row 2 of column 'Features' holds NaN", inner.Message);
                Assert.Contains("ReplaceMissingValues", inner.Message);
            }
            // Without the NaN the same rows score.
            windows[2][0] = 0;
            Assert.IsTrue(model.Transform(Windows(ml, 10, windows)).GetColumn<float>("Score").All(float.IsFinite));
        }

        private static Exception Innermost(Exception e)
        {
            while (e.InnerException is { } inner)
                e = inner;
            return e;
        }

        [TestMethod]
        public void RegressionEmptyTrainingData()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.Recurrent(Small()).Fit(Windows(ml, 10, Array.Empty<float[]>())));
            Assert.Contains("The training data has no rows", e.Message);
            Assert.Contains("'Features' and 'Label'", e.Message);
        }

        // *** Regression: options ***

        [TestMethod]
        [DataRow(0.0)]
        [DataRow(-1.0)]
        [DataRow(double.NaN)]
        public void RegressionHuberDeltaNotPositive(double delta)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options { Loss = RegressionLoss.Huber, HuberDelta = delta }));
            Assert.AreEqual("HuberDelta", e.ParamName);
            Assert.Contains($"Option HuberDelta is {delta}", e.Message);
            Assert.Contains("it must be positive", e.Message);
        }

        [TestMethod]
        [DataRow(0)]
        [DataRow(-2)]
        public void RegressionFeaturesPerStepBelowOne(int features)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options { FeaturesPerStep = features }));
            Assert.AreEqual("FeaturesPerStep", e.ParamName);
            Assert.Contains($"Option FeaturesPerStep is {features}", e.Message);
            Assert.Contains("it must be 1 to 65536", e.Message);
        }

        // *** SequenceWindows.FromSeries ***

        [TestMethod]
        public void FromSeriesWindowLongerThanTheSeries()
        {
            var ml = new MLContext(seed: 1);
            var series = new float[12];
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Data.FromSeries(series, windowSize: 12));
            Assert.AreEqual("series", e.ParamName);
            Assert.Contains("The series has 12 steps", e.Message);
            Assert.Contains("windowSize + horizon = 13", e.Message);
            // One step less makes exactly one window.
            Assert.AreEqual(1, ml.Data.FromSeries(series, windowSize: 11).GetColumn<float>("Label").Count());
        }

        [TestMethod]
        [DataRow(0)]
        [DataRow(-1)]
        public void FromSeriesHorizonBelowOne(int horizon)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.FromSeries(new float[20], windowSize: 5, horizon: horizon));
            Assert.AreEqual("horizon", e.ParamName);
            Assert.AreEqual(horizon, e.ActualValue);
            Assert.Contains("horizon must be at least 1", e.Message);
        }

        [TestMethod]
        public void FromSeriesRaggedSteps()
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 20).Select(t => new[] { t, 2f * t }).ToArray();
            series[7] = new[] { 1f, 2f, 3f };
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Data.FromSeries(series, windowSize: 5, horizon: 1, targetFeature: 0));
            Assert.AreEqual("series", e.ParamName);
            Assert.Contains("Every step of the series must have the same, non-zero number of features", e.Message);
            Assert.Contains("step 7 has 3", e.Message);
            Assert.Contains("2 at step 0", e.Message);
        }

        [TestMethod]
        [DataRow(0)]
        [DataRow(4)]
        public void FromSeriesNullStep(int step)
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 20).Select(t => new[] { t, 2f * t }).ToArray();
            series[step] = null!;
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Data.FromSeries(series, windowSize: 5, horizon: 1, targetFeature: 0));
            Assert.AreEqual("series", e.ParamName);
            Assert.Contains($"step {step} is null", e.Message);
        }

        // *** Classification: columns and labels ***

        [TestMethod]
        public void ClassificationLabelNotAKey()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).Fit(Tokenized(ml, Texts(ml, "x", "y"))));
            Assert.Contains("Label column 'Label' is String", e.Message);
            Assert.Contains("must be a UInt32 key", e.Message);
            Assert.Contains("MapValueToKey(\"Label\")", e.Message);
            var atSchema = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
                ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).GetOutputSchema(TestData.Shape(Tokenized(ml, Texts(ml, "x", "y")).Schema)));
            Assert.Contains("Label column 'Label' must be in the data as a key", atSchema.Message);
        }

        [TestMethod]
        public void ClassificationMissingLabelInATrainingRow()
        {
            var ml = new MLContext(seed: 1);
            // Labels mapped to the keys of a fixed class list: a label outside it becomes key 0, the missing key.
            var rows = Enumerable.Range(0, 9).Select(i => new TextWithLabel { Text = new string("abc"[i % 3], 2), Label = "xyz"[i % 3].ToString() }).ToArray();
            rows[4].Label = "w";
            var raw = ml.Data.LoadFromEnumerable(rows);
            var classes = ml.Data.LoadFromEnumerable(new[] { "x", "y", "z" }.Select(c => new ClassRow { Label = c }).ToList());
            var data = Tokenized(ml, ml.Transforms.Conversion.MapValueToKey("Label", keyData: classes).Fit(raw).Transform(raw));
            Assert.AreSequenceEqual(new uint[] { 1, 2, 3, 1, 0, 3, 1, 2, 3 }, data.GetColumn<uint>("Label").ToArray());
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).Fit(data));
            Assert.Contains("Row 4 of label column 'Label' is missing (key 0)", e.Message);
            Assert.Contains("a label from 1 to 3", e.Message);
            Assert.Contains("FilterRowsByMissingValues", e.Message);

            // The fix the message gives works.
            var filtered = ml.Data.FilterRowsByMissingValues(data, "Label");
            Assert.AreEqual(8, filtered.GetColumn<uint>("Label").Count());
            Assert.IsNotNull(ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).Fit(filtered));
        }

        [TestMethod]
        public void ClassificationWithOneClassOnly()
        {
            var ml = new MLContext(seed: 1);
            var data = Texts(ml, "only");
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            Assert.AreEqual(1UL, ((KeyDataViewType)keyed.Schema["Label"].Type).Count, "Every row has the same label: one class.");
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).Fit(Tokenized(ml, keyed)));
            Assert.Contains("Label column 'Label' has 1 class", e.Message);
            Assert.Contains("at least 2", e.Message);
            Assert.Contains("keyData", e.Message);
        }

        [TestMethod]
        public void ClassificationTokenColumnMissing()
        {
            var ml = new MLContext(seed: 1);
            var data = Texts(ml, "x", "y");
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Recurrent(SmallClassifier()).Fit(keyed));
            Assert.Contains("Token column 'Tokens' is not in the data", e.Message);
            Assert.Contains("TokenizeWithCharacterVocabulary(\"Tokens\", \"Text\")", e.Message);
            Assert.Contains("TokenColumnName", e.Message);
        }

        [TestMethod]
        public void ClassificationTokensFromAnotherVocabularyAtScoring()
        {
            var (ml, model, _) = Classifier.Value;
            var classifier = ((IEnumerable<ITransformer>)model).Last();
            // A tokenizer fitted on other text: its vocabulary differs from the one the classifier learned.
            var other = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "zyx", "wvu")).Transform(TestData.Texts(ml, "zyx"));
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => classifier.Transform(other));
            Assert.Contains("Token column 'Tokens' has a vocabulary of", e.Message);
            Assert.Contains("differs from the", e.Message);
            Assert.Contains("tokenizer fitted together with the classifier", e.Message);
        }

        // *** Classification: model files ***

        /// <summary>ML.NET creates components through reflection and does not unwrap: the innermost exception is ours.</summary>
        private static FormatException LoadFails(string zip)
        {
            var e = Assert.ThrowsExactly<TargetInvocationException>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            Exception inner = e;
            while (inner is TargetInvocationException { InnerException: { } next })
                inner = next;
            Assert.AreEqual(typeof(FormatException), inner.GetType(), inner.ToString());
            return (FormatException)inner;
        }

        private static string WeightsEntry(IEnumerable<(string Name, byte[] Bytes)> entries)
        {
            var folder = Path.GetDirectoryName(ModelZip.FindEntry(entries, "RNNCLASS"))!.Replace('\\', '/');
            return entries.Single(e => e.Name.Replace('\\', '/') == folder + "/Weights").Name;
        }

        [TestMethod]
        [DataRow(1, "the weights entry is truncated inside parameter 'head.bias'")]
        [DataRow(37, "the weights entry is truncated inside parameter 'head.")]
        [DataRow(-6, "'Weights' entry holds 6 bytes, too few for the")]
        public void TruncatedWeightsEntry(int cut, string problem)
        {
            // Positive: bytes cut off the end of the weights (inside the last parameters' values); negative: bytes kept
            // (inside the header). As damage, the checksum catches it; with a checksum that matches (a crafted file), the
            // weights reader must.
            var zip = Classifier.Value.Zip;
            var entries = ModelZip.ReadEntries(zip);
            var weights = WeightsEntry(entries);
            var data = entries.Single(e => e.Name == weights).Bytes[..^ModelZip.ChecksumSize];
            var cutData = cut > 0 ? data[..^cut] : data[..-cut];
            var truncated = Path.Combine(_directory, $"truncated{cut}.zip");
            ModelZip.WriteEntries(truncated, entries.Select(e => e.Name == weights ? (e.Name, cutData) : e));
            var error = LoadFails(truncated);
            Assert.Contains("(MlnetLstm Recurrent Classifier)", error.Message);
            Assert.IsTrue(error.Message.Contains("'Weights' entry does not match its SHA-256 checksum", StringComparison.Ordinal)
                || error.Message.Contains("'Weights' entry is too short to end with its checksum", StringComparison.Ordinal), error.Message);

            var signed = Path.Combine(_directory, $"truncated-signed{cut}.zip");
            ModelZip.WriteEntries(signed, entries.Select(e => e.Name == weights ? (e.Name, ModelZip.Signed(cutData)) : e));
            error = LoadFails(signed);
            Assert.Contains("(MlnetLstm Recurrent Classifier)", error.Message);
            Assert.Contains(problem, error.Message);
        }

        /// <summary>The offsets of the architecture's fields in the classifier's blob, read by its documented format.</summary>
        private static Dictionary<string, (int Offset, object Value)> ArchitectureFields(byte[] blob)
        {
            using var reader = new BinaryReader(new MemoryStream(blob), Encoding.UTF8);
            reader.ReadString(); // token column
            int tokens = reader.ReadInt32();
            for (int i = 0; i < tokens; i++)
                reader.ReadString();
            reader.ReadString(); // separator
            reader.ReadInt32(); // unknown id
            reader.ReadString(); // label column
            int classes = reader.ReadInt32();
            if (reader.ReadByte() == 1)
                for (int i = 0; i < classes; i++)
                    reader.ReadString();
            reader.ReadInt32(); // pooling
            reader.ReadString(); // score column
            reader.ReadString(); // predicted-label column
            var fields = new Dictionary<string, (int, object)>();
            foreach (var name in new[] { "cell", "input", "inputSize", "embeddingSize", "hiddenSize", "layers", "dropout", "outputSize", "bidirectional" })
            {
                int offset = (int)reader.BaseStream.Position;
                fields[name] = (offset, name switch { "dropout" => reader.ReadSingle(), "bidirectional" => reader.ReadByte(), _ => (object)reader.ReadInt32() });
            }
            fields["tokens"] = (-1, tokens);
            return fields;
        }

        [TestMethod]
        [DataRow("cell", 30, "cell kind 1073741824 is not LSTM, GRU or RNN")]
        [DataRow("input", 1, "network input kind 3 is unknown")]
        [DataRow("inputSize", 0, "tokens and predicts 3 classes, but the model lists")]
        [DataRow("embeddingSize", 0, "has shape [")]
        [DataRow("hiddenSize", 20, "hidden size 1048580 is outside 1 to 65536")]
        [DataRow("layers", 1, "too few for the")] // 3 layers: caught by the weights entry's size, before the network is built.
        [DataRow("dropout", 30, "dropout 2 is outside [0, 1)")]
        [DataRow("outputSize", 0, "predicts 2 classes, but the model lists")]
        [DataRow("bidirectional", 1, "bidirectional flag 3 is neither 0 nor 1")]
        public void BitFlippedArchitectureField(string field, int bit, string problem)
        {
            var zip = Classifier.Value.Zip;
            var entries = ModelZip.ReadEntries(zip);
            // The classifier's fields, without the checksum that ends its data: the change below comes with a checksum
            // that matches (a crafted file), so the reader itself must catch it.
            var blob = ModelZip.Fields(entries.Single(e => e.Name == ModelZip.FindEntry(entries, "RNNCLASS")).Bytes);
            var fields = ArchitectureFields(blob);
            // The parse agrees with the options the classifier was trained with: LSTM on embedded tokens, 2 wide, 4 hidden, 1 layer, 3 classes, bidirectional.
            Assert.AreEqual(0, fields["cell"].Value);
            Assert.AreEqual(1, fields["input"].Value);
            Assert.AreEqual(fields["tokens"].Value, fields["inputSize"].Value);
            Assert.AreEqual(2, fields["embeddingSize"].Value);
            Assert.AreEqual(4, fields["hiddenSize"].Value);
            Assert.AreEqual(1, fields["layers"].Value);
            Assert.AreEqual(0f, fields["dropout"].Value);
            Assert.AreEqual(3, fields["outputSize"].Value);
            Assert.AreEqual((byte)1, fields["bidirectional"].Value);

            var changed = (byte[])blob.Clone();
            changed[fields[field].Offset + bit / 8] ^= (byte)(1 << (bit % 8));
            var corrupt = Path.Combine(_directory, $"flipped-{field}.zip");
            ModelZip.Rewrite(zip, corrupt, "RNNCLASS", entry => ModelZip.WithSignedFields(entry, changed));
            var e = LoadFails(corrupt);
            Assert.Contains("(MlnetLstm Recurrent Classifier)", e.Message);
            Assert.Contains(problem, e.Message);
        }

        [TestMethod]
        public void UnchangedClassifierZipLoads()
        {
            // The corruption tests start from a zip that loads and scores.
            var (ml, model, zip) = Classifier.Value;
            var entries = ModelZip.ReadEntries(zip);
            var copy = Path.Combine(_directory, "copy.zip");
            ModelZip.WriteEntries(copy, entries);
            var loaded = new MLContext(seed: 1).Model.Load(copy, out _);
            var texts = TestData.Texts(ml, "abc", "ddd", "e");
            Assert.AreSequenceEqual(
                TestData.Vectors<float>(model.Transform(texts), "Score").SelectMany(v => v.DenseValues()).ToArray(),
                TestData.Vectors<float>(loaded.Transform(texts), "Score").SelectMany(v => v.DenseValues()).ToArray());
        }
    }
}
