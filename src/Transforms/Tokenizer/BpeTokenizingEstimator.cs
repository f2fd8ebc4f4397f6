using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Learns a byte-pair-encoding vocabulary of subword tokens from a text column (<see cref="BpeVocabulary"/>, with
    /// the Microsoft.ML.Tokenizers <see cref="Microsoft.ML.Tokenizers.BpeTokenizer"/> that applies it) and maps text to
    /// a variable-length vector of key-typed token ids, with the vocabulary attached as the column's key values, as the
    /// character and word tokenizers do: the recurrent language model, classifier and regressor read it the same way.
    /// Enter it through <see cref="SequenceTransformsCatalog.TokenizeWithLearnedBpe(TransformsCatalog.TextTransforms, string, string?, int, int)"/>.
    /// </summary>
    public sealed class BpeTokenizingEstimator : IEstimator<BpeTokenizingTransformer>
    {
        /// <summary>Options of <see cref="BpeTokenizingEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The output column: a variable-length vector of keys (token id + 1). Required.</summary>
            public string OutputColumnName { get; set; } = "Tokens";

            /// <summary>The input text column. Defaults to <see cref="OutputColumnName"/>.</summary>
            public string? InputColumnName { get; set; }

            /// <summary>
            /// The vocabulary size, reserved tokens included: the characters of the data (the most frequent, if there are
            /// more), then merged subwords until the size is reached. Fitting fails when the data has too few pairs seen
            /// <see cref="MinimumCount"/> times to reach it. Default 1,000; from the number of reserved tokens + 1 to
            /// <see cref="Vocabulary.MaximumSize"/>.
            /// </summary>
            public int VocabularySize { get; set; } = 1000;

            /// <summary>
            /// Characters seen fewer times than this in the training data are left out (they map to the unknown token),
            /// and pairs seen fewer times are not merged. Default 1; at least 1.
            /// </summary>
            public int MinimumCount { get; set; } = 1;

            /// <summary>
            /// Tokens that take the first ids, in this order; they must be distinct and non-empty and include
            /// <see cref="UnknownToken"/>. Default <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c> (end of text, which the
            /// language-model trainer puts between documents). Text never maps to a reserved token but the unknown one.
            /// </summary>
            public IReadOnlyList<string> ReservedTokens { get; set; } = new[] { "<unk>", "<eos>" };

            /// <summary>The reserved token that unseen characters map to. Default <c>&lt;unk&gt;</c>.</summary>
            public string UnknownToken { get; set; } = "<unk>";
        }

        private readonly IHost _host;
        private readonly Options _options;

        internal BpeTokenizingEstimator(IHostEnvironment env, Options options)
        {
            _host = MlNetVersion.Register(env, nameof(BpeTokenizingEstimator));
            _options = Validate(options);
        }

        private static Options Validate(Options options)
        {
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            VocabularyTokenizingEstimator.CheckColumns(options.OutputColumnName, options.InputColumnName);
            if (options.MinimumCount < 1)
                throw new ArgumentOutOfRangeException(nameof(options), $"MinimumCount is {options.MinimumCount}: it must be at least 1 (1 keeps every character and pair seen).");
            var reserved = VocabularyTokenizingEstimator.CheckReservedTokens(options.ReservedTokens, options.UnknownToken, words: false);
            if (options.VocabularySize <= reserved.Count || options.VocabularySize > Vocabulary.MaximumSize)
                throw new ArgumentOutOfRangeException(nameof(options),
                    $"VocabularySize is {options.VocabularySize}: it counts the {reserved.Count} reserved tokens, so it must be from {reserved.Count + 1} to {Vocabulary.MaximumSize}.");
            return options;
        }

        private string InputColumn => _options.InputColumnName ?? _options.OutputColumnName;

        /// <summary>Learns the vocabulary from the input column of <paramref name="input"/>.</summary>
        /// <exception cref="InvalidOperationException">The column holds no text, or too little for <see cref="Options.VocabularySize"/>.</exception>
        public BpeTokenizingTransformer Fit(IDataView input)
        {
            _host.CheckValue(input, nameof(input));
            var column = input.Schema[TextTokenizingTransformerBase.FindTextColumn(input.Schema, InputColumn)];
            var pieces = new Dictionary<string, long>(StringComparer.Ordinal);
            var lookup = pieces.GetAlternateLookup<ReadOnlySpan<char>>();
            using (var cursor = input.GetRowCursor(new[] { column }))
            {
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> text = default;
                while (cursor.MoveNext())
                {
                    getter(ref text);
                    foreach (var match in BpeVocabulary.Pieces.EnumerateMatches(text.Span))
                    {
                        var piece = text.Span.Slice(match.Index, match.Length);
                        lookup.TryGetValue(piece, out long count);
                        lookup[piece] = count + 1;
                    }
                }
            }
            var vocabulary = BpeLearner.Learn(pieces, _options.ReservedTokens, _options.UnknownToken, _options.VocabularySize, _options.MinimumCount, InputColumn);
            return new BpeTokenizingTransformer(_host, vocabulary, _options.OutputColumnName, InputColumn);
        }

        /// <summary>Checks the input schema and returns the schema after the transform.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            _host.CheckValue(inputSchema, nameof(inputSchema));
            return TokenKeys.OutputSchema(inputSchema, InputColumn, _options.OutputColumnName);
        }
    }
}
