using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Trains a recurrent (LSTM, GRU or RNN) language model on a token column: rows are documents, joined by the
    /// end-of-text token into one stream; the model learns to predict each next token. The fitted
    /// <see cref="RecurrentLanguageModelTransformer"/> continues prefixes, gives next-token probabilities and scores
    /// text. Enter it through <see cref="RecurrentCatalog.RecurrentLanguageModel(TransformsCatalog.TextTransforms, Options)"/>.
    /// </summary>
    public sealed class RecurrentLanguageModelTrainer : RecurrentTrainerBase<RecurrentLanguageModelTrainer.Options, RecurrentLanguageModelTransformer>
    {
        /// <summary>Options of <see cref="RecurrentLanguageModelTrainer"/>.</summary>
        public sealed class Options : TokenSequenceOptions
        {
            /// <summary>
            /// Creates options with the language model's defaults, chosen by the recipe study of docs/recipe.md for a
            /// user who sets only a time budget or only epochs: a one-layer LSTM on one-hot input, of 256 or 512 hidden
            /// units, whichever the budget buys enough training for on this machine (see <see cref="RecurrentTrainingOptions.HiddenSize"/>), Adam at learning rate 0.005 with cosine decay
            /// to zero at the end of the budget (or of the epochs), gradients clipped to norm 1, batches of 32
            /// sequences of 32 steps. <see cref="DiveIntoDeepLearning"/> gives the tutorials' recipe.
            /// </summary>
            public Options()
            {
                LearningRateSchedule = LearningRateSchedule.Cosine;
            }

            private protected override double DefaultLearningRate => Optimizer == Optimizer.Sgd ? 1.0 : 0.005;

            /// <summary>
            /// The hidden sizes to train: <see cref="RecurrentTrainingOptions.HiddenSize"/>, or else the automatic
            /// candidates (<see cref="AutomaticHiddenSize"/>), smallest first.
            /// </summary>
            internal IEnumerable<int> HiddenSizes => HiddenSize is int size ? new[] { size } : AutomaticHiddenSizes;

            /// <summary>The candidates of the automatic hidden size: <see cref="AutomaticHiddenSize.Candidates"/>, or small ones in tests.</summary>
            internal IReadOnlyList<int> AutomaticHiddenSizes { get; set; } = AutomaticHiddenSize.Candidates;

            /// <summary>
            /// Options with the recipe of Dive into Deep Learning's RNN chapter (the tutorials this library grew from):
            /// LSTM 1×256 on one-hot input, SGD at learning rate 1 kept constant, gradients clipped to norm 1,
            /// batches of 32 sequences of 35 steps. Set <see cref="RecurrentTrainingOptions.Epochs"/> or
            /// <see cref="RecurrentTrainingOptions.TimeBudget"/> on the result; the chapter trains 500 epochs.
            /// </summary>
            public static Options DiveIntoDeepLearning() => new()
            {
                Cell = RecurrentCell.Lstm,
                HiddenSize = 256,
                Layers = 1,
                InputEncoding = TokenInputEncoding.OneHot,
                Optimizer = Optimizer.Sgd,
                LearningRate = 1.0,
                LearningRateSchedule = LearningRateSchedule.Constant,
                GradientClippingNorm = 1.0,
                SequenceLength = 35,
                BatchSize = 32,
                BatchSampling = BatchSampling.Sequential,
            };

            /// <summary>Time steps per batch: the truncation length of back-propagation through time. Default 32 (docs/recipe.md; Dive into Deep Learning's RNN chapter uses 35); at least 1.</summary>
            public int SequenceLength { get; set; } = 32;

            /// <summary>Sequential partitioning with carried state, or random windows. Default sequential.</summary>
            public BatchSampling BatchSampling { get; set; } = BatchSampling.Sequential;

            /// <summary>The vocabulary's end-of-text token, put between documents (rows) and before a prefix. Default <c>&lt;eos&gt;</c>.</summary>
            public string EndOfTextToken { get; set; } = "<eos>";

            /// <summary>
            /// Output column with the generated continuation of each row's text (text); null to leave it out. Default "Generated".
            /// A continuation costs one network step per generated token (about 16 µs at 256 hidden units on a 2-core
            /// machine, so 1.6 ms for the default 100 tokens), paid whenever the column is read: by a PredictionEngine
            /// whose output class has a Generated property, by <c>Preview()</c> and by <c>CreateEnumerable</c>. Leave the
            /// property out of an output class (or set this to null) when only scores or probabilities are needed.
            /// </summary>
            public string? GeneratedColumnName { get; set; } = "Generated";

            /// <summary>Output column with the next-token probabilities after each row's text (vector of floats, slot names = vocabulary); null to leave it out. Default "NextTokenProbabilities".</summary>
            public string? NextTokenProbabilitiesColumnName { get; set; } = "NextTokenProbabilities";

            /// <summary>Output column with the natural-log likelihood of each row's text, each token predicted from the ones before it (double); null to leave it out. Default "LogLikelihood".</summary>
            public string? LogLikelihoodColumnName { get; set; } = "LogLikelihood";

            /// <summary>Output column with the perplexity of each row's text, exp(−log-likelihood / tokens) (double); null to leave it out. Default "Perplexity".</summary>
            public string? PerplexityColumnName { get; set; } = "Perplexity";

            /// <summary>Output column with −log₂-likelihood / tokens: bits per character for a character model (double); null to leave it out. Default "BitsPerToken".</summary>
            public string? BitsPerTokenColumnName { get; set; } = "BitsPerToken";

            /// <summary>How the fitted model generates; changeable later without retraining. Default greedy, 100 tokens.</summary>
            public GenerationOptions Generation { get; set; } = new();

            internal override void AddSettings(IDictionary<string, string> settings)
            {
                base.AddSettings(settings);
                settings[nameof(SequenceLength)] = TrainingSettings.Text(SequenceLength);
                settings[nameof(BatchSampling)] = BatchSampling.ToString();
            }

            internal override void Validate()
            {
                base.Validate();
                Require(SequenceLength >= 1, nameof(SequenceLength), SequenceLength, "at least 1");
                Require(Enum.IsDefined(BatchSampling), nameof(BatchSampling), BatchSampling, "Sequential or RandomWindows");
                Require(!string.IsNullOrEmpty(EndOfTextToken), nameof(EndOfTextToken), EndOfTextToken, "a reserved token of the vocabulary, such as <eos>");
                Require(Generation is not null, nameof(Generation), Generation, "generation options");
                Generation!.Validated();
                var outputs = Columns.Present.Select(p => p.Name).ToList();
                Require(outputs.Count > 0, nameof(GeneratedColumnName), null, "set, or another output column set: the model must produce something");
                Require(outputs.Distinct().Count() == outputs.Count, "output column names", string.Join(", ", outputs), "distinct");
            }

            internal LanguageModelColumns Columns => new(GeneratedColumnName, NextTokenProbabilitiesColumnName, LogLikelihoodColumnName, PerplexityColumnName, BitsPerTokenColumnName);
        }

        internal RecurrentLanguageModelTrainer(IHostEnvironment env, Options options)
            : base(env, options, nameof(RecurrentLanguageModelTrainer))
        {
        }

        /// <summary>Trains the language model on the token column of <paramref name="input"/>.</summary>
        private protected override RecurrentLanguageModelTransformer FitCore(IDataView input, Options options, TrainingClock clock)
        {
            var column = TokenColumn.Bind(input.Schema, options.TokenColumnName);
            var vocabulary = LanguageModelVocabulary.From(column, options.EndOfTextToken);
            if (options.Generation.StopToken is string stop && !vocabulary.Tokens.Contains(stop))
                throw new ArgumentOutOfRangeException(nameof(input),
                    $"Generation.StopToken '{stop}' is not in the vocabulary of token column '{column.Name}'. Use one of its reserved tokens, or null for no stop token.");

            var ids = new NetworkVocabulary(column.Name, vocabulary.Tokens);
            InitialWeights.CheckTokens(options.InitialModel, (options.InitialModel as RecurrentLanguageModelTransformer)?.Vocabulary, ids);

            var stream = ReadStream(input, column, vocabulary.EndOfText, "training data");
            int[] train, validation;
            if (options.ValidationData is { } validationData)
            {
                var validationColumn = TokenColumn.Bind(validationData.Schema, options.TokenColumnName);
                if (!validationColumn.Carries(vocabulary))
                    throw new ArgumentOutOfRangeException(nameof(input),
                        $"ValidationData's column '{validationColumn.Name}' has a different vocabulary than the training data's. Transform both with the same fitted tokenizer.");
                train = stream;
                validation = ReadStream(validationData, validationColumn, vocabulary.EndOfText, "validation data");
            }
            else
            {
                int split = (int)(stream.Length * (1 - options.ValidationFraction));
                train = stream[..split];
                validation = stream[split..];
            }

            long needed = LanguageModelObjective.MinimumTokens(options.SequenceLength, options.BatchSize);
            if (train.Length < needed)
                throw new InvalidOperationException(
                    $"The training text of column '{column.Name}' has {train.Length} tokens (end-of-text tokens included, validation part excluded), fewer than the " +
                    $"{needed} one batch needs (BatchSize {options.BatchSize} × SequenceLength {options.SequenceLength} + 1). Give more text, or lower BatchSize or SequenceLength.");

            var candidates = options.HiddenSizes.Select(size => new RecurrentArchitecture(options.Cell, options.NetworkInput, vocabulary.Tokens.Length,
                options.EmbeddingSize, size, options.Layers, options.Dropout, vocabulary.Tokens.Length)).ToList();
            var trained = TrainingLoop.Train(Host, options, clock, candidates, ids, train.Length - 1, options.OneHotProjection,
                network => new LanguageModelObjective(network, train, validation, options.SequenceLength, options.BatchSize, options.BatchSampling, vocabulary.EndOfText),
                $"a language model on {train.Length:N0} tokens ({validation.Length:N0} for validation), vocabulary {vocabulary.Tokens.Length}");
            return new RecurrentLanguageModelTransformer(Host, trained, vocabulary, column.Name, options.Columns, options.Generation);
        }

        private static int[] ReadStream(IDataView data, TokenColumn column, int endOfText, string what)
        {
            var stream = new List<int>();
            using (var cursor = data.GetRowCursor(new[] { column.Column }))
            {
                var read = column.MakeReader(cursor);
                while (cursor.MoveNext())
                {
                    stream.AddRange(read());
                    stream.Add(endOfText);
                }
            }
            if (stream.Count == 0)
                throw new InvalidOperationException($"The {what} has no rows. Fit a language model on data with text in column '{column.Name}'.");
            return stream.ToArray();
        }

        private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
        {
            if (!inputSchema.TryFindColumn(TrainerOptions.TokenColumnName, out var column))
                throw new ArgumentOutOfRangeException(nameof(inputSchema),
                    $"Token column '{TrainerOptions.TokenColumnName}' is not in the data. Tokenize the text first (mlContext.Transforms.Text.TokenizeWithCharacterVocabulary) or set TokenColumnName.");
            if (column.Kind == SchemaShape.Column.VectorKind.Scalar || !(column.IsKey || column.ItemType == NumberDataViewType.Single))
                throw new ArgumentOutOfRangeException(nameof(inputSchema),
                    $"Token column '{TrainerOptions.TokenColumnName}' must be a vector of token keys or a one-hot sequence; it is {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}. " +
                    "Tokenize the text first (mlContext.Transforms.Text.TokenizeWithCharacterVocabulary or TokenizeWithWordVocabulary) and name its output in TokenColumnName.");
            var result = inputSchema.ToDictionary(c => c.Name);
            void Add(string? name, SchemaShape.Column.VectorKind kind, DataViewType type)
            {
                if (name is not null)
                    result[name] = new SchemaShape.Column(name, kind, type, false);
            }
            Add(TrainerOptions.GeneratedColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance);
            Add(TrainerOptions.NextTokenProbabilitiesColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single);
            Add(TrainerOptions.LogLikelihoodColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Double);
            Add(TrainerOptions.PerplexityColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Double);
            Add(TrainerOptions.BitsPerTokenColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Double);
            return new SchemaShape(result.Values);
        }
    }
}
