using System;

namespace MlnetLstm.Transforms
{
    /// <summary>What happened when a <see cref="ScoringEnginePool{TInput, TOutput}"/> read its model file again.</summary>
    public sealed class ModelReloadEventArgs : EventArgs
    {
        internal ModelReloadEventArgs(string path, long version, string sha256, Exception? error)
        {
            Path = path;
            Version = version;
            Sha256 = sha256;
            Error = error;
            if (error is not null)
                Reason = Describe(error);
        }

        /// <summary>The model file.</summary>
        public string Path { get; }

        /// <summary>The version now being served: the new one after a reload, the previous one after a failure.</summary>
        public long Version { get; }

        /// <summary>The SHA-256 (hexadecimal) of the file that was read; empty when it could not be read.</summary>
        public string Sha256 { get; }

        /// <summary>Why the file was rejected (the previous model stays); null after a successful reload.</summary>
        public Exception? Error { get; }

        /// <summary>
        /// The messages of <see cref="Error"/> and its inner exceptions, outermost first, without the
        /// TargetInvocationExceptions ML.NET wraps a component's load failure in (the message that names the damaged
        /// entry is the innermost one); null after a successful reload.
        /// </summary>
        public string? Reason { get; }

        internal static string Describe(Exception error)
        {
            var messages = new System.Collections.Generic.List<string>();
            for (var e = error; e is not null; e = e.InnerException)
                if (e is not System.Reflection.TargetInvocationException && (messages.Count == 0 || !messages[^1].Contains(e.Message, StringComparison.Ordinal)))
                    messages.Add(e.Message.TrimEnd('.'));
            return string.Join(": ", messages) + ".";
        }
    }
}
