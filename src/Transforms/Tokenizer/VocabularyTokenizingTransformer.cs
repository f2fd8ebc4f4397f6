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
    public sealed class VocabularyTokenizingTransformer : TextTokenizingTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmVocabTokenizer";
        internal const string UserName = "MlnetLstm Vocabulary Tokenizer";

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("VOCBTOKN", LoaderSignature, typeof(VocabularyTokenizingTransformer));

        internal VocabularyTokenizingTransformer(IHost host, Vocabulary vocabulary, string outputColumnName, string inputColumnName)
            : base(host, outputColumnName, inputColumnName)
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

        private protected override ITextTokenizer Tokenizer => Vocabulary;

        private protected override VersionInfo EntryVersion => GetVersionInfo();

        private protected override void SaveVocabulary(System.IO.BinaryWriter writer) => Vocabulary.Save(writer);

        private protected override void SaveAsOnnx(OnnxContext ctx, DataViewSchema.DetachedColumn output)
            => TokenizerOnnx.Save(new MlNetOnnxGraph(ctx), Vocabulary, InputColumnName, output.Name, output.Type, LoaderSignature);
    }
}
