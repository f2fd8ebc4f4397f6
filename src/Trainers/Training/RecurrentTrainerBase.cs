using System;
using Microsoft.ML;
using Microsoft.ML.Runtime;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What the recurrent trainers share around their own training: the ML.NET host (registered after the ML.NET
    /// version check), the options checked when the estimator is made and again at <see cref="Fit"/>, the copy of
    /// them that a Fit trains on, and the argument checks of <see cref="Fit"/> and <see cref="GetOutputSchema"/>.
    /// </summary>
    /// <typeparam name="TOptions">The trainer's options.</typeparam>
    /// <typeparam name="TTransformer">The fitted model.</typeparam>
    public abstract class RecurrentTrainerBase<TOptions, TTransformer> : IEstimator<TTransformer>
        where TOptions : RecurrentTrainingOptions
        where TTransformer : RecurrentTransformerBase
    {
        private protected readonly IHost Host;
        private protected readonly TOptions TrainerOptions;

        private protected RecurrentTrainerBase(IHostEnvironment env, TOptions options, string name)
        {
            Host = MlNetVersion.Register(env, name);
            TrainerOptions = options ?? throw new ArgumentNullException(nameof(options));
            TrainerOptions.Validate();
        }

        /// <summary>
        /// Trains on <paramref name="input"/>, with a copy of the options taken and checked when Fit starts: the
        /// options object may have changed since the estimator was created, and whatever changes it during training
        /// (an <see cref="RecurrentTrainingOptions.EpochCompleted"/> handler, another thread) does not reach this run.
        /// </summary>
        public TTransformer Fit(IDataView input)
        {
            Host.CheckValue(input, nameof(input));
            var clock = new TrainingClock(TrainerOptions.TimeProvider);
            var options = (TOptions)TrainerOptions.Copy();
            options.Validate();
            return FitCore(input, options, clock);
        }

        /// <summary>Checks the input schema and returns the schema after the transform.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            Host.CheckValue(inputSchema, nameof(inputSchema));
            return OutputSchema(inputSchema);
        }

        /// <summary>
        /// Reads the data, builds the network and its training objective, and trains with <paramref name="options"/>
        /// (Fit's checked copy, which nothing else changes) on <paramref name="clock"/>, started when Fit began.
        /// </summary>
        private protected abstract TTransformer FitCore(IDataView input, TOptions options, TrainingClock clock);

        /// <summary>The schema after the transform, or an exception that names the missing or wrong input column.</summary>
        private protected abstract SchemaShape OutputSchema(SchemaShape inputSchema);
    }
}
