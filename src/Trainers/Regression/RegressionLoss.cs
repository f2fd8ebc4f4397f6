using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>The loss of the recurrent regression trainer, on standardized targets.</summary>
    public enum RegressionLoss
    {
        /// <summary>Mean squared error: the default, for targets without outliers (such as a sine wave).</summary>
        SquaredError = 0,

        /// <summary>Huber loss: squared below <c>HuberDelta</c> (in standard deviations of the target), linear above; robust to outliers.</summary>
        Huber = 1,
    }
}
