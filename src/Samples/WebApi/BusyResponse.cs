using System;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>503 Service Unavailable with Retry-After, for a request the batcher refused (its queue is full, or the service is stopping): nothing of it was started.</summary>
    internal static class BusyResponse
    {
        public static IResult For(HttpContext context, LanguageModelBatcherFullException refused, ServiceMetrics metrics, string endpoint)
        {
            metrics.Refused(endpoint);
            int seconds = (int)Math.Ceiling(refused.RetryAfter.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Results.Json(new { error = refused.Message, retryAfterSeconds = seconds }, Json.Options, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
