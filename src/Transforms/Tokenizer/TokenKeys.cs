using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>What a tokenizer's column needs from its vocabulary: the tokens, what joins them, and the encoding.</summary>
    internal interface ITextTokenizer
    {
        /// <summary>The tokens, indexed by id.</summary>
        IReadOnlyList<string> Tokens { get; }

        /// <summary>What joins decoded tokens.</summary>
        string Separator { get; }

        /// <summary>The token that text outside the vocabulary maps to.</summary>
        string UnknownToken { get; }

        /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>; returns how many were unknown.</summary>
        int Encode(ReadOnlySpan<char> text, List<int> ids);
    }

    /// <summary>
    /// The output column every MlnetLstm tokenizer writes: a variable-length vector of token keys (id + 1) carrying the
    /// vocabulary as key values, with the separator and unknown token as annotations (see <see cref="SequenceAnnotations"/>),
    /// which is what the recurrent trainers read (<see cref="TokenColumn"/>).
    /// </summary>
    internal static class TokenKeys
    {
        /// <summary>The ids of a whole text and the number that mapped to the unknown token.</summary>
        public static int[] Encode(ITextTokenizer tokenizer, string text, out int unknownCount)
        {
            if (text is null)
                throw new ArgumentNullException(nameof(text));
            var ids = new List<int>(text.Length);
            unknownCount = tokenizer.Encode(text.AsSpan(), ids);
            return ids.ToArray();
        }

        /// <summary>The output column of a tokenizer with this vocabulary.</summary>
        public static DataViewSchema.DetachedColumn Column(string name, ITextTokenizer tokenizer)
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            SequenceAnnotations.AddVocabulary(annotations, AnnotationUtils.Kinds.KeyValues, tokenizer.Tokens, tokenizer.Separator, tokenizer.UnknownToken);
            var type = new VectorDataViewType(new KeyDataViewType(typeof(uint), tokenizer.Tokens.Count));
            return new DataViewSchema.DetachedColumn(name, type, annotations.ToAnnotations());
        }

        /// <summary>The getter of the token keys of a text column, encoding each row once.</summary>
        public static ValueGetter<VBuffer<uint>> MakeGetter(DataViewRow input, DataViewSchema.Column text, ITextTokenizer tokenizer)
        {
            var textGetter = input.GetGetter<ReadOnlyMemory<char>>(text);
            var buffer = new List<int>();
            ReadOnlyMemory<char> value = default;
            var encoded = new RowCache<List<int>>(input, () =>
            {
                textGetter(ref value);
                buffer.Clear();
                // At most one token per character: no growth by doubling (and its transient copies) for long texts.
                buffer.EnsureCapacity(value.Length);
                tokenizer.Encode(value.Span, buffer);
                return buffer;
            });
            return (ref VBuffer<uint> dst) =>
            {
                var ids = encoded.Value;
                var editor = VBufferEditor.Create(ref dst, ids.Count);
                for (int i = 0; i < ids.Count; i++)
                    editor.Values[i] = (uint)ids[i] + 1;
                dst = editor.Commit();
            };
        }

        /// <summary>
        /// The schema after a tokenizer reading <paramref name="inputColumn"/> and writing <paramref name="outputColumn"/>,
        /// or an exception naming the input column when it is missing or not text.
        /// </summary>
        public static SchemaShape OutputSchema(SchemaShape inputSchema, string inputColumn, string outputColumn)
        {
            if (!inputSchema.TryFindColumn(inputColumn, out var column))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{inputColumn}' is not in the data. Name the text column to tokenize.");
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not TextDataViewType)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{inputColumn}' must be a text (string) column; it is {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}.");
            var result = new Dictionary<string, SchemaShape.Column>();
            foreach (var c in inputSchema)
                result[c.Name] = c;
            var annotations = new SchemaShape(new[]
            {
                new SchemaShape.Column(AnnotationUtils.Kinds.KeyValues, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false),
                new SchemaShape.Column(SequenceAnnotations.TokenSeparator, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
                new SchemaShape.Column(SequenceAnnotations.UnknownToken, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
            });
            result[outputColumn] = new SchemaShape.Column(outputColumn, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true, annotations);
            return new SchemaShape(result.Values);
        }
    }
}
