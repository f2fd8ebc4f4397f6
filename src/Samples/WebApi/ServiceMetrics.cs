using System.Diagnostics.Metrics;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// The service's own measurements, under the meter <see cref="MeterName"/>: the model version served, tokens scored
    /// and requests refused. With ASP.NET Core's request counts and latency histograms (http.server.request.duration,
    /// by route and status) and the batcher's batch sizes and generated tokens (MlnetLstm.Batching), /metrics serves
    /// them in Prometheus' format.
    /// </summary>
    public sealed class ServiceMetrics
    {
        /// <summary>The name of the service's meter.</summary>
        public const string MeterName = "MlnetLstm.WebApi";

        private readonly Counter<long> _scoredTokens;
        private readonly Counter<long> _refused;

        /// <summary>Creates the meter through the host's factory (disposed with the host).</summary>
        public ServiceMetrics(IMeterFactory meters, LanguageModelService service)
        {
            var meter = meters.Create(MeterName);
            meter.CreateObservableGauge("mlnetlstm.model.version", () => service.Pool.ModelVersion, "{version}", "The version of the model being served: 1, then one more per hot reload.");
            _scoredTokens = meter.CreateCounter<long>("mlnetlstm.scored.tokens", "{token}", "Tokens of the texts /score answered in batches (Model:MaximumBatchSize above 1).");
            _refused = meter.CreateCounter<long>("mlnetlstm.requests.refused", "{request}", "Requests answered 503 because the batcher's queue was full.");
        }

        /// <summary>Counts the tokens of one scored text.</summary>
        public void Scored(int tokens) => _scoredTokens.Add(tokens);

        /// <summary>Counts one refused request of <paramref name="endpoint"/>.</summary>
        public void Refused(string endpoint) => _refused.Add(1, new System.Collections.Generic.KeyValuePair<string, object?>("endpoint", endpoint));
    }
}
