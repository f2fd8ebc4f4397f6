using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(RecurrentRegressionTransformer), null, typeof(SignatureLoadModel),
    RecurrentRegressionTransformer.UserName, RecurrentRegressionTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(RecurrentRegressionTransformer), null, typeof(SignatureLoadRowMapper),
    RecurrentRegressionTransformer.UserName, RecurrentRegressionTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A trained recurrent sequence regressor: maps each row's window to the predicted next value(s) in the Score
    /// column, in the label's units. Scores with a managed engine (no libtorch); immutable and safe to share between threads.
    /// </summary>
    public sealed class RecurrentRegressionTransformer : RecurrentTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmRegressor";
        internal const string UserName = "MlnetLstm Recurrent Regression";

        private readonly RegressionScaling _scaling;
        private readonly string _featureColumnName;
        private readonly int _steps;
        private readonly string _scoreColumnName;

        internal static VersionInfo GetVersionInfo(string loaderSignature = LoaderSignature)
            => ModelFormat.Version("RNNREGRS", loaderSignature, typeof(RecurrentRegressionTransformer));

        internal RecurrentRegressionTransformer(IHost host, TrainedNetwork trained, RegressionScaling scaling, string featureColumnName, int steps, string scoreColumnName)
            : base(host, trained)
        {
            _scaling = scaling;
            _featureColumnName = featureColumnName;
            _steps = steps;
            _scoreColumnName = scoreColumnName;
        }

        private int Features => Trained.Architecture.InputSize;

        private int Horizon => Trained.Architecture.OutputSize;

        private protected override VersionInfo Version => GetVersionInfo();

        /// <summary>The standardization of features and labels (for export).</summary>
        internal RegressionScaling Scaling => _scaling;

        /// <summary>Time steps per window (for export).</summary>
        internal int WindowLength => _steps;

        private static RecurrentRegressionTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => Load(env, ctx, GetVersionInfo());

        /// <summary>Reads the model written under <paramref name="version"/> (today's loader signature, or the one of format 0x00010002 and before).</summary>
        internal static RecurrentRegressionTransformer Load(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version)
            => Load(env, ctx, version, UserName, (host, source) =>
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
                var trained = TrainedNetwork.Load(ctx, source, architecture =>
                {
                    if (architecture.Input != NetworkInput.Features || architecture.Bidirectional)
                        throw new FormatException($"{source}: the network is not a feature-sequence regressor; the file is inconsistent.");
                });
                var architecture = trained.Architecture;
                var scaling = RegressionScaling.Load(ctx.Reader, source, architecture.InputSize, architecture.OutputSize);
                return new RecurrentRegressionTransformer(host, trained, scaling, features, steps, score);
            });

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        private protected override void SaveFields(ModelSaveContext ctx)
        {
            // *** Binary format *** (see Load)
            ctx.Writer.Write(_featureColumnName);
            ctx.Writer.Write(_steps);
            ctx.Writer.Write(_scoreColumnName);
            Trained.Save(ctx);
            _scaling.Save(ctx.Writer);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : RecurrentMapper, ISaveAsOnnx
        {
            private readonly RecurrentRegressionTransformer _parent;

            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx)
            {
                var score = GetOutputColumnsCore()[0];
                RegressorOnnx.Save(new MlNetOnnxGraph(ctx), _parent.Trained.Weights, _parent._scaling, _parent._featureColumnName, _parent._steps,
                    score.Name, score.Type, LoaderSignature);
            }

            public Mapper(RecurrentRegressionTransformer parent, DataViewSchema inputSchema)
                : base(parent, inputSchema, CheckedFeatureColumn(parent, inputSchema))
            {
                _parent = parent;
            }

            private static int CheckedFeatureColumn(RecurrentRegressionTransformer parent, DataViewSchema inputSchema)
            {
                int size = NumericColumns.Width(inputSchema, parent._featureColumnName, "Feature", allowScalar: false);
                if (size != parent._steps * parent.Features)
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Feature column '{parent._featureColumnName}' has {size} values, but the model was trained on windows of {parent._steps} steps × {parent.Features} features = {parent._steps * parent.Features}. Make windows of that length.");
                return inputSchema[parent._featureColumnName].Index;
            }

            protected override int OutputCount => 1;

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => new[]
            {
                new DataViewSchema.DetachedColumn(_parent._scoreColumnName,
                    _parent.Horizon == 1 ? NumberDataViewType.Single : new VectorDataViewType(NumberDataViewType.Single, _parent.Horizon)),
            };

            public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var getters = new Delegate[1];
                if (!activeOutput(0))
                    return getters;
                var parent = _parent;
                var read = NumericColumns.Reader(input, parent._featureColumnName);
                var state = parent.Engine.CreateState();
                var window = new float[parent._steps * parent.Features];
                var cache = new RowCache<float[]>(input, () =>
                {
                    var values = read();
                    // ML.NET passes an array of another length than a [VectorType(n)] member declares through as is.
                    if (values.Length != window.Length)
                        throw new InvalidOperationException(
                            $"Feature column '{parent._featureColumnName}' holds {values.Length} values in this row, but the model reads windows of exactly {window.Length} " +
                            $"({parent._steps} steps × {parent.Features} features). Give every row a window of that length.");
                    NumericColumns.CheckFinite(values, parent._featureColumnName, input);
                    parent._scaling.Features.Apply(values, window);
                    parent.Engine.Encode(state, window, parent._steps, SequencePooling.Last);
                    for (int i = 0; i < state.Output.Length; i++)
                        state.Output[i] = parent._scaling.Targets.Invert(state.Output[i], i);
                    return state.Output;
                });
                if (parent.Horizon == 1)
                    getters[0] = (ValueGetter<float>)((ref float dst) => dst = cache.Value[0]);
                else
                    getters[0] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                    {
                        var values = cache.Value;
                        var editor = VBufferEditor.Create(ref dst, values.Length);
                        values.CopyTo(editor.Values);
                        dst = editor.Commit();
                    });
                return getters;
            }
        }
    }
}
