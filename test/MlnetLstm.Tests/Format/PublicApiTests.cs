using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The public types of the two assemblies are the committed list in test/PublicApi.txt: a new public type (or one
    /// made public by mistake) is a deliberate change, made by updating that list.
    /// </summary>
    [TestClass]
    public sealed class PublicApiTests
    {
        [TestMethod]
        public void PublicTypesAreTheCommittedList()
        {
            var actual = new[] { typeof(SequenceTransformsCatalog).Assembly, typeof(RecurrentCatalog).Assembly }
                .SelectMany(a => a.GetExportedTypes().Select(t => $"{a.GetName().Name}: {t.FullName!.Replace('+', '.')}"))
                .Order(StringComparer.Ordinal)
                .ToArray();
            var expected = File.ReadAllLines(TestData.Fixture("../PublicApi.txt")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
            var added = actual.Except(expected).ToArray();
            var removed = expected.Except(actual).ToArray();
            Assert.IsTrue(added.Length == 0 && removed.Length == 0,
                $"The public types differ from test/PublicApi.txt. New: {string.Join(", ", added)}. Gone: {string.Join(", ", removed)}. " +
                $"If the change is meant, write this list into test/PublicApi.txt:\n{string.Join("\n", actual)}");
        }
    }
}
