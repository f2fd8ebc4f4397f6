using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(RecurrentLanguageModelTransformer), null, typeof(SignatureLoadModel),
    RecurrentLanguageModelTransformer.UserName, RecurrentLanguageModelTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RecurrentLanguageModelTransformer), null, typeof(SignatureLoadRowMapper),
    RecurrentLanguageModelTransformer.UserName, RecurrentLanguageModelTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A trained recurrent language model. For each row's tokens (the text, read as a prefix) it produces, in the
    /// columns named by the options: a generated continuation, the next-token probabilities (slot names = the
    /// vocabulary), and the log-likelihood, perplexity and bits per token of the text. It scores with a managed
    /// engine (no libtorch), single-threaded per call; <see cref="GenerateTokens"/> streams a continuation token by token.
    /// </summary>
    public sealed class RecurrentLanguageModelTransformer : RecurrentTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmLanguageModel";
        internal const string UserName = "MlnetLstm Recurrent Language Model";

        private readonly LanguageModelVocabulary _vocabulary;
        private readonly string _tokenColumnName;
        private readonly LanguageModelColumns _columns;

        internal static VersionInfo GetVersionInfo(string loaderSignature = LoaderSignature)
            => ModelFormat.Version("RNNLANGM", loaderSignature, typeof(RecurrentLanguageModelTransformer));

        internal RecurrentLanguageModelTransformer(IHost host, TrainedNetwork trained, LanguageModelVocabulary vocabulary, string tokenColumnName,
            LanguageModelColumns columns, GenerationOptions generation)
            : base(host, trained)
        {
            _vocabulary = vocabulary;
            _tokenColumnName = tokenColumnName;
            _columns = columns;
            Generation = generation.Validated();
        }

        /// <summary>How this model generates.</summary>
        public GenerationOptions Generation { get; }

        /// <summary>The tokens the model predicts, indexed by token id.</summary>
        public IReadOnlyList<string> Vocabulary => _vocabulary.Tokens;

        /// <summary>The input token column.</summary>
        public string TokenColumnName => _tokenColumnName;

        /// <summary>The vocabulary with its separator, end-of-text and unknown tokens, as the model reads it (for export).</summary>
        internal LanguageModelVocabulary LanguageModelVocabulary => _vocabulary;

        private protected override VersionInfo Version => GetVersionInfo();

        /// <summary>
        /// The same model without its Generated column (no retraining; the weights are shared), for ONNX export, which
        /// cannot express generation: the other columns export with ML.NET's ConvertToOnnx.
        /// </summary>
        /// <returns>A new transformer; this one is unchanged.</returns>
        /// <exception cref="InvalidOperationException">The model has no other output column.</exception>
        public RecurrentLanguageModelTransformer WithoutGeneratedColumn()
        {
            var columns = _columns with { Generated = null };
            if (columns.Present.Count == 0)
                throw new InvalidOperationException(
                    "The language model's only output column is Generated; without it the model would produce nothing. Train it with another output column " +
                    "(NextTokenProbabilitiesColumnName, LogLikelihoodColumnName, …), or export the step-by-step graph with ExportOnnxGenerator.");
            return new RecurrentLanguageModelTransformer(Host, Trained, _vocabulary, _tokenColumnName, columns, Generation);
        }

        /// <summary>
        /// The same model with other generation settings (no retraining; the weights are shared). The stop token must
        /// be in the vocabulary.
        /// </summary>
        /// <returns>A new transformer; this one is unchanged.</returns>
        public RecurrentLanguageModelTransformer WithGeneration(GenerationOptions generation)
        {
            if (generation is null)
                throw new ArgumentNullException(nameof(generation));
            return new RecurrentLanguageModelTransformer(Host, Trained, _vocabulary, _tokenColumnName, _columns, CheckStopToken(generation));
        }

        /// <summary>
        /// Continues a prefix of token ids (0-based indexes into <see cref="Vocabulary"/>), yielding each generated
        /// token's text as soon as it is chosen: concatenated, they are the Generated column's value for the same
        /// prefix and options. Enumerate it lazily, for example to stream a chat-like reply from a web API; stop
        /// enumerating, or cancel <paramref name="cancellationToken"/>, to stop generating. Safe to call from many
        /// threads at once; each enumeration has its own state.
        /// </summary>
        /// <param name="prefix">The prefix's token ids; from text, use <see cref="LanguageModelPipelineExtensions.GenerateTokens{TInput}"/> on the whole pipeline instead.</param>
        /// <param name="generation">Generation settings for this call; null for <see cref="Generation"/>.</param>
        /// <param name="cancellationToken">Stops the generation between two tokens (OperationCanceledException).</param>
        /// <returns>The generated tokens' text, the separator of word models before every token but the first.</returns>
        public IEnumerable<string> GenerateTokens(IReadOnlyList<int> prefix, GenerationOptions? generation = null, CancellationToken cancellationToken = default)
        {
            if (prefix is null)
                throw new ArgumentNullException(nameof(prefix));
            var ids = prefix.ToArray();
            return Stream(ids, CheckGeneration(ids, generation), cancellationToken);
        }

        /// <summary>
        /// The settings of a continuation of <paramref name="ids"/>, checked (options, stop token, ids, prefix) before
        /// it starts, so that a bad request fails at once and never inside a running generation.
        /// </summary>
        internal GenerationOptions CheckGeneration(int[] ids, GenerationOptions? generation)
        {
            var options = CheckStopToken((generation ?? Generation).Validated());
            for (int i = 0; i < ids.Length; i++)
                if (ids[i] < 0 || ids[i] >= _vocabulary.Tokens.Length)
                    throw new ArgumentOutOfRangeException("prefix", $"Prefix token {i} is id {ids[i]}; ids run from 0 to {_vocabulary.Tokens.Length - 1} (the model's vocabulary).");
            CheckPrefix(ids, options, $"The prefix");
            return options;
        }

        /// <summary>The shared engine, for callers that step many texts together (<see cref="LanguageModelBatcher"/>).</summary>
        internal RecurrentEngine SharedEngine => Engine;

        /// <summary>Throws when the model's ML.NET host was cancelled, as every scoring step checks.</summary>
        internal void CheckAlive() => Host.CheckAlive();

        private IEnumerable<string> Stream(int[] ids, GenerationOptions options, CancellationToken cancellationToken)
        {
            var scorer = new LanguageModelScorer(Engine, _vocabulary);
            scorer.Read(ids, likelihood: false);
            bool first = true;
            foreach (int token in scorer.Generate(ids, options, Host.CheckAlive, cancellationToken))
            {
                yield return first ? _vocabulary.Tokens[token] : _vocabulary.Separator + _vocabulary.Tokens[token];
                first = false;
            }
        }

        /// <summary>Returns <paramref name="generation"/>, or throws when its stop token is not in the vocabulary.</summary>
        private GenerationOptions CheckStopToken(GenerationOptions generation)
        {
            if (generation.StopToken is string stop && !_vocabulary.Tokens.Contains(stop))
                throw new ArgumentOutOfRangeException(nameof(generation), $"Generation option StopToken '{stop}' is not in the model's vocabulary; use one of its tokens or null.");
            return generation;
        }

        /// <summary>Throws when a prefix cannot be continued: empty (unless allowed), or nothing but unknown tokens.</summary>
        private void CheckPrefix(IReadOnlyList<int> ids, GenerationOptions options, string what)
        {
            if (ids.Count == 0 && !options.AllowEmptyPrefix)
                throw new InvalidOperationException(
                    $"{what} is empty, so there is no prefix to continue. Give a non-empty prefix, " +
                    "or allow generation from the start of a document with WithGeneration(model.Generation with { AllowEmptyPrefix = true }).");
            if (ids.Count > 0 && _vocabulary.Unknown is int unknown && ids.All(id => id == unknown))
            {
                // Tokens joined by nothing are characters; by a separator, words.
                var (units, known) = _vocabulary.Separator.Length == 0 ? ("characters", "alphabet") : ("words", "vocabulary");
                throw new InvalidOperationException(
                    $"{what} holds only unknown ('{_vocabulary.Tokens[unknown]}') tokens: the model never saw these {units}, " +
                    $"so a continuation would be meaningless. Give a prefix in the training text's {known}.");
            }
        }

        private static RecurrentLanguageModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => Load(env, ctx, GetVersionInfo());

        /// <summary>Reads the model written under <paramref name="version"/> (today's loader signature, or the one of format 0x00010002 and before).</summary>
        internal static RecurrentLanguageModelTransformer Load(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version)
            => Load(env, ctx, version, UserName, (host, source) =>
            {
                // *** Binary format ***
                // string: token column name
                // <output columns: see LanguageModelColumns.Save>
                // <vocabulary: see LanguageModelVocabulary.Save>
                // <generation options: see GenerationOptions.Save>
                // <network: see TrainedNetwork.Save>
                // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
                var reader = ctx.Reader;
                string tokenColumn = reader.ReadString();
                var columns = LanguageModelColumns.Load(reader, source);
                var vocabulary = LanguageModelVocabulary.Load(reader, source, ModelFormat.ModelEnd(ctx), ctx.Header.ModelVerWritten >= ModelFormat.ManagedRuntimeVersion);
                var generation = GenerationOptions.Load(reader, source, ctx.Header.ModelVerWritten >= ModelFormat.ManagedRuntimeVersion);
                if (generation.StopToken is string stop && !vocabulary.Tokens.Contains(stop))
                    throw new FormatException($"{source}: the generation stop token '{stop}' is not in the model's vocabulary; the file is inconsistent.");
                var trained = TrainedNetwork.Load(ctx, source, architecture =>
                {
                    if (architecture.Input == NetworkInput.Features || architecture.InputSize != vocabulary.Tokens.Length || architecture.OutputSize != vocabulary.Tokens.Length
                        || architecture.Bidirectional)
                        throw new FormatException($"{source}: the network reads {architecture.InputSize} {(architecture.Input == NetworkInput.Features ? "features" : "tokens")} and predicts " +
                            $"{architecture.OutputSize} tokens{(architecture.Bidirectional ? " bidirectionally" : "")}, but the vocabulary has {vocabulary.Tokens.Length}; the file is inconsistent.");
                });
                return new RecurrentLanguageModelTransformer(host, trained, vocabulary, tokenColumn, columns, generation);
            });

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        private protected override void SaveFields(ModelSaveContext ctx)
        {
            // *** Binary format *** (see Load)
            var writer = ctx.Writer;
            writer.Write(_tokenColumnName);
            _columns.Save(writer);
            _vocabulary.Save(writer);
            Generation.Save(writer);
            Trained.Save(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : RecurrentMapper, ISaveAsOnnx
        {
            private readonly RecurrentLanguageModelTransformer _parent;
            private readonly TokenColumn _column;
            private readonly IReadOnlyList<(LanguageModelColumn Output, string Name)> _outputs;

            // True even when SaveAsOnnx will refuse (a Generated column): ML.NET would otherwise drop the step without saying why.
            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx)
                => LanguageModelOnnx.Save(new MlNetOnnxGraph(ctx), _parent.Trained.Weights, _parent._vocabulary, _column, _outputs, LoaderSignature);

            public Mapper(RecurrentLanguageModelTransformer parent, DataViewSchema inputSchema)
                : this(parent, inputSchema, TokenColumn.Bind(inputSchema, parent._tokenColumnName))
            {
            }

            private Mapper(RecurrentLanguageModelTransformer parent, DataViewSchema inputSchema, TokenColumn column)
                : base(parent, inputSchema, column.Column.Index)
            {
                _parent = parent;
                _column = column;
                if (!_column.Carries(parent._vocabulary))
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Token column '{_column.Name}' has a vocabulary of {_column.Tokens.Length} tokens that differs from the {parent._vocabulary.Tokens.Length} the language model was trained on. " +
                        "Produce it with the tokenizer fitted together with the model (save and load the whole pipeline).");
                _outputs = parent._columns.Present;
            }

            protected override int OutputCount => _outputs.Count;

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => _outputs.Select(output =>
            {
                switch (output.Output)
                {
                    case LanguageModelColumn.Generated:
                        return new DataViewSchema.DetachedColumn(output.Name, TextDataViewType.Instance);
                    case LanguageModelColumn.NextTokenProbabilities:
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
                        return new DataViewSchema.DetachedColumn(output.Name, new VectorDataViewType(NumberDataViewType.Single, tokens.Length), annotations.ToAnnotations());
                    default:
                        return new DataViewSchema.DetachedColumn(output.Name, NumberDataViewType.Double);
                }
            }).ToArray();

            /// <summary>
            /// All active outputs of a row come from one pass of the network, cached by row position. The continuation
            /// is computed only when the Generated getter asks for it: a PredictionEngine makes every output column
            /// active, and a caller that reads only probabilities or likelihoods must neither pay for a continuation nor
            /// be refused an empty text (which has a next-token distribution, but no prefix to continue).
            /// </summary>
            public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var getters = new Delegate[_outputs.Count];
                var active = Enumerable.Range(0, _outputs.Count).Where(activeOutput).ToArray();
                // Without an active output the token column is not active either (GetDependenciesCore): nothing to read.
                if (active.Length == 0)
                    return getters;
                var kinds = active.Select(i => _outputs[i].Output).ToHashSet();
                bool likelihood = kinds.Overlaps(new[] { LanguageModelColumn.LogLikelihood, LanguageModelColumn.Perplexity, LanguageModelColumn.BitsPerToken });
                var parent = _parent;
                var read = _column.MakeReader(input);
                var scorer = new LanguageModelScorer(parent.Engine, parent._vocabulary);
                IReadOnlyList<int> ids = Array.Empty<int>();
                var probabilities = kinds.Contains(LanguageModelColumn.NextTokenProbabilities) ? new float[parent._vocabulary.Tokens.Length] : null;
                var continuation = new List<int>();
                string? generated = null;
                string columnName = _column.Name;
                // The row's log-likelihood; reading it leaves the row's ids, probabilities and scorer state in place.
                var logLikelihood = new RowCache<double>(input, () =>
                {
                    ids = read();
                    generated = null;
                    double result = scorer.Read(ids, likelihood);
                    if (probabilities is not null)
                        scorer.NextTokenProbabilities(probabilities);
                    return result;
                });

                string Generate()
                {
                    _ = logLikelihood.Value;
                    if (generated is null)
                    {
                        parent.CheckPrefix(ids, parent.Generation, $"Token column '{columnName}'");
                        continuation.Clear();
                        foreach (int token in scorer.Generate(ids, parent.Generation, parent.Host.CheckAlive, CancellationToken.None))
                            continuation.Add(token);
                        generated = parent._vocabulary.Decode(continuation);
                    }
                    return generated;
                }

                foreach (int i in active)
                {
                    getters[i] = _outputs[i].Output switch
                    {
                        LanguageModelColumn.Generated => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> dst) => dst = Generate().AsMemory()),
                        LanguageModelColumn.NextTokenProbabilities => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                        {
                            _ = logLikelihood.Value;
                            var editor = VBufferEditor.Create(ref dst, probabilities!.Length);
                            probabilities.CopyTo(editor.Values);
                            dst = editor.Commit();
                        }),
                        LanguageModelColumn.LogLikelihood => (ValueGetter<double>)((ref double dst) => dst = logLikelihood.Value),
                        LanguageModelColumn.Perplexity => (ValueGetter<double>)((ref double dst) => dst = Math.Exp(-logLikelihood.Value / ids.Count)),
                        _ => (ValueGetter<double>)((ref double dst) => dst = -logLikelihood.Value / ids.Count / Math.Log(2)),
                    };
                }
                return getters;
            }
        }
    }
}
