using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// The fields of a JSON request object, read one by one so that every mistake (malformed JSON, an unknown or
    /// misspelt field, a wrong type) becomes a <see cref="RequestException"/> naming the field, never a 500.
    /// </summary>
    public sealed class RequestFields
    {
        private readonly Dictionary<string, JsonElement> _fields;

        private RequestFields(Dictionary<string, JsonElement> fields) => _fields = fields;

        /// <summary>Reads the body as a JSON object whose field names are among <paramref name="known"/>.</summary>
        public static async Task<RequestFields> ReadAsync(Stream body, IReadOnlyCollection<string> known, CancellationToken cancellationToken)
        {
            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(body, default, cancellationToken);
            }
            catch (JsonException e)
            {
                // Also a body nested deeper than JsonDocument's 64 levels, or that is not UTF-8.
                throw new RequestException("body", $"The request body is not valid JSON ({e.Message}). Send a JSON object such as {{\"{known.First()}\": …}}.");
            }
            catch (BadHttpRequestException e)
            {
                // Kestrel's limits (ServerLimits): a body past MaxRequestBodySize, or one arriving slower than the minimum rate.
                string fix = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? "Send a shorter text: the service's limits are the settings Model:MaximumPrefixCharacters and Model:MaximumTextCharacters."
                    : "Send the whole body at once.";
                throw new RequestException("body", $"The request body was refused: {e.Message} {fix}", e.StatusCode);
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new RequestException("body", $"The request body is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}; send a JSON object with the fields {string.Join(", ", known)}.");
                var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    // A misspelt option silently ignored would generate with defaults the caller did not ask for.
                    if (!known.Contains(property.Name))
                        throw new RequestException(property.Name, $"Field '{property.Name}' is not a field of this request; the fields are {string.Join(", ", known)} (names are case-sensitive).");
                    fields[property.Name] = property.Value.Clone();
                }
                return new RequestFields(fields);
            }
        }

        private JsonElement? Get(string name) => _fields.TryGetValue(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        /// <summary>A string field; null when absent or null.</summary>
        public string? String(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => Utf16(name, value),
            { } value => throw WrongType(name, value, "a string"),
        };

        // JsonDocument checks a string's UTF-8 only when it is read: a body with invalid bytes in a string would be a 500.
        private static string Utf16(string name, JsonElement value)
        {
            try
            {
                return value.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                throw new RequestException(name, $"Field '{name}' is not valid UTF-8 ({e.Message}). Send the body as UTF-8 JSON.");
            }
        }

        /// <summary>Whether the field is present with the JSON value null (not the same as absent, for a field whose default is not null).</summary>
        public bool IsExplicitNull(string name) => _fields.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.Null;

        /// <summary>A whole-number field; null when absent or null.</summary>
        public int? Integer(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out int i) => i,
            { } value => throw WrongType(name, value, "a whole number from -2147483648 to 2147483647"),
        };

        /// <summary>A number field; null when absent or null.</summary>
        public float? Number(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value when value.TryGetSingle(out float f) && float.IsFinite(f) => f,
            { } value => throw WrongType(name, value, "a finite number"),
        };

        /// <summary>A true/false field; null when absent or null.</summary>
        public bool? Boolean(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            { } value => throw WrongType(name, value, "true or false"),
        };

        private static RequestException WrongType(string name, JsonElement value, string expected)
        {
            string raw = value.GetRawText();
            return new RequestException(name, $"Field '{name}' is {(raw.Length > 40 ? raw[..40] + "…" : raw)}; it must be {expected}.");
        }
    }
}
