using System;
using System.Collections.Generic;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The check behind <see cref="RecurrentTrainingOptions.InitialModel"/>: the initial model's network must be the
    /// one training builds, parameter for parameter, or its weights cannot be copied in.
    /// </summary>
    internal static class InitialWeights
    {
        /// <summary>Throws an <see cref="ArgumentException"/> naming InitialModel and every difference, unless the two networks have the same parameters.</summary>
        public static void Check(RecurrentTransformerBase initial, RecurrentArchitecture architecture)
        {
            var given = initial.Trained.Architecture;
            var differences = new List<string>();
            void Compare<T>(string what, T initialValue, T trainedValue, string option)
            {
                if (!EqualityComparer<T>.Default.Equals(initialValue, trainedValue))
                    differences.Add($"{what} {initialValue} where training builds {trainedValue} ({option})");
            }
            Compare("cell", given.Cell, architecture.Cell, "option Cell");
            Compare("input", given.Input, architecture.Input, "option InputEncoding, or a model of another kind");
            Compare("input size", given.InputSize, architecture.InputSize, "the vocabulary, or FeaturesPerStep");
            Compare("embedding size", given.EmbeddingSize, architecture.EmbeddingSize, "option EmbeddingSize");
            Compare("hidden size", given.HiddenSize, architecture.HiddenSize, "option HiddenSize");
            Compare("layers", given.Layers, architecture.Layers, "option Layers");
            Compare("bidirectional", given.Bidirectional, architecture.Bidirectional, "option Bidirectional");
            Compare("outputs", given.OutputSize, architecture.OutputSize, "the vocabulary, the classes or the label's width");
            if (differences.Count > 0)
                throw new ArgumentException(
                    $"Option InitialModel is {PyTorchImporter.Describe(given)}, but these options and data make {PyTorchImporter.Describe(architecture)}: " +
                    $"{string.Join("; ", differences)}. Set the options to the initial model's network (dropout may differ), or train without InitialModel.", nameof(RecurrentTrainingOptions.InitialModel));
        }

        /// <summary>Throws unless a token model's initial model reads the same tokens, in the same order, as the training data's token column.</summary>
        public static void CheckTokens(RecurrentTransformerBase? initial, IReadOnlyList<string>? initialTokens, NetworkVocabulary vocabulary)
        {
            if (initial is null || initialTokens is null || vocabulary.Difference(initialTokens, null) is not string difference)
                return;
            throw new ArgumentException(
                $"Option InitialModel {difference}. Tokenize the training data with the initial model's own tokenizer (the first transformer of an imported or loaded pipeline).",
                nameof(RecurrentTrainingOptions.InitialModel));
        }
    }
}
