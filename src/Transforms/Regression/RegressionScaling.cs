using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>The standardization of a sequence regressor's features (per feature) and labels (per horizon step).</summary>
    internal sealed record RegressionScaling(Standardization Features, Standardization Targets)
    {
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
