using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// POST /generate {"prefix": "…", "maxNewTokens": 200, "greedy": false, "temperature": 0.8, …}: streams the
    /// continuation as server-sent events, one <c>token</c> event per generated token (<c>{"text": "…"}</c>) and a
    /// closing <c>done</c> event (<c>{"tokens": N, "modelVersion": V}</c>). Options left out take the model's saved
    /// generation settings; every request is checked before the stream starts, so a bad one gets a 4xx naming the field.
    /// At most Model:MaximumConcurrentStreams streams are open at once (<see cref="StreamSlots"/>): one more gets a 503
    /// with Retry-After. Generation stops when the client disconnects, or when a write waits on a client that reads
    /// nothing for Model:StreamWriteTimeoutMilliseconds (the stream is then closed). Streams are stepped in a batch with
    /// the other requests (LanguageModelService.Batcher); 503 with Retry-After when the batcher's queue is full.
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

        public static async Task HandleAsync(HttpContext context, LanguageModelService service, StreamSlots slots, ServiceMetrics metrics, ILoggerFactory logs)
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
                context.Response.StatusCode = e.StatusCode;
                await context.Response.WriteAsJsonAsync(new { error = e.Message, field = e.Field }, Json.Options, cancellation);
                return;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && cancellation.IsCancellationRequested)
            {
                return; // The client went away while sending its request: nobody to answer.
            }
            if (!slots.TryEnter())
            {
                // Nothing was started: the continuation is queued when it is first enumerated.
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "1";
                await context.Response.WriteAsJsonAsync(new
                {
                    error = $"The service is streaming to {slots.Maximum} clients already, its maximum (setting Model:MaximumConcurrentStreams). Retry in a moment.",
                    field = (string?)null,
                }, Json.Options, cancellation);
                return;
            }

            int count = 0;
            // A client that stops reading fills its socket's buffers, and then a flush waits for it: Kestrel's minimum
            // response rate counts every byte already written in its favour, so without this timer such a stream
            // would hold its slot for good.
            using var stalled = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            var writeTimeout = TimeSpan.FromMilliseconds(service.Options.StreamWriteTimeoutMilliseconds);
            var enumerator = tokens.GetAsyncEnumerator(cancellation);
            try
            {
                bool more;
                try
                {
                    // The first token before the response starts, so that a batcher whose queue is full is a 503.
                    more = await enumerator.MoveNextAsync();
                }
                catch (LanguageModelBatcherFullException e)
                {
                    await BusyResponse.For(context, e, metrics, "/generate").ExecuteAsync(context);
                    return;
                }
                context.Response.ContentType = "text/event-stream; charset=utf-8";
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers["X-Accel-Buffering"] = "no";
                for (; more; more = await enumerator.MoveNextAsync())
                {
                    stalled.CancelAfter(writeTimeout);
                    await context.Response.WriteAsync($"event: token\ndata: {JsonSerializer.Serialize(new { text = enumerator.Current }, Json.Options)}\n\n", stalled.Token);
                    await context.Response.Body.FlushAsync(stalled.Token);
                    count++;
                }
                stalled.CancelAfter(writeTimeout);
                await context.Response.WriteAsync($"event: done\ndata: {JsonSerializer.Serialize(new { tokens = count, modelVersion = version }, Json.Options)}\n\n", stalled.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && cancellation.IsCancellationRequested)
            {
                // The client went away: generation stopped between two tokens, and there is nobody to answer.
            }
            catch (OperationCanceledException) when (stalled.IsCancellationRequested)
            {
                // The client stopped reading: the stream is cut (its events so far were sent), which frees the slot.
                logs.CreateLogger(typeof(GenerateEndpoint).FullName!).LogWarning("A /generate client read nothing for {Timeout} ms (setting Model:StreamWriteTimeoutMilliseconds): its stream was closed after {Tokens} tokens.",
                    service.Options.StreamWriteTimeoutMilliseconds, count);
                context.Abort();
            }
            finally
            {
                // Ends a continuation still running (its batch place is freed at its next step).
                await enumerator.DisposeAsync();
                slots.Exit();
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
