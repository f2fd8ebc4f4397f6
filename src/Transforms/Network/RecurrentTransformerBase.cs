using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// What the fitted recurrent transformers (language model, sequence regressor, sequence classifier) share: a
    /// trained network scored by the managed engine, its training history, and the save preamble and checksum of
    /// their model entries. Immutable: every transformer is safe to score from many threads (each PredictionEngine,
    /// as always in ML.NET, belongs to one thread).
    /// </summary>
    public abstract class RecurrentTransformerBase : RowToRowTransformerBase
    {
        private protected RecurrentTransformerBase(IHost host, TrainedNetwork trained)
            : base(host)
        {
            Trained = trained;
        }

        internal TrainedNetwork Trained { get; }

        private protected RecurrentEngine Engine => Trained.Engine;

        /// <summary>The environment the transformer was made in, for data views it builds itself.</summary>
        internal IHostEnvironment Environment => Host;

        /// <summary>Per-epoch metrics of the training run (saved with the model).</summary>
        public IReadOnlyList<EpochMetrics> TrainingHistory => Trained.History;

        /// <summary>
        /// The settings of the training run, by option name (for example "Optimizer" → "Adam"), with every automatic
        /// choice resolved: the epochs a time budget allows, an optimizer's default learning rate, a seed drawn from
        /// the <c>MLContext</c>. Training also writes them to <c>MLContext.Log</c>. Saved with the model; empty for
        /// an imported model and for models saved before format 0x00010004.
        /// </summary>
        public IReadOnlyDictionary<string, string> TrainingSettings => Trained.Settings;

        /// <summary>The number of trained parameters.</summary>
        public long ParameterCount => Trained.Architecture.ParameterCount;

        /// <summary>The row mapper of this transformer on <paramref name="schema"/>, for loaders outside this assembly.</summary>
        internal IRowMapper CreateRowMapper(DataViewSchema schema) => MakeRowMapper(schema);

        /// <summary>The component's version record (see <see cref="ModelFormat.Version"/>).</summary>
        private protected abstract VersionInfo Version { get; }

        /// <summary>Writes the component's own fields and its network, in the order its binary format comment gives.</summary>
        private protected abstract void SaveFields(ModelSaveContext ctx);

        /// <inheritdoc/>
        protected sealed override void SaveModel(ModelSaveContext ctx)
        {
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(Version);
            SaveFields(ctx);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <summary>
        /// The one load shape of every recurrent transformer: checks the Microsoft.ML version, registers a host, checks
        /// the entry's version and checksum, and reads the fields with <paramref name="read"/>, which gets the host and
        /// a description of the entry for its messages (see <see cref="ModelFormat.Load"/>).
        /// </summary>
        private protected static T Load<T>(IHostEnvironment env, ModelLoadContext ctx, VersionInfo version, string userName, Func<IHost, string, T> read)
        {
            var host = MlNetVersion.Register(env, typeof(T).Name);
            return ModelFormat.Load(ctx, version, userName, source => read(host, source));
        }

        /// <summary>
        /// The mapper every recurrent transformer scores with: its outputs depend on one input column, all of them come
        /// from one pass of the network per row, and saving it saves the transformer.
        /// </summary>
        private protected abstract class RecurrentMapper : MapperBase
        {
            private readonly RecurrentTransformerBase _parent;
            private readonly int _inputColumn;

            protected RecurrentMapper(RecurrentTransformerBase parent, DataViewSchema inputSchema, int inputColumn)
                : base(parent.Host.Register("Mapper"), inputSchema, parent)
            {
                _parent = parent;
                _inputColumn = inputColumn;
            }

            /// <summary>How many output columns the mapper has.</summary>
            protected abstract int OutputCount { get; }

            protected sealed override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
            {
                bool any = Enumerable.Range(0, OutputCount).Any(activeOutput);
                return column => any && column == _inputColumn;
            }

            protected sealed override void SaveModel(ModelSaveContext ctx) => _parent.SaveModel(ctx);

            protected sealed override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                return CreateGetters(input, i => i == iinfo, out _)[iinfo];
            }

            /// <summary>The getters of the active outputs, sharing one network pass per row.</summary>
            public abstract override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action? disposer);
        }
    }
}
