using System;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// The served model: a <see cref="ScoringEnginePool{TInput, TOutput}"/> over the model file, which reloads it when
    /// it is replaced (requests in flight finish on the model they started with) and keeps the old model when the new
    /// file does not load; both are logged. Concurrent requests are stepped in batches by a <see cref="LanguageModelBatcher"/>.
    /// </summary>
    public sealed class LanguageModelService : IDisposable
    {
        /// <summary>Loads the model named by the options; throws (and so fails the start) when it is missing or not a language model.</summary>
        public LanguageModelService(IOptions<ModelServiceOptions> options, ILogger<LanguageModelService> logger)
        {
            Options = options.Value;
            Options.Validate();
            Pool = ScoringEnginePool<TextInput, ScoreOutput>.FromFile(new MLContext(), Options.Path,
                pollingInterval: TimeSpan.FromMilliseconds(Options.PollingIntervalMilliseconds), validate: model => model.GetLanguageModel());
            Pool.Reloaded += (_, e) => logger.LogInformation("Model file {Path} replaced: now serving version {Version} (SHA-256 {Sha256}).", e.Path, e.Version, e.Sha256);
            Pool.ReloadFailed += (_, e) => logger.LogError(e.Error, "Model file {Path} was replaced by one that does not load, so version {Version} goes on serving: {Reason}",
                e.Path, e.Version, e.Reason);
            if (Options.MaximumBatchSize > 1)
                Batcher = new LanguageModelBatcher(new LanguageModelBatcherOptions
                {
                    MaximumBatchSize = Options.MaximumBatchSize,
                    BatchWindow = TimeSpan.FromMicroseconds(Options.BatchWindowMicroseconds),
                    MaximumQueuedRequests = Options.MaximumQueuedRequests,
                    RetryAfter = TimeSpan.FromSeconds(Options.RetryAfterSeconds),
                });
            logger.LogInformation("Serving model file {Path}: version 1 (SHA-256 {Sha256}), {Tokens} tokens in its vocabulary.",
                Pool.ModelPath, Pool.ModelSha256, Pool.Model.GetLanguageModel().Vocabulary.Count);
        }

        /// <summary>The settings.</summary>
        public ModelServiceOptions Options { get; }

        /// <summary>The engines over the current model.</summary>
        public ScoringEnginePool<TextInput, ScoreOutput> Pool { get; }

        /// <summary>
        /// Steps concurrent requests together (on the model each request took from <see cref="Pool"/>); null when
        /// Model:MaximumBatchSize is 1, and each request is then served on its own by the pool's engines.
        /// </summary>
        public LanguageModelBatcher? Batcher { get; }

        /// <summary>Stops the batcher (the host has let open requests finish for Model:ShutdownSeconds first) and watching the file.</summary>
        public void Dispose()
        {
            Batcher?.Dispose();
            Pool.Dispose();
        }
    }
}
