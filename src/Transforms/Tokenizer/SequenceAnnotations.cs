using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>Names of the annotations MlnetLstm puts on token-sequence columns, besides ML.NET's own <c>KeyValues</c>.</summary>
    public static class SequenceAnnotations
    {
        /// <summary>Text, on token-id and one-hot columns: what joins decoded tokens ("" for characters, " " for words).</summary>
        public const string TokenSeparator = "TokenSeparator";

        /// <summary>Text, on token-id and one-hot columns: the token that text outside the vocabulary maps to (absent when there is none).</summary>
        public const string UnknownToken = "UnknownToken";

        /// <summary>Vector of text, on one-hot sequence columns: the token of each one-hot index (a one-hot column is not key-typed, so it cannot carry KeyValues).</summary>
        public const string TokenVocabulary = "TokenVocabulary";

        /// <summary>Adds the token list (under <paramref name="kind"/>), the separator and the unknown token to an annotation builder.</summary>
        internal static void AddVocabulary(DataViewSchema.Annotations.Builder builder, string kind, IReadOnlyList<string> tokens, string separator, string? unknownToken)
        {
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> tokensGetter = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            {
                var editor = VBufferEditor.Create(ref dst, tokens.Count);
                for (int i = 0; i < tokens.Count; i++)
                    editor.Values[i] = tokens[i].AsMemory();
                dst = editor.Commit();
            };
            builder.Add(kind, new VectorDataViewType(TextDataViewType.Instance, tokens.Count), tokensGetter);
            ValueGetter<ReadOnlyMemory<char>> separatorGetter = (ref ReadOnlyMemory<char> dst) => dst = separator.AsMemory();
            builder.Add(TokenSeparator, TextDataViewType.Instance, separatorGetter);
            if (unknownToken is not null)
            {
                ValueGetter<ReadOnlyMemory<char>> unknownGetter = (ref ReadOnlyMemory<char> dst) => dst = unknownToken.AsMemory();
                builder.Add(UnknownToken, TextDataViewType.Instance, unknownGetter);
            }
        }

        /// <summary>
        /// Reads the vocabulary of a token column: key values (token-id columns) or <see cref="TokenVocabulary"/>
        /// (one-hot columns), the separator (default "" when absent) and the unknown token (null when absent).
        /// Returns null when the column carries no vocabulary.
        /// </summary>
        internal static (string[] Tokens, string Separator, string? UnknownToken)? ReadVocabulary(DataViewSchema.Column column)
        {
            var kind = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues) is not null
                ? AnnotationUtils.Kinds.KeyValues
                : column.Annotations.Schema.GetColumnOrNull(TokenVocabulary) is not null ? TokenVocabulary : null;
            if (kind is null || column.Annotations.Schema[kind].Type is not VectorDataViewType { ItemType: TextDataViewType })
                return null;
            VBuffer<ReadOnlyMemory<char>> values = default;
            column.Annotations.GetValue(kind, ref values);
            var tokens = new string[values.Length];
            int i = 0;
            foreach (var value in values.DenseValues())
                tokens[i++] = value.ToString();
            return (tokens, ReadText(column, TokenSeparator) ?? "", ReadText(column, UnknownToken));
        }

        private static string? ReadText(DataViewSchema.Column column, string kind)
        {
            if (column.Annotations.Schema.GetColumnOrNull(kind) is not { Type: TextDataViewType })
                return null;
            ReadOnlyMemory<char> text = default;
            column.Annotations.GetValue(kind, ref text);
            return text.ToString();
        }
    }
}
