using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(RecurrentRegressionTransformer), null, typeof(SignatureLoadModel),
    RecurrentRegressionTransformer.UserName, RecurrentRegressionTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RecurrentRegressionTransformer), null, typeof(SignatureLoadRowMapper),
    RecurrentRegressionTransformer.UserName, RecurrentRegressionTransformer.LoaderSignature)]

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A trained recurrent sequence regressor: maps each row's window to the predicted next value(s) in the Score
    /// column, in the label's units. Immutable and safe to share between threads.
    /// </summary>
    public sealed class RecurrentRegressionTransformer : RowToRowTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmRecurrentRegr";
        internal const string UserName = "MlnetLstm Recurrent Regression";

        private readonly TrainedNetwork _trained;
        private readonly RegressionScaling _scaling;
        private readonly string _featureColumnName;
        private readonly int _steps;
        private readonly string _scoreColumnName;

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("RNNREGRS", LoaderSignature, typeof(RecurrentRegressionTransformer));

        internal RecurrentRegressionTransformer(IHost host, TrainedNetwork trained, RegressionScaling scaling, string featureColumnName, int steps, string scoreColumnName)
            : base(host)
        {
            _trained = trained;
            _scaling = scaling;
            _featureColumnName = featureColumnName;
            _steps = steps;
            _scoreColumnName = scoreColumnName;
        }

        /// <summary>Per-epoch metrics of the training run (losses on standardized targets).</summary>
        public IReadOnlyList<EpochMetrics> TrainingHistory => _trained.History;

        private int Features => _trained.Network.Architecture.InputSize;

        private int Horizon => _trained.Network.Architecture.OutputSize;

        private static RecurrentRegressionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            var host = MlNetVersion.Register(env, nameof(RecurrentRegressionTransformer));
            return ModelFormat.Load(ctx, GetVersionInfo(), UserName, source =>
            {
                // *** Binary format ***
                // string: feature column; int: steps; string: score column
                // <network: see TrainedNetwork.Save>
                // <scaling: see RegressionScaling.Save>
                // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
                string features = ctx.Reader.ReadString();
                int steps = ctx.Reader.ReadInt32();
                string score = ctx.Reader.ReadString();
                if (steps < 1 || steps > 1 << 20)
                    throw new FormatException($"{source}: window length {steps} is outside 1 to {1 << 20}; the file is corrupt.");
                var trained = TrainedNetwork.Load(host, ctx, source, architecture =>
                {
                    if (architecture.Input != NetworkInput.Features || architecture.Bidirectional)
                        throw new FormatException($"{source}: the network is not a feature-sequence regressor; the file is inconsistent.");
                });
                var architecture = trained.Network.Architecture;
                var scaling = RegressionScaling.Load(ctx.Reader, source, architecture.InputSize, architecture.OutputSize);
                return new RecurrentRegressionTransformer(host, trained, scaling, features, steps, score);
            });
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        /// <inheritdoc/>
        protected override void SaveModel(ModelSaveContext ctx)
        {
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            ctx.Writer.Write(_featureColumnName);
            ctx.Writer.Write(_steps);
            ctx.Writer.Write(_scoreColumnName);
            _trained.Save(ctx);
            _scaling.Save(ctx.Writer);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : MapperBase
        {
            private readonly RecurrentRegressionTransformer _parent;
            private readonly DataViewSchema.Column _features;

            public Mapper(RecurrentRegressionTransformer parent, DataViewSchema inputSchema)
                : base(parent.Host.Register(nameof(Mapper)), inputSchema, parent)
            {
                _parent = parent;
                int size = NumericColumns.Width(inputSchema, parent._featureColumnName, "Feature", allowScalar: false);
                if (size != parent._steps * parent.Features)
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Feature column '{parent._featureColumnName}' has {size} values, but the model was trained on windows of {parent._steps} steps × {parent.Features} features = {parent._steps * parent.Features}. Make windows of that length.");
                _features = inputSchema[parent._featureColumnName];
            }

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => new[]
            {
                new DataViewSchema.DetachedColumn(_parent._scoreColumnName,
                    _parent.Horizon == 1 ? NumberDataViewType.Single : new VectorDataViewType(NumberDataViewType.Single, _parent.Horizon)),
            };

            protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
                => column => activeOutput(0) && column == _features.Index;

            protected override void SaveModel(ModelSaveContext ctx) => _parent.SaveModel(ctx);

            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var read = NumericColumns.Reader(input, _features.Name);
                var parent = _parent;
                float[] Predict()
                {
                    var window = read();
                    NumericColumns.CheckFinite(window, parent._featureColumnName, input.Position);
                    using var scope = NewDisposeScope();
                    using var noGrad = no_grad();
                    var network = parent._trained.Network;
                    var x = tensor(parent._scaling.Features.Apply(window), new long[] { parent._steps, 1, parent.Features }, device: network.Device);
                    var standardized = network.EncodeSequences(x, null, SequencePooling.Last).cpu().data<float>().ToArray();
                    for (int i = 0; i < standardized.Length; i++)
                        standardized[i] = parent._scaling.Targets.Invert(standardized[i], i);
                    return standardized;
                }
                if (parent.Horizon == 1)
                    return (ValueGetter<float>)((ref float dst) => dst = Predict()[0]);
                return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var values = Predict();
                    var editor = VBufferEditor.Create(ref dst, values.Length);
                    values.CopyTo(editor.Values);
                    dst = editor.Commit();
                });
            }
        }
    }
}
