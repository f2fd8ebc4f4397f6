using System;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// The service's settings, the "Model" section of the configuration: appsettings.json, the environment
    /// (<c>Model__Path=…</c>) or the command line (<c>--Model:Path=…</c>).
    /// </summary>
    public sealed class ModelServiceOptions
    {
        /// <summary>The configuration section.</summary>
        public const string Section = "Model";

        /// <summary>The model zip to serve (a pipeline that reads a Text column and ends with a RecurrentLanguageModel). Required.</summary>
        public string Path { get; set; } = "";

        /// <summary>How often the model file's time stamp is compared, besides change notifications. Default 2,000 ms.</summary>
        public int PollingIntervalMilliseconds { get; set; } = 2000;

        /// <summary>The longest prefix /generate accepts, in UTF-16 characters. Default 4,096.</summary>
        public int MaximumPrefixCharacters { get; set; } = 4096;

        /// <summary>The longest text /score accepts, in UTF-16 characters. Default 20,000.</summary>
        public int MaximumTextCharacters { get; set; } = 20_000;

        /// <summary>The largest maxNewTokens a /generate request may ask for. Default 2,000.</summary>
        public int MaximumNewTokens { get; set; } = 2000;

        /// <summary>
        /// The most requests (scored texts and generations together) stepped as one batch by a worker
        /// (<see cref="MlnetLstm.Transforms.LanguageModelBatcher"/>). Default 16. 1 turns batching off: each request is
        /// then scored on its own request thread by the pool's engines, as a service without batching does.
        /// </summary>
        public int MaximumBatchSize { get; set; } = 16;

        /// <summary>How long a lone request waits for company before it is stepped alone, in microseconds. Default 200; 0 to 10,000.</summary>
        public int BatchWindowMicroseconds { get; set; } = 200;

        /// <summary>The most requests waiting for a place in a batch; more get 503 Service Unavailable with Retry-After. Default 256.</summary>
        public int MaximumQueuedRequests { get; set; } = 256;

        /// <summary>The Retry-After of a 503, in seconds. Default 1.</summary>
        public int RetryAfterSeconds { get; set; } = 1;

        /// <summary>
        /// On shutdown (SIGTERM, Ctrl+C), how long open requests and /generate streams may go on before they are cut,
        /// in seconds; new connections are refused meanwhile. Default 10.
        /// </summary>
        public int ShutdownSeconds { get; set; } = 10;
        /// <summary>The most /generate streams open at once; a stream past it gets 503 Service Unavailable. Default 64.</summary>
        public int MaximumConcurrentStreams { get; set; } = 64;

        /// <summary>How long one /generate event may wait for a client that reads nothing before its stream is closed. Default 10,000 ms.</summary>
        public int StreamWriteTimeoutMilliseconds { get; set; } = 10_000;

        /// <summary>The most connections Kestrel keeps open at once; one past it is closed unanswered. Default 1,000.</summary>
        public int MaximumConnections { get; set; } = 1000;

        /// <summary>Throws, naming the setting and how to give it, when a setting is missing or out of range.</summary>
        public void Validate()
        {
            if (string.IsNullOrWhiteSpace(Path))
                throw new InvalidOperationException("The setting Model:Path is not set: give the model zip to serve in appsettings.json (\"Model\": { \"Path\": … }), " +
                    "the environment (Model__Path=/models/model.zip) or the command line (--Model:Path=/models/model.zip).");
            Check(PollingIntervalMilliseconds, nameof(PollingIntervalMilliseconds), 10);
            Check(MaximumPrefixCharacters, nameof(MaximumPrefixCharacters), 1);
            Check(MaximumTextCharacters, nameof(MaximumTextCharacters), 1);
            Check(MaximumNewTokens, nameof(MaximumNewTokens), 1);
            Check(MaximumBatchSize, nameof(MaximumBatchSize), 1, 1024);
            Check(BatchWindowMicroseconds, nameof(BatchWindowMicroseconds), 0, 10_000);
            Check(MaximumQueuedRequests, nameof(MaximumQueuedRequests), 1);
            Check(RetryAfterSeconds, nameof(RetryAfterSeconds), 1);
            Check(ShutdownSeconds, nameof(ShutdownSeconds), 0);
            Check(MaximumConcurrentStreams, nameof(MaximumConcurrentStreams), 1);
            Check(MaximumConnections, nameof(MaximumConnections), 1);
            Check(StreamWriteTimeoutMilliseconds, nameof(StreamWriteTimeoutMilliseconds), 10);
        }

        private static void Check(int value, string name, int minimum, int maximum = int.MaxValue)
        {
            if (value < minimum || value > maximum)
                throw new InvalidOperationException(maximum == int.MaxValue
                    ? $"The setting Model:{name} is {value}; it must be at least {minimum}."
                    : $"The setting Model:{name} is {value}; it must be {minimum} to {maximum:N0}.");
        }
    }
}
