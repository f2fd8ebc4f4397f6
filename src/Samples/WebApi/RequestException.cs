using System;

namespace MlnetLstm.WebApi
{
    /// <summary>A request the service refuses with a 4xx (400 Bad Request unless said); the message names the field and what it must be.</summary>
    public sealed class RequestException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="field">The JSON field at fault (camelCase, as in the request), or "body".</param>
        /// <param name="message">What is wrong and what the field must be; starts with the field's name.</param>
        /// <param name="statusCode">The response's status: 400, or Kestrel's for a body it refused (413 too large, 408 too slow).</param>
        public RequestException(string field, string message, int statusCode = 400)
            : base(message)
        {
            Field = field;
            StatusCode = statusCode;
        }

        /// <summary>The response's status code.</summary>
        public int StatusCode { get; }

        /// <summary>The JSON field at fault, or "body" for the request as a whole.</summary>
        public string Field { get; }
    }
}
