using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(BpeTokenizingTransformer), null, typeof(SignatureLoadModel),
    BpeTokenizingTransformer.UserName, BpeTokenizingTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(BpeTokenizingTransformer), null, typeof(SignatureLoadRowMapper),
    BpeTokenizingTransformer.UserName, BpeTokenizingTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Maps a text column to a variable-length vector of key-typed subword token ids (key = id + 1) with a learned
    /// <see cref="BpeVocabulary"/>; the output column carries the vocabulary as ML.NET key values and the empty
    /// separator, so the tokens' text concatenated is the text. Characters outside the vocabulary map to the unknown
    /// token; nothing is dropped. Its model entry holds the whole vocabulary and merges, so a scoring app needs no other
    /// file. The transformer is immutable and safe to share between threads.
    /// </summary>
    public sealed class BpeTokenizingTransformer : TextTokenizingTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmBpeTokenizer";
        internal const string UserName = "MlnetLstm BPE Tokenizer";

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("BPETOKEN", LoaderSignature, typeof(BpeTokenizingTransformer));

        internal BpeTokenizingTransformer(IHost host, BpeVocabulary vocabulary, string outputColumnName, string inputColumnName)
            : base(host, outputColumnName, inputColumnName)
        {
            Vocabulary = vocabulary;
        }

        private BpeTokenizingTransformer(IHost host, ModelLoadContext ctx, string source)
            : base(host, ctx)
        {
            // *** Binary format ***
            // <base: column names>
            // <vocabulary: see BpeVocabulary.Save>
            // 32 bytes: SHA-256 of the bytes above (see ModelFormat)
            Vocabulary = BpeVocabulary.Load(ctx.Reader, source, ModelFormat.ModelEnd(ctx));
        }

        /// <summary>The learned vocabulary, with its Microsoft.ML.Tokenizers tokenizer.</summary>
        public BpeVocabulary Vocabulary { get; }

        private static BpeTokenizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            var host = MlNetVersion.Register(env, nameof(BpeTokenizingTransformer));
            return ModelFormat.Load(ctx, GetVersionInfo(), UserName, source =>
            {
                if (!ModelFormat.HasChecksum(ctx))
                    throw new FormatException($"{source} has no checksum, which every BPE tokenizer entry has; the file is corrupt. Re-save the model, or retrain it.");
                ModelFormat.CheckColumnCount(ctx, source, 1);
                return new BpeTokenizingTransformer(host, ctx, source);
            });
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        private protected override ITextTokenizer Tokenizer => Vocabulary;

        private protected override VersionInfo EntryVersion => GetVersionInfo();

        private protected override void SaveVocabulary(System.IO.BinaryWriter writer) => Vocabulary.Save(writer);

        private protected override void SaveAsOnnx(OnnxContext ctx, DataViewSchema.DetachedColumn output)
            => throw new NotSupportedException(
                $"{LoaderSignature} on column '{InputColumnName}' splits text into learned subwords, which no ONNX operator does (ONNX Runtime's " +
                "com.microsoft Tokenizer splits characters or separators only). Feed the graph token ids instead: export the language model with " +
                "ExportOnnxGenerator and tokenize in the app with the transformer's Vocabulary.Tokenizer (a Microsoft.ML.Tokenizers BpeTokenizer), " +
                "or train on TokenizeWithCharacterVocabulary, which exports whole.");
    }
}
