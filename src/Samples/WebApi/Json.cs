using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MlnetLstm.WebApi
{
    /// <summary>The service's JSON settings: camelCase, NaN or infinite scores written as "NaN"/"Infinity" rather than failing the response, readable text.</summary>
    internal static class Json
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            // Messages and generated text stay readable (apostrophes, CJK) instead of \u escapes; the body is JSON, never HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
    }
}
