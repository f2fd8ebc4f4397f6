using System;

namespace MlnetLstm.WebApi
{
    /// <summary>A request the service refuses with 400 Bad Request; the message names the field and what it must be.</summary>
    public sealed class RequestException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="field">The JSON field at fault (camelCase, as in the request), or "body".</param>
        /// <param name="message">What is wrong and what the field must be; starts with the field's name.</param>
        public RequestException(string field, string message)
            : base(message)
        {
            Field = field;
        }

        /// <summary>The JSON field at fault, or "body" for the request as a whole.</summary>
        public string Field { get; }
    }
}
