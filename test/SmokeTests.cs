using System.IO;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    [TestClass]
    public sealed class SmokeTests
    {
        [TestMethod]
        public void TokenizerFitsSavesAndLoads()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "hello world", "héllo 😀");
            var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens"));
            var model = pipeline.Fit(data);
            var path = Path.Combine(Path.GetTempPath(), "smoke.zip");
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext(seed: 1).Model.Load(path, out _);
            var before = string.Join("\n", Runner.Predict(ml, model, "onehot", new[] { "hello 😀", "xyz" }));
            var after = string.Join("\n", Runner.Predict(ml, loaded, "onehot", new[] { "hello 😀", "xyz" }));
            System.Console.WriteLine(before);
            Assert.AreEqual(before, after);
        }
    }
}
