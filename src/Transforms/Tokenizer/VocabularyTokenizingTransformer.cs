using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(VocabularyTokenizingTransformer), null, typeof(SignatureLoadModel),
    VocabularyTokenizingTransformer.UserName, VocabularyTokenizingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(VocabularyTokenizingTransformer), null, typeof(SignatureLoadRowMapper),
    VocabularyTokenizingTransformer.UserName, VocabularyTokenizingTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Maps a text column to a variable-length vector of key-typed token ids (key = id + 1) using a learned
    /// <see cref="Transforms.Vocabulary"/>; the output column carries the vocabulary as ML.NET key values, so
    /// ML.NET's own key-to-value transform can map ids back. Text outside the vocabulary maps to the unknown token;
    /// nothing is dropped (<see cref="Vocabulary.Encode(string, out int)"/> counts the unknown tokens of a text).
    /// Empty text gives an empty vector. The transformer is immutable and safe to share between threads.
    /// </summary>
    public sealed class VocabularyTokenizingTransformer : OneToOneTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmVocabTokenizer";
        internal const string UserName = "MlnetLstm Vocabulary Tokenizer";

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("VOCBTOKN", LoaderSignature, typeof(VocabularyTokenizingTransformer));

        internal VocabularyTokenizingTransformer(IHost host, Vocabulary vocabulary, string outputColumnName, string inputColumnName)
            : base(host, (outputColumnName, inputColumnName))
        {
            Vocabulary = vocabulary;
        }

        private VocabularyTokenizingTransformer(IHost host, ModelLoadContext ctx, string source)
            : base(host, ctx)
        {
            // *** Binary format ***
            // <base: column names>
            // <vocabulary: see Vocabulary.Save>
            // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
            Vocabulary = Vocabulary.Load(ctx.Reader, source, ModelFormat.ModelEnd(ctx), ctx.Header.ModelVerWritten >= ModelFormat.ManagedRuntimeVersion);
        }

        /// <summary>The learned vocabulary.</summary>
        public Vocabulary Vocabulary { get; }

        /// <summary>The output column name.</summary>
        public string OutputColumnName => ColumnPairs[0].outputColumnName;

        /// <summary>The input text column name.</summary>
        public string InputColumnName => ColumnPairs[0].inputColumnName;

        private static VocabularyTokenizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            var host = MlNetVersion.Register(env, nameof(VocabularyTokenizingTransformer));
            return ModelFormat.Load(ctx, GetVersionInfo(), UserName, source =>
            {
                ModelFormat.CheckColumnCount(ctx, source, 1);
                return new VocabularyTokenizingTransformer(host, ctx, source);
            });
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

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
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            SaveColumns(ctx);
            Vocabulary.Save(ctx.Writer);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : OneToOneMapperBase, ISaveAsOnnx
        {
            private readonly VocabularyTokenizingTransformer _parent;

            // True even for what SaveAsOnnx refuses (folded words): ML.NET would otherwise drop the step without saying why.
            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx)
            {
                var output = GetOutputColumnsCore()[0];
                TokenizerOnnx.Save(new MlNetOnnxGraph(ctx), _parent.Vocabulary, _parent.InputColumnName, output.Name, output.Type, LoaderSignature);
            }

            public Mapper(VocabularyTokenizingTransformer parent, DataViewSchema inputSchema)
                : base(parent.Host.Register(nameof(Mapper)), parent, inputSchema)
            {
                _parent = parent;
            }

            /// <inheritdoc/>
            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => new[] { TokenKeys.Column(_parent.OutputColumnName, _parent.Vocabulary) };

            /// <inheritdoc/>
            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                return TokenKeys.MakeGetter(input, input.Schema[ColMapNewToOld[iinfo]], _parent.Vocabulary);
            }
        }
    }
}
