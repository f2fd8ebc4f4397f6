using System;

namespace MlnetLstm.Transforms
{
    /// <summary>Settings of a <see cref="LanguageModelBatcher"/>: how many texts step together, how long one waits for company, how many may queue.</summary>
    public sealed class LanguageModelBatcherOptions
    {
        /// <summary>
        /// The most texts (scored or generated) one worker steps together. Default 16: at H = 256 the recurrent
        /// weights are then read once for sixteen texts. 1 turns batching off (each worker serves one text at a time).
        /// </summary>
        public int MaximumBatchSize { get; set; } = 16;

        /// <summary>
        /// How long a worker that has a single text waits for others to arrive before it starts stepping alone.
        /// Default 200 µs: well under the time of one request, so that a client alone is not slowed down noticeably,
        /// and long enough for requests that arrive together to share their steps. Zero to 10 ms. No worker waits while
        /// requests have lately arrived more than four windows apart (a single caller): company would not come.
        /// </summary>
        public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMicroseconds(200);

        /// <summary>
        /// The most requests waiting for a place in a batch; one more is refused at once with
        /// <see cref="LanguageModelBatcherFullException"/> (a web API answers 503 with Retry-After) rather than queued
        /// without bound. Default 256.
        /// </summary>
        public int MaximumQueuedRequests { get; set; } = 256;

        /// <summary>
        /// How many threads step batches, each its own batch; null for the processor count. At light load each
        /// request gets a core of its own, at heavy load every worker steps a full batch.
        /// </summary>
        public int? Workers { get; set; }

        /// <summary>The wait a refused caller is told to allow before trying again (<see cref="LanguageModelBatcherFullException.RetryAfter"/>). Default 1 s.</summary>
        public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>Throws, naming the option, when one is out of range.</summary>
        internal void Validate()
        {
            Check(MaximumBatchSize is >= 1 and <= 1024, nameof(MaximumBatchSize), MaximumBatchSize, "1 to 1,024");
            Check(BatchWindow >= TimeSpan.Zero && BatchWindow <= TimeSpan.FromMilliseconds(10), nameof(BatchWindow), BatchWindow, "0 to 10 ms");
            Check(MaximumQueuedRequests is >= 1 and <= 1_000_000, nameof(MaximumQueuedRequests), MaximumQueuedRequests, "1 to 1,000,000");
            Check(Workers is null or (>= 1 and <= 1024), nameof(Workers), Workers, "null (the processor count) or 1 to 1,024");
            Check(RetryAfter > TimeSpan.Zero, nameof(RetryAfter), RetryAfter, "positive");
        }

        private static void Check(bool valid, string option, object? value, string expected)
        {
            if (!valid)
                throw new ArgumentOutOfRangeException(option, value, $"LanguageModelBatcherOptions.{option} is {value ?? "null"}; it must be {expected}.");
        }
    }
}
