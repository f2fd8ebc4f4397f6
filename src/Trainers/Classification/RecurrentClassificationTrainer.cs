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
    /// Trains a recurrent sequence classifier on a token column (from TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary)
    /// and a key-typed label: optionally bidirectional and multi-layer, the last layer's outputs pooled (final state,
    /// mean or max) into a linear head. The output Score and PredictedLabel columns work with
    /// <c>mlContext.MulticlassClassification.Evaluate</c>. Enter it through
    /// <see cref="RecurrentCatalog.Recurrent(MulticlassClassificationCatalog.MulticlassClassificationTrainers, Options)"/>.
    /// </summary>
    public sealed class RecurrentClassificationTrainer : RecurrentTrainerBase<RecurrentClassificationTrainer.Options, RecurrentClassificationTransformer>
    {
        /// <summary>Options of <see cref="RecurrentClassificationTrainer"/>. Defaults: Adam, 64 hidden units, embedding 32, 10 epochs, constant learning rate.</summary>
        public sealed class Options : TokenSequenceOptions
        {
            /// <summary>Creates options with the classification defaults.</summary>
            public Options()
            {
                HiddenSize = 64;
                InputEncoding = TokenInputEncoding.Embedding;
                EmbeddingSize = 32;
            }

            /// <summary>The label column, key-typed (use mlContext.Transforms.Conversion.MapValueToKey). Default "Label".</summary>
            public string LabelColumnName { get; set; } = "Label";

            /// <summary>Whether every layer also reads the sequence backwards, so each position sees its right context too. Default false.</summary>
            public bool Bidirectional { get; set; }

            /// <summary>How the last layer's outputs become one vector. Default the final state.</summary>
            public SequencePooling Pooling { get; set; } = SequencePooling.Last;

            /// <summary>The output column of class probabilities. Default "Score".</summary>
            public string ScoreColumnName { get; set; } = "Score";

            /// <summary>The output column of the most probable class, a key like the label. Default "PredictedLabel".</summary>
            public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

            internal override void AddSettings(IDictionary<string, string> settings)
            {
                base.AddSettings(settings);
                settings[nameof(Bidirectional)] = Bidirectional ? "true" : "false";
                settings[nameof(Pooling)] = Pooling.ToString();
            }

            internal override void Validate()
            {
                base.Validate();
                Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "the name of the label column");
                Require(Enum.IsDefined(Pooling), nameof(Pooling), Pooling, "Last, Mean or Max");
                Require(!string.IsNullOrWhiteSpace(ScoreColumnName) && !string.IsNullOrWhiteSpace(PredictedLabelColumnName) && ScoreColumnName != PredictedLabelColumnName,
                    nameof(ScoreColumnName), ScoreColumnName, "set, and different from PredictedLabelColumnName");
            }
        }

        internal RecurrentClassificationTrainer(IHostEnvironment env, Options options)
            : base(env, options, nameof(RecurrentClassificationTrainer))
        {
        }

        /// <summary>Trains on the token and label columns of <paramref name="input"/>.</summary>
        private protected override RecurrentClassificationTransformer FitCore(IDataView input, Options options, TrainingClock clock)
        {
            var tokens = TokenColumn.Bind(input.Schema, options.TokenColumnName);
            var classes = ClassLabels.Bind(input.Schema, options.LabelColumnName);
            var ids = new NetworkVocabulary(tokens.Name, tokens.Tokens, classes.Names);
            InitialWeights.CheckTokens(options.InitialModel, (options.InitialModel as RecurrentClassificationTransformer)?.Vocabulary, ids);
            var (sequences, labels) = Read(input, tokens, classes);
            if (sequences.Count == 0)
                throw new InvalidOperationException($"The training data has no rows. Fit on data with tokens in '{options.TokenColumnName}' and labels in '{options.LabelColumnName}'.");

            List<int[]> trainSequences, validationSequences;
            List<long> trainLabels, validationLabels;
            if (options.ValidationData is { } validationData)
            {
                var validationTokens = TokenColumn.Bind(validationData.Schema, options.TokenColumnName);
                if (!validationTokens.Carries(tokens) || ClassLabels.Bind(validationData.Schema, options.LabelColumnName).Count != classes.Count)
                    throw new ArgumentOutOfRangeException(nameof(input), "ValidationData's token vocabulary or label classes differ from the training data's. Transform both with the same fitted pipeline.");
                (trainSequences, trainLabels) = (sequences, labels);
                (validationSequences, validationLabels) = Read(validationData, validationTokens, classes);
            }
            else
            {
                // Row i is held out when ⌊(i+1)·f⌋ > ⌊i·f⌋: exactly ⌊n·f⌋ rows, spread evenly, whatever the row order.
                double f = options.ValidationFraction;
                var held = Enumerable.Range(0, sequences.Count).Select(i => Math.Floor((i + 1) * f) > Math.Floor(i * f)).ToArray();
                trainSequences = sequences.Where((_, i) => !held[i]).ToList();
                trainLabels = labels.Where((_, i) => !held[i]).ToList();
                validationSequences = sequences.Where((_, i) => held[i]).ToList();
                validationLabels = labels.Where((_, i) => held[i]).ToList();
            }

            var architecture = new RecurrentArchitecture(options.Cell, options.NetworkInput, tokens.Tokens.Length, options.EmbeddingSize, options.EffectiveHiddenSize, options.Layers, options.Dropout, classes.Count, options.Bidirectional);
            var trained = TrainingLoop.Train(Host, options, clock, new[] { architecture }, ids, trainSequences.Count, options.OneHotProjection,
                network => new ClassificationObjective(network, trainSequences.ToArray(), trainLabels.ToArray(), validationSequences.ToArray(), validationLabels.ToArray(),
                    options.BatchSize, options.Pooling),
                $"a sequence classifier on {trainSequences.Count:N0} sequences ({validationSequences.Count:N0} for validation), {classes.Count} classes");
            return new RecurrentClassificationTransformer(Host, trained, tokens.Vocabulary, classes, options.TokenColumnName, options.Pooling,
                options.ScoreColumnName, options.PredictedLabelColumnName);
        }

        private static (List<int[]> Sequences, List<long> Labels) Read(IDataView data, TokenColumn tokens, ClassLabels classes)
        {
            var sequences = new List<int[]>();
            var labels = new List<long>();
            var label = data.Schema[classes.ColumnName];
            using var cursor = data.GetRowCursor(new[] { tokens.Column, label });
            var readTokens = tokens.MakeReader(cursor);
            var readLabel = cursor.GetGetter<uint>(label);
            uint key = 0;
            while (cursor.MoveNext())
            {
                var ids = readTokens();
                readLabel(ref key);
                if (key == 0 || key > classes.Count)
                    throw new InvalidOperationException(
                        $"Row {cursor.Position} of label column '{classes.ColumnName}' is {(key == 0 ? "missing (key 0)" : $"key {key}")}; every training row needs a label from 1 to {classes.Count}. " +
                        "Drop rows without a label (mlContext.Data.FilterRowsByMissingValues) before training.");
                sequences.Add(ids.ToArray());
                labels.Add(key - 1);
            }
            return (sequences, labels);
        }

        private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
        {
            if (!inputSchema.TryFindColumn(TrainerOptions.TokenColumnName, out var tokens) || tokens.Kind == SchemaShape.Column.VectorKind.Scalar)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Token column '{TrainerOptions.TokenColumnName}' must be in the data as a vector of token keys (TokenizeWithCharacterVocabulary).");
            if (!inputSchema.TryFindColumn(TrainerOptions.LabelColumnName, out var label) || !label.IsKey)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{TrainerOptions.LabelColumnName}' must be in the data as a key (mlContext.Transforms.Conversion.MapValueToKey).");
            var result = inputSchema.ToDictionary(c => c.Name);
            result[TrainerOptions.ScoreColumnName] = new SchemaShape.Column(TrainerOptions.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
            result[TrainerOptions.PredictedLabelColumnName] = new SchemaShape.Column(TrainerOptions.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, label.Annotations);
            return new SchemaShape(result.Values);
        }
    }
}
