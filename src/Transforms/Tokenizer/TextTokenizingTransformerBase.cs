using System;
using System.IO;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// What MlnetLstm's text tokenizers share: one text column in, one column of token keys out (the column the
    /// recurrent trainers read), and a model entry of the column names, the vocabulary and a checksum. The tokenizers
    /// differ in their vocabulary and in how they export to ONNX.
    /// </summary>
    public abstract class TextTokenizingTransformerBase : OneToOneTransformerBase
    {
        private protected TextTokenizingTransformerBase(IHost host, string outputColumnName, string inputColumnName)
            : base(host, (outputColumnName, inputColumnName))
        {
        }

        private protected TextTokenizingTransformerBase(IHost host, ModelLoadContext ctx)
            : base(host, ctx)
        {
        }

        /// <summary>The output column name.</summary>
        public string OutputColumnName => ColumnPairs[0].outputColumnName;

        /// <summary>The input text column name.</summary>
        public string InputColumnName => ColumnPairs[0].inputColumnName;

        /// <summary>The vocabulary that encodes the text.</summary>
        private protected abstract ITextTokenizer Tokenizer { get; }

        /// <summary>The version of this tokenizer's model entry.</summary>
        private protected abstract VersionInfo EntryVersion { get; }

        /// <summary>Writes the vocabulary into the model entry, after the column names.</summary>
        private protected abstract void SaveVocabulary(BinaryWriter writer);

        /// <summary>Writes the tokenizer into an ONNX graph, or throws naming the way out where ONNX cannot tokenize as it does.</summary>
        private protected abstract void SaveAsOnnx(OnnxContext ctx, DataViewSchema.DetachedColumn output);

        /// <summary>Finds a text column by name, or throws an exception that names it and says what it must be.</summary>
        internal static int FindTextColumn(DataViewSchema schema, string name)
        {
            var column = schema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{name}' is not in the data. Name the text column to tokenize.");
            if (column.Type is not TextDataViewType)
                throw new ArgumentOutOfRangeException(nameof(schema), $"Input column '{name}' must be a text (string) column; it is {column.Type}.");
            return column.Index;
        }

        /// <inheritdoc/>
        protected override void CheckInputColumn(DataViewSchema inputSchema, int col, int srcCol)
            => FindTextColumn(inputSchema, inputSchema[srcCol].Name);

        /// <inheritdoc/>
        protected override void SaveModel(ModelSaveContext ctx)
        {
            // *** Binary format ***
            // <base: column names>
            // <vocabulary: see the tokenizer's SaveVocabulary>
            // 32 bytes: SHA-256 of the bytes above (see ModelFormat)
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(EntryVersion);
            SaveColumns(ctx);
            SaveVocabulary(ctx.Writer);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : OneToOneMapperBase, ISaveAsOnnx
        {
            private readonly TextTokenizingTransformerBase _parent;

            public Mapper(TextTokenizingTransformerBase parent, DataViewSchema inputSchema)
                : base(parent.Host.Register(nameof(Mapper)), parent, inputSchema)
            {
                _parent = parent;
            }

            // True even for what SaveAsOnnx refuses: ML.NET would otherwise drop the step without saying why.
            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx) => _parent.SaveAsOnnx(ctx, GetOutputColumnsCore()[0]);

            /// <inheritdoc/>
            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => new[] { TokenKeys.Column(_parent.OutputColumnName, _parent.Tokenizer) };

            /// <inheritdoc/>
            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                return TokenKeys.MakeGetter(input, input.Schema[ColMapNewToOld[iinfo]], _parent.Tokenizer);
            }
        }
    }
}
