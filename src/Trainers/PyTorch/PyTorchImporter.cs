using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Builds the fitted transformers from PyTorch weights: reads the state_dict, matches it key by key and shape by
    /// shape to the network the options describe, and wraps the weights in a <see cref="TrainedNetwork"/> with an
    /// empty training history, so the result is the same kind of object as a model trained here.
    /// </summary>
    internal static class PyTorchImporter
    {
        public static TransformerChain<RecurrentLanguageModelTransformer> LanguageModel(IHostEnvironment env, PyTorchLanguageModelImportOptions options)
        {
            var host = MlNetVersion.Register(env, "PyTorchImport");
            options.Validate();
            var tokenizer = Tokenizer(host, options);
            var vocabulary = tokenizer.Vocabulary;
            if (!vocabulary.TryGetId(options.EndOfTextToken, out int endOfText))
                throw new ArgumentOutOfRangeException(nameof(options.EndOfTextToken), options.EndOfTextToken,
                    $"Option EndOfTextToken '{options.EndOfTextToken}' is not in the vocabulary of {vocabulary.Count} tokens. Name the token the PyTorch model reads before a text " +
                    "(a vocabulary without one can name a space or a newline).");
            if (options.Generation.StopToken is string stop && !vocabulary.TryGetId(stop, out _))
                throw new ArgumentOutOfRangeException(nameof(options.Generation), stop, $"Generation.StopToken '{stop}' is not in the vocabulary. Use one of its tokens, or null.");
            var architecture = Architecture(options, options.NetworkInput, vocabulary.Count, options.EmbeddingSize, vocabulary.Count, bidirectional: false);
            var trained = Read(options, architecture);
            var languageVocabulary = new LanguageModelVocabulary(new TokenVocabulary(vocabulary.Tokens.ToArray(), vocabulary.Separator, vocabulary.UnknownId), endOfText);
            var model = new RecurrentLanguageModelTransformer(host, trained, languageVocabulary, tokenizer.OutputColumnName, options.Columns, options.Generation);
            return new TransformerChain<RecurrentLanguageModelTransformer>(tokenizer, model);
        }

        public static TransformerChain<RecurrentClassificationTransformer> Classifier(IHostEnvironment env, PyTorchClassifierImportOptions options)
        {
            var host = MlNetVersion.Register(env, "PyTorchImport");
            options.Validate();
            var tokenizer = Tokenizer(host, options);
            var vocabulary = tokenizer.Vocabulary;
            var classes = options.ClassNames!.ToArray();
            var architecture = Architecture(options, options.NetworkInput, vocabulary.Count, options.EmbeddingSize, classes.Length, options.Bidirectional);
            var trained = Read(options, architecture);
            var model = new RecurrentClassificationTransformer(host, trained, new TokenVocabulary(vocabulary.Tokens.ToArray(), vocabulary.Separator, vocabulary.UnknownId),
                new ClassLabels(options.LabelColumnName, classes.Length, classes), tokenizer.OutputColumnName, options.Pooling, options.ScoreColumnName, options.PredictedLabelColumnName);
            return new TransformerChain<RecurrentClassificationTransformer>(tokenizer, model);
        }

        public static RecurrentRegressionTransformer Regressor(IHostEnvironment env, PyTorchRegressorImportOptions options)
        {
            var host = MlNetVersion.Register(env, "PyTorchImport");
            options.Validate();
            var architecture = Architecture(options, NetworkInput.Features, options.FeaturesPerStep, 0, options.Horizon, bidirectional: false);
            var trained = Read(options, architecture);
            return new RecurrentRegressionTransformer(host, trained, options.Scaling, options.FeatureColumnName, options.WindowLength, options.ScoreColumnName);
        }

        /// <summary>The given tokenizer, or one over the given token list.</summary>
        private static VocabularyTokenizingTransformer Tokenizer(IHost host, PyTorchTokenModelImportOptions options)
        {
            if (options.Tokenizer is { } tokenizer)
                return tokenizer;
            var tokens = options.Vocabulary!;
            Vocabulary vocabulary;
            try
            {
                int unknown = tokens.ToList().IndexOf(options.UnknownToken);
                vocabulary = new Vocabulary(options.Level, options.CaseFolding, tokens, unknown, Vocabulary.LeadingReservedCount(tokens, unknown));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Option Vocabulary is not a vocabulary: {e.Message}", nameof(options.Vocabulary), e);
            }
            return new VocabularyTokenizingTransformer(host, vocabulary, options.TokenColumnName, options.TextColumnName);
        }

        private static RecurrentArchitecture Architecture(PyTorchImportOptions options, NetworkInput input, int inputSize, int embeddingSize, int outputSize, bool bidirectional)
        {
            try
            {
                return new RecurrentArchitecture(options.Cell, input, inputSize, embeddingSize, options.HiddenSize, options.Layers, 0, outputSize, bidirectional);
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"The import options describe no network this library can run: {e.Message}", nameof(options), e);
            }
        }

        /// <summary>Reads the weights file and matches it to <paramref name="architecture"/>.</summary>
        /// <exception cref="FormatException">The file is unreadable or refused, or its keys and shapes are not the network's; the message lists every key that is missing, extra or misshapen, with the shapes.</exception>
        internal static TrainedNetwork Read(PyTorchImportOptions options, RecurrentArchitecture architecture)
        {
            var keys = options.Names.Keys(architecture, nameof(options.Names));
            var entries = StateDictFile.Read(options.WeightsPath);
            return new TrainedNetwork(Match(options.WeightsPath, entries, keys, architecture), (int)RecurrentImplementation.Fused, (int)OneHotProjection.Auto, Array.Empty<EpochMetrics>(),
                new Dictionary<string, string>());
        }

        /// <summary>The network's weights from the file's entries, or one exception naming every key that does not fit.</summary>
        internal static NetworkWeights Match(string path, IReadOnlyList<StateDictEntry> entries, IReadOnlyList<(string Name, string Key, long[] Shape)> keys, RecurrentArchitecture architecture)
        {
            var byKey = entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
            var problems = new List<string>();
            var tensors = new List<WeightTensor>(keys.Count);
            foreach (var (name, key, shape) in keys)
            {
                string expected = $"[{string.Join(", ", shape)}]";
                if (!byKey.TryGetValue(key, out var entry))
                {
                    problems.Add($"key '{key}' is missing (expected shape {expected}, found none)");
                    continue;
                }
                if (!entry.Shape.SequenceEqual(shape))
                {
                    problems.Add($"key '{key}' has shape {entry.ShapeText}, expected {expected}");
                    continue;
                }
                if (entry.Values is null)
                {
                    problems.Add($"key '{key}' holds {entry.DType} values, not floating-point weights");
                    continue;
                }
                int bad = Array.FindIndex(entry.Values, v => !float.IsFinite(v) || Math.Abs(v) > WeightsFormat.MaximumMagnitude);
                if (bad >= 0)
                {
                    problems.Add($"key '{key}' holds {entry.Values[bad].ToString(CultureInfo.InvariantCulture)} at index {bad}; weights must be finite and at most {WeightsFormat.MaximumMagnitude:0e0} in magnitude (a model saved with it could not be loaded)");
                    continue;
                }
                tensors.Add(new WeightTensor(name, shape, entry.Values));
            }
            var expectedKeys = keys.Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var extra in entries.Where(e => !expectedKeys.Contains(e.Key)))
                problems.Add($"key '{extra.Key}' (shape {extra.ShapeText}) is not a parameter of this network (expected none, found {extra.ShapeText})");
            if (problems.Count > 0)
                throw new FormatException($"PyTorch file '{path}' does not hold the weights of the network the options describe, {Describe(architecture)}: " +
                    $"{string.Join("; ", problems)}. That network's keys are {string.Join(", ", keys.Select(k => $"{k.Key} [{string.Join(", ", k.Shape)}]"))}. " +
                    "Set Cell, HiddenSize, Layers (and the vocabulary, classes or features) to the PyTorch model's, or map other names with Names (RecurrentModule, Head, Embedding, KeyMap).");
            return new NetworkWeights(architecture, tensors);
        }

        /// <summary>"a 2-layer LSTM of hidden size 64 on 30 one-hot tokens with 30 outputs".</summary>
        internal static string Describe(RecurrentArchitecture a)
        {
            string input = a.Input switch
            {
                NetworkInput.TokensOneHot => $"{a.InputSize} one-hot tokens",
                NetworkInput.TokensEmbedding => $"{a.InputSize} tokens embedded in {a.EmbeddingSize} dimensions",
                _ => $"{a.InputSize} features per step",
            };
            return $"a {a.Layers}-layer {(a.Bidirectional ? "bidirectional " : "")}{a.Cell} of hidden size {a.HiddenSize} on {input} with {a.OutputSize} outputs";
        }
    }
}
