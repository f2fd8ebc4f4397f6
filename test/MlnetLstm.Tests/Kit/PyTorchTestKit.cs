using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The PyTorch fixture (test/Fixtures/PyTorch, made by build/make-pytorch-fixture.sh with PyTorch itself) and what
    /// the PyTorch tests share: its manifests and expected numbers, import options for it, scoring helpers, and
    /// hand-written pickles and archives.
    /// </summary>
    internal static class PyTorchTestKit
    {
        public const string Lstm = "moby-lstm-1x64";
        public const string Gru = "moby-gru-2x16";

        public static string File(string name) => TestData.Fixture(Path.Combine("PyTorch", name));

        /// <summary>The fixture's manifest (written by the fixture script in the format of ml.Model.ExportToPyTorch).</summary>
        public static JsonElement Manifest(string model) => JsonDocument.Parse(System.IO.File.ReadAllText(File(model + ".json"))).RootElement;

        public static string[] Tokens(string model) => Manifest(model).GetProperty("vocabulary").GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();

        /// <summary>PyTorch's own numbers: per text, its token ids, per-token log-probabilities (float32) and their sum.</summary>
        public static IReadOnlyList<(string Text, int[] Ids, double[] LogProbabilities, double LogLikelihood)> Expected(string model)
            => JsonDocument.Parse(System.IO.File.ReadAllText(File(model + ".expected.json"))).RootElement.GetProperty("texts").EnumerateArray()
                .Select(t => (t.GetProperty("text").GetString()!, t.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray(),
                    t.GetProperty("log_probabilities").EnumerateArray().Select(p => p.GetDouble()).ToArray(), t.GetProperty("log_likelihood").GetDouble()))
                .ToList();

        /// <summary>Import options for a fixture model, from its manifest.</summary>
        public static PyTorchLanguageModelImportOptions Options(string model, string? weights = null)
        {
            var manifest = Manifest(model);
            return new PyTorchLanguageModelImportOptions
            {
                WeightsPath = weights ?? File(model + ".pth"),
                Vocabulary = Tokens(model),
                Cell = manifest.GetProperty("cell").GetString() == "GRU" ? RecurrentCell.Gru : RecurrentCell.Lstm,
                HiddenSize = manifest.GetProperty("hidden_size").GetInt32(),
                Layers = manifest.GetProperty("num_layers").GetInt32(),
                Generation = new GenerationOptions { MaximumNewTokens = 20 },
            };
        }

        /// <summary>The fixture's training text's paragraphs.</summary>
        public static string[] TrainingParagraphs()
            => System.IO.File.ReadAllText(File("train.txt")).Split("\n\n").Select(p => p.TrimEnd('\n')).Where(p => p.Length > 0).ToArray();

        /// <summary>
        /// Per token of <paramref name="text"/>, log p(token | the text before it) as the pipeline gives it: the log of
        /// the NextTokenProbabilities column after each prefix, read through a PredictionEngine; and the LogLikelihood column.
        /// </summary>
        public static (double[] PerToken, double LogLikelihood) Score(MLContext ml, ITransformer pipeline, string text, int[] ids)
        {
            var engine = ml.Model.CreatePredictionEngine<TextRow, NextTokenScores>(pipeline);
            var runes = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
            var perToken = new double[runes.Length];
            for (int i = 0; i < runes.Length; i++)
                perToken[i] = Math.Log(engine.Predict(new TextRow { Text = string.Concat(runes.Take(i)) }).NextTokenProbabilities![ids[i]]);
            return (perToken, engine.Predict(new TextRow { Text = text }).LogLikelihood);
        }

        /// <summary>An ML.NET schema with the Text column the imported pipelines read, for saving them.</summary>
        public static DataViewSchema TextSchema(MLContext ml) => TestData.Texts(ml, "x").Schema;

        /// <summary>The weights of the recurrent model inside a pipeline.</summary>
        public static IReadOnlyList<WeightTensor> Weights(ITransformer pipeline)
            => TransformerChains.Flatten(pipeline).OfType<RecurrentTransformerBase>().Single().Trained.Weights.Tensors;

        /// <summary>Asserts that two networks' weights are the same names, shapes and bits.</summary>
        public static void AssertIdentical(IReadOnlyList<WeightTensor> expected, IReadOnlyList<WeightTensor> actual)
        {
            Microsoft.VisualStudio.TestTools.UnitTesting.Assert.AreEqual(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Microsoft.VisualStudio.TestTools.UnitTesting.Assert.AreEqual(expected[i].Name, actual[i].Name);
                Microsoft.VisualStudio.TestTools.UnitTesting.CollectionAssert.AreEqual(expected[i].Shape, actual[i].Shape, expected[i].Name);
                var a = expected[i].Values.Select(BitConverter.SingleToInt32Bits).ToArray();
                var b = actual[i].Values.Select(BitConverter.SingleToInt32Bits).ToArray();
                Microsoft.VisualStudio.TestTools.UnitTesting.CollectionAssert.AreEqual(a, b, $"{expected[i].Name} differs");
            }
        }

        /// <summary>A torch.save-like archive: &lt;folder&gt;/data.pkl holding <paramref name="pickle"/>, a version record, and the given storages.</summary>
        public static void WriteArchive(string path, byte[] pickle, IReadOnlyDictionary<string, byte[]>? storages = null, string folder = "archive")
        {
            using var file = System.IO.File.Create(path);
            using var zip = new ZipArchive(file, ZipArchiveMode.Create);
            void Add(string name, byte[] bytes)
            {
                using var stream = zip.CreateEntry($"{folder}/{name}", CompressionLevel.NoCompression).Open();
                stream.Write(bytes);
            }
            Add("data.pkl", pickle);
            Add("version", Encoding.ASCII.GetBytes("3\n"));
            foreach (var (key, bytes) in storages ?? new Dictionary<string, byte[]>())
                Add($"data/{key}", bytes);
        }

        // Pickle opcodes, written by hand (protocol 2 unless said otherwise).
        public static readonly byte[] Proto2 = { 0x80, 0x02 };
        public const byte Stop = (byte)'.';
        public const byte Reduce = (byte)'R';
        public const byte Tuple1 = 0x85;
        public const byte EmptyDict = (byte)'}';
        public const byte SetItem = (byte)'s';

        /// <summary>GLOBAL: 'c' module '\n' name '\n'.</summary>
        public static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");

        /// <summary>BINUNICODE: 'X', a 4-byte little-endian length, UTF-8.</summary>
        public static byte[] BinUnicode(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return new[] { (byte)'X' }.Concat(BitConverter.GetBytes(bytes.Length)).Concat(bytes).ToArray();
        }

        /// <summary>SHORT_BINUNICODE (protocol 4): 0x8C, a 1-byte length, UTF-8.</summary>
        public static byte[] ShortBinUnicode(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return new[] { (byte)0x8C, (byte)bytes.Length }.Concat(bytes).ToArray();
        }

        public static byte[] Pickle(params object[] parts)
            => parts.SelectMany(p => p switch { byte b => new[] { b }, byte[] bytes => bytes, _ => throw new ArgumentException(p.GetType().Name) }).ToArray();
    }
}
