using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Training that is killed resumes from its last checkpoint and continues as if it had not been interrupted;
    /// training that is cancelled stops promptly.
    /// </summary>
    [TestClass]
    public sealed class CheckpointResumeTests
    {
        private const int Epochs = 16;
        private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(90);

        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        /// <summary>
        /// A child process trains 16 epochs with a checkpoint after each and is killed (with its process tree) once it
        /// has reported 2 epochs. Resuming in this process restores the epochs of the checkpoint — all that the child
        /// reported, or all but the last (the kill can fall between an epoch's report and its checkpoint) — and trains
        /// the rest; every epoch's losses, bit for bit, are those of a run that was never interrupted.
        /// </summary>
        [TestMethod]
        public void KilledTrainingResumesFromItsLastCheckpoint()
        {
            // The checkpointed options train on one TorchSharp thread, a process-wide setting: give the other tests theirs back.
            int threads = TorchSharp.torch.get_num_threads();
            try
            {
                KilledTrainingResumes();
            }
            finally
            {
                TorchSharp.torch.set_num_threads(threads);
            }
        }

        private void KilledTrainingResumes()
        {
            var corpus = TinyLanguageModel.Corpus(2_000);
            var corpusFile = Path.Combine(_directory, "corpus.txt");
            File.WriteAllLines(corpusFile, corpus);
            var checkpoint = Path.Combine(_directory, "training.checkpoint");

            var reported = TrainInChildAndKill(corpusFile, checkpoint, epochsBeforeKill: 2);
            Console.WriteLine($"The child reported {reported.Count} epochs before it died.");
            Assert.IsGreaterThanOrEqualTo(2, reported.Count);
            Assert.IsLessThan(Epochs, reported.Count, "The child finished before it was killed.");
            Assert.IsTrue(File.Exists(checkpoint), "No checkpoint was left.");
            // The checkpoint is written to a temporary file of its own beside it and renamed: a kill while writing leaves
            // a <checkpoint>.<random>.tmp, never a torn checkpoint.
            string temporaries = Path.GetFileName(checkpoint) + ".*.tmp";
            bool temporaryLeft = Directory.GetFiles(_directory, temporaries).Length > 0;
            Console.WriteLine($"Left behind: checkpoint of {new FileInfo(checkpoint).Length:N0} bytes{(temporaryLeft ? ", and a partial temporary file" : "")}.");
            if (!temporaryLeft) // What a kill during a checkpoint write leaves: the resumed run must ignore it.
                File.WriteAllBytes(checkpoint + ".0123456789abcdef.tmp", Encoding.ASCII.GetBytes("MLSTCKPT partial"));
            var partial = Directory.GetFiles(_directory, temporaries);

            var ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(ml, File.ReadAllLines(corpusFile));
            var resumedEpochs = new List<int>();
            var resumed = TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Checkpointed(Epochs, checkpoint, resume: true, m => resumedEpochs.Add(m.Epoch)))
                .Fit(data).LastTransformer.TrainingHistory;

            int restored = resumedEpochs[0] - 1;
            Console.WriteLine($"Resumed after epoch {restored}.");
            Assert.IsTrue(restored == reported.Count || restored == reported.Count - 1,
                $"The checkpoint held {restored} epochs; the child had reported {reported.Count} (at most the last may be lost).");
            Assert.IsGreaterThanOrEqualTo(1, restored);
            Assert.AreSequenceEqual(Enumerable.Range(restored + 1, Epochs - restored).ToArray(), resumedEpochs.ToArray(), "The resumed run trains the epochs after the checkpoint, once each.");
            Assert.HasCount(Epochs, resumed);
            // The restored history is the child's, bit for bit.
            Assert.AreSequenceEqual(reported.Take(restored).ToArray(), resumed.Take(restored).Select(TinyLanguageModel.FormatEpoch).ToArray());
            CollectionAssert.AreEquivalent(partial, Directory.GetFiles(_directory, temporaries), "The resumed run ignores the partial temporary file and leaves none of its own.");

            // An uninterrupted run of the same options in this process: the same losses in every epoch.
            var uninterrupted = TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Checkpointed(Epochs, Path.Combine(_directory, "other.checkpoint"), resume: false, null))
                .Fit(data).LastTransformer.TrainingHistory;
            Assert.AreSequenceEqual(uninterrupted.Select(TinyLanguageModel.FormatEpoch).ToArray(), resumed.Select(TinyLanguageModel.FormatEpoch).ToArray(),
                "A resumed run must continue exactly as the uninterrupted one (weights, optimizer state, batch order and learning-rate schedule).");
            Assert.AreSequenceEqual(reported.Take(restored).ToArray(), uninterrupted.Take(restored).Select(TinyLanguageModel.FormatEpoch).ToArray(),
                "The child's epochs are those of the same run in this process.");
        }

        /// <summary>Starts the "train" mode of the ModelRunner and kills it once it has reported enough epochs; returns the epoch lines it printed.</summary>
        private static List<string> TrainInChildAndKill(string corpus, string checkpoint, int epochsBeforeKill)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var argument in new[] { ChildProcess.ModelRunnerDll, "train", corpus, checkpoint, Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(argument);
            var lines = new BlockingCollection<string>();
            var stderr = new StringBuilder();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                    lines.Add(e.Data);
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (stderr)
                    stderr.AppendLine(e.Data);
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var epochs = new List<string>();
            var watch = Stopwatch.StartNew();
            try
            {
                while (epochs.Count < epochsBeforeKill)
                {
                    var remaining = ChildTimeout - watch.Elapsed;
                    string? line = null;
                    if (remaining <= TimeSpan.Zero || !lines.TryTake(out line, remaining))
                        Assert.Fail($"The child reported {epochs.Count} epochs in {ChildTimeout.TotalSeconds:F0} s. stderr:\n{stderr}");
                    Assert.AreNotEqual("done", line, "The child finished training before it was killed.");
                    epochs.Add(line!);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                Assert.IsTrue(process.WaitForExit(TimeSpan.FromSeconds(30)), "The killed child did not exit.");
                process.WaitForExit(); // Drains the output readers.
            }
            // Epochs reported between the decision to kill and the kill.
            while (lines.TryTake(out var line))
            {
                Assert.AreNotEqual("done", line, "The child finished training before it was killed.");
                epochs.Add(line);
            }
            Assert.IsTrue(epochs.All(l => l.StartsWith("epoch ", StringComparison.Ordinal)), string.Join("\n", epochs));
            Assert.AreSequenceEqual(Enumerable.Range(1, epochs.Count).Select(i => $"epoch {i} ").ToArray(), epochs.Select(l => l[..(l.IndexOf(' ', 6) + 1)]).ToArray());
            return epochs;
        }

        /// <summary>A checkpoint of another network, or a file that is not a checkpoint, is refused when training resumes from it.</summary>
        [TestMethod]
        public void ResumingFromAnIncompatibleCheckpointFails()
        {
            var ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(ml, TinyLanguageModel.Corpus(400));
            var checkpoint = Path.Combine(_directory, "hidden8.checkpoint");
            TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Options(epochs: 1, checkpointPath: checkpoint)).Fit(data);

            var wider = TinyLanguageModel.Options(epochs: 2, hiddenSize: 12, checkpointPath: checkpoint, resume: true);
            var e = Assert.ThrowsExactly<FormatException>(() => TinyLanguageModel.Pipeline(ml, wider).Fit(data));
            Assert.Contains($"Checkpoint '{checkpoint}' was written for a different network", e.Message);
            Assert.Contains("HiddenSize = 8", e.Message);
            Assert.Contains("HiddenSize = 12", e.Message);

            File.WriteAllText(checkpoint, "not a checkpoint");
            e = Assert.ThrowsExactly<FormatException>(() => TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Options(epochs: 2, checkpointPath: checkpoint, resume: true)).Fit(data));
            Assert.Contains("is not an MlnetLstm training checkpoint", e.Message);
        }

        /// <summary>
        /// MLContext.CancelExecution, which ML.NET 5.0 keeps internal (its own packages reach it as a "best friend");
        /// hosts call it the same way, through reflection.
        /// </summary>
        private static void CancelExecution(MLContext ml)
            => typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public, Type.EmptyTypes)!
                .Invoke(ml, null);

        /// <summary>MLContext.CancelExecution from another thread stops training within 2 s, with OperationCanceledException.</summary>
        [TestMethod]
        public void CancelExecutionStopsTrainingPromptly()
        {
            var ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(ml, TinyLanguageModel.Corpus(2_000));
            using var epochDone = new ManualResetEventSlim();
            int epochsAtCancel = -1, epochsAfter = 0;
            var pipeline = TinyLanguageModel.Pipeline(ml, TinyLanguageModel.Options(epochs: 100_000, epochCompleted: m =>
            {
                epochsAfter = m.Epoch;
                epochDone.Set();
            }));
            Exception? caught = null;
            var stopped = new Stopwatch();
            var training = new Thread(() =>
            {
                try
                {
                    pipeline.Fit(data);
                }
                catch (Exception e)
                {
                    stopped.Stop();
                    caught = e;
                }
            });
            training.Start();
            Assert.IsTrue(epochDone.Wait(TimeSpan.FromSeconds(60)), "Training did not complete an epoch within 60 s.");
            epochsAtCancel = epochsAfter;
            stopped.Start();
            CancelExecution(ml);
            Assert.IsTrue(training.Join(TimeSpan.FromSeconds(30)), "Training did not stop within 30 s of CancelExecution.");
            Console.WriteLine($"Cancelled after epoch {epochsAtCancel}; Fit threw {caught?.GetType().Name} {stopped.Elapsed.TotalMilliseconds:F0} ms after the call.");
            Assert.IsNotNull(caught, "Fit returned normally after CancelExecution.");
            Assert.AreEqual(typeof(OperationCanceledException), caught.GetType(), caught.ToString());
            Assert.IsLessThan(TimeSpan.FromSeconds(2), stopped.Elapsed);
            Assert.IsLessThanOrEqualTo(epochsAtCancel + 1, epochsAfter, "Training went on for more than the epoch it was in.");
        }
    }
}
