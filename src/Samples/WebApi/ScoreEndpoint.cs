using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// POST /score {"text": "…"}: the language model's log-likelihood of the text, its perplexity, bits per token
    /// and bits per character (−log₂ likelihood / Unicode characters), and the model version that scored it.
    /// </summary>
    internal static class ScoreEndpoint
    {
        private static readonly string[] Fields = { "text" };

        public static async Task<IResult> HandleAsync(HttpContext context, LanguageModelService service)
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
            var scored = service.Pool.Predict(new TextInput { Text = text }, out long version);
            int characters = text.EnumerateRunes().Count();
            return Results.Json(new
            {
                logLikelihood = scored.LogLikelihood,
                perplexity = scored.Perplexity,
                bitsPerToken = scored.BitsPerToken,
                bitsPerCharacter = -scored.LogLikelihood / Math.Log(2) / characters,
                characters,
                modelVersion = version,
            }, Json.Options);
        }
    }
}
