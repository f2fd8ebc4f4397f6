using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.Transforms;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A token column as a language model reads it: key-typed token ids (from TokenizeWithCharacterVocabulary, TokenizeWithWordVocabulary or TokenizeWithLearnedBpe) or a sparse
    /// one-hot sequence (from OneHotEncodeSequence), with the vocabulary from its annotations. Reading a row gives
    /// 0-based token ids; anything that is not a clean token sequence is an error that names the column.
    /// </summary>
    internal sealed class TokenColumn
    {
        private TokenColumn(DataViewSchema.Column column, bool isOneHot, (string[] Tokens, string Separator, string? UnknownToken) vocabulary)
        {
            Column = column;
            IsOneHot = isOneHot;
            int unknown = vocabulary.UnknownToken is null ? -1 : Array.IndexOf(vocabulary.Tokens, vocabulary.UnknownToken);
            Vocabulary = new TokenVocabulary(vocabulary.Tokens, vocabulary.Separator, unknown < 0 ? null : unknown);
        }

        public DataViewSchema.Column Column { get; }

        public bool IsOneHot { get; }

        /// <summary>The column's vocabulary, from its annotations (the unknown token when the tokenizer says).</summary>
        public TokenVocabulary Vocabulary { get; }

        public string[] Tokens => Vocabulary.Tokens;

        public string Separator => Vocabulary.Separator;

        public string Name => Column.Name;

        /// <summary>Finds and checks the column, or throws an exception that says what it must be.</summary>
        public static TokenColumn Bind(DataViewSchema schema, string name)
        {
            var column = schema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(schema),
                    $"Token column '{name}' is not in the data. Tokenize the text first (mlContext.Transforms.Text.TokenizeWithCharacterVocabulary(\"{name}\", \"Text\")) or set TokenColumnName.");
            var vocabulary = SequenceAnnotations.ReadVocabulary(column);
            switch (column.Type)
            {
                case VectorDataViewType { ItemType: KeyDataViewType key } when vocabulary is { } v && (ulong)v.Tokens.Length == key.Count:
                    return new TokenColumn(column, false, v);
                case VectorDataViewType { ItemType: NumberDataViewType n } when n == NumberDataViewType.Single && vocabulary is { } v
                    && column.Annotations.Schema.GetColumnOrNull(SequenceAnnotations.TokenVocabulary) is not null:
                    return new TokenColumn(column, true, v);
                default:
                    throw new ArgumentOutOfRangeException(nameof(schema),
                        $"Token column '{name}' is {column.Type}{(vocabulary is null ? " without a vocabulary annotation" : "")}; a language model needs the key vector of " +
                        "TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary/TokenizeWithLearnedBpe (with its KeyValues), or the one-hot sequence of OneHotEncodeSequence.");
            }
        }

        /// <summary>Whether the column carries this vocabulary (see <see cref="TokenVocabulary.SameTokens"/>).</summary>
        public bool Carries(TokenVocabulary vocabulary) => Vocabulary.SameTokens(vocabulary);

        /// <summary>Whether the column carries a language model's vocabulary.</summary>
        public bool Carries(LanguageModelVocabulary vocabulary) => Carries(vocabulary.Vocabulary);

        /// <summary>Whether two columns carry the same vocabulary.</summary>
        public bool Carries(TokenColumn other) => Carries(other.Vocabulary);

        /// <summary>A reader that fills a list with the current row's token ids.</summary>
        public Action<List<int>> MakeReader(DataViewRow row)
        {
            int vocabularySize = Tokens.Length;
            string name = Name;
            if (!IsOneHot)
            {
                var getter = row.GetGetter<VBuffer<uint>>(Column);
                VBuffer<uint> keys = default;
                return ids =>
                {
                    getter(ref keys);
                    ids.Clear();
                    ids.EnsureCapacity(keys.Length);
                    int t = 0;
                    foreach (var key in keys.DenseValues())
                    {
                        if (key == 0 || key > vocabularySize)
                            throw new InvalidOperationException($"Token column '{name}' holds {(key == 0 ? "a missing key" : $"key {key}")} at position {t}; token keys run from 1 to {vocabularySize}.");
                        ids.Add((int)key - 1);
                        t++;
                    }
                };
            }

            var oneHotGetter = row.GetGetter<VBuffer<float>>(Column);
            VBuffer<float> oneHot = default;
            return ids =>
            {
                oneHotGetter(ref oneHot);
                ids.Clear();
                if (oneHot.Length % vocabularySize != 0)
                    throw new InvalidOperationException($"One-hot column '{name}' has length {oneHot.Length}, not a multiple of the vocabulary size {vocabularySize}.");
                foreach (var (index, value) in oneHot.Items())
                {
                    if (value == 0)
                        continue;
                    int position = index / vocabularySize;
                    if (value != 1 || position != ids.Count)
                        throw new InvalidOperationException(value != 1
                            ? $"One-hot column '{name}' holds {value} at index {index}; a one-hot sequence holds only 0 and 1."
                            : $"One-hot column '{name}' has {(position < ids.Count ? "two tokens" : "no token")} at position {Math.Min(position, ids.Count)}; each position up to the sequence's end must hold exactly one token.");
                    ids.Add(index % vocabularySize);
                }
            };
        }
    }
}
