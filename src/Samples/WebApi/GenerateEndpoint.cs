using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// POST /generate {"prefix": "…", "maxNewTokens": 200, "greedy": false, "temperature": 0.8, …}: streams the
    /// continuation as server-sent events, one <c>token</c> event per generated token (<c>{"text": "…"}</c>) and a
    /// closing <c>done</c> event (<c>{"tokens": N, "modelVersion": V}</c>). Options left out take the model's saved
    /// generation settings; every request is checked before the stream starts, so a bad one gets a 400 naming the field.
    /// Generation stops when the client disconnects. Streams are stepped in a batch with the other requests
    /// (LanguageModelService.Batcher); 503 with Retry-After when the batcher's queue is full.
    /// </summary>
    internal static class GenerateEndpoint
    {
        private static readonly string[] Fields = { "prefix", "maxNewTokens", "greedy", "temperature", "topK", "topP", "repetitionPenalty", "seed", "stopToken" };

        // GenerationOptions' names (in its exceptions' ParamName) → the request's field names.
        private static readonly Dictionary<string, string> FieldOfOption = new(StringComparer.Ordinal)
        {
            [nameof(GenerationOptions.MaximumNewTokens)] = "maxNewTokens",
            [nameof(GenerationOptions.Temperature)] = "temperature",
            [nameof(GenerationOptions.TopK)] = "topK",
            [nameof(GenerationOptions.TopP)] = "topP",
            [nameof(GenerationOptions.RepetitionPenalty)] = "repetitionPenalty",
            [nameof(GenerationOptions.StopToken)] = "stopToken",
            // RecurrentLanguageModelTransformer names its generation argument when the stop token is not in the vocabulary.
            ["generation"] = "stopToken",
        };

        public static async Task HandleAsync(HttpContext context, LanguageModelService service, ServiceMetrics metrics)
        {
            var cancellation = context.RequestAborted;
            IAsyncEnumerable<string> tokens;
            long version;
            try
            {
                (tokens, version) = await StartAsync(context, service);
            }
            catch (RequestException e)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new { error = e.Message, field = e.Field }, Json.Options, cancellation);
                return;
            }
            catch (LanguageModelBatcherFullException e)
            {
                await BusyResponse.For(context, e, metrics, "/generate").ExecuteAsync(context);
                return;
            }

            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            int count = 0;
            try
            {
                await foreach (string token in tokens.WithCancellation(cancellation))
                {
                    await context.Response.WriteAsync($"event: token\ndata: {JsonSerializer.Serialize(new { text = token }, Json.Options)}\n\n", cancellation);
                    await context.Response.Body.FlushAsync(cancellation);
                    count++;
                }
                await context.Response.WriteAsync($"event: done\ndata: {JsonSerializer.Serialize(new { tokens = count, modelVersion = version }, Json.Options)}\n\n", cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                // The client went away: generation stopped between two tokens, and there is nobody to answer.
            }
        }

        /// <summary>Reads and checks the request, and starts the generation on the model being served now.</summary>
        private static async Task<(IAsyncEnumerable<string> Tokens, long Version)> StartAsync(HttpContext context, LanguageModelService service)
        {
            var fields = await RequestFields.ReadAsync(context.Request.Body, Fields, context.RequestAborted);
            string prefix = fields.String("prefix") ?? throw new RequestException("prefix", "Field 'prefix' is required: the text to continue.");
            if (prefix.Length == 0)
                throw new RequestException("prefix", "Field 'prefix' is empty; give at least one character to continue.");
            if (prefix.Length > service.Options.MaximumPrefixCharacters)
                throw new RequestException("prefix", $"Field 'prefix' has {prefix.Length:N0} characters; this service continues at most {service.Options.MaximumPrefixCharacters:N0} (setting Model:MaximumPrefixCharacters).");

            // One model for the whole request: a reload during the stream does not change it.
            var model = service.Pool.GetModel(out long version);
            var saved = model.GetLanguageModel().Generation;
            int maximumNewTokens = fields.Integer("maxNewTokens") ?? Math.Min(saved.MaximumNewTokens, service.Options.MaximumNewTokens);
            if (maximumNewTokens > service.Options.MaximumNewTokens)
                throw new RequestException("maxNewTokens", $"Field 'maxNewTokens' is {maximumNewTokens}; this service generates at most {service.Options.MaximumNewTokens} tokens (setting Model:MaximumNewTokens).");
            var generation = saved with
            {
                MaximumNewTokens = maximumNewTokens,
                Greedy = fields.Boolean("greedy") ?? saved.Greedy,
                Temperature = fields.Number("temperature") ?? saved.Temperature,
                TopK = fields.Integer("topK") ?? saved.TopK,
                TopP = fields.Number("topP") ?? saved.TopP,
                RepetitionPenalty = fields.Number("repetitionPenalty") ?? saved.RepetitionPenalty,
                Seed = fields.IsExplicitNull("seed") ? null : fields.Integer("seed") ?? saved.Seed,
                StopToken = fields.IsExplicitNull("stopToken") ? null : fields.String("stopToken") ?? saved.StopToken,
                AllowEmptyPrefix = false,
            };
            try
            {
                // Checks the options and the prefix now, before the response starts; the tokens come as they are chosen,
                // in a batch with the other requests, or without batching on this request's thread as they are enumerated.
                var input = new TextInput { Text = prefix };
                return (service.Batcher is LanguageModelBatcher batcher
                    ? batcher.GenerateAsync(model, input, generation, context.RequestAborted)
                    : model.GenerateTokens(input, generation, context.RequestAborted).ToAsyncEnumerable(), version);
            }
            catch (ArgumentOutOfRangeException e) when (e.ParamName is string option && FieldOfOption.TryGetValue(option, out var field))
            {
                throw new RequestException(field, $"Field '{field}': {FirstLine(e.Message)}");
            }
            catch (InvalidOperationException e)
            {
                // The prefix cannot be continued (only characters the model never saw).
                throw new RequestException("prefix", $"Field 'prefix': {e.Message}");
            }
        }

        // ArgumentException appends " (Parameter 'TopP')", and the actual value on a line of its own.
        private static string FirstLine(string message)
        {
            string first = message.Split('\n', 2)[0].Trim();
            int parameter = first.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
            return parameter > 0 ? first[..parameter] : first;
        }
    }
}
