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

        /// <summary>Vector of text, on one-hot sequence columns: the token of each one-hot index (a one-hot column is not key-typed, so it cannot carry KeyValues).</summary>
        public const string TokenVocabulary = "TokenVocabulary";

        /// <summary>Adds the token list (under <paramref name="kind"/>) and the separator to an annotation builder.</summary>
        internal static void AddVocabulary(DataViewSchema.Annotations.Builder builder, string kind, IReadOnlyList<string> tokens, string separator)
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
        }

        /// <summary>
        /// Reads the vocabulary of a token column: key values (token-id columns) or <see cref="TokenVocabulary"/>
        /// (one-hot columns), and the separator (default "" when absent). Returns null when the column carries none.
        /// </summary>
        internal static (string[] Tokens, string Separator)? ReadVocabulary(DataViewSchema.Column column)
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
            string separator = "";
            if (column.Annotations.Schema.GetColumnOrNull(TokenSeparator) is { Type: TextDataViewType })
            {
                ReadOnlyMemory<char> text = default;
                column.Annotations.GetValue(TokenSeparator, ref text);
                separator = text.ToString();
            }
            return (tokens, separator);
        }
    }
}
