using System.Collections.Generic;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>The standardization of a sequence regressor's features (per feature) and labels (per horizon step).</summary>
    internal sealed record RegressionScaling(Standardization Features, Standardization Targets)
    {
        /// <summary>Standardized windows as a [rows, steps, features] tensor.</summary>
        public Tensor WindowTensor(IReadOnlyList<float[]> rows, int steps, Device device)
            => tensor(rows.SelectMany(row => Features.Apply(row)).ToArray(), new long[] { rows.Count, steps, Features.Mean.Length }, device: device);

        /// <summary>Standardized labels as a [rows, horizon] tensor.</summary>
        public Tensor TargetTensor(IReadOnlyList<float[]> rows, Device device)
            => tensor(rows.SelectMany(row => Targets.Apply(row)).ToArray(), new long[] { rows.Count, Targets.Mean.Length }, device: device);

        // *** Binary format ***
        // <feature standardization: see Standardization.Save> <label standardization: see Standardization.Save>
        public void Save(BinaryWriter writer)
        {
            Features.Save(writer);
            Targets.Save(writer);
        }

        public static RegressionScaling Load(BinaryReader reader, string source, int features, int horizon)
            => new(Standardization.Load(reader, source, features), Standardization.Load(reader, source, horizon));
    }
}
