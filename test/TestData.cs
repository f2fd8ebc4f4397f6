using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.ModelRunner;

namespace MlnetLstm.Tests
{
    /// <summary>Small in-memory data sets for the tests.</summary>
    internal static class TestData
    {
        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, params string[] texts)
            => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToList());

        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, IEnumerable<string> texts) => Texts(ml, texts.ToArray());
    }
}
