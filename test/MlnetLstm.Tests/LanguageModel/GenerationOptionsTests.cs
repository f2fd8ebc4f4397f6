using System;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>Every generation option out of its range is rejected when the estimator is created, naming the option and its range.</summary>
    [TestClass]
    public sealed class GenerationOptionsTests
    {
        [TestMethod]
        [DataRow("MaximumNewTokens", -1, "0 to 1,000,000")]
        [DataRow("MaximumNewTokens", 1_000_001, "0 to 1,000,000")]
        [DataRow("Temperature", 0, "a positive number")]
        [DataRow("Temperature", double.PositiveInfinity, "a positive number")]
        [DataRow("Temperature", double.NaN, "a positive number")]
        [DataRow("TopK", -1, "0 (no limit) or more")]
        [DataRow("TopP", 0, "in (0, 1]")]
        [DataRow("TopP", 1.5, "in (0, 1]")]
        [DataRow("RepetitionPenalty", 0, "a positive number (1 for none)")]
        [DataRow("RepetitionPenalty", -1.5, "a positive number (1 for none)")]
        [DataRow("RepetitionPenalty", double.NaN, "a positive number (1 for none)")]
        [DataRow("StopToken", "", "a token of the vocabulary, or null for none")]
        public void OutOfRangeOptionIsRejectedWithItsNameAndRange(string option, object value, string range)
        {
            var generation = option switch
            {
                "MaximumNewTokens" => new GenerationOptions { MaximumNewTokens = Convert.ToInt32(value) },
                "Temperature" => new GenerationOptions { Temperature = Convert.ToSingle(value) },
                "TopK" => new GenerationOptions { TopK = Convert.ToInt32(value) },
                "TopP" => new GenerationOptions { TopP = Convert.ToSingle(value) },
                "RepetitionPenalty" => new GenerationOptions { RepetitionPenalty = Convert.ToSingle(value) },
                "StopToken" => new GenerationOptions { StopToken = (string)value },
                _ => throw new ArgumentOutOfRangeException(nameof(option)),
            };
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
                ml.Transforms.Text.RecurrentLanguageModel(new RecurrentLanguageModelTrainer.Options { Generation = generation }));
            Assert.AreEqual(option, e.ParamName);
            Assert.Contains($"Generation option {option} is", e.Message);
            Assert.Contains($"it must be {range}", e.Message);
        }
    }
}
