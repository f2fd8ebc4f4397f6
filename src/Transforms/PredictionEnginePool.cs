using System;
using System.Collections.Concurrent;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Thread-safe scoring for web apps and other multi-threaded hosts. ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/>
    /// is not thread-safe (it reuses buffers), while fitted or loaded transformers are; this pool lends each caller an
    /// engine of its own for the duration of one prediction, creating engines on demand and keeping up to
    /// <see cref="MaximumRetained"/> of them for reuse.
    /// </summary>
    /// <typeparam name="TInput">The input row class.</typeparam>
    /// <typeparam name="TOutput">The output row class.</typeparam>
    public sealed class PredictionEnginePool<TInput, TOutput> : IDisposable
        where TInput : class
        where TOutput : class, new()
    {
        private readonly MLContext _ml;
        private readonly ITransformer _model;
        private readonly bool _ignoreMissingColumns;
        private readonly ConcurrentBag<PredictionEngine<TInput, TOutput>> _idle = new();
        private bool _disposed;

        /// <summary>Creates a pool over a fitted or loaded model.</summary>
        /// <param name="ml">The context to create engines with.</param>
        /// <param name="model">The model; shared by every engine.</param>
        /// <param name="maximumRetained">How many idle engines to keep; more are created under load and disposed after use. Default: twice the processor count.</param>
        /// <param name="ignoreMissingColumns">
        /// Whether a property of <typeparamref name="TOutput"/> that is not a column of the model's output is left at its
        /// default value (ML.NET's default for a PredictionEngine) instead of failing here. Default false: a renamed or
        /// dropped output column, or a misspelt property, fails when the pool is created rather than scoring defaults.
        /// </param>
        /// <exception cref="ArgumentOutOfRangeException">The model's output does not fit <typeparamref name="TOutput"/> (or its input <typeparamref name="TInput"/>), or <paramref name="maximumRetained"/> is below 1.</exception>
        public PredictionEnginePool(MLContext ml, ITransformer model, int? maximumRetained = null, bool ignoreMissingColumns = false)
        {
            _ml = ml ?? throw new ArgumentNullException(nameof(ml));
            _model = model ?? throw new ArgumentNullException(nameof(model));
            _ignoreMissingColumns = ignoreMissingColumns;
            MaximumRetained = maximumRetained ?? 2 * Environment.ProcessorCount;
            if (MaximumRetained < 1)
                throw new ArgumentOutOfRangeException(nameof(maximumRetained), maximumRetained, "maximumRetained must be at least 1.");
            // Creating the first engine checks the model against TInput/TOutput now, not on the first request.
            _idle.Add(Create());
        }

        /// <summary>The most idle engines kept for reuse.</summary>
        public int MaximumRetained { get; }

        /// <summary>Predicts one row; safe to call from any number of threads at once.</summary>
        public TOutput Predict(TInput input)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var engine = _idle.TryTake(out var idle) ? idle : Create();
            try
            {
                // A new output object per call: callers on other threads may still hold earlier results.
                var output = new TOutput();
                engine.Predict(input, ref output);
                return output;
            }
            finally
            {
                if (_disposed || _idle.Count >= MaximumRetained)
                    engine.Dispose();
                else
                    _idle.Add(engine);
            }
        }

        private PredictionEngine<TInput, TOutput> Create() => _ml.Model.CreatePredictionEngine<TInput, TOutput>(_model, _ignoreMissingColumns);

        /// <summary>Disposes the idle engines; engines in use are disposed when their prediction ends.</summary>
        public void Dispose()
        {
            _disposed = true;
            while (_idle.TryTake(out var engine))
                engine.Dispose();
        }
    }
}
