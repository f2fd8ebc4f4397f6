using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>What the language-model tests share: small fast options, a tokenizer → model pipeline, prediction and zip helpers.</summary>
    internal static class LanguageModelTestKit
    {
        /// <summary>The period of the text most tests learn.</summary>
        public const string Period = "abcdefg";

        /// <summary>The character vocabulary the tokenizer learns from text over a–g with equal counts: reserved tokens, then characters in ordinal order.</summary>
        public static readonly string[] PeriodicVocabulary = { "<unk>", "<eos>", "a", "b", "c", "d", "e", "f", "g" };

        /// <summary><see cref="Period"/> repeated: one document of 7 × <paramref name="repeats"/> characters.</summary>
        public static string PeriodicText(int repeats) => string.Concat(Enumerable.Repeat(Period, repeats));

        /// <summary>
        /// Options for a small model that trains in about a second on a few hundred characters. One TorchSharp thread:
        /// on a 2-core machine shared with other builds, more threads only add contention for these tiny tensors.
        /// </summary>
        public static RecurrentLanguageModelTrainer.Options SmallOptions(int seed = 3, int epochs = 4) => new()
        {
            HiddenSize = 16,
            Epochs = epochs,
            BatchSize = 4,
            SequenceLength = 10,
            Optimizer = Optimizer.Adam,
            LearningRate = 0.03,
            LearningRateSchedule = LearningRateSchedule.Constant,
            Seed = seed,
            NumberOfThreads = 1,
            Generation = new GenerationOptions { MaximumNewTokens = 20 },
        };

        /// <summary>Character tokenizer (Text → Tokens) followed by the language model.</summary>
        public static EstimatorChain<RecurrentLanguageModelTransformer> Pipeline(MLContext ml, RecurrentLanguageModelTrainer.Options options)
            => TinyLanguageModel.Pipeline(ml, options);

        /// <summary>Fits <see cref="Pipeline"/> on rows of text.</summary>
        public static TransformerChain<RecurrentLanguageModelTransformer> Fit(MLContext ml, RecurrentLanguageModelTrainer.Options options, params string[] rows)
            => Pipeline(ml, options).Fit(TestData.Texts(ml, rows));

        /// <summary>The language model of a fitted or loaded pipeline.</summary>
        public static RecurrentLanguageModelTransformer LanguageModel(ITransformer pipeline)
            => TransformerChains.Flatten(pipeline).OfType<RecurrentLanguageModelTransformer>().Single();

        /// <summary>The pipeline with its language model's generation options replaced (no retraining).</summary>
        public static ITransformer WithGeneration(ITransformer pipeline, GenerationOptions generation)
            => pipeline.WithGeneration(_ => generation);

        /// <summary>Every output of the model for one text, through a PredictionEngine.</summary>
        public static LanguageModelOutput Predict(MLContext ml, ITransformer model, string text)
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model);
            return engine.Predict(new TextRow { Text = text });
        }

        /// <summary>The generated continuation of one text.</summary>
        public static string Generate(MLContext ml, ITransformer model, string text) => Predict(ml, model, text).Generated;

        /// <summary>Saves a fitted pipeline (with the schema of a text column) to a zip and returns its path.</summary>
        public static string Save(MLContext ml, ITransformer model, string path)
        {
            ml.Model.Save(model, TestData.Texts(ml, "a").Schema, path);
            return path;
        }

        /// <summary>The bytes of the single zip entry whose name ends with <paramref name="suffix"/>, and its full name.</summary>
        public static (string Name, byte[] Bytes) ReadEntry(string zip, string suffix)
        {
            var entries = ModelZip.ReadEntries(zip);
            return entries.Where(e => e.Name.EndsWith(suffix, StringComparison.Ordinal)).ToList() switch
            {
                { Count: 1 } one => one[0],
                var found => throw new InvalidOperationException(
                    $"Expected one entry ending with '{suffix}' in {zip}; found {found.Count} among: {string.Join(", ", entries.Select(e => e.Name))}."),
            };
        }

        /// <summary>The bytes of the language model's weights entry.</summary>
        public static byte[] Weights(string zip) => ReadEntry(zip, "/Weights").Bytes;

        /// <summary>Replaces the contents of one zip entry, leaving every other entry as it was.</summary>
        public static void ReplaceEntry(string zip, string fullName, byte[] contents)
        {
            using var archive = ZipFile.Open(zip, ZipArchiveMode.Update);
            archive.GetEntry(fullName)!.Delete();
            using var stream = archive.CreateEntry(fullName).Open();
            stream.Write(contents);
        }

        /// <summary>
        /// MLContext.CancelExecution: internal in ML.NET 5.0.1 (Microsoft.ML.Experimental exposes it as an extension
        /// method, which calls this same method).
        /// </summary>
        public static void CancelExecution(MLContext ml)
        {
            var cancel = typeof(MLContext).GetMethod("CancelExecution", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public, Type.EmptyTypes)
                ?? throw new MissingMethodException(nameof(MLContext), "CancelExecution");
            cancel.Invoke(ml, null);
        }
    }
}
