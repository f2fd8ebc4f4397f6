using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using TorchSharp.Modules;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A training run's state after an epoch: weights, optimizer state and history, ending with a SHA-256 checksum.
    /// Written atomically (to a temporary file of its own beside the target, then renamed), so a process killed while
    /// writing leaves the previous checkpoint intact, and two trainings given the same path never trip over each
    /// other's temporary file. Training never replaces a file that is not a checkpoint.
    /// </summary>
    internal static class TrainingCheckpoint
    {
        private const string Magic = "MLSTCKPT";
        private const int FormatVersion = 6;
        private const int ChecksumSize = 32;
        private const string Option = nameof(RecurrentTrainingOptions.CheckpointPath);

        /// <summary>
        /// Checks, before anything is trained, that training can write its checkpoints to <paramref name="path"/>:
        /// the directory exists and takes new files (probed by creating and deleting a temporary file beside the
        /// path), and whatever is at the path is a checkpoint training may replace (or, when
        /// <paramref name="resume"/>, a regular file that <see cref="Load"/> then checks). Without this a bad path
        /// failed only when the first epoch's checkpoint was written, losing the epoch, and an existing file of
        /// another kind (a saved model, <c>/dev/null</c>) was replaced.
        /// </summary>
        /// <exception cref="ArgumentException">The path cannot take checkpoints; <c>ParamName</c> is CheckpointPath and the message names the path and the fix.</exception>
        public static void CheckTarget(string path, bool resume)
        {
            string full;
            try
            {
                full = Path.GetFullPath(path);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw Refuse(path, $"is not a valid file path ({e.Message})", "Set it to the path of a file in a writable directory.", e);
            }
            CheckReplaceable(path, full, checkContents: !resume);
            string directory = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(directory))
                throw Refuse(path, $"is in directory '{directory}', which does not exist", "Create the directory first, or point CheckpointPath at an existing one.");
            string probe = TemporaryPath(path);
            try
            {
                using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                }
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDelete(probe);
                throw Refuse(path, $"cannot be written: creating a file beside it in '{directory}' failed ({e.Message})",
                    "Point CheckpointPath at a directory this process can write to (a checkpoint is written beside its path, then renamed over it).", e);
            }
        }

        /// <summary>
        /// Refuses a path training must not write to: a directory, a symbolic link, anything but a regular file, and
        /// (when <paramref name="checkContents"/>) an existing file that does not start like a checkpoint. A missing
        /// file is fine.
        /// </summary>
        private static void CheckReplaceable(string path, string full, bool checkContents)
        {
            if (FileType.WhyNotReplaceable(full) is var (kind, problem))
                throw Refuse(path, $"{problem}; a checkpoint is renamed over its path", kind switch
                {
                    FileType.Entry.Directory => "Set it to a file, such as a 'training.ckpt' inside that directory.",
                    FileType.Entry.SymbolicLink => "Set CheckpointPath to the file itself, or to a new file.",
                    _ => "Set CheckpointPath to the path of a regular file, or of a new file.",
                });
            if (checkContents && File.Exists(full) && !StartsLikeACheckpoint(full))
                throw Refuse(path, "is an existing file that is not an MlnetLstm training checkpoint, and training would replace it",
                    "Point CheckpointPath at a new file (or at a checkpoint you mean to start over), or move the file away first.");
        }

        private static bool StartsLikeACheckpoint(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = new byte[Magic.Length];
            return stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && Encoding.ASCII.GetString(start) == Magic;
        }

        private static ArgumentException Refuse(string path, string problem, string fix, Exception? inner = null)
            => new($"Option {Option} '{path}' {problem}. {fix}", Option, inner);

        /// <summary>A temporary file of its own for every save (and probe), beside the checkpoint so that the rename stays on one file system.</summary>
        private static string TemporaryPath(string path) => $"{path}.{RandomNumberGenerator.GetHexString(16, lowercase: true)}.tmp";

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the caller reports the failure that matters.
            }
        }

        // *** Binary format ***
        // 8 bytes: "MLSTCKPT"; int: format version (6; 3 to 5 are read too, without the vocabulary, 3 and 4 with their
        // history without the validation fraction, and 3's without the stream validation loss; versions 1 and 2, without
        // best epoch and checksum, are refused)
        // <architecture: see RecurrentArchitecture.Save>
        // from version 6: byte: has a vocabulary; if it has: <the ids' meanings: see NetworkVocabulary.Save>
        // <history of the completed epochs: see EpochMetrics.SaveHistory (with the stream validation loss from version 4, the validation fraction from 5)>
        // <weights: see ParameterSerializer.Save>
        // <optimizer state: TorchSharp's save_state_dict>
        // byte: has best weights (early stopping's copy of the best epoch's weights)
        // if it has: int: the best epoch (1-based, within the history); <best weights: see ParameterSerializer.Save>
        // 32 bytes: SHA-256 of every byte before it, from the magic on
        /// <summary>
        /// The architecture a checkpoint was written for, read without checking the rest (that is <see cref="Load"/>'s
        /// work), or null when the file does not start as a checkpoint of a format this build reads.
        /// </summary>
        public static RecurrentArchitecture? PeekArchitecture(string path)
        {
            try
            {
                using var stream = File.OpenRead(path);
                using var reader = new BinaryReader(stream);
                if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic || reader.ReadInt32() is not (>= 3 and <= FormatVersion))
                    return null;
                return RecurrentArchitecture.Load(reader);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>
        /// Writes a checkpoint after an epoch; <paramref name="bestEpoch"/> is the epoch whose weights
        /// <paramref name="bestWeights"/> holds (ignored without them).
        /// </summary>
        /// <exception cref="ArgumentException">Something other than a checkpoint appeared at the path during training; it is left as it is.</exception>
        public static void Save(string path, RecurrentNetwork network, NetworkVocabulary? vocabulary, OptimizerHelper optimizer, IReadOnlyList<EpochMetrics> history,
            IReadOnlyDictionary<string, TorchSharp.torch.Tensor>? bestWeights, int bestEpoch)
        {
            string temporary = TemporaryPath(path);
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
                {
                    using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
                    {
                        writer.Write(Encoding.ASCII.GetBytes(Magic));
                        writer.Write(FormatVersion);
                        network.Architecture.Save(writer);
                        writer.Write(vocabulary is null ? (byte)0 : (byte)1);
                        vocabulary?.Save(writer);
                        EpochMetrics.SaveHistory(writer, history);
                        ParameterSerializer.Save(writer, network);
                        optimizer.save_state_dict(writer);
                        writer.Write(bestWeights is null ? (byte)0 : (byte)1);
                        if (bestWeights is not null)
                        {
                            writer.Write(bestEpoch);
                            ParameterSerializer.Save(writer, network.named_parameters().Select(p => (p.name, bestWeights[p.name])).ToList());
                        }
                    }
                    // The checksum of the bytes as written, read back: no second copy of the weights in memory.
                    long length = stream.Position;
                    stream.Position = 0;
                    var checksum = Transforms.ModelFormat.Checksum(stream, length);
                    stream.Write(checksum);
                    stream.Flush(flushToDisk: true);
                }
                // The file at the path may have changed since training started: still never replace a file of another kind.
                CheckReplaceable(path, Path.GetFullPath(path), checkContents: true);
                File.Move(temporary, path, overwrite: true);
            }
            catch
            {
                TryDelete(temporary);
                throw;
            }
        }

        /// <summary>
        /// Restores weights and optimizer state; returns the history of the completed epochs, and early stopping's
        /// copy of the best epoch's weights with that epoch's number (null and 0 if the run kept none), which the
        /// caller disposes. The checksum is checked before any field is read.
        /// </summary>
        /// <exception cref="FormatException">The file is not a checkpoint of this network, is of another format version, or is damaged; the message names the file.</exception>
        /// <exception cref="ArgumentException">The checkpoint was trained on other ids than <paramref name="vocabulary"/> (another tokenizer's tokens, other classes): its weights would be applied to other tokens.</exception>
        public static (List<EpochMetrics> History, Dictionary<string, TorchSharp.torch.Tensor>? BestWeights, int BestEpoch) Load(string path, RecurrentNetwork network, NetworkVocabulary? vocabulary,
            OptimizerHelper optimizer)
        {
            // *** Binary format *** (see Save)
            string source = $"Checkpoint '{path}'";
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            try
            {
                if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic)
                    throw new FormatException($"{source} is not an MlnetLstm training checkpoint. Delete it or point CheckpointPath elsewhere.");
                int version = reader.ReadInt32();
                if (version is 1 or 2)
                    throw new FormatException($"{source} has format version {version}, written by an earlier version of MlnetLstm without a checksum; this build reads version {FormatVersion}. " +
                        "Resume it with the MlnetLstm version that wrote it, or delete it to start over.");
                if (version is not (>= 3 and <= FormatVersion))
                    throw new FormatException($"{source} has format version {version}; this build reads versions 3 to {FormatVersion}. It was written by a newer version of MlnetLstm, or is damaged: " +
                        "resume it with the version that wrote it, or delete it to start over.");
                long end = stream.Length - ChecksumSize;
                VerifyChecksum(stream, end, source);
                stream.Position = Magic.Length + sizeof(int);

                var architecture = RecurrentArchitecture.Load(reader);
                if (architecture != network.Architecture)
                    throw new FormatException($"{source} was written for a different network ({architecture}) than the options describe ({network.Architecture}). Delete it or use the options it was trained with.");
                if (version >= 6 && Transforms.ModelFormat.ReadFlag(reader, source, "vocabulary present"))
                {
                    var (tokens, classes) = NetworkVocabulary.Load(reader, source, end);
                    if (vocabulary?.Difference(tokens, classes) is string difference)
                        throw new ArgumentException($"{source} {difference}: its weights belong to other ids than the training data's. " +
                            "Resume on data transformed by the same fitted tokenizer (and label mapping) as the run that wrote it, or set ResumeFromCheckpoint to false to start over.",
                            nameof(RecurrentTrainingOptions.ResumeFromCheckpoint));
                }
                var history = EpochMetrics.LoadHistory(reader, source, new EpochMetrics.Layout(HasStreamLoss: version >= 4, HasValidationFraction: version >= 5));
                ParameterSerializer.Load(reader, network, source, end);
                optimizer.load_state_dict(reader);
                CheckOptimizerState(optimizer, network, source);
                bool hasBest = Transforms.ModelFormat.ReadFlag(reader, source, "best weights present");
                int bestEpoch = 0;
                List<(string name, TorchSharp.torch.Tensor)>? best = null;
                if (hasBest)
                {
                    bestEpoch = reader.ReadInt32();
                    if (bestEpoch < 1 || bestEpoch > history.Count || history[bestEpoch - 1].ValidationLoss is null)
                        throw new FormatException($"{source} keeps the weights of epoch {bestEpoch}, which is not a validated epoch of its {history.Count}; it is corrupt. Delete it to start over.");
                    best = network.named_parameters().Select(p => (p.name, p.parameter.detach().clone().DetachFromDisposeScope())).ToList();
                }
                try
                {
                    if (best is not null)
                        ParameterSerializer.Load(reader, best, source, end);
                    if (stream.Position != end)
                        throw new FormatException($"{source} is corrupt: its fields end {(stream.Position < end ? "before" : "after")} its checksum starts. Delete it to start over.");
                }
                catch
                {
                    foreach (var (_, tensor) in best ?? new())
                        tensor.Dispose();
                    throw;
                }
                return (history, best?.ToDictionary(p => p.name, p => p.Item2), bestEpoch);
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{source} is truncated. Delete it to start over.", e);
            }
        }

        /// <summary>
        /// Checks the optimizer state just read: every moment finite, the second moments (which are means of squares)
        /// not negative, and the step count not negative. A checkpoint passes its checksum whenever the checksum was
        /// recomputed after an edit, and bad state would otherwise surface only epochs later, as a divergence.
        /// </summary>
        /// <exception cref="FormatException">A value is implausible; the message names the parameter, the state and the value.</exception>
        private static void CheckOptimizerState(OptimizerHelper optimizer, RecurrentNetwork network, string source)
        {
            // The optimizer holds one state per parameter, in the network's order (it was built from network.parameters()).
            var names = network.named_parameters().Select(p => p.name).ToList();
            var states = optimizer.state_dict().State;
            for (int i = 0; i < states.Count; i++)
            {
                string parameter = i < names.Count ? names[i] : $"#{i}";
                (long Step, (string Name, TorchSharp.torch.Tensor? Moment, bool Squares)[] Moments) checkedState = states[i] switch
                {
                    Adam.State adam => (adam.step, new (string, TorchSharp.torch.Tensor?, bool)[] { ("exp_avg", adam.exp_avg, false), ("exp_avg_sq", adam.exp_avg_sq, true), ("max_exp_avg_sq", adam.max_exp_avg_sq, true) }),
                    AdamW.State adamW => (adamW.step, new (string, TorchSharp.torch.Tensor?, bool)[] { ("exp_avg", adamW.exp_avg, false), ("exp_avg_sq", adamW.exp_avg_sq, true), ("max_exp_avg_sq", adamW.max_exp_avg_sq, true) }),
                    SGD.State sgd => (0L, new (string, TorchSharp.torch.Tensor?, bool)[] { ("momentum_buffer", sgd.momentum_buffer, false) }),
                    _ => (0L, Array.Empty<(string, TorchSharp.torch.Tensor?, bool)>()),
                };
                var (step, moments) = checkedState;
                if (step < 0)
                    throw new FormatException($"{source}: the optimizer state of parameter '{parameter}' has step count {step}, which cannot be negative; the checkpoint is corrupt. Delete it to start over.");
                foreach (var (name, moment, squares) in moments)
                {
                    if (moment is null)
                        continue;
                    using var cpu = moment.detach().cpu().to(TorchSharp.torch.ScalarType.Float32);
                    var values = cpu.data<float>();
                    for (long j = 0; j < values.Count; j++)
                        if (!float.IsFinite(values[j]) || (squares && values[j] < 0))
                            throw new FormatException($"{source}: the optimizer state '{name}' of parameter '{parameter}' holds {values[j].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {j}; " +
                                $"it must be finite{(squares ? " and not negative (a mean of squared gradients)" : "")}, so the checkpoint is corrupt. Delete it to start over.");
                }
            }
        }

        /// <summary>Checks that the bytes before <paramref name="end"/> are followed by their SHA-256; runs before any field is read, so damage never reaches a reader.</summary>
        private static void VerifyChecksum(Stream stream, long end, string source)
        {
            if (end < Magic.Length + sizeof(int))
                throw new FormatException($"{source} is truncated: it is too short to end with its checksum. Delete it to start over.");
            stream.Position = 0;
            var actual = Transforms.ModelFormat.Checksum(stream, end);
            var stored = new byte[ChecksumSize];
            stream.ReadExactly(stored);
            if (!stored.AsSpan().SequenceEqual(actual))
                throw new FormatException($"{source} does not match its SHA-256 checksum: the file was damaged, cut short or edited after it was written. " +
                    "Restore it from a copy, or delete it to start over.");
        }
    }
}
