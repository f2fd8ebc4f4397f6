using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// POST /score {"text": "…"}: the language model's log-likelihood of the text, its perplexity, bits per token
    /// and bits per character (−log₂ likelihood / Unicode characters), and the model version that scored it. Scored in a
    /// batch with the other requests (LanguageModelService.Batcher); 503 with Retry-After when the batcher's queue is full.
    /// </summary>
    internal static class ScoreEndpoint
    {
        private static readonly string[] Fields = { "text" };

        public static async Task<IResult> HandleAsync(HttpContext context, LanguageModelService service, ServiceMetrics metrics)
        {
            string text;
            try
            {
                var fields = await RequestFields.ReadAsync(context.Request.Body, Fields, context.RequestAborted);
                text = fields.String("text") ?? throw new RequestException("text", "Field 'text' is required: the text to score.");
                if (text.Length == 0)
                    throw new RequestException("text", "Field 'text' is empty; give at least one character to score.");
                if (text.Length > service.Options.MaximumTextCharacters)
                    throw new RequestException("text", $"Field 'text' has {text.Length:N0} characters; this service scores at most {service.Options.MaximumTextCharacters:N0} (setting Model:MaximumTextCharacters).");
            }
            catch (RequestException e)
            {
                return Results.Json(new { error = e.Message, field = e.Field }, Json.Options, statusCode: e.StatusCode);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
            {
                return Results.Empty; // The client went away while sending its request: nobody to answer.
            }
            long version;
            double logLikelihood, perplexity, bitsPerToken;
            if (service.Batcher is LanguageModelBatcher batcher)
            {
                // One model for the request, taken before it joins a batch: a reload meanwhile does not change it.
                var model = service.Pool.GetModel(out version);
                LanguageModelScore score;
                try
                {
                    score = await batcher.ScoreAsync(model, new TextInput { Text = text }, context.RequestAborted);
                }
                catch (LanguageModelBatcherFullException e)
                {
                    return BusyResponse.For(context, e, metrics, "/score");
                }
                (logLikelihood, perplexity, bitsPerToken) = (score.LogLikelihood, score.Perplexity, score.BitsPerToken);
                metrics.Scored(score.Tokens);
            }
            else
            {
                var scored = service.Pool.Predict(new TextInput { Text = text }, out version);
                (logLikelihood, perplexity, bitsPerToken) = (scored.LogLikelihood, scored.Perplexity, scored.BitsPerToken);
            }
            int characters = text.EnumerateRunes().Count();
            return Results.Json(new
            {
                logLikelihood,
                perplexity,
                bitsPerToken,
                bitsPerCharacter = -logLikelihood / Math.Log(2) / characters,
                characters,
                modelVersion = version,
            }, Json.Options);
        }
    }
}
