using System;
using System.Reflection;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The run-time check of the loaded Microsoft.ML version (src/MlNetInternals/MlNetVersion.cs): its accept/reject
    /// decision and message, tested through the pure Check function without loading another ML.NET. MlNetVersion is
    /// compiled into both MlnetLstm assemblies (an internal type of the same name in each), so it is reached by reflection.
    /// </summary>
    [TestClass]
    public sealed class MlNetVersionCheckTests
    {
        private const string Supported = "5.0.1;6.0.x";

        private static readonly Type TransformsCheck = VersionType(typeof(AtomicModelSave).Assembly);

        private static Type VersionType(Assembly assembly) =>
            assembly.GetType("MlnetLstm.MlNetVersion", throwOnError: true)!;

        private static string? Check(string supported, string? loaded, Type? type = null) =>
            (string?)(type ?? TransformsCheck).GetMethod("Check", BindingFlags.NonPublic | BindingFlags.Static)!
                .Invoke(null, new object?[] { supported, "MlnetLstm.Transforms", "Microsoft.ML.Core", loaded, "/app/Microsoft.ML.Core.dll" });

        [TestMethod]
        [DataRow("5.0.1")]
        [DataRow("5.0.1+a1b2c3d")]
        [DataRow("6.0.0")]
        [DataRow("6.0.0+0123456789abcdef")]
        [DataRow("6.0.3")]
        public void AcceptsTheSupportedVersions(string loaded) => Assert.IsNull(Check(Supported, loaded));

        [TestMethod]
        [DataRow("4.0.0")]
        [DataRow("5.0.0")]
        [DataRow("5.0.2")]
        [DataRow("5.1.0")]
        [DataRow("6.1.0")]
        [DataRow("7.0.0")]
        [DataRow("6.0.0-preview.1")]
        [DataRow("6.0")]
        [DataRow("")]
        [DataRow(null)]
        public void RejectsOtherVersions(string? loaded) => Assert.IsNotNull(Check(Supported, loaded));

        [TestMethod]
        public void TheMessageNamesTheSupportedVersionsWhatWasLoadedAndWhatToReference()
        {
            Assert.AreEqual(
                "MlnetLstm.Transforms supports Microsoft.ML 5.0.1 and 6.0.x; Microsoft.ML.Core 4.0.0 was loaded from " +
                "'/app/Microsoft.ML.Core.dll'. Reference one of those versions: <PackageReference Include=\"Microsoft.ML\" Version=\"6.0.0\" />.",
                Check(Supported, "4.0.0+deadbeef"));
            StringAssert.Contains(Check(Supported, null), "Microsoft.ML.Core (unknown version) was loaded");
            StringAssert.Contains(Check("5.0.1;6.0.x;7.0.x", "4.0.0"), "supports Microsoft.ML 5.0.1, 6.0.x and 7.0.x;");
            StringAssert.Contains(Check("6.0.x", "4.0.0"), "supports Microsoft.ML 6.0.x;");
        }

        [TestMethod]
        public void BothAssembliesCarryTheSupportedVersionsAndAcceptTheLoadedMicrosoftML()
        {
            foreach (var assembly in new[] { typeof(AtomicModelSave).Assembly, typeof(RecurrentCatalog).Assembly })
            {
                var type = VersionType(assembly);
                string supported = (string)type.GetProperty("Supported", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
                StringAssert.Matches(supported, new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.(\d+|x)(;\d+\.\d+\.(\d+|x))*$"),
                    $"{assembly.GetName().Name}: MicrosoftMLSupportedVersions (Directory.Packages.props)");
                string? loaded = typeof(MLContext).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
                Assert.IsNull(Check(supported, loaded, type), $"the Microsoft.ML the tests run on ({loaded}) is not among {supported}");
            }
        }
    }
}
