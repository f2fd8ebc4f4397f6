using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Learns a character (or word) vocabulary from a text column and maps text to a variable-length vector of
    /// key-typed token ids, with the vocabulary attached as the column's key values. Enter it through
    /// <see cref="SequenceTransformsCatalog.TokenizeWithCharacterVocabulary(TransformsCatalog.TextTransforms, string, string?, int, int, bool)"/>.
    /// </summary>
    public sealed class VocabularyTokenizingEstimator : IEstimator<VocabularyTokenizingTransformer>
    {
        /// <summary>Options of <see cref="VocabularyTokenizingEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The output column: a variable-length vector of keys (token id + 1). Required.</summary>
            public string OutputColumnName { get; set; } = "Tokens";

            /// <summary>The input text column. Defaults to <see cref="OutputColumnName"/>.</summary>
            public string? InputColumnName { get; set; }

            /// <summary>Whether a token is a character (a Unicode scalar value) or a white-space separated word. Default: character.</summary>
            public TokenizerLevel Level { get; set; } = TokenizerLevel.Character;

            /// <summary>Tokens seen fewer times than this in the training data are left out (they map to the unknown token). Default 1; at least 1.</summary>
            public int MinimumCount { get; set; } = 1;

            /// <summary>
            /// The largest vocabulary, reserved tokens included; the most frequent tokens are kept, ties broken by ordinal
            /// order of the token text. Default <see cref="Vocabulary.MaximumSize"/>; must exceed the number of reserved tokens.
            /// </summary>
            public int MaximumVocabularySize { get; set; } = Vocabulary.MaximumSize;

            /// <summary>Whether text is lower-cased (invariant culture) before counting and lookup. Default false.</summary>
            public bool CaseFolding { get; set; }

            /// <summary>
            /// Tokens that take the first ids, in this order, whether or not they occur in the text; they must be distinct
            /// and non-empty and include <see cref="UnknownToken"/>. Default <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c>
            /// (end of text, which the language-model trainer puts between documents); add <c>&lt;pad&gt;</c> or
            /// <c>&lt;bos&gt;</c> where a model needs them. In word mode a word equal to a reserved token maps to it.
            /// </summary>
            public IReadOnlyList<string> ReservedTokens { get; set; } = new[] { "<unk>", "<eos>" };

            /// <summary>The reserved token that unseen text maps to. Default <c>&lt;unk&gt;</c>.</summary>
            public string UnknownToken { get; set; } = "<unk>";
        }

        private readonly IHost _host;
        private readonly Options _options;

        internal VocabularyTokenizingEstimator(IHostEnvironment env, Options options)
        {
            _host = MlNetVersion.Register(env, nameof(VocabularyTokenizingEstimator));
            _options = Validate(options);
        }

        private static Options Validate(Options options)
        {
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            CheckColumns(options.OutputColumnName, options.InputColumnName);
            if (!Enum.IsDefined(options.Level))
                throw new ArgumentOutOfRangeException(nameof(options), $"Level {(int)options.Level} is not a TokenizerLevel: use Character or Word.");
            if (options.MinimumCount < 1)
                throw new ArgumentOutOfRangeException(nameof(options), $"MinimumCount is {options.MinimumCount}: it must be at least 1 (1 keeps every token seen).");
            var reserved = CheckReservedTokens(options.ReservedTokens, options.UnknownToken, options.Level == TokenizerLevel.Word);
            if (options.MaximumVocabularySize <= reserved.Count || options.MaximumVocabularySize > Vocabulary.MaximumSize)
                throw new ArgumentOutOfRangeException(nameof(options),
                    $"MaximumVocabularySize is {options.MaximumVocabularySize}: it counts the {reserved.Count} reserved tokens, so it must be from {reserved.Count + 1} to {Vocabulary.MaximumSize}.");
            return options;
        }

        /// <summary>Checks a tokenizer's column options, or throws naming the option.</summary>
        internal static void CheckColumns(string outputColumnName, string? inputColumnName)
        {
            if (string.IsNullOrWhiteSpace(outputColumnName))
                throw new ArgumentException("OutputColumnName must name the output column.", "options");
            if (inputColumnName is not null && inputColumnName.Length == 0)
                throw new ArgumentException("InputColumnName must name the input text column, or be null to use OutputColumnName.", "options");
        }

        /// <summary>Checks a tokenizer's ReservedTokens and UnknownToken options, or throws naming the option; <paramref name="words"/> forbids white space in them.</summary>
        internal static IReadOnlyList<string> CheckReservedTokens(IReadOnlyList<string>? reserved, string unknownToken, bool words)
        {
            if (reserved is null)
                throw new ArgumentNullException("options", "ReservedTokens must not be null; it must at least contain UnknownToken.");
            if (reserved.Any(string.IsNullOrEmpty))
                throw new ArgumentException("ReservedTokens contains an empty token; reserved tokens must be non-empty text such as \"<eos>\".", "options");
            // A lone surrogate reads as U+FFFD, so it shows as more replacement characters read than written.
            static bool HasLoneSurrogate(string t) => t.EnumerateRunes().Count(r => r == Rune.ReplacementChar) != t.Count(c => c == '\uFFFD');
            if (reserved.FirstOrDefault(HasLoneSurrogate) is { } invalid)
                throw new ArgumentException($"Reserved token '{invalid}' contains invalid UTF-16 (a lone surrogate), which would not survive saving; use valid text.", "options");
            if (words && reserved.FirstOrDefault(t => t.Any(char.IsWhiteSpace)) is { } spaced)
                throw new ArgumentException($"Reserved token '{spaced}' contains white space, so in word mode no word can ever equal it; use a token without spaces, such as \"<eos>\".", "options");
            if (reserved.Distinct(StringComparer.Ordinal).Count() != reserved.Count)
                throw new ArgumentException($"ReservedTokens contains a token twice: {string.Join(", ", reserved)}. List each once.", "options");
            if (string.IsNullOrEmpty(unknownToken) || !reserved.Contains(unknownToken, StringComparer.Ordinal))
                throw new ArgumentException($"UnknownToken '{unknownToken}' must be one of ReservedTokens ({string.Join(", ", reserved)}): unseen text maps to it.", "options");
            return reserved;
        }

        /// <summary>
        /// The tokens seen at least <paramref name="minimumCount"/> times that are not reserved, the most frequent first
        /// (ties in ordinal order), at most <paramref name="take"/>; or an exception naming the column when there is none.
        /// </summary>
        internal static List<string> MostFrequent(IReadOnlyDictionary<string, long> counts, IReadOnlyList<string> reserved, int minimumCount, int take, string column, string what)
        {
            var learned = counts
                .Where(kv => kv.Value >= minimumCount && !reserved.Contains(kv.Key, StringComparer.Ordinal))
                .OrderByDescending(kv => kv.Value)
                .ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Take(take)
                .Select(kv => kv.Key)
                .ToList();
            if (learned.Count == 0)
                throw new InvalidOperationException(counts.Count == 0
                    ? $"Input column '{column}' holds no text to learn a vocabulary from (every row is empty or the data has no rows). Fit on data with text in that column."
                    : $"No {what} of column '{column}' is seen at least MinimumCount = {minimumCount} times; lower MinimumCount.");
            return learned;
        }

        private string InputColumn => _options.InputColumnName ?? _options.OutputColumnName;

        /// <summary>Learns the vocabulary from the input column of <paramref name="input"/>.</summary>
        /// <exception cref="InvalidOperationException">The column holds no token to learn from.</exception>
        public VocabularyTokenizingTransformer Fit(IDataView input)
        {
            _host.CheckValue(input, nameof(input));
            var column = input.Schema[TextTokenizingTransformerBase.FindTextColumn(input.Schema, InputColumn)];
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
            var scratch = new char[16];
            using (var cursor = input.GetRowCursor(new[] { column }))
            {
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> text = default;
                while (cursor.MoveNext())
                {
                    getter(ref text);
                    foreach (var token in new TokenEnumerator(text.Span, _options.Level, _options.CaseFolding, scratch))
                    {
                        lookup.TryGetValue(token, out long count);
                        lookup[token] = count + 1;
                    }
                }
            }

            var reserved = _options.ReservedTokens;
            var learned = MostFrequent(counts, reserved, _options.MinimumCount, _options.MaximumVocabularySize - reserved.Count, InputColumn, "token");

            var vocabulary = new Vocabulary(_options.Level, _options.CaseFolding, reserved.Concat(learned).ToList(), reserved.ToList().IndexOf(_options.UnknownToken), reserved.Count);
            return new VocabularyTokenizingTransformer(_host, vocabulary, _options.OutputColumnName, InputColumn);
        }

        /// <summary>Checks the input schema and returns the schema after the transform.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            _host.CheckValue(inputSchema, nameof(inputSchema));
            return TokenKeys.OutputSchema(inputSchema, InputColumn, _options.OutputColumnName);
        }
    }
}
