using System;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Model zips name their loader assembly with its version ("MlnetLstm.Transforms, Version=1.0.0.0"), and .NET does
    /// not bind that to a lower version: the assemblies keep version 1.0.0.0 whatever the package version, or every zip
    /// saved before would stop loading (ScoringOnlyAppTests.ZipOfFormat1NamesTheTrainersAssemblyItNeeds failed so when
    /// the package version 0.1.0 first became the assembly version).
    /// </summary>
    [TestClass]
    public sealed class AssemblyIdentityTests
    {
        [TestMethod]
        public void AssembliesKeepTheVersionThatSavedZipsName()
        {
            Assert.AreEqual(new Version(1, 0, 0, 0), typeof(AtomicModelSave).Assembly.GetName().Version);
            Assert.AreEqual(new Version(1, 0, 0, 0), typeof(RecurrentCatalog).Assembly.GetName().Version);
        }
    }
}
