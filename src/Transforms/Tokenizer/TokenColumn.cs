using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.Transforms;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A token column as a language model reads it: key-typed token ids (from TokenizeWithCharacterVocabulary) or a sparse
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
                        "TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary (with its KeyValues), or the one-hot sequence of OneHotEncodeSequence.");
            }
        }

        /// <summary>Whether the column carries this vocabulary (see <see cref="TokenVocabulary.SameTokens"/>).</summary>
        public bool Carries(TokenVocabulary vocabulary) => Vocabulary.SameTokens(vocabulary);

        /// <summary>Whether the column carries a language model's vocabulary.</summary>
        public bool Carries(LanguageModelVocabulary vocabulary) => Carries(vocabulary.Vocabulary);

        /// <summary>Whether two columns carry the same vocabulary.</summary>
        public bool Carries(TokenColumn other) => Carries(other.Vocabulary);

        /// <summary>
        /// A reader of the current row's token ids, checked. A key column is read in place: the ids are a view of
        /// the key vector (id = key − 1), so a long text costs no copy of its tokens; a one-hot column is decoded into
        /// a list. The returned ids are valid until the next call.
        /// </summary>
        public Func<IReadOnlyList<int>> MakeReader(DataViewRow row)
        {
            int vocabularySize = Tokens.Length;
            string name = Name;
            if (!IsOneHot)
            {
                var getter = row.GetGetter<VBuffer<uint>>(Column);
                var view = new KeyIds();
                return () =>
                {
                    getter(ref view.Keys);
                    var keys = view.Keys.GetValues();
                    if (!view.Keys.IsDense)
                    {
                        // A sparse key vector leaves some keys implicit, and an implicit key is 0 (missing): name the first.
                        var indices = view.Keys.GetIndices();
                        int first = 0;
                        while (first < indices.Length && indices[first] == first)
                            first++;
                        throw MissingOrOutOfRange(name, 0, first, vocabularySize);
                    }
                    for (int t = 0; t < keys.Length; t++)
                        if (keys[t] == 0 || keys[t] > vocabularySize)
                            throw MissingOrOutOfRange(name, keys[t], t, vocabularySize);
                    return view;
                };
            }

            var oneHotGetter = row.GetGetter<VBuffer<float>>(Column);
            VBuffer<float> oneHot = default;
            var ids = new List<int>();
            return () =>
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
                return ids;
            };
        }

        private static InvalidOperationException MissingOrOutOfRange(string column, uint key, int position, int vocabularySize)
            => new($"Token column '{column}' holds {(key == 0 ? "a missing key" : $"key {key}")} at position {position}; token keys run from 1 to {vocabularySize}.");

        /// <summary>A dense key vector read as 0-based token ids, without copying it.</summary>
        private sealed class KeyIds : IReadOnlyList<int>
        {
            /// <summary>The row's keys; the getter fills it in place.</summary>
            public VBuffer<uint> Keys;

            public int Count => Keys.Length;

            public int this[int index] => (int)Keys.GetValues()[index] - 1;

            public IEnumerator<int> GetEnumerator()
            {
                for (int i = 0; i < Keys.Length; i++)
                    yield return this[i];
            }

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }
    }
}
