using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using static MlnetLstm.Tests.PyTorchTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Weights files that are not the network the options describe, damaged, not PyTorch files at all, or pickles
    /// that would run code: each fails with a FormatException naming the file and what is wrong (the key and both
    /// shapes; the refused callable), and a pickle's payload is never run.
    /// </summary>
    [TestClass]
    public sealed class PyTorchBadFileTests
    {
        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("pytorch-bad-").FullName;

        [TestCleanup]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        private string PathOf(string name) => Path.Combine(_directory, name);

        private static FormatException Import(string weights)
            => Assert.ThrowsExactly<FormatException>(() => new MLContext(seed: 1).Model.ImportPyTorchLanguageModel(Options(Lstm, weights)));

        /// <summary>The fixture's tensors, changed by <paramref name="change"/>, as a safetensors file.</summary>
        private string Modified(Func<List<StateDictEntry>, List<StateDictEntry>> change, string name = "modified.safetensors")
        {
            string path = PathOf(name);
            SafetensorsFile.Write(path, change(SafetensorsFile.Read(File(Lstm + ".safetensors")).ToList()));
            return path;
        }

        [TestMethod]
        public void MissingKeyIsNamedWithItsExpectedShape()
        {
            var e = Import(Modified(entries => entries.Where(t => t.Key != "rnn.bias_hh_l0").ToList()));
            StringAssert.Contains(e.Message, "key 'rnn.bias_hh_l0' is missing (expected shape [256], found none)");
            StringAssert.Contains(e.Message, "a 1-layer Lstm of hidden size 64 on 56 one-hot tokens with 56 outputs");
        }

        [TestMethod]
        public void ExtraKeyIsNamedWithItsShape()
        {
            var e = Import(Modified(entries => entries.Append(new StateDictEntry("rnn.weight_ih_l1", new long[] { 256, 64 }, "F32", new float[256 * 64])).ToList()));
            StringAssert.Contains(e.Message, "key 'rnn.weight_ih_l1' (shape [256, 64]) is not a parameter of this network (expected none, found [256, 64])");
        }

        [TestMethod]
        public void MisshapenKeyIsNamedWithBothShapes()
        {
            // A head for 55 tokens where the vocabulary has 56.
            var e = Import(Modified(entries => entries.Select(t => t.Key == "linear.bias" ? t with { Shape = new long[] { 55 }, Values = t.Values![..55] } : t).ToList()));
            StringAssert.Contains(e.Message, "key 'linear.bias' has shape [55], expected [56]");

            // A hidden size that is not the file's, from the real .pth: every recurrent key is misshapen, each named.
            var options = Options(Lstm);
            options.HiddenSize = 32;
            e = Assert.ThrowsExactly<FormatException>(() => new MLContext(seed: 1).Model.ImportPyTorchLanguageModel(options));
            StringAssert.Contains(e.Message, "key 'rnn.weight_hh_l0' has shape [256, 64], expected [128, 32]");
            StringAssert.Contains(e.Message, "key 'linear.weight' has shape [56, 64], expected [56, 32]");
            StringAssert.Contains(e.Message, options.WeightsPath);
        }

        [TestMethod]
        public void MisshapenKeyInAPthIsNamedToo()
        {
            string path = PathOf("modified.pth");
            PthFile.Write(path, SafetensorsFile.Read(File(Lstm + ".safetensors"))
                .Select(t => t.Key == "rnn.weight_ih_l0" ? t with { Shape = new long[] { 256, 28, 2 } } : t).ToList());
            StringAssert.Contains(Import(path).Message, "key 'rnn.weight_ih_l0' has shape [256, 28, 2], expected [256, 56]");
        }

        [TestMethod]
        [DataRow(float.NaN, "NaN")]
        [DataRow(1e30f, "1E+30")]
        public void NonFiniteOrImplausiblyLargeWeightsAreRefused(float value, string shown)
        {
            var e = Import(Modified(entries => entries.Select(t => t.Key == "rnn.weight_hh_l0" ? t with { Values = t.Values!.Select((v, i) => i == 7 ? value : v).ToArray() } : t).ToList()));
            StringAssert.Contains(e.Message, $"key 'rnn.weight_hh_l0' holds {shown} at index 7; weights must be finite and at most 1e6 in magnitude");
        }

        [TestMethod]
        public void TruncatedFilesFailNamingTheFile()
        {
            foreach (var extension in new[] { ".pth", ".safetensors" })
            {
                var bytes = System.IO.File.ReadAllBytes(File(Lstm + extension));
                foreach (int length in new[] { 0, 6, 100, bytes.Length / 2, bytes.Length - 1 })
                {
                    string path = PathOf($"truncated-{length}{extension}");
                    System.IO.File.WriteAllBytes(path, bytes[..length]);
                    var e = Import(path);
                    StringAssert.Contains(e.Message, path, $"{extension} cut at {length}: {e.Message}");
                }
            }
            // A safetensors file whose data section stops inside a tensor says so.
            var safetensors = System.IO.File.ReadAllBytes(File(Lstm + ".safetensors"));
            System.IO.File.WriteAllBytes(PathOf("short.safetensors"), safetensors[..^100]);
            StringAssert.Contains(Import(PathOf("short.safetensors")).Message, "the file is truncated or damaged");
        }

        [TestMethod]
        public void FilesThatAreNotPyTorchFilesAreRefused()
        {
            System.IO.File.WriteAllText(PathOf("notes.pth"), "These are not weights.\n");
            StringAssert.Contains(Import(PathOf("notes.pth")).Message, "is not a PyTorch weights file");

            // A bare pickle: torch.save(..., _use_new_zipfile_serialization=False) or pickle.dump.
            System.IO.File.WriteAllBytes(PathOf("legacy.pth"), Pickle(Proto2, EmptyDict, Stop));
            StringAssert.Contains(Import(PathOf("legacy.pth")).Message, "is a bare pickle, not the zip archive torch.save has written since PyTorch 1.6");

            // A zip archive whose data.pkl is not a pickle.
            WriteArchive(PathOf("garbage.pth"), new byte[] { 0x80, 0x02, 0xFF, 0x00 });
            StringAssert.Contains(Import(PathOf("garbage.pth")).Message, "is not a valid pickle: byte 2 holds 0xFF, which is no pickle opcode");

            // A zip archive without data.pkl (a model zip of ML.NET, say).
            using (var zip = System.IO.Compression.ZipFile.Open(PathOf("other.pth"), System.IO.Compression.ZipArchiveMode.Create))
                zip.CreateEntry("Model/Key");
            StringAssert.Contains(Import(PathOf("other.pth")).Message, "holds 0 data.pkl records");

            // A safetensors header that announces more than the file holds.
            System.IO.File.WriteAllBytes(PathOf("huge.safetensors"), BitConverter.GetBytes(1L << 40).Concat("{}"u8.ToArray()).ToArray());
            StringAssert.Contains(Import(PathOf("huge.safetensors")).Message, "announces a header of 1,099,511,627,776 bytes");
        }

        [TestMethod]
        public void StateDictWithAPickledTensorOfTheWrongStorageSizeIsRefused()
        {
            // The real fixture's pickle, with a storage record of half the bytes it announces.
            using var source = System.IO.Compression.ZipFile.OpenRead(File(Lstm + ".pth"));
            var records = source.Entries.ToDictionary(e => e.FullName, e =>
            {
                using var stream = e.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return copy.ToArray();
            });
            string folder = Lstm + "/";
            var storages = records.Where(r => r.Key.StartsWith(folder + "data/", StringComparison.Ordinal))
                .ToDictionary(r => r.Key[(folder.Length + 5)..], r => r.Key.EndsWith("data/1", StringComparison.Ordinal) ? r.Value[..(r.Value.Length / 2)] : r.Value);
            WriteArchive(PathOf("short-storage.pth"), records[folder + "data.pkl"], storages, Lstm);
            StringAssert.Contains(Import(PathOf("short-storage.pth")).Message, "the storage of tensor 'rnn.weight_hh_l0' (16,384 × FloatStorage) needs 65,536 bytes, but its record");
        }

        /// <summary>
        /// The classic pickle exploit, written opcode by opcode (protocol 2): GLOBAL os.system, the shell command, TUPLE1,
        /// REDUCE: in Python, unpickling runs the command. It must be refused, and the command must not run.
        /// </summary>
        [TestMethod]
        public void PickleThatWouldRunACommandIsRefusedAndNothingRuns()
        {
            string marker = PathOf("pwned");
            WriteArchive(PathOf("exploit.pth"), Pickle(Proto2, Global("os", "system"), BinUnicode($"touch {marker}"), Tuple1, Reduce, Stop));
            var e = Import(PathOf("exploit.pth"));
            StringAssert.Contains(e.Message, "is refused: its GLOBAL at byte 2 names os.system, which is neither a tensor nor a plain container");
            StringAssert.Contains(e.Message, "nothing in the file was run");
            Assert.IsFalse(System.IO.File.Exists(marker), "the payload ran");
        }

        /// <summary>The same with protocol 4's STACK_GLOBAL (module and name pushed as strings) calling builtins.eval.</summary>
        [TestMethod]
        public void StackGlobalToEvalIsRefused()
        {
            WriteArchive(PathOf("eval.pth"), Pickle(new byte[] { 0x80, 0x04 }, ShortBinUnicode("builtins"), ShortBinUnicode("eval"), (byte)0x93,
                ShortBinUnicode("__import__('os').system('touch pwned')"), Tuple1, Reduce, Stop));
            StringAssert.Contains(Import(PathOf("eval.pth")).Message, "its STACK_GLOBAL at byte 18 names builtins.eval");
        }

        /// <summary>A payload hidden inside an otherwise plain state_dict: the value of one key is a call to posix.system.</summary>
        [TestMethod]
        public void PayloadInsideAStateDictIsRefused()
        {
            string marker = PathOf("pwned");
            WriteArchive(PathOf("hidden.pth"), Pickle(Proto2, EmptyDict, BinUnicode("rnn.weight_ih_l0"), Global("posix", "system"), BinUnicode($"touch {marker}"),
                Tuple1, Reduce, SetItem, Stop));
            StringAssert.Contains(Import(PathOf("hidden.pth")).Message, "names posix.system");
            Assert.IsFalse(System.IO.File.Exists(marker));
        }

        /// <summary>torch.save(model) pickles the model's class: refused, with the way to save a state_dict.</summary>
        [TestMethod]
        public void WholeModelPickleIsRefusedWithTheWayToSaveAStateDict()
        {
            WriteArchive(PathOf("whole.pth"), Pickle(Proto2, Global("__main__", "RNNModel"), (byte)')', (byte)0x81, Stop));
            var e = Import(PathOf("whole.pth"));
            StringAssert.Contains(e.Message, "names __main__.RNNModel");
            StringAssert.Contains(e.Message, "torch.save(model.state_dict(), path)");

            WriteArchive(PathOf("parameters.pth"), Pickle(Proto2, EmptyDict, BinUnicode("w"), Global("torch._utils", "_rebuild_parameter"), Stop));
            StringAssert.Contains(Import(PathOf("parameters.pth")).Message, "which rebuilds nn.Parameter objects");

            // Allowed callables are refused where a state_dict never calls them (a storage class called as a function).
            WriteArchive(PathOf("storage.pth"), Pickle(Proto2, Global("torch", "FloatStorage"), (byte)')', Reduce, Stop));
            StringAssert.Contains(Import(PathOf("storage.pth")).Message, "calls torch.FloatStorage, which a state_dict never calls");

            // BUILD (which calls __setstate__ by reflection in PyBridge's unpickler) only on the OrderedDict of a state_dict.
            WriteArchive(PathOf("build.pth"), Pickle(Proto2, EmptyDict, EmptyDict, (byte)'b', Stop));
            StringAssert.Contains(Import(PathOf("build.pth")).Message, "its BUILD at byte 4 sets the state of a dict");
        }
    }
}
