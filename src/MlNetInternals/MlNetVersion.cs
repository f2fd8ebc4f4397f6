// Compiled into every MlnetLstm assembly that uses ML.NET internals (see MlNetInternals.targets).
using System;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MlnetLstm
{
    /// <summary>
    /// Entry to ML.NET for our components: registers a host after checking that the Microsoft.ML loaded at run time
    /// is the exact version we compiled against. ML.NET's assembly version is always 1.0.0.0, so without this check a
    /// mismatch would surface later as a MissingMethodException deep inside a save or a load.
    /// </summary>
    internal static class MlNetVersion
    {
        private static readonly Lazy<string?> Mismatch = new(FindMismatch);

        /// <summary>The Microsoft.ML package version this assembly was built against.</summary>
        internal static string Required { get; } = typeof(MlNetVersion).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MicrosoftMLVersion").Value!;

        /// <summary>Checks the loaded Microsoft.ML version (once per process), then registers a named host.</summary>
        internal static IHost Register(IHostEnvironment env, string name)
        {
            if (env is null)
                throw new ArgumentNullException(nameof(env));
            if (Mismatch.Value is { } message)
                throw new InvalidOperationException(message);
            return env.Register(name);
        }

        private static string? FindMismatch()
        {
            foreach (var assembly in new[] { typeof(IHostEnvironment).Assembly, typeof(MLContext).Assembly })
            {
                var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
                var loaded = informational?.Split('+')[0];
                if (loaded != Required)
                    return $"{typeof(MlNetVersion).Assembly.GetName().Name} was built against Microsoft.ML {Required}, but {assembly.GetName().Name} " +
                        $"{loaded ?? "(unknown version)"} was loaded from '{assembly.Location}'. Reference exactly that version: " +
                        $"<PackageReference Include=\"Microsoft.ML\" Version=\"[{Required}]\" />.";
            }
            return null;
        }
    }
}
