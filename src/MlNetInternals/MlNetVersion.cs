// Compiled into every MlnetLstm assembly that uses ML.NET internals (see MlNetInternals.targets).
using System;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MlnetLstm
{
    /// <summary>
    /// Entry to ML.NET for our components: registers a host after checking that the Microsoft.ML loaded at run time is
    /// one of the versions this assembly supports (MicrosoftMLSupportedVersions in Directory.Packages.props, passed in as
    /// assembly metadata). ML.NET's assembly version is always 1.0.0.0, so without this check an unverified version
    /// would surface later as a MissingMethodException deep inside a save or a load.
    /// </summary>
    internal static class MlNetVersion
    {
        private static readonly Lazy<string?> Mismatch = new(FindMismatch);

        /// <summary>The supported Microsoft.ML versions, ';'-separated, oldest first: "a.b.c" is that release,
        /// "a.b.x" every patch release of a.b.</summary>
        internal static string Supported { get; } = Metadata("MicrosoftMLSupportedVersions");

        /// <summary>Checks the loaded Microsoft.ML version (once per process), then registers a named host.</summary>
        internal static IHost Register(IHostEnvironment env, string name)
        {
            if (env is null)
                throw new ArgumentNullException(nameof(env));
            if (Mismatch.Value is { } message)
                throw new InvalidOperationException(message);
            return env.Register(name);
        }

        /// <summary>
        /// The decision, without loading anything: null when <paramref name="loaded"/> (an informational version such as
        /// "6.0.0+abc123", or null when unknown) is one of <paramref name="supported"/>, else the error message.
        /// </summary>
        internal static string? Check(string supported, string component, string assemblyName, string? loaded, string location)
        {
            string[] entries = supported.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string? version = loaded?.Split('+')[0];
            if (version is not null && entries.Any(entry => Matches(entry, version)))
                return null;
            string names = entries.Length == 1 ? entries[0] : string.Join(", ", entries[..^1]) + " and " + entries[^1];
            string example = entries[^1].Replace("x", "0", StringComparison.Ordinal);
            return $"{component} supports Microsoft.ML {names}; {assemblyName} {version ?? "(unknown version)"} was loaded from " +
                $"'{location}'. Reference one of those versions: <PackageReference Include=\"Microsoft.ML\" Version=\"{example}\" />.";
        }

        // "6.0.x" matches 6.0.0, 6.0.1, ...; "5.0.1" matches 5.0.1 only; a pre-release matches nothing.
        private static bool Matches(string entry, string version)
        {
            string[] wanted = entry.Split('.');
            string[] actual = version.Split('.');
            if (wanted.Length != 3 || actual.Length != 3 || !actual.All(part => part.Length > 0 && part.All(char.IsAsciiDigit)))
                return false;
            for (int i = 0; i < 3; i++)
            {
                if (!(i == 2 && wanted[i] == "x") && wanted[i] != actual[i])
                    return false;
            }
            return true;
        }

        private static string Metadata(string key) => typeof(MlNetVersion).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

        private static string? FindMismatch()
        {
            foreach (var assembly in new[] { typeof(IHostEnvironment).Assembly, typeof(MLContext).Assembly })
            {
                string? message = Check(Supported, typeof(MlNetVersion).Assembly.GetName().Name!, assembly.GetName().Name!,
                    assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion, assembly.Location);
                if (message is not null)
                    return message;
            }
            return null;
        }
    }
}
