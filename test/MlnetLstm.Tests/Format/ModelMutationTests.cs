using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Untrusted model zips: a tiny character language model pipeline (tokenizer → LSTM language model) is saved, then
    /// loaded back after hundreds of seeded random mutations and a list of named ones. Every load (and a
    /// PredictionEngine over it) must give exactly the original outputs, or fail with one of the exceptions the
    /// allowed set below lists, within 10 s. Anything else — NullReferenceException, IndexOutOfRangeException,
    /// OutOfMemoryException, a TorchSharp error, a hang — fails the test.
    /// </summary>
    /// <remarks>
    /// A mutation made inside an entry is written back into a well-formed zip (with the entry's CRC recomputed), so
    /// it models a file that a buggy writer or an attacker produced: such a file can be a different model that is
    /// just as valid (a weight's bits, the number of tokens to generate). Only where the format has such values
    /// (<see cref="ValueBytes"/>, worked out by an independent reader of the documented formats in this file) may a
    /// load succeed with other outputs. A mutation of the zip file's own bytes is damage the zip's CRC-32 reveals, so
    /// there every successful load must give the original outputs.
    /// </remarks>
    [TestClass]
    public sealed class ModelMutationTests
    {
        private const int Seed = 20_240_601;
        private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(10);

        // Known words, a single character, and a prefix with characters the model never saw (upper case, comma).
        private static readonly string[] Prefixes = { "the whale", "s", "Old SALT, q" };

        private static byte[] _zip = Array.Empty<byte>();
        private static IReadOnlyList<(string Name, byte[] Bytes)> _entries = Array.Empty<(string, byte[])>();
        private static string _languageModelEntry = "", _tokenizerEntry = "", _weightsEntry = "";
        private static List<string> _expected = new();

        [ClassInitialize]
        public static void TrainAndSave(TestContext _)
        {
            var ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(ml, TinyLanguageModel.Corpus(400));
            var model = TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Options(epochs: 1)).Fit(data);
            using (var stream = new MemoryStream())
            {
                ml.Model.Save(model, data.Schema, stream);
                _zip = stream.ToArray();
            }
            _entries = ReadEntries(_zip);
            _languageModelEntry = ModelZip.FindEntry(_entries, "RNNLANGM");
            _tokenizerEntry = ModelZip.FindEntry(_entries, "VOCBTOKN");
            _weightsEntry = Path.GetDirectoryName(_languageModelEntry)!.Replace('\\', '/') + "/Weights";
            Assert.IsTrue(_entries.Any(e => e.Name == _weightsEntry), $"No weights entry {_weightsEntry} among {string.Join(", ", _entries.Select(e => e.Name))}.");
            _expected = Predict(ml, model);
            // The prefixes must exercise the model: three different outputs, each with a generated continuation.
            Assert.HasCount(Prefixes.Length, _expected.Distinct().ToList());
            Assert.IsTrue(_expected.All(line => !line.StartsWith("Generated= |", StringComparison.Ordinal)), string.Join("\n", _expected));
        }

        // *** Mutations ***

        /// <summary>A mutated zip; <see cref="MayChangeOutputs"/> when every changed byte is a value of the format and the checksums were made to match.</summary>
        private sealed record Mutation(string Kind, string Description, byte[] Zip, string? Entry, bool MayChangeOutputs);

        /// <summary>
        /// Random damage: inside entries (the weights, the language model's and the tokenizer's model entries), half of
        /// it with the checksums made to match again ("re-signed": a crafted file, which the readers themselves must
        /// survive) and half as it is (which the checksums must catch); truncated entries; the zip file's own bytes
        /// flipped, overwritten and cut; and every entry deleted in turn.
        /// </summary>
        private static IEnumerable<Mutation> RandomMutations()
        {
            var random = new Random(Seed);
            string[] targets = { _weightsEntry, _languageModelEntry, _tokenizerEntry };
            for (int i = 0; i < 80; i++)
            {
                string entry = targets[i % targets.Length];
                bool signed = i % 2 == 0;
                var bytes = Entry(entry);
                int offset = random.Next(bytes.Length);
                int bit = random.Next(8);
                var changed = (byte[])bytes.Clone();
                changed[offset] ^= (byte)(1 << bit);
                yield return new Mutation(signed ? "entry bit flip, re-signed" : "entry bit flip", $"{entry} byte {offset} bit {bit}",
                    Replace(entry, signed ? Resign(entry, changed) : changed), entry, signed && ValueBytes(entry)[offset]);
            }
            for (int i = 0; i < 60; i++)
            {
                string entry = targets[i % targets.Length];
                bool signed = i % 2 == 0;
                var bytes = Entry(entry);
                int length = random.Next(1, 9);
                int offset = random.Next(bytes.Length - length + 1);
                var changed = (byte[])bytes.Clone();
                for (int j = 0; j < length; j++)
                    changed[offset + j] = (byte)random.Next(256);
                var values = ValueBytes(entry);
                bool onlyValues = Enumerable.Range(offset, length).All(j => changed[j] == bytes[j] || values[j]);
                yield return new Mutation(signed ? "entry byte overwrite, re-signed" : "entry byte overwrite", $"{entry} bytes {offset}..{offset + length - 1}",
                    Replace(entry, signed ? Resign(entry, changed) : changed), entry, signed && onlyValues);
            }
            for (int i = 0; i < 24; i++)
            {
                string entry = targets[i % targets.Length];
                var bytes = Entry(entry);
                int length = random.Next(bytes.Length);
                yield return new Mutation("entry truncation", $"{entry} cut to {length} of {bytes.Length} bytes", Replace(entry, bytes[..length]), entry, false);
            }
            // The fields of a model entry cut short and re-signed, with ML.NET's header adjusted to the shorter data, so
            // the header and checksum checks pass and the component's reader meets the end.
            for (int i = 0; i < 20; i++)
            {
                string entry = i % 2 == 0 ? _languageModelEntry : _tokenizerEntry;
                var fields = ModelZip.Fields(Entry(entry));
                int length = random.Next(fields.Length);
                yield return new Mutation("fields truncation, re-signed", $"{entry} fields cut to {length} of {fields.Length} bytes",
                    Replace(entry, ModelZip.WithSignedFields(Entry(entry), fields[..length])), entry, false);
            }
            for (int i = 0; i < 30; i++)
            {
                int offset = random.Next(_zip.Length);
                int bit = random.Next(8);
                var changed = (byte[])_zip.Clone();
                changed[offset] ^= (byte)(1 << bit);
                yield return new Mutation("zip bit flip", $"zip byte {offset} bit {bit}", changed, null, false);
            }
            for (int i = 0; i < 20; i++)
            {
                int length = random.Next(1, 9);
                int offset = random.Next(_zip.Length - length + 1);
                var changed = (byte[])_zip.Clone();
                for (int j = 0; j < length; j++)
                    changed[offset + j] = (byte)random.Next(256);
                yield return new Mutation("zip byte overwrite", $"zip bytes {offset}..{offset + length - 1}", changed, null, false);
            }
            for (int i = 0; i < 20; i++)
            {
                int length = random.Next(_zip.Length);
                yield return new Mutation("zip truncation", $"zip cut to {length} of {_zip.Length} bytes", _zip[..length], null, false);
            }
            foreach (var (name, _) in _entries)
                yield return new Mutation("entry deletion", $"without {name}", WriteEntries(_entries.Where(e => e.Name != name)), name, false);
        }

        /// <summary>
        /// The changed entry with its checksum recomputed over the original entry's data range (a model entry's blob,
        /// or the whole weights entry), as a crafted file would have it.
        /// </summary>
        private static byte[] Resign(string entry, byte[] changed)
        {
            var copy = (byte[])changed.Clone();
            if (entry == _weightsEntry)
            {
                SHA256.HashData(copy.AsSpan(0, copy.Length - ModelZip.ChecksumSize), copy.AsSpan(copy.Length - ModelZip.ChecksumSize));
                return copy;
            }
            int blobEnd = HeaderSize + ModelZip.Blob(Entry(entry)).Length;
            SHA256.HashData(copy.AsSpan(HeaderSize, blobEnd - ModelZip.ChecksumSize - HeaderSize), copy.AsSpan(blobEnd - ModelZip.ChecksumSize, ModelZip.ChecksumSize));
            return copy;
        }

        [TestMethod]
        public void RandomMutationsLoadIdenticallyOrFailWithAnAllowedException()
        {
            var mutations = RandomMutations().ToList();
            Assert.IsGreaterThanOrEqualTo(200, mutations.Count);
            var outcomes = new List<(Mutation Mutation, Outcome Outcome)>();
            var watch = Stopwatch.StartNew();
            foreach (var mutation in mutations)
                outcomes.Add((mutation, Load(mutation)));
            Console.WriteLine($"{mutations.Count} mutated zips (seed {Seed}) loaded in {watch.Elapsed.TotalSeconds:F1} s.");
            PrintTable(outcomes);

            var failures = outcomes.Where(o => o.Outcome.Failure is not null).ToList();
            Assert.IsEmpty(failures, $"{failures.Count} loads broke the contract:\n" +
                string.Join("\n", failures.Take(20).Select(f => $"- {f.Mutation.Kind}: {f.Mutation.Description}: {f.Outcome.Failure}")));
            // The mutations exercise the contract on both sides: some damage changes nothing that matters (an unread zip
            // field), the checksums catch damage, and the readers reject crafted data.
            Assert.IsTrue(outcomes.Any(o => o.Outcome.Class == Identical), "No mutation loaded with identical outputs.");
            Assert.IsTrue(outcomes.Any(o => o.Outcome.Exception?.Message.Contains("does not match its SHA-256 checksum", StringComparison.Ordinal) == true),
                "No damage was caught by a checksum.");
            Assert.IsTrue(outcomes.Any(o => o.Mutation.Kind.EndsWith("re-signed", StringComparison.Ordinal) && o.Outcome.Class.StartsWith("load: FormatException (MlnetLstm", StringComparison.Ordinal)),
                "No crafted (re-signed) entry was rejected by our readers.");
        }

        private static void PrintTable(List<(Mutation Mutation, Outcome Outcome)> outcomes)
        {
            var kinds = outcomes.Select(o => o.Mutation.Kind).Distinct().ToList();
            Console.WriteLine();
            Console.WriteLine($"| outcome | {string.Join(" | ", kinds)} | total |");
            Console.WriteLine($"| --- |{string.Concat(kinds.Select(_ => " ---: |"))} ---: |");
            foreach (var group in outcomes.GroupBy(o => o.Outcome.Class).OrderByDescending(g => g.Count()))
                Console.WriteLine($"| {group.Key} | {string.Join(" | ", kinds.Select(k => group.Count(o => o.Mutation.Kind == k)))} | {group.Count()} |");
            Console.WriteLine($"| total | {string.Join(" | ", kinds.Select(k => outcomes.Count(o => o.Mutation.Kind == k)))} | {outcomes.Count} |");
            Console.WriteLine();
            Console.WriteLine("Examples of each exception:");
            foreach (var group in outcomes.Where(o => o.Outcome.Exception is not null).GroupBy(o => o.Outcome.Class))
                foreach (var example in group.GroupBy(o => Gist(o.Outcome.Exception!)).OrderByDescending(g => g.Count()).Take(5))
                    Console.WriteLine($"- {group.Key}, {example.Count()}×, e.g. {example.First().Mutation.Kind} {example.First().Mutation.Description}: {FirstLine(example.First().Outcome.Exception!)}");
            Console.WriteLine();
        }

        private static string FirstLine(Exception e) => e.Message.Split('\n')[0];

        /// <summary>A message without its numbers and quoted names, to group exceptions by kind.</summary>
        private static string Gist(Exception e) => System.Text.RegularExpressions.Regex.Replace(FirstLine(e), @"'[^']*'|[0-9]+", "_");

        // *** Named cases ***

        [TestMethod]
        public void TruncatedZipFailsInMlNetsZipReader()
        {
            var e = Rejected(_zip[..(_zip.Length / 2)], "load");
            Assert.IsInstanceOfType<FormatException>(e);
            Assert.AreEqual("Failed to open a zip archive", e.Message);
            Assert.IsInstanceOfType<InvalidDataException>(e.InnerException);
        }

        [TestMethod]
        public void BitFlippedWeightsHeader()
        {
            var weights = Entry(_weightsEntry);
            Assert.AreEqual(6, BitConverter.ToInt32(weights, 0), "A one-layer LSTM with a head has 6 parameter tensors.");
            var flipped = (byte[])weights.Clone();
            flipped[0] ^= 1;
            // As damage, the checksum catches it; crafted (re-signed), the reader compares the count with the architecture's.
            OurFormatException(Replace(_weightsEntry, flipped), _weightsEntry, "the 'Weights' entry does not match its SHA-256 checksum");
            OurFormatException(Replace(_weightsEntry, Resign(_weightsEntry, flipped)), _weightsEntry, "the weights hold 7 parameter tensors but the saved architecture has 6");
        }

        [TestMethod]
        public void TruncatedWeightsEntry()
        {
            var weights = Entry(_weightsEntry);
            OurFormatException(Replace(_weightsEntry, weights[..(weights.Length / 2)]), _weightsEntry, "the 'Weights' entry does not match its SHA-256 checksum");
            OurFormatException(Replace(_weightsEntry, weights[..10]), _weightsEntry, "the 'Weights' entry is too short to end with its checksum");
            // Crafted: half the values, re-signed. The size check rejects it before the network is built.
            var half = ModelZip.Signed(weights[..((weights.Length - ModelZip.ChecksumSize) / 2)]);
            OurFormatException(Replace(_weightsEntry, half), _weightsEntry, "too few for the");
        }

        /// <summary>
        /// A crafted hidden size must be rejected before anything the size asks for is allocated: 2^31-1 and 65,536 by
        /// the architecture's own limits (the latter through the parameter count), 16,384 — 1.08 billion parameters,
        /// 4.3 GB, within the limits — by the weights entry being far too small to hold them.
        /// </summary>
        [TestMethod]
        [DataRow(int.MaxValue, "hidden size 2147483647 is outside 1 to 65536")]
        [DataRow(65536, "parameters, more than 2147483648")]
        [DataRow(16384, "too few for the 4,304,339,052 bytes of the 1,076,084,763 parameters")]
        public void CraftedHiddenSizeIsRejectedBeforeAllocation(int hiddenSize, string message)
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            Assert.AreEqual(8, BitConverter.ToInt32(fields, layout.HiddenSize), "The model was trained with hidden size 8.");
            BitConverter.GetBytes(hiddenSize).CopyTo(fields, layout.HiddenSize);
            var zip = Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields));

            var (error, managed, peakGrowth) = MeasureLoad(zip);
            Console.WriteLine($"hidden size {hiddenSize}: {managed / 1024:N0} KiB allocated on the managed heap, peak RSS {peakGrowth:N0} KiB above the RSS before the load: {error?.Message}");
            Assert.IsNotNull(error, "The crafted model loaded.");
            AssertOurs(error, _languageModelEntry, message);
            // A tiny model's load allocates a few MB; the rejected network would take 4.3 GB or more.
            Assert.IsLessThan(64L << 20, managed, "managed bytes allocated by the load");
            Assert.IsLessThan(256L << 10, peakGrowth, "KiB of peak RSS growth during the load");
        }

        [TestMethod]
        [DataRow(1)]
        [DataRow(-1)]
        public void LanguageModelVocabularySizeChanged(int change)
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            int size = BitConverter.ToInt32(fields, layout.VocabularySize);
            Assert.AreEqual(27, size, "The corpus has 24 letters and the space and full stop, plus <unk> and <eos>.");
            BitConverter.GetBytes(size + change).CopyTo(fields, layout.VocabularySize);
            // The tokens now run one string longer or shorter, so the ids that follow them are read from the wrong bytes.
            var e = OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry);
            Assert.Contains($"is outside the vocabulary of {size + change} tokens", e.Message);
        }

        [TestMethod]
        [DataRow(1)]
        [DataRow(-1)]
        public void TokenizerVocabularySizeChanged(int change)
        {
            var layout = TokenizerLayout(Entry(_tokenizerEntry), null);
            var fields = ModelZip.Fields(Entry(_tokenizerEntry));
            int size = BitConverter.ToInt32(fields, layout.VocabularySize);
            Assert.AreEqual(27, size);
            BitConverter.GetBytes(size + change).CopyTo(fields, layout.VocabularySize);
            // One token more reads into the number of reserved tokens; one fewer reads that number from a token's bytes.
            var e = OurFormatException(Replace(_tokenizerEntry, ModelZip.WithSignedFields(Entry(_tokenizerEntry), fields)), _tokenizerEntry);
            Assert.Contains(change > 0 ? "the vocabulary ends before its number of reserved tokens" : $"do not fit in the vocabulary of {size + change} tokens", e.Message);
        }

        [TestMethod]
        public void LanguageModelWrittenByANewerFormatVersion()
        {
            var zip = Replace(_languageModelEntry, ModelZip.WithVersions(Entry(_languageModelEntry), written: 0x00020001, readable: 0x00020001));
            OurFormatException(zip, _languageModelEntry, "MlnetLstm Recurrent Language Model", "which needs a reader of format 0x00020001 or newer",
                "Load the model with the MlnetLstm version that saved it");
        }

        [TestMethod]
        public void CraftedLanguageModelThatReadsFeatures()
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            Assert.AreEqual(0, BitConverter.ToInt32(fields, layout.InputKind), "The model reads one-hot tokens.");
            BitConverter.GetBytes(2).CopyTo(fields, layout.InputKind);
            OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry,
                "the network reads 27 features and predicts 27 tokens");
        }

        [TestMethod]
        public void CraftedGenerationFlagThatIsNeitherZeroNorOne()
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            Assert.AreEqual(1, fields[layout.Greedy], "The model generates greedily.");
            fields[layout.Greedy] = 2;
            OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry,
                "the greedy generation flag is 2, neither 0 nor 1");
        }

        [TestMethod]
        [DataRow(-1)]
        [DataRow(257)]
        [DataRow(int.MaxValue)]
        public void CraftedTrainingSettingsCount(int count)
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            Assert.IsGreaterThan(10, BitConverter.ToInt32(fields, layout.Settings), "The model saved its training settings.");
            BitConverter.GetBytes(count).CopyTo(fields, layout.Settings);
            OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry,
                $"{count} training settings, outside 0 to 256; the model file is corrupt");
        }

        [TestMethod]
        [DataRow(0.0)]
        [DataRow(1.5)]
        [DataRow(double.NaN)]
        public void CraftedValidationFraction(double fraction)
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            // The first epoch: int epoch, double training loss, then its validation flag; its fraction ends the record's 54 bytes.
            Assert.AreEqual(1, fields[layout.History + 4 + 12], "The epoch was validated.");
            Assert.AreEqual(1.0, BitConverter.ToDouble(fields, layout.History + 4 + 54), "on all of the validation data");
            BitConverter.GetBytes(fraction).CopyTo(fields, layout.History + 4 + 54);
            OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry,
                $"epoch 1 has validation fraction {fraction}, outside (0, 1] with a validation loss or not 0 without one; the file is corrupt");
        }

        [TestMethod]
        public void CraftedStopTokenOutsideTheVocabulary()
        {
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            var fields = ModelZip.Fields(Entry(_languageModelEntry));
            Assert.AreEqual("<eos>", System.Text.Encoding.UTF8.GetString(fields, layout.StopToken + 1, 5));
            fields[layout.StopToken + 4] = (byte)'z';
            OurFormatException(Replace(_languageModelEntry, ModelZip.WithSignedFields(Entry(_languageModelEntry), fields)), _languageModelEntry,
                "the generation stop token '<eoz>' is not in the model's vocabulary");
        }

        [TestMethod]
        [DataRow(float.NaN, "NaN")]
        [DataRow(float.PositiveInfinity, "Infinity")]
        [DataRow(1e30f, "1E+30")]
        [DataRow(-2e6f, "-2000000")]
        public void CraftedWeightThatIsNotFiniteOrImplausiblyLarge(float value, string shown)
        {
            var weights = (byte[])Entry(_weightsEntry).Clone();
            int first = WeightsLayout(weights, null);
            BitConverter.GetBytes(value).CopyTo(weights, first + 4 * 3);
            OurFormatException(Replace(_weightsEntry, Resign(_weightsEntry, weights)), _weightsEntry,
                $"parameter 'layer0.fused.weight_ih_l0' holds {shown} at index 3; a trained network's weights are finite and at most 1e6 in magnitude");
        }

        /// <summary>
        /// Damage that leaves a valid value — a bit of a weight, greedy generation turned off, case folding turned
        /// on — is caught by the checksum; the same change re-signed loads, and changes the outputs, which shows that
        /// nothing else would have caught it.
        /// </summary>
        [TestMethod]
        public void ValidLookingDamageIsCaughtByTheChecksums()
        {
            // Bit 16 of the last value, the head's bias of the last token: a change of 1/128 in that token's logit.
            var weights = (byte[])Entry(_weightsEntry).Clone();
            weights[weights.Length - ModelZip.ChecksumSize - 2] ^= 1;
            var languageModel = ModelZip.Fields(Entry(_languageModelEntry));
            languageModel[LanguageModelLayout(Entry(_languageModelEntry), null).Greedy] = 0;
            var tokenizer = ModelZip.Fields(Entry(_tokenizerEntry));
            var folding = TokenizerLayout(Entry(_tokenizerEntry), null).CaseFolding;
            Assert.AreEqual(0, tokenizer[folding], "The tokenizer keeps case.");
            tokenizer[folding] = 1;
            var cases = new[]
            {
                (Entry: _weightsEntry, Damaged: weights, Crafted: Resign(_weightsEntry, weights), What: "the 'Weights' entry"),
                (Entry: _languageModelEntry, Damaged: DamagedBlob(Entry(_languageModelEntry), languageModel), Crafted: ModelZip.WithSignedFields(Entry(_languageModelEntry), languageModel), What: "its data"),
                (Entry: _tokenizerEntry, Damaged: DamagedBlob(Entry(_tokenizerEntry), tokenizer), Crafted: ModelZip.WithSignedFields(Entry(_tokenizerEntry), tokenizer), What: "its data"),
            };
            foreach (var (entry, damaged, crafted, what) in cases)
            {
                OurFormatException(Replace(entry, damaged), entry, $"{what} does not match its SHA-256 checksum");
                var (_, outputs, error) = LoadAndPredictWithTimeout(Replace(entry, crafted));
                Assert.IsNull(error, $"{entry}: {error}");
                Assert.IsFalse(outputs!.SequenceEqual(_expected), $"{entry}: the re-signed change should alter the outputs.");
            }
        }

        /// <summary>The entry with other fields but its old checksum: damage.</summary>
        private static byte[] DamagedBlob(byte[] entry, byte[] fields)
            => ModelZip.WithBlob(entry, fields.Concat(ModelZip.Blob(entry)[^ModelZip.ChecksumSize..]).ToArray());

        /// <summary>Models of format 0x00010001, before checksums, still load: their entries without the checksums, with the old version.</summary>
        [TestMethod]
        public void ModelSavedBeforeChecksumsStillLoads()
        {
            // Format 0x00010001 had neither checksums nor the language model's repetition penalty (4 bytes) and its
            // epochs' stream validation loss and validation fraction (9 and 8 bytes each, after each epoch's 45), nor the vocabulary's number of
            // reserved tokens (4 bytes); and the language model wrote its end-of-text id before its unknown id.
            var layout = LanguageModelLayout(Entry(_languageModelEntry), null);
            int reserved = TokenizerLayout(Entry(_tokenizerEntry), null).ReservedCount;
            byte[] OldFields(string name, byte[] entry)
            {
                var fields = ModelZip.Fields(entry);
                if (name != _languageModelEntry)
                    return fields[..reserved].Concat(fields[(reserved + 4)..]).ToArray();
                fields = fields[..layout.Ids].Concat(fields[(layout.Ids + 4)..(layout.Ids + 8)]).Concat(fields[layout.Ids..(layout.Ids + 4)]).Concat(fields[(layout.Ids + 8)..]).ToArray();
                var old = fields[..layout.RepetitionPenalty].Concat(fields[(layout.RepetitionPenalty + 4)..layout.History]).ToList();
                int epochs = BitConverter.ToInt32(fields, layout.History);
                old.AddRange(fields[layout.History..(layout.History + 4)]);
                for (int e = 0; e < epochs; e++)
                    old.AddRange(fields[(layout.History + 4 + e * 62)..(layout.History + 4 + e * 62 + 45)]);
                return old.ToArray();
            }
            var old = _entries.Select(e =>
                e.Name == _weightsEntry ? (e.Name, e.Bytes[..^ModelZip.ChecksumSize])
                : e.Name == _languageModelEntry || e.Name == _tokenizerEntry ? (e.Name, ModelZip.WithVersions(ModelZip.WithBlob(e.Bytes, OldFields(e.Name, e.Bytes)), written: 0x00010001, readable: 0x00010001))
                : e);
            var (_, outputs, error) = LoadAndPredictWithTimeout(WriteEntries(old));
            Assert.IsNull(error, error?.ToString());
            Assert.AreSequenceEqual(_expected.ToArray(), outputs!.ToArray());
        }

        /// <summary>
        /// ML.NET's base class of one-column transformers reads a column count and allocates an array of that size
        /// before any check: a crafted count of 2^30 must be rejected first, not allocate 16 GB.
        /// </summary>
        [TestMethod]
        public void CraftedTokenizerColumnCountIsRejectedBeforeAllocation()
        {
            var fields = ModelZip.Fields(Entry(_tokenizerEntry));
            Assert.AreEqual(1, BitConverter.ToInt32(fields, 0));
            BitConverter.GetBytes(1 << 30).CopyTo(fields, 0);
            var (error, managed, peakGrowth) = MeasureLoad(Replace(_tokenizerEntry, ModelZip.WithSignedFields(Entry(_tokenizerEntry), fields)));
            Console.WriteLine($"{managed / 1024:N0} KiB allocated on the managed heap, peak RSS {peakGrowth:N0} KiB above the RSS before the load: {error?.Message}");
            Assert.IsNotNull(error);
            AssertOurs(error, _tokenizerEntry, "the data lists 1073741824 columns, but this transform has 1");
            Assert.IsLessThan(64L << 20, managed, "managed bytes allocated by the load");
            Assert.IsLessThan(256L << 10, peakGrowth, "KiB of peak RSS growth during the load");
        }

        // *** Helpers of the named cases ***

        /// <summary>Loads and predicts with the timeout; returns the stage, the outputs or the (unwrapped) exception.</summary>
        private static (string Stage, List<string>? Outputs, Exception? Exception) LoadAndPredictWithTimeout(byte[] zip)
        {
            var task = Task.Run(() => LoadAndPredict(zip));
            Assert.IsTrue(task.Wait(LoadTimeout), $"The load did not finish within {LoadTimeout.TotalSeconds:F0} s.");
            return task.Result;
        }

        /// <summary>Asserts that the load fails at <paramref name="stage"/> and returns the exception.</summary>
        private static Exception Rejected(byte[] zip, string stage)
        {
            var (actualStage, outputs, error) = LoadAndPredictWithTimeout(zip);
            Assert.IsNotNull(error, $"The zip loaded; outputs:\n{string.Join("\n", outputs!)}");
            Assert.AreEqual(stage, actualStage, error.ToString());
            return error;
        }

        /// <summary>Asserts that loading fails with a FormatException of ours naming the entry's folder and containing the fragments.</summary>
        private static FormatException OurFormatException(byte[] zip, string entry, params string[] fragments)
        {
            var e = Rejected(zip, "load");
            AssertOurs(e, entry, fragments);
            return (FormatException)e;
        }

        private static void AssertOurs(Exception e, string entry, params string[] fragments)
        {
            Assert.AreEqual(typeof(FormatException), e.GetType(), e.ToString());
            Assert.StartsWith("MlnetLstm", Origin(e), e.ToString());
            Assert.IsNull(NamesEntry(e, entry), e.Message);
            foreach (var fragment in fragments)
                Assert.Contains(fragment, e.Message);
        }

        /// <summary>
        /// Loads on this thread (within the timeout), measuring the managed bytes allocated and how far the process's peak RSS rose above its
        /// RSS before the load (the peak is reset through /proc/self/clear_refs where the kernel allows it).
        /// </summary>
        private static (Exception? Error, long ManagedBytes, long PeakGrowthKiB) MeasureLoad(byte[] zip)
        {
            LoadAndPredict(_zip); // Warm: the first load in a process pays for JIT and caches.
            Exception? error = null;
            long managed = 0;
            long peakGrowth = ProcessMemory.PeakGrowthKiB(() =>
            {
                long managedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var watch = Stopwatch.StartNew();
                (_, _, error) = LoadAndPredict(zip);
                managed = GC.GetTotalAllocatedBytes(precise: true) - managedBefore;
                Assert.IsLessThan(LoadTimeout, watch.Elapsed, "The load took too long.");
            });
            return (error, managed, peakGrowth);
        }

        // *** Loading and judging ***

        private const string Identical = "loaded: outputs identical";

        /// <summary>How a load ended: a class for the table, and a failure when it broke the contract.</summary>
        private sealed record Outcome(string Class, string? Failure, Exception? Exception = null);

        /// <summary>Loads the zip, and predicts the prefixes, on another thread with a timeout, and judges the result.</summary>
        private static Outcome Load(Mutation mutation)
        {
            var task = Task.Run(() => LoadAndPredict(mutation.Zip));
            if (!task.Wait(LoadTimeout))
                return new Outcome("timeout", $"the load did not finish within {LoadTimeout.TotalSeconds:F0} s");
            var (stage, outputs, exception) = task.Result;
            if (exception is null)
            {
                if (outputs!.SequenceEqual(_expected))
                    return new Outcome(Identical, null);
                return mutation.MayChangeOutputs
                    ? new Outcome("loaded: outputs differ (only values changed)", null)
                    : new Outcome("loaded: outputs differ", "the outputs differ although the mutation changed no value of the format:\n  " +
                        string.Join("\n  ", outputs!) + "\nexpected\n  " + string.Join("\n  ", _expected));
            }
            return Judge(stage, exception, mutation.Entry);
        }

        private static (string Stage, List<string>? Outputs, Exception? Exception) LoadAndPredict(byte[] zip)
        {
            string stage = "load";
            try
            {
                var ml = new MLContext(seed: 1);
                using var stream = new MemoryStream(zip, writable: false);
                var model = ml.Model.Load(stream, out _);
                stage = "predict";
                return (stage, Predict(ml, model), null);
            }
            catch (Exception e)
            {
                return (stage, null, Unwrap(e));
            }
        }

        /// <summary>
        /// The outputs for the prefixes, exactly (floats as bits). Every column of the output class must be in the
        /// model's output (ML.NET's default would leave a renamed or missing column at its default value).
        /// </summary>
        private static List<string> Predict(MLContext ml, ITransformer model)
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model, ignoreMissingColumns: false);
            return Prefixes.Select(prefix => Runner.Format(engine.Predict(new TextRow { Text = prefix }))).ToList();
        }

        /// <summary>
        /// ML.NET creates each component through reflection and does not unwrap, so a component's exception arrives in
        /// a TargetInvocationException per level of nesting. When the inner exception is
        /// one of ML.NET's own (a "marked" one, from its Contracts), ML.NET's ComponentCatalog wraps it once more in an
        /// InvalidOperationException "Error during class instantiation". This returns the exception that started it.
        /// </summary>
        private static Exception Unwrap(Exception e)
        {
            while (true)
            {
                if (e is TargetInvocationException { InnerException: { } inner })
                    e = inner;
                else if (e.GetType() == typeof(InvalidOperationException) && e.Message == "Error during class instantiation" && e.InnerException is { } cause)
                    e = cause;
                else
                    return e;
            }
        }

        /// <summary>The assembly whose code threw <paramref name="e"/>.</summary>
        private static string Origin(Exception e) => e.TargetSite?.DeclaringType?.Assembly.GetName().Name ?? "(unknown)";

        /// <summary>
        /// The allowed set, by stage, type and the assembly that threw:
        /// <list type="bullet">
        /// <item>Load, FormatException from MlnetLstm: our readers' documented failure; the message must name the model
        /// entry (and, for a mutated entry of ours, that entry's folder).</item>
        /// <item>Load, FormatException from ML.NET (Microsoft.ML.*): its own header, string-table and entry checks
        /// (<c>Contracts.CheckDecode</c>: "Corrupt model file", "Couldn't load model", a deleted model entry …), and
        /// "Failed to open a zip archive", which wraps the zip reader's InvalidDataException.</item>
        /// <item>Load, InvalidDataException from System.IO.Compression: a broken zip container (a local header, the
        /// compression method, the entry count) found while ML.NET opens the zip or extracts an entry. (.NET 10 does not
        /// check an entry's CRC-32; our checksums catch damaged data.)</item>
        /// <item>Load, FileNotFoundException, FileLoadException or an ArgumentException (CultureNotFoundException) from
        /// <c>Assembly.Load</c> in ML.NET's <c>ModelLoadContext.EnsureLoaderAssemblyIsRegistered</c>: a model entry's
        /// header names the assembly of its loader, and ML.NET loads that name before any code of ours runs; damage
        /// there names an assembly that does not exist or is not a valid name.</item>
        /// <item>Predict, ArgumentOutOfRangeException from MlnetLstm or ML.NET: the schema no longer fits — our language
        /// model sees a token column whose vocabulary differs from its own (a changed token in one entry but not the
        /// other), or a column was renamed, so a column that the other component or the output class needs is not there.</item>
        /// </list>
        /// (ML.NET's InvalidOperationException "Error during class instantiation" only wraps one of its own exceptions
        /// and is unwrapped, see <see cref="Unwrap"/>.) Everything else breaks the contract.
        /// </summary>
        private static Outcome Judge(string stage, Exception e, string? entry)
        {
            string type = e.GetType().Name, origin = Origin(e);
            string who = origin.StartsWith("MlnetLstm", StringComparison.Ordinal) ? "MlnetLstm" : origin.StartsWith("Microsoft.ML", StringComparison.Ordinal) ? "ML.NET" : origin;
            bool loaderAssembly = e is FileNotFoundException or FileLoadException or ArgumentException
                && e.StackTrace?.Contains("Microsoft.ML.ModelLoadContext.EnsureLoaderAssemblyIsRegistered", StringComparison.Ordinal) == true;
            if (loaderAssembly)
                who = "ML.NET loading the loader assembly named in the entry";
            string @class = $"{stage}: {type} ({who})";
            string? failure = (stage, e, who) switch
            {
                ("load", FormatException, "MlnetLstm") => NamesEntry(e, entry),
                ("load", FormatException, "ML.NET") => null,
                ("load", InvalidDataException, "System.IO.Compression") => null,
                ("load", _, _) when loaderAssembly => null,
                ("predict", ArgumentOutOfRangeException, "MlnetLstm" or "ML.NET") => null,
                _ => "not in the allowed set",
            };
            return new Outcome(@class, failure is null ? null : $"{@class}: {failure}: {e}", e);
        }

        private static string? NamesEntry(Exception e, string? entry)
        {
            if (!e.Message.Contains("model entry '", StringComparison.OrdinalIgnoreCase))
                return "the message does not name the model entry";
            if (entry is not null && entry != _tokenizerEntry && entry != _languageModelEntry && entry != _weightsEntry)
                return null;
            string folder = entry is null ? "" : Path.GetDirectoryName(entry)!.Replace('\\', '/');
            return e.Message.Replace('\\', '/').Contains($"model entry '{folder}", StringComparison.OrdinalIgnoreCase) ? null : $"the message does not name the entry's folder '{folder}'";
        }

        // *** Zip helpers ***

        private static byte[] Entry(string name) => _entries.Single(e => e.Name == name).Bytes;

        private static byte[] Replace(string name, byte[] bytes) => WriteEntries(_entries.Select(e => e.Name == name ? (e.Name, bytes) : e));

        private static IReadOnlyList<(string Name, byte[] Bytes)> ReadEntries(byte[] zip)
        {
            var path = Path.Combine(Path.GetTempPath(), $"mlnetlstm-mutation-{Guid.NewGuid():N}.zip");
            File.WriteAllBytes(path, zip);
            try
            {
                return ModelZip.ReadEntries(path);
            }
            finally
            {
                File.Delete(path);
            }
        }

        private static byte[] WriteEntries(IEnumerable<(string Name, byte[] Bytes)> entries)
        {
            var path = Path.Combine(Path.GetTempPath(), $"mlnetlstm-mutation-{Guid.NewGuid():N}.zip");
            try
            {
                ModelZip.WriteEntries(path, entries);
                return File.ReadAllBytes(path);
            }
            finally
            {
                File.Delete(path);
            }
        }

        // *** The formats, read independently of the code under test ***

        private static readonly Dictionary<string, bool[]> ValueBytesCache = new();

        /// <summary>
        /// Which bytes of an entry hold a value whose change can leave a valid model that behaves differently: weight
        /// values; the language model's end-of-text and unknown-token ids, generation options, implementation and
        /// one-hot projection; the tokenizer's level, case folding and unknown-token id. Counts, lengths, sizes,
        /// kinds, names, tokens, checksums and ML.NET's header are structure: changing them must be caught (or change
        /// nothing). Only a re-signed mutation can change a value unnoticed: otherwise the checksum catches it.
        /// </summary>
        private static bool[] ValueBytes(string entry)
        {
            if (ValueBytesCache.TryGetValue(entry, out var cached))
                return cached;
            var bytes = Entry(entry);
            var values = new bool[bytes.Length];
            if (entry == _weightsEntry)
                WeightsLayout(bytes, values);
            else if (entry == _languageModelEntry)
                LanguageModelLayout(bytes, values);
            else if (entry == _tokenizerEntry)
                TokenizerLayout(bytes, values);
            return ValueBytesCache[entry] = values;
        }

        private const int HeaderSize = 0x100;

        /// <summary>Offsets, in the language model's fields (its blob without the checksum), of the fields the named cases change.</summary>
        private sealed record LanguageModelFields(int VocabularySize, int Ids, int Greedy, int StopToken, int InputKind, int HiddenSize, int RepetitionPenalty, int History, int Settings);

        /// <summary>Offsets, in the tokenizer's fields, of the fields the named cases change.</summary>
        private sealed record TokenizerFields(int ColumnCount, int CaseFolding, int VocabularySize, int ReservedCount);

        /// <summary>Parameter count, then per parameter: name, rank, dimensions, float32 values; then the checksum. Returns the offset of the first value.</summary>
        private static int WeightsLayout(byte[] bytes, bool[]? values)
        {
            using var reader = new BinaryReader(new MemoryStream(bytes));
            int count = reader.ReadInt32();
            int firstValue = -1;
            for (int p = 0; p < count; p++)
            {
                reader.ReadString();
                int rank = reader.ReadInt32();
                long elements = 1;
                for (int d = 0; d < rank; d++)
                    elements *= reader.ReadInt64();
                int start = (int)reader.BaseStream.Position;
                firstValue = firstValue < 0 ? start : firstValue;
                reader.BaseStream.Position += elements * 4;
                if (values is not null)
                    Array.Fill(values, true, start, (int)(elements * 4));
            }
            Assert.AreEqual(bytes.Length - ModelZip.ChecksumSize, reader.BaseStream.Position, "The test's reader of the weights format does not end at the checksum.");
            return firstValue;
        }

        private static LanguageModelFields LanguageModelLayout(byte[] entry, bool[]? values)
        {
            var fields = ModelZip.Fields(entry);
            using var reader = new BinaryReader(new MemoryStream(fields));
            int Position() => (int)reader.BaseStream.Position;
            void Value(int start)
            {
                if (values is not null)
                    Array.Fill(values, true, HeaderSize + start, Position() - start);
            }
            reader.ReadString(); // Token column.
            for (int i = 0; i < 5; i++) // Output columns.
                if (reader.ReadByte() == 1)
                    reader.ReadString();
            int vocabularySize = Position();
            int tokens = reader.ReadInt32();
            for (int i = 0; i < tokens; i++)
                reader.ReadString();
            reader.ReadString(); // Separator.
            int start = Position();
            int ids = start;
            reader.ReadInt32(); // Unknown id.
            reader.ReadInt32(); // End-of-text id.
            Value(start);
            start = Position();
            reader.ReadInt32(); // Maximum new tokens.
            int greedy = Position();
            reader.ReadByte();
            reader.ReadSingle(); // Temperature.
            reader.ReadInt32(); // Top-k.
            reader.ReadSingle(); // Top-p.
            reader.ReadByte(); // Has seed.
            reader.ReadInt32(); // Seed.
            int stop = Position();
            if (reader.ReadByte() == 1)
                reader.ReadString();
            reader.ReadByte(); // Allow empty prefix.
            int repetitionPenalty = Position();
            reader.ReadSingle();
            Value(start);
            reader.ReadInt32(); // Cell.
            int inputKind = Position();
            reader.ReadInt32();
            reader.ReadInt32(); // Input size.
            reader.ReadInt32(); // Embedding size.
            int hidden = Position();
            reader.ReadInt32();
            reader.ReadInt32(); // Layers.
            reader.ReadSingle(); // Dropout.
            reader.ReadInt32(); // Output size.
            reader.ReadByte(); // Bidirectional.
            start = Position();
            reader.ReadInt32(); // Implementation.
            reader.ReadInt32(); // One-hot projection.
            Value(start);
            int history = Position();
            int epochs = reader.ReadInt32(); // History.
            reader.BaseStream.Position += epochs * (4 + 8 + 1 + 8 + 8 + 8 + 8 + 1 + 8 + 8);
            int settingsStart = Position();
            int settings = reader.ReadInt32(); // Training settings: name and value ids in the string table.
            reader.BaseStream.Position += settings * 2 * 4;
            Assert.AreEqual(fields.Length, reader.BaseStream.Position, "The test's reader of the language model format does not end at the checksum.");
            return new LanguageModelFields(vocabularySize, ids, greedy, stop + 1, inputKind, hidden, repetitionPenalty, history, settingsStart);
        }

        /// <summary>ML.NET's column pairs (count, then string ids), then the vocabulary: level, case folding, count, unknown id, tokens.</summary>
        private static TokenizerFields TokenizerLayout(byte[] entry, bool[]? values)
        {
            var fields = ModelZip.Fields(entry);
            using var reader = new BinaryReader(new MemoryStream(fields));
            int pairs = reader.ReadInt32();
            reader.BaseStream.Position += pairs * 8;
            int level = (int)reader.BaseStream.Position;
            reader.ReadInt32();
            int folding = (int)reader.BaseStream.Position;
            reader.ReadByte();
            int count = (int)reader.BaseStream.Position;
            int tokens = reader.ReadInt32();
            reader.ReadInt32(); // Unknown id.
            if (values is not null)
            {
                Array.Fill(values, true, HeaderSize + level, 5);
                Array.Fill(values, true, HeaderSize + count + 4, 4);
            }
            for (int i = 0; i < tokens; i++)
                reader.ReadString();
            int reserved = (int)reader.BaseStream.Position;
            reader.ReadInt32();
            Assert.AreEqual(fields.Length, reader.BaseStream.Position, "The test's reader of the tokenizer format does not end at the checksum.");
            return new TokenizerFields(0, folding, count, reserved);
        }
    }
}
