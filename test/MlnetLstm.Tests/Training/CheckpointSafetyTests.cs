using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// CheckpointPath never destroys a file that is not a checkpoint, a bad path is refused before the first batch,
    /// trainings sharing a path do not trip over each other, a damaged checkpoint is refused on resume, and early
    /// stopping resumed from a checkpoint without best weights returns the epoch it names. Linux: the tests make
    /// devices, named pipes and read-only directories with its tools.
    /// </summary>
    [TestClass]
    [SupportedOSPlatform("linux")]
    public sealed class CheckpointSafetyTests
    {
        private static readonly string Text = PeriodicText(30);

        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
            {
                foreach (var directory in Directory.EnumerateDirectories(_directory, "*", SearchOption.AllDirectories))
                    File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                Directory.Delete(_directory, recursive: true);
            }
        }

        /// <summary>Small options with a checkpoint; <paramref name="trained"/> collects the epochs that were trained.</summary>
        private static RecurrentLanguageModelTrainer.Options Checkpointed(string path, bool resume = false, int epochs = 2, List<int>? trained = null)
        {
            var options = SmallOptions(epochs: epochs);
            options.CheckpointPath = path;
            options.ResumeFromCheckpoint = resume;
            if (trained is not null)
                options.EpochCompleted = m => trained.Add(m.Epoch);
            return options;
        }

        /// <summary>Fit fails with an ArgumentException for CheckpointPath before any epoch is trained; returns the exception.</summary>
        private static ArgumentException RefusedBeforeTraining(string path, bool resume = false)
        {
            var ml = new MLContext(seed: 1);
            var trained = new List<int>();
            var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(ml, Checkpointed(path, resume, trained: trained), Text));
            Assert.AreEqual("CheckpointPath", e.ParamName, e.Message);
            Assert.Contains($"Option CheckpointPath '{path}'", e.Message);
            Assert.IsEmpty(trained, "the path must be refused before the first epoch, not after it is trained");
            return e;
        }

        private string[] TemporaryFiles() => Directory.GetFiles(_directory, "*.tmp", SearchOption.AllDirectories);

        // *** Never replace what is not a checkpoint ***

        [TestMethod]
        [DataRow("model zip")]
        [DataRow("text")]
        [DataRow("empty")]
        public void ExistingFileThatIsNotACheckpointIsNeverReplaced(string kind)
        {
            string path = Path.Combine(_directory, "precious.zip");
            var ml = new MLContext(seed: 1);
            switch (kind)
            {
                case "model zip":
                    var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, Text));
                    ml.Model.Save(tokenizer, TestData.Texts(ml, Text).Schema, path);
                    break;
                case "text":
                    File.WriteAllText(path, "MLSTCKP, but not quite: notes that are not a checkpoint");
                    break;
                default:
                    File.WriteAllBytes(path, Array.Empty<byte>());
                    break;
            }
            var before = File.ReadAllBytes(path);

            var e = RefusedBeforeTraining(path);
            Assert.Contains("is an existing file that is not an MlnetLstm training checkpoint, and training would replace it", e.Message);
            Assert.Contains("Point CheckpointPath at a new file", e.Message);
            CollectionAssert.AreEqual(before, File.ReadAllBytes(path), "the file must be left exactly as it was");
            Assert.IsEmpty(TemporaryFiles(), "the writability probe must not leave its file behind");
        }

        [TestMethod]
        public void ExistingCheckpointIsReplacedWhenNotResuming()
        {
            string path = Path.Combine(_directory, "training.ckpt");
            var ml = new MLContext(seed: 1);
            Fit(ml, Checkpointed(path, epochs: 3), Text);
            var threeEpochs = File.ReadAllBytes(path);

            // Starting over on an old checkpoint is allowed: it is a checkpoint, so nothing else is lost.
            var trained = new List<int>();
            Fit(ml, Checkpointed(path, epochs: 1, trained: trained), Text);
            CollectionAssert.AreEqual(new[] { 1 }, trained);
            CollectionAssert.AreNotEqual(threeEpochs, File.ReadAllBytes(path), "the new run's checkpoint replaces the old one");
            var resumed = Fit(ml, Checkpointed(path, resume: true, epochs: 2), Text);
            Assert.HasCount(2, resumed.LastTransformer.TrainingHistory, "the checkpoint holds the new run's single epoch");
            Assert.IsEmpty(TemporaryFiles(), "every save renames its temporary file into place");
        }

        [TestMethod]
        public void DirectoryIsRefused()
        {
            string path = Path.Combine(_directory, "checkpoints");
            Directory.CreateDirectory(path);
            foreach (bool resume in new[] { false, true })
            {
                var e = RefusedBeforeTraining(path, resume);
                Assert.Contains("is a directory", e.Message);
                Assert.Contains("'training.ckpt' inside that directory", e.Message);
                Assert.IsTrue(Directory.Exists(path));
                Assert.IsEmpty(Directory.GetFileSystemEntries(path));
            }
        }

        /// <summary>
        /// A character device is refused as a checkpoint path and left as it is: a save must not replace it with a
        /// regular file (as root, that would replace /dev/null). As root the test uses a copy of /dev/null made with
        /// mknod, so that a failure cannot break the machine's; otherwise /dev/null itself, which only root could replace.
        /// </summary>
        [TestMethod]
        public void CharacterDeviceIsRefusedAndLeftAlone()
        {
            string path = SpecialFiles.NullDevice(_directory);
            Assert.AreEqual("character special file", SpecialFiles.Kind(path));
            foreach (bool resume in new[] { false, true })
            {
                var e = RefusedBeforeTraining(path, resume);
                Assert.Contains("is a character device, not a regular file", e.Message);
                Assert.AreEqual("character special file", SpecialFiles.Kind(path), "the device must still be a device");
            }
            Assert.IsEmpty(TemporaryFiles());
        }

        /// <summary>A named pipe is refused without opening it (opening one to read blocks until someone writes).</summary>
        [TestMethod]
        public void NamedPipeIsRefusedWithoutBlocking()
        {
            string path = SpecialFiles.NamedPipe(Path.Combine(_directory, "pipe"));
            foreach (bool resume in new[] { false, true })
            {
                var refusal = Task.Run(() => RefusedBeforeTraining(path, resume));
                Assert.IsTrue(refusal.Wait(TimeSpan.FromSeconds(60)), "Fit blocked on the named pipe");
                Assert.Contains("is a named pipe (FIFO), not a regular file", refusal.Result.Message);
                Assert.AreEqual("fifo", SpecialFiles.Kind(path));
            }
        }

        [TestMethod]
        [DataRow(false)]
        [DataRow(true)]
        public void SymbolicLinkIsRefusedAndItsTargetLeftAlone(bool toACheckpoint)
        {
            string target = Path.Combine(_directory, toACheckpoint ? "real.ckpt" : "notes.txt");
            if (toACheckpoint)
                Fit(new MLContext(seed: 1), Checkpointed(target, epochs: 1), Text);
            else
                File.WriteAllText(target, "not a checkpoint");
            var before = File.ReadAllBytes(target);
            string link = Path.Combine(_directory, "link.ckpt");
            File.CreateSymbolicLink(link, target);

            var e = RefusedBeforeTraining(link);
            Assert.Contains($"is a symbolic link (to '{target}')", e.Message);
            Assert.Contains("Set CheckpointPath to the file itself", e.Message);
            Assert.AreEqual(target, new FileInfo(link).LinkTarget, "the link must still be the link");
            CollectionAssert.AreEqual(before, File.ReadAllBytes(target));
            Assert.IsEmpty(TemporaryFiles());
        }

        // *** A bad path is refused before the first batch; trainings sharing a path ***

        [TestMethod]
        public void MissingDirectoryIsRefusedBeforeTheFirstEpoch()
        {
            string missing = Path.Combine(_directory, "not-created");
            string path = Path.Combine(missing, "training.ckpt");
            var e = RefusedBeforeTraining(path);
            Assert.Contains($"is in directory '{missing}', which does not exist", e.Message);
            Assert.Contains("Create the directory first", e.Message);
            Assert.IsFalse(Directory.Exists(missing));
        }

        /// <summary>
        /// A location this process cannot create files in. Root may write in any directory whatever its mode, so as
        /// root the test uses /sys, where no one may create files; otherwise a directory of mode r-x.
        /// </summary>
        [TestMethod]
        public void ReadOnlyLocationIsRefusedBeforeTheFirstEpoch()
        {
            string directory = "/sys";
            if (!Environment.IsPrivilegedProcess)
            {
                directory = Path.Combine(_directory, "read-only");
                Directory.CreateDirectory(directory);
                File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            }
            string path = Path.Combine(directory, $"mlnetlstm-{Guid.NewGuid():N}.ckpt");
            var e = RefusedBeforeTraining(path);
            Assert.Contains($"cannot be written: creating a file beside it in '{directory}' failed", e.Message);
            Assert.Contains("Point CheckpointPath at a directory this process can write to", e.Message);
            Assert.IsNotNull(e.InnerException, "the file system's own error is kept");
            Assert.IsFalse(File.Exists(path));
        }

        [TestMethod]
        [DataRow("")]
        [DataRow("   ")]
        [DataRow("\t")]
        public void EmptyOrWhitespacePathIsRejected(string path)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.RecurrentLanguageModel(Checkpointed(path)));
            Assert.AreEqual("CheckpointPath", e.ParamName);
            Assert.Contains($"Option CheckpointPath is '{path}'; it must be null for no checkpoints, or the path of a file", e.Message);
        }

        /// <summary>
        /// Two trainings given one checkpoint path, at the same time: each save writes a temporary file of its own, so
        /// neither renames (or truncates) the other's (one shared path + ".tmp" would make one of them crash).
        /// </summary>
        [TestMethod]
        public void TwoTrainingsSharingACheckpointPathBothFinish()
        {
            string path = Path.Combine(_directory, "shared.ckpt");
            const int Epochs = 40;
            var errors = new ConcurrentQueue<Exception>();
            var histories = new ConcurrentBag<int>();
            using var start = new Barrier(2);
            var trainings = Enumerable.Range(0, 2).Select(i => new Thread(() =>
            {
                try
                {
                    var ml = new MLContext(seed: 1);
                    var options = Checkpointed(path, epochs: Epochs);
                    options.HiddenSize = 8;
                    var data = TestData.Texts(ml, PeriodicText(12));
                    var pipeline = Pipeline(ml, options);
                    start.SignalAndWait();
                    histories.Add(pipeline.Fit(data).LastTransformer.TrainingHistory.Count);
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })).ToList();
            trainings.ForEach(t => t.Start());
            trainings.ForEach(t => Assert.IsTrue(t.Join(TimeSpan.FromMinutes(5)), "a training did not finish"));

            Assert.IsEmpty(errors, string.Join("\n\n", errors));
            CollectionAssert.AreEqual(new[] { Epochs, Epochs }, histories.ToArray());
            Assert.IsEmpty(TemporaryFiles(), "every save renamed its own temporary file");
            var resumed = Fit(new MLContext(seed: 1), CheckpointedSmall(path, Epochs + 1), PeriodicText(12));
            Assert.HasCount(Epochs + 1, resumed.LastTransformer.TrainingHistory, "the last checkpoint written is whole and resumes");
        }

        private static RecurrentLanguageModelTrainer.Options CheckpointedSmall(string path, int epochs)
        {
            var options = Checkpointed(path, resume: true, epochs: epochs);
            options.HiddenSize = 8;
            return options;
        }

        // *** The checksum ***

        /// <summary>A checkpoint of 2 epochs, and where its first weight value is.</summary>
        private (string Path, int FirstWeight) TwoEpochCheckpoint()
        {
            string path = Path.Combine(_directory, "training.ckpt");
            Fit(new MLContext(seed: 1), Checkpointed(path), Text);
            var bytes = File.ReadAllBytes(path);
            // ParameterSerializer: a string name (1 length byte here), an int rank, rank longs of dimensions, then the floats.
            var name = Encoding.UTF8.GetBytes("layer0.fused.weight_ih_l0");
            int at = bytes.AsSpan().IndexOf(name);
            Assert.IsGreaterThan(0, at, "the first parameter's name is in the checkpoint");
            int rank = BitConverter.ToInt32(bytes, at + name.Length);
            Assert.AreEqual(2, rank);
            return (path, at + name.Length + sizeof(int) + rank * sizeof(long));
        }

        [TestMethod]
        [DataRow("bit flip in a weight")]
        [DataRow("bit flip in the history")]
        [DataRow("weight set to 1e30")]
        [DataRow("truncated by half")]
        [DataRow("last byte cut")]
        [DataRow("byte appended")]
        public void DamagedCheckpointFailsToResumeNamingTheFile(string damage)
        {
            var (path, firstWeight) = TwoEpochCheckpoint();
            var bytes = File.ReadAllBytes(path);
            switch (damage)
            {
                case "bit flip in a weight":
                    bytes[firstWeight + 5] ^= 0x10;
                    break;
                case "bit flip in the history":
                    bytes[firstWeight / 2] ^= 0x01;
                    break;
                case "weight set to 1e30":
                    BitConverter.GetBytes(1e30f).CopyTo(bytes, firstWeight + 4);
                    break;
                case "truncated by half":
                    bytes = bytes[..(bytes.Length / 2)];
                    break;
                case "last byte cut":
                    bytes = bytes[..^1];
                    break;
                default:
                    bytes = bytes.Append((byte)0).ToArray();
                    break;
            }
            File.WriteAllBytes(path, bytes);

            var trained = new List<int>();
            var e = Assert.ThrowsExactly<FormatException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true, epochs: 4, trained: trained), Text));
            Assert.Contains($"Checkpoint '{path}' does not match its SHA-256 checksum", e.Message);
            Assert.Contains("delete it to start over", e.Message);
            Assert.IsEmpty(trained, "nothing is trained from a damaged checkpoint");
        }

        [TestMethod]
        public void IntactCheckpointStillResumes()
        {
            var (path, _) = TwoEpochCheckpoint();
            var trained = new List<int>();
            var resumed = Fit(new MLContext(seed: 1), Checkpointed(path, resume: true, epochs: 3, trained: trained), Text);
            CollectionAssert.AreEqual(new[] { 3 }, trained, "the undamaged checkpoint of the same test resumes after epoch 2");
            Assert.HasCount(3, resumed.LastTransformer.TrainingHistory);
        }

        [TestMethod]
        public void CheckpointCutBeforeItsChecksumIsTruncated()
        {
            var (path, _) = TwoEpochCheckpoint();
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
            var e = Assert.ThrowsExactly<FormatException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true), Text));
            Assert.Contains($"Checkpoint '{path}' is truncated: it is too short to end with its checksum", e.Message);
        }

        [TestMethod]
        [DataRow(1, "written by an earlier version of MlnetLstm without a checksum; this build reads version 6. Resume it with the MlnetLstm version that wrote it, or delete it to start over.")]
        [DataRow(2, "written by an earlier version of MlnetLstm without a checksum; this build reads version 6. Resume it with the MlnetLstm version that wrote it, or delete it to start over.")]
        [DataRow(7, "this build reads versions 3 to 6. It was written by a newer version of MlnetLstm, or is damaged: resume it with the version that wrote it, or delete it to start over.")]
        public void CheckpointOfAnotherFormatVersionIsRefused(int version, string message)
        {
            var (path, _) = TwoEpochCheckpoint();
            var bytes = File.ReadAllBytes(path);
            BitConverter.GetBytes(version).CopyTo(bytes, 8); // After the 8-byte magic.
            File.WriteAllBytes(path, bytes);
            var e = Assert.ThrowsExactly<FormatException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true), Text));
            Assert.Contains($"Checkpoint '{path}' has format version {version}", e.Message);
            Assert.Contains(message, e.Message);
        }

        // *** Plausible values in a checkpoint whose checksum was recomputed after an edit ***

        /// <summary>Rewrites the SHA-256 at the end of a checkpoint, as a tool that edits one would.</summary>
        private static void RecomputeChecksum(string path)
        {
            var bytes = File.ReadAllBytes(path);
            System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes, bytes.Length - 32);
            File.WriteAllBytes(path, bytes);
        }

        /// <summary>
        /// head.bias set to 1e30 with the checksum recomputed: refused on resume, naming the parameter (it loaded before,
        /// and scored every text at a log-likelihood of about −9e30).
        /// </summary>
        [TestMethod]
        public void ImplausibleWeightWithARecomputedChecksumIsRefused()
        {
            var (path, _) = TwoEpochCheckpoint();
            var bytes = File.ReadAllBytes(path);
            var name = Encoding.UTF8.GetBytes("head.bias");
            int at = bytes.AsSpan().IndexOf(name);
            Assert.AreEqual(1, BitConverter.ToInt32(bytes, at + name.Length), "head.bias is a vector");
            BitConverter.GetBytes(1e30f).CopyTo(bytes, at + name.Length + sizeof(int) + sizeof(long));
            File.WriteAllBytes(path, bytes);
            RecomputeChecksum(path);

            var trained = new List<int>();
            var e = Assert.ThrowsExactly<FormatException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true, epochs: 4, trained: trained), Text));
            Assert.Contains($"Checkpoint '{path}': parameter 'head.bias' holds 1E+30 at index 0; a trained network's weights are finite and at most 1e6 in magnitude", e.Message);
            Assert.IsEmpty(trained);
        }

        /// <summary>
        /// Optimizer state that no training writes (NaN or a negative mean of squares in Adam's second moment, a
        /// negative step count), in a checkpoint with a valid checksum: refused on resume, naming the parameter and the
        /// state, instead of "Training diverged in epoch 3".
        /// </summary>
        [TestMethod]
        [DataRow("exp_avg NaN", "the optimizer state 'exp_avg' of parameter 'layer0.fused.weight_ih_l0' holds NaN at index 0; it must be finite, so")]
        [DataRow("exp_avg_sq negative", "the optimizer state 'exp_avg_sq' of parameter 'layer0.fused.weight_ih_l0' holds -1 at index 0; it must be finite and not negative (a mean of squared gradients)")]
        [DataRow("step negative", "the optimizer state of parameter 'layer0.fused.weight_ih_l0' has step count -5, which cannot be negative")]
        public void ImplausibleOptimizerStateIsRefused(string damage, string message)
        {
            var (path, _) = TwoEpochCheckpoint();
            // Read the checkpoint into a network and optimizer of its own, spoil one value, and write it back with its checksum.
            var architecture = TrainingCheckpoint.PeekArchitecture(path)!;
            using (var network = new RecurrentNetwork(architecture, seed: 1, TorchSharp.torch.CPU))
            using (var optimizer = TorchSharp.torch.optim.Adam(network.parameters(), 0.01))
            {
                var (history, best, bestEpoch) = TrainingCheckpoint.Load(path, network, vocabulary: null, optimizer);
                var state = (TorchSharp.Modules.Adam.State)optimizer.state_dict().State[0];
                using (TorchSharp.torch.no_grad())
                {
                    switch (damage)
                    {
                        case "exp_avg NaN":
                            state.exp_avg.view(-1)[0].fill_(float.NaN);
                            break;
                        case "exp_avg_sq negative":
                            state.exp_avg_sq.view(-1)[0].fill_(-1f);
                            break;
                        default:
                            state.step = -5;
                            break;
                    }
                }
                TrainingCheckpoint.Save(path, network, vocabulary: null, optimizer, history, best, bestEpoch);
            }

            var trained = new List<int>();
            var e = Assert.ThrowsExactly<FormatException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true, epochs: 4, trained: trained), Text));
            Assert.Contains($"Checkpoint '{path}': {message}", e.Message);
            Assert.Contains("Delete it to start over.", e.Message);
            Assert.IsEmpty(trained);
        }

        // *** A resume on data with other token ids ***

        /// <summary>
        /// A checkpoint of a run on "abcdefg…" resumed on "hijklmn…": the vocabulary has the same size, so the network
        /// fits, but every id means another character. Refused before any batch, naming the first id that differs.
        /// </summary>
        [TestMethod]
        public void ResumeOnDataWithAnotherVocabularyIsRefused()
        {
            string path = Path.Combine(_directory, "training.ckpt");
            Fit(new MLContext(seed: 1), Checkpointed(path, epochs: 1), Text);
            string other = new(Text.Select(c => (char)(c + Period.Length)).ToArray());
            IReadOnlyList<string> Tokens(string text)
            {
                var ml = new MLContext(seed: 1);
                return ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, text)).Vocabulary.Tokens;
            }
            var (trainedTokens, otherTokens) = (Tokens(Text), Tokens(other));
            Assert.HasCount(trainedTokens.Count, otherTokens, "the two vocabularies have one size: the network alone cannot tell them apart");
            int differs = Enumerable.Range(0, trainedTokens.Count).First(i => trainedTokens[i] != otherTokens[i]);

            var trained = new List<int>();
            var e = Assert.ThrowsExactly<ArgumentException>(() => Fit(new MLContext(seed: 1), Checkpointed(path, resume: true, epochs: 2, trained: trained), other));
            Assert.AreEqual("ResumeFromCheckpoint", e.ParamName);
            Assert.Contains($"Checkpoint '{path}' reads a vocabulary of {trainedTokens.Count} tokens, but token column 'Tokens' has {otherTokens.Count}, " +
                $"and they differ first at id {differs} ('{trainedTokens[differs]}' against '{otherTokens[differs]}')", e.Message);
            Assert.Contains("Resume on data transformed by the same fitted tokenizer", e.Message);
            Assert.IsEmpty(trained);
        }

        // *** Early stopping resumed from a checkpoint without best weights ***

        /// <summary>
        /// A checkpoint written without early stopping (patience 0) after epoch 5 of a run whose validation loss is
        /// best at epoch 4; resumed with patience 1. The checkpoint holds no weights of epoch 4, so the resumed run must
        /// not claim to keep it (logging "keeping epoch 4" while returning its last epoch's weights): the epoch the log
        /// names is the one whose weights come back, the same as training exactly that many epochs.
        /// </summary>
        [TestMethod]
        public void EarlyStoppingResumedFromACheckpointWithoutBestWeightsReturnsTheEpochItNames()
        {
            string path = Path.Combine(_directory, "training.ckpt");
            var ml = new MLContext(seed: 1);
            var messages = new ConcurrentQueue<string>();
            ml.Log += (_, e) => messages.Enqueue(e.Message);
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, PeriodicText(60)));
            var training = tokenizer.Transform(TestData.Texts(ml, PeriodicText(60)));
            // Every third period reversed: validation improves for a few epochs, then worsens (as in LanguageModelTrainingOptionsTests).
            var validation = tokenizer.Transform(TestData.Texts(ml, string.Concat(Enumerable.Range(0, 20).Select(i => i % 3 == 2 ? "gfedcba" : Period))));
            RecurrentLanguageModelTrainer.Options Options(int epochs, int patience)
            {
                var options = SmallOptions(epochs: epochs);
                options.LearningRate = 0.01;
                options.ValidationData = validation;
                options.EarlyStoppingPatience = patience;
                return options;
            }

            var first = Options(5, 0);
            first.CheckpointPath = path;
            var firstHistory = ml.Transforms.Text.RecurrentLanguageModel(first).Fit(training).TrainingHistory;
            int bestBefore = firstHistory.MinBy(m => m.ValidationLoss!.Value)!.Epoch;
            Assert.IsLessThan(5, bestBefore, "the setup: the best validation loss comes before the checkpoint's last epoch");

            var resumedOptions = Options(12, 1);
            resumedOptions.CheckpointPath = path;
            resumedOptions.ResumeFromCheckpoint = true;
            var resumed = ml.Transforms.Text.RecurrentLanguageModel(resumedOptions).Fit(training);
            var history = resumed.TrainingHistory;
            Assert.IsLessThan(12, history.Count, "early stopping stopped the resumed run");
            string stopMessage = messages.Single(m => m.Contains("Early stopping: "));
            int kept = int.Parse(stopMessage[(stopMessage.IndexOf("keeping epoch ", StringComparison.Ordinal) + "keeping epoch ".Length)..].TrimEnd('.'), System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsGreaterThanOrEqualTo(5, kept, $"the resumed run cannot keep an epoch before the checkpoint's last: {stopMessage}");
            Assert.IsTrue(messages.Any(m => m.Contains("The checkpoint keeps no best weights (it was written without early stopping): early stopping counts from epoch 5")),
                string.Join("\n", messages));

            // The returned weights are those of the epoch the log names: the same as a run of exactly that many epochs.
            var reference = ml.Transforms.Text.RecurrentLanguageModel(Options(kept, 0)).Fit(training);
            Assert.AreEqual(history[kept - 1].ValidationLoss, reference.TrainingHistory[^1].ValidationLoss, "the reference ends where the kept epoch was");
            var resumedWeights = Weights(Save(ml, tokenizer.Append(resumed), Path.Combine(_directory, "resumed.zip")));
            var referenceWeights = Weights(Save(ml, tokenizer.Append(reference), Path.Combine(_directory, "reference.zip")));
            CollectionAssert.AreEqual(referenceWeights, resumedWeights, $"the log says epoch {kept} is kept; the model must be epoch {kept}'s, not epoch {history.Count}'s");
        }
    }
}
