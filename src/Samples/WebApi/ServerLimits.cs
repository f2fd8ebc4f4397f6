using System;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// Kestrel's limits, set on purpose for a service that any client can reach (docs/bad-input.md, "Web API under
    /// hostile clients"): a body no larger than the longest text the service accepts, headers that must arrive within
    /// seconds, bodies and responses that must move at a minimum rate, and a cap on open connections. Requests past
    /// these limits end with a 4xx before a model is touched; a client past the connection cap is closed unanswered.
    /// </summary>
    internal static class ServerLimits
    {
        /// <summary>The most bytes one character of a JSON string takes in the body: an escape such as <c>\u00e9</c>.</summary>
        public const int BytesPerCharacter = 6;

        /// <summary>Room in the body for the braces, the field names and the generation options besides the text.</summary>
        public const int OtherFieldsBytes = 4096;

        /// <summary>How long a client may take to send its request headers. Kestrel answers 408 after it.</summary>
        public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

        /// <summary>How long an idle keep-alive connection stays open between requests.</summary>
        public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(30);

        /// <summary>
        /// The slowest a body may arrive, and a response be read, after a grace period: a slow sender (one byte a
        /// second) gets a 408. (A /generate client that stops reading is cut by GenerateEndpoint's write timeout:
        /// this rate credits it with every byte its socket buffers took.)
        /// </summary>
        public static readonly MinDataRate MinimumDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

        /// <summary>The largest request body the service reads: the longer of the prefix and text limits, escaped, and the other fields.</summary>
        public static long MaximumBodyBytes(ModelServiceOptions options)
            => (long)BytesPerCharacter * Math.Max(options.MaximumPrefixCharacters, options.MaximumTextCharacters) + OtherFieldsBytes;

        /// <summary>Sets the limits on <paramref name="kestrel"/> from the service's settings.</summary>
        public static void Apply(KestrelServerOptions kestrel, ModelServiceOptions options)
        {
            var limits = kestrel.Limits;
            limits.MaxRequestBodySize = MaximumBodyBytes(options);
            limits.MaxRequestHeadersTotalSize = 16 * 1024;
            limits.MaxRequestHeaderCount = 64;
            limits.MaxRequestLineSize = 8 * 1024;
            limits.RequestHeadersTimeout = RequestHeadersTimeout;
            limits.KeepAliveTimeout = KeepAliveTimeout;
            limits.MinRequestBodyDataRate = MinimumDataRate;
            limits.MinResponseDataRate = MinimumDataRate;
            limits.MaxConcurrentConnections = options.MaximumConnections;
            limits.MaxConcurrentUpgradedConnections = 0;
            kestrel.AddServerHeader = false;
        }
    }
}
