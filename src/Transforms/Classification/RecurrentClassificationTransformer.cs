using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(RecurrentClassificationTransformer), null, typeof(SignatureLoadModel),
    RecurrentClassificationTransformer.UserName, RecurrentClassificationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RecurrentClassificationTransformer), null, typeof(SignatureLoadRowMapper),
    RecurrentClassificationTransformer.UserName, RecurrentClassificationTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A trained recurrent sequence classifier: for each row's tokens, the class probabilities (Score, slot names =
    /// class names) and the most probable class (PredictedLabel, a key like the training label), as ML.NET's own
    /// multiclass trainers produce them. Scores with a managed engine (no libtorch); immutable and safe to share between threads.
    /// </summary>
    public sealed class RecurrentClassificationTransformer : RecurrentTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmClassifier";
        internal const string UserName = "MlnetLstm Recurrent Classifier";

        private readonly TokenVocabulary _vocabulary;
        private readonly ClassLabels _classes;
        private readonly string _tokenColumnName;
        private readonly SequencePooling _pooling;
        private readonly string _scoreColumnName;
        private readonly string _predictedLabelColumnName;

        internal static VersionInfo GetVersionInfo(string loaderSignature = LoaderSignature)
            => ModelFormat.Version("RNNCLASS", loaderSignature, typeof(RecurrentClassificationTransformer));

        internal RecurrentClassificationTransformer(IHost host, TrainedNetwork trained, TokenVocabulary vocabulary, ClassLabels classes,
            string tokenColumnName, SequencePooling pooling, string scoreColumnName, string predictedLabelColumnName)
            : base(host, trained)
        {
            _vocabulary = vocabulary;
            _classes = classes;
            _tokenColumnName = tokenColumnName;
            _pooling = pooling;
            _scoreColumnName = scoreColumnName;
            _predictedLabelColumnName = predictedLabelColumnName;
        }

        private protected override VersionInfo Version => GetVersionInfo();

        /// <summary>The tokens the classifier reads, indexed by token id.</summary>
        public IReadOnlyList<string> Vocabulary => _vocabulary.Tokens;

        /// <summary>What joins decoded tokens: "" for characters, " " for words (for export).</summary>
        internal string Separator => _vocabulary.Separator;

        /// <summary>The classes of the head's outputs (for export).</summary>
        internal ClassLabels Classes => _classes;

        /// <summary>How the last layer's outputs are pooled (for export).</summary>
        internal SequencePooling Pooling => _pooling;

        private static RecurrentClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => Load(env, ctx, GetVersionInfo());

        /// <summary>Reads the model written under <paramref name="version"/> (today's loader signature, or the one of format 0x00010002 and before).</summary>
        internal static RecurrentClassificationTransformer Load(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version)
            => Load(env, ctx, version, UserName, (host, source) =>
            {
                // *** Binary format ***
                // string: token column; <vocabulary: see TokenVocabulary.Save> (before format 0x00010003 without the unknown id)
                // <classes: see ClassLabels.Save>
                // int: pooling (0 last, 1 mean, 2 max); string: score column; string: predicted-label column
                // <network: see TrainedNetwork.Save>
                // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
                var reader = ctx.Reader;
                string tokenColumn = reader.ReadString();
                var (tokens, separator) = TokenVocabulary.LoadTokens(reader, source, ModelFormat.ModelEnd(ctx));
                var vocabulary = new TokenVocabulary(tokens, separator,
                    ctx.Header.ModelVerWritten >= ModelFormat.ManagedRuntimeVersion ? TokenVocabulary.LoadUnknown(reader, source, tokens.Length) : null);
                int count = tokens.Length;
                var classes = ClassLabels.Load(reader, source, ModelFormat.ModelEnd(ctx));
                var pooling = (SequencePooling)reader.ReadInt32();
                if (!Enum.IsDefined(pooling))
                    throw new FormatException($"{source}: unknown pooling {(int)pooling}; the file is corrupt.");
                string score = reader.ReadString();
                string predicted = reader.ReadString();
                var trained = TrainedNetwork.Load(ctx, source, architecture =>
                {
                    if (architecture.Input == NetworkInput.Features || architecture.InputSize != count || architecture.OutputSize != classes.Count)
                        throw new FormatException($"{source}: the network reads {architecture.InputSize} tokens and predicts {architecture.OutputSize} classes, " +
                            $"but the model lists {count} tokens and {classes.Count} classes; the file is inconsistent.");
                });
                return new RecurrentClassificationTransformer(host, trained, vocabulary, classes, tokenColumn, pooling, score, predicted);
            });

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        private protected override void SaveFields(ModelSaveContext ctx)
        {
            // *** Binary format *** (see Load)
            var writer = ctx.Writer;
            writer.Write(_tokenColumnName);
            _vocabulary.Save(writer);
            _classes.Save(writer);
            writer.Write((int)_pooling);
            writer.Write(_scoreColumnName);
            writer.Write(_predictedLabelColumnName);
            Trained.Save(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : RecurrentMapper, ISaveAsOnnx
        {
            private readonly RecurrentClassificationTransformer _parent;
            private readonly TokenColumn _column;

            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx)
            {
                var columns = GetOutputColumnsCore();
                ClassifierOnnx.Save(new MlNetOnnxGraph(ctx), _parent.Trained.Weights, _column, _parent._pooling,
                    columns[0].Name, columns[0].Type, columns[1].Name, columns[1].Type, LoaderSignature);
            }

            public Mapper(RecurrentClassificationTransformer parent, DataViewSchema inputSchema)
                : this(parent, inputSchema, TokenColumn.Bind(inputSchema, parent._tokenColumnName))
            {
            }

            private Mapper(RecurrentClassificationTransformer parent, DataViewSchema inputSchema, TokenColumn column)
                : base(parent, inputSchema, column.Column.Index)
            {
                _parent = parent;
                _column = column;
                if (!_column.Carries(parent._vocabulary))
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Token column '{_column.Name}' has a vocabulary of {_column.Tokens.Length} tokens that differs from the {parent._vocabulary.Tokens.Length} the classifier was trained on. " +
                        "Produce it with the tokenizer fitted together with the classifier (save and load the whole pipeline).");
            }

            protected override int OutputCount => 2;

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
            {
                var classes = _parent._classes;
                var scoreAnnotations = new DataViewSchema.Annotations.Builder();
                var labelAnnotations = new DataViewSchema.Annotations.Builder();
                if (classes.Names is { } names)
                {
                    ValueGetter<VBuffer<ReadOnlyMemory<char>>> getNames = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
                    {
                        var editor = VBufferEditor.Create(ref dst, names.Length);
                        for (int i = 0; i < names.Length; i++)
                            editor.Values[i] = names[i].AsMemory();
                        dst = editor.Commit();
                    };
                    scoreAnnotations.AddSlotNames(names.Length, getNames);
                    labelAnnotations.AddKeyValues(names.Length, TextDataViewType.Instance, getNames);
                }
                return new[]
                {
                    new DataViewSchema.DetachedColumn(_parent._scoreColumnName, new VectorDataViewType(NumberDataViewType.Single, classes.Count), scoreAnnotations.ToAnnotations()),
                    new DataViewSchema.DetachedColumn(_parent._predictedLabelColumnName, new KeyDataViewType(typeof(uint), classes.Count), labelAnnotations.ToAnnotations()),
                };
            }

            /// <summary>Score and PredictedLabel come from one network pass per row.</summary>
            public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var getters = new Delegate[2];
                // Without an active output the token column is not active either (GetDependenciesCore): nothing to read.
                if (!activeOutput(0) && !activeOutput(1))
                    return getters;
                var read = _column.MakeReader(input);
                var ids = new List<int>();
                var parent = _parent;
                var state = parent.Engine.CreateState();
                var probabilities = new float[parent._classes.Count];
                var cache = new RowCache<float[]>(input, () =>
                {
                    var tokens = read();
                    ids.Clear();
                    for (int i = 0; i < tokens.Count; i++)
                        ids.Add(tokens[i]);
                    parent.Engine.Encode(state, CollectionsMarshal.AsSpan(ids), parent._pooling);
                    VectorKernels.Softmax(state.Output, probabilities);
                    return probabilities;
                });
                if (activeOutput(0))
                    getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                    {
                        var values = cache.Value;
                        var editor = VBufferEditor.Create(ref dst, values.Length);
                        values.CopyTo(editor.Values);
                        dst = editor.Commit();
                    });
                if (activeOutput(1))
                    getters[1] = (ValueGetter<uint>)((ref uint dst) => dst = (uint)TokenSampler.ArgMax(cache.Value) + 1);
                return getters;
            }
        }
    }
}
