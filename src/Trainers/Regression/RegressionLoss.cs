using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>The loss of the recurrent regression trainer, on standardized targets.</summary>
    public enum RegressionLoss
    {
        /// <summary>Mean squared error, as in the seed's sine-wave experiment.</summary>
        SquaredError = 0,

        /// <summary>Huber loss: squared below <c>HuberDelta</c> (in standard deviations of the target), linear above; robust to outliers.</summary>
        Huber = 1,
    }
}
