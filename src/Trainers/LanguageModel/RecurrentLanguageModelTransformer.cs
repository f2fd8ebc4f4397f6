using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(RecurrentLanguageModelTransformer), null, typeof(SignatureLoadModel),
    RecurrentLanguageModelTransformer.UserName, RecurrentLanguageModelTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RecurrentLanguageModelTransformer), null, typeof(SignatureLoadRowMapper),
    RecurrentLanguageModelTransformer.UserName, RecurrentLanguageModelTransformer.LoaderSignature)]

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A trained recurrent language model. For each row's tokens (the text, read as a prefix) it produces, in the
    /// columns named by the options: a generated continuation, the next-token probabilities (slot names = the
    /// vocabulary), and the log-likelihood, perplexity and bits per token of the text. Immutable and safe to score
    /// from many threads (each PredictionEngine, as always in ML.NET, belongs to one thread).
    /// </summary>
    public sealed class RecurrentLanguageModelTransformer : RowToRowTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmRecurrentLM";
        internal const string UserName = "MlnetLstm Recurrent Language Model";

        private readonly TrainedNetwork _trained;
        private readonly LanguageModelVocabulary _vocabulary;
        private readonly string _tokenColumnName;
        private readonly string?[] _outputColumnNames;

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("RNNLANGM", LoaderSignature, typeof(RecurrentLanguageModelTransformer));

        internal RecurrentLanguageModelTransformer(IHost host, TrainedNetwork trained, LanguageModelVocabulary vocabulary, string tokenColumnName,
            string?[] outputColumnNames, GenerationOptions generation)
            : base(host)
        {
            _trained = trained;
            _vocabulary = vocabulary;
            _tokenColumnName = tokenColumnName;
            _outputColumnNames = outputColumnNames;
            Generation = generation.Validated();
        }

        private RecurrentNetwork Network => _trained.Network;

        /// <summary>Per-epoch metrics of the training run (saved with the model).</summary>
        public IReadOnlyList<EpochMetrics> TrainingHistory => _trained.History;

        /// <summary>How this model generates.</summary>
        public GenerationOptions Generation { get; }

        /// <summary>The tokens the model predicts, indexed by token id.</summary>
        public IReadOnlyList<string> Vocabulary => _vocabulary.Tokens;

        /// <summary>The input token column.</summary>
        public string TokenColumnName => _tokenColumnName;

        /// <summary>The number of trained parameters.</summary>
        public long ParameterCount => Network.Architecture.ParameterCount;

        /// <summary>
        /// The same model with other generation settings (no retraining; the weights are shared). The stop token must
        /// be in the vocabulary.
        /// </summary>
        public RecurrentLanguageModelTransformer WithGeneration(GenerationOptions generation)
        {
            if (generation is null)
                throw new ArgumentNullException(nameof(generation));
            if (generation.StopToken is string stop && !_vocabulary.Tokens.Contains(stop))
                throw new ArgumentOutOfRangeException(nameof(generation), $"Generation option StopToken '{stop}' is not in the model's vocabulary; use one of its tokens or null.");
            return new RecurrentLanguageModelTransformer(Host, _trained, _vocabulary, _tokenColumnName, _outputColumnNames, generation);
        }

        private static RecurrentLanguageModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            var host = MlNetVersion.Register(env, nameof(RecurrentLanguageModelTransformer));
            return ModelFormat.Load(ctx, GetVersionInfo(), UserName, source => Load(host, ctx, source));
        }

        // *** Binary format ***
        // string: token column name
        // 5 × { byte: present; string: name (if present) }: generated, next-token probabilities, log-likelihood, perplexity, bits per token
        // <vocabulary: see LanguageModelVocabulary.Save>
        // <generation options: see GenerationOptions.Save>
        // <network: see TrainedNetwork.Save>
        // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
        private static RecurrentLanguageModelTransformer Load(IHost host, ModelLoadContext ctx, string source)
        {
            var reader = ctx.Reader;
            string tokenColumn = reader.ReadString();
            var outputs = new string?[5];
            for (int i = 0; i < outputs.Length; i++)
                outputs[i] = ModelFormat.ReadFlag(reader, source, $"output column {i} present") ? reader.ReadString() : null;
            var vocabulary = LanguageModelVocabulary.Load(reader, source, ModelFormat.ModelEnd(ctx));
            var generation = GenerationOptions.Load(reader, source);
            if (generation.StopToken is string stop && !vocabulary.Tokens.Contains(stop))
                throw new FormatException($"{source}: the generation stop token '{stop}' is not in the model's vocabulary; the file is inconsistent.");
            var trained = TrainedNetwork.Load(host, ctx, source, architecture =>
            {
                if (architecture.Input == NetworkInput.Features || architecture.InputSize != vocabulary.Tokens.Length || architecture.OutputSize != vocabulary.Tokens.Length
                    || architecture.Bidirectional)
                    throw new FormatException($"{source}: the network reads {architecture.InputSize} {(architecture.Input == NetworkInput.Features ? "features" : "tokens")} and predicts " +
                        $"{architecture.OutputSize} tokens{(architecture.Bidirectional ? " bidirectionally" : "")}, but the vocabulary has {vocabulary.Tokens.Length}; the file is inconsistent.");
            });
            return new RecurrentLanguageModelTransformer(host, trained, vocabulary, tokenColumn, outputs, generation);
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        /// <inheritdoc/>
        protected override void SaveModel(ModelSaveContext ctx)
        {
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            var writer = ctx.Writer;
            writer.Write(_tokenColumnName);
            foreach (var name in _outputColumnNames)
            {
                writer.Write(name is null ? (byte)0 : (byte)1);
                if (name is not null)
                    writer.Write(name);
            }
            _vocabulary.Save(writer);
            Generation.Save(writer);
            _trained.Save(ctx);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : MapperBase
        {
            private const int Generated = 0, Probabilities = 1, LogLikelihood = 2, Perplexity = 3, BitsPerToken = 4;

            private readonly RecurrentLanguageModelTransformer _parent;
            private readonly TokenColumn _column;
            private readonly int[] _outputKinds;

            public Mapper(RecurrentLanguageModelTransformer parent, DataViewSchema inputSchema)
                : base(parent.Host.Register(nameof(Mapper)), inputSchema, parent)
            {
                _parent = parent;
                _column = TokenColumn.Bind(inputSchema, parent._tokenColumnName);
                if (!_column.Carries(parent._vocabulary))
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Token column '{_column.Name}' has a vocabulary of {_column.Tokens.Length} tokens that differs from the {parent._vocabulary.Tokens.Length} the language model was trained on. " +
                        "Produce it with the tokenizer fitted together with the model (save and load the whole pipeline).");
                _outputKinds = Enumerable.Range(0, parent._outputColumnNames.Length).Where(i => parent._outputColumnNames[i] is not null).ToArray();
            }

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => _outputKinds.Select(kind =>
            {
                string name = _parent._outputColumnNames[kind]!;
                if (kind == Generated)
                    return new DataViewSchema.DetachedColumn(name, TextDataViewType.Instance);
                if (kind != Probabilities)
                    return new DataViewSchema.DetachedColumn(name, NumberDataViewType.Double);
                var tokens = _parent._vocabulary.Tokens;
                var annotations = new DataViewSchema.Annotations.Builder();
                ValueGetter<VBuffer<ReadOnlyMemory<char>>> slotNames = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
                {
                    var editor = VBufferEditor.Create(ref dst, tokens.Length);
                    for (int i = 0; i < tokens.Length; i++)
                        editor.Values[i] = tokens[i].AsMemory();
                    dst = editor.Commit();
                };
                annotations.AddSlotNames(tokens.Length, slotNames);
                return new DataViewSchema.DetachedColumn(name, new VectorDataViewType(NumberDataViewType.Single, tokens.Length), annotations.ToAnnotations());
            }).ToArray();

            protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
            {
                bool any = Enumerable.Range(0, _outputKinds.Length).Any(activeOutput);
                return column => any && column == _column.Column.Index;
            }

            protected override void SaveModel(ModelSaveContext ctx) => _parent.SaveModel(ctx);

            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                return CreateGetters(input, i => i == iinfo, out _)[iinfo];
            }

            /// <summary>
            /// All active outputs of a row come from one pass of the network, cached by row position. The continuation
            /// is computed only when the Generated getter asks for it: a PredictionEngine makes every output column
            /// active, and a caller that reads only probabilities or likelihoods must neither pay for a continuation nor
            /// be refused an empty text (which has a next-token distribution, but no prefix to continue).
            /// </summary>
            public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var active = Enumerable.Range(0, _outputKinds.Length).Where(activeOutput).ToArray();
                var kinds = active.Select(i => _outputKinds[i]).ToHashSet();
                // Without an active output the token column is not active either (GetDependenciesCore): nothing to read.
                if (active.Length == 0)
                    return new Delegate[_outputKinds.Length];
                var read = _column.MakeReader(input);
                var ids = new List<int>();
                long position = -1;
                LanguageModelScore? score = null;
                var parent = _parent;
                string columnName = _column.Name;

                LanguageModelScore Current(bool generate)
                {
                    if (input.Position != position)
                    {
                        read(ids);
                        position = input.Position;
                        score = null;
                    }
                    if (score is not null && (!generate || score.Generated is not null))
                        return score;
                    GenerationOptions? generation = null;
                    if (generate)
                    {
                        generation = parent.Generation;
                        if (ids.Count == 0 && !generation.AllowEmptyPrefix)
                            throw new InvalidOperationException(
                                $"Row {input.Position}: token column '{columnName}' is empty, so there is no prefix to continue. Give a non-empty prefix, " +
                                "or allow generation from the start of a document with WithGeneration(model.Generation with { AllowEmptyPrefix = true }).");
                        if (ids.Count > 0 && parent._vocabulary.Unknown is int unknown && ids.All(id => id == unknown))
                            throw new InvalidOperationException(
                                $"Row {input.Position}: every token of the prefix in column '{columnName}' is unknown ('{parent._vocabulary.Tokens[unknown]}'): the model never saw these characters, " +
                                "so a continuation would be meaningless. Give a prefix in the training text's alphabet.");
                    }
                    score = LanguageModelScorer.Score(parent.Network, parent._vocabulary, ids,
                        kinds.Contains(LogLikelihood) || kinds.Contains(Perplexity) || kinds.Contains(BitsPerToken), kinds.Contains(Probabilities), generation);
                    return score;
                }

                var getters = new Delegate[_outputKinds.Length];
                foreach (int i in active)
                {
                    getters[i] = _outputKinds[i] switch
                    {
                        Generated => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> dst) => dst = parent._vocabulary.Decode(Current(true).Generated!).AsMemory()),
                        Probabilities => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                        {
                            var probabilities = Current(false).NextTokenProbabilities!;
                            var editor = VBufferEditor.Create(ref dst, probabilities.Length);
                            probabilities.CopyTo(editor.Values);
                            dst = editor.Commit();
                        }),
                        LogLikelihood => (ValueGetter<double>)((ref double dst) => dst = Current(false).LogLikelihood),
                        Perplexity => (ValueGetter<double>)((ref double dst) => dst = Math.Exp(-Current(false).LogLikelihood / Current(false).TokenCount)),
                        _ => (ValueGetter<double>)((ref double dst) => dst = -Current(false).LogLikelihood / Current(false).TokenCount / Math.Log(2)),
                    };
                }
                return getters;
            }
        }
    }
}
