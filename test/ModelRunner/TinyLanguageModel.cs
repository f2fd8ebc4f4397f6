using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.ModelRunner
{
    /// <summary>
    /// The small character language model of the hardening tests and the soak run, defined once so that a child
    /// process and the test process train exactly the same model (same options, same seed, same corpus).
    /// </summary>
    public static class TinyLanguageModel
    {
        private static readonly string[] Words =
        {
            "the", "whale", "sea", "ship", "sailor", "wind", "rope", "deck", "captain", "harpoon", "storm", "night",
            "boat", "wave", "star", "salt", "mast", "cold", "grey", "long", "old", "quiet", "swift", "dark",
        };

        /// <summary>
        /// Deterministic English-like documents (sentences of the words above) of about <paramref name="characters"/>
        /// characters in all; the same arguments give the same text on every machine.
        /// </summary>
        public static string[] Corpus(int characters, int seed = 1)
        {
            var random = new Random(seed);
            var documents = new List<string>();
            int total = 0;
            while (total < characters)
            {
                var sentence = new StringBuilder();
                int words = random.Next(3, 9);
                for (int i = 0; i < words; i++)
                {
                    if (i > 0)
                        sentence.Append(' ');
                    sentence.Append(Words[random.Next(Words.Length)]);
                }
                sentence.Append('.');
                documents.Add(sentence.ToString());
                total += sentence.Length + 1;
            }
            return documents.ToArray();
        }

        /// <summary>
        /// The options: a one-layer LSTM of <paramref name="hiddenSize"/> units, short sequences and batches so an epoch
        /// over a few hundred characters has several batches, a fixed seed, and greedy generation of 5 tokens.
        /// </summary>
        public static RecurrentLanguageModelTrainer.Options Options(int epochs, int hiddenSize = 8, string? checkpointPath = null, bool resume = false,
            Action<EpochMetrics>? epochCompleted = null) => new()
            {
                HiddenSize = hiddenSize,
                Epochs = epochs,
                BatchSize = 4,
                SequenceLength = 8,
                Optimizer = Optimizer.Adam,
                LearningRate = 0.01,
                LearningRateSchedule = LearningRateSchedule.Constant,
                Seed = 1,
                // A model this small gains nothing from a thread pool, and a pool of two loses badly when the machine is shared.
                NumberOfThreads = 1,
                CheckpointPath = checkpointPath,
                ResumeFromCheckpoint = resume,
                EpochCompleted = epochCompleted,
                Generation = new GenerationOptions { MaximumNewTokens = 5 },
            };

        /// <summary>
        /// The options of the kill-and-resume test, in the child process that is killed and in the test that resumes:
        /// a checkpoint after every epoch, and a cosine learning-rate schedule, so that a resumed run only matches an
        /// uninterrupted one if it also resumes the schedule. One TorchSharp thread (process-wide: the test restores its
        /// own count), so that the test's time does not depend on how busy the other cores are: a pool of one thread
        /// per core slows down many times over when another process shares a small machine.
        /// </summary>
        public static RecurrentLanguageModelTrainer.Options Checkpointed(int epochs, string checkpointPath, bool resume, Action<EpochMetrics>? epochCompleted)
        {
            var options = Options(epochs, checkpointPath: checkpointPath, resume: resume, epochCompleted: epochCompleted);
            options.LearningRateSchedule = LearningRateSchedule.Cosine;
            options.NumberOfThreads = 1;
            return options;
        }

        /// <summary>Character tokenizer → language model.</summary>
        public static EstimatorChain<RecurrentLanguageModelTransformer> Pipeline(MLContext ml, RecurrentLanguageModelTrainer.Options options)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Text.RecurrentLanguageModel(options));

        /// <summary>Documents as an IDataView with the Text column.</summary>
        public static IDataView Data(MLContext ml, IEnumerable<string> documents)
            => ml.Data.LoadFromEnumerable(documents.Select(d => new TextRow { Text = d }).ToList());

        /// <summary>One line per epoch, as the "train" mode prints it: the epoch and its losses as exact bits.</summary>
        public static string FormatEpoch(EpochMetrics metrics)
            => $"epoch {metrics.Epoch} {BitConverter.DoubleToInt64Bits(metrics.TrainingLoss):X16} " +
               (metrics.ValidationLoss is double v ? BitConverter.DoubleToInt64Bits(v).ToString("X16") : "-");
    }
}
