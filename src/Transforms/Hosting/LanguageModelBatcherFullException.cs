using System;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A <see cref="LanguageModelBatcher"/> refused a request because its queue was full
    /// (<see cref="LanguageModelBatcherOptions.MaximumQueuedRequests"/>) or it is stopping. Nothing was started; try again
    /// after <see cref="RetryAfter"/> (a web API answers 503 Service Unavailable with a Retry-After header).
    /// </summary>
    public sealed class LanguageModelBatcherFullException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="message">Why the request was refused.</param>
        /// <param name="retryAfter">How long to wait before trying again.</param>
        public LanguageModelBatcherFullException(string message, TimeSpan retryAfter)
            : base(message)
        {
            RetryAfter = retryAfter;
        }

        /// <summary>How long to wait before trying again.</summary>
        public TimeSpan RetryAfter { get; }
    }
}
