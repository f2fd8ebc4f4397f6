using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>The optimizer of a recurrent trainer.</summary>
    public enum Optimizer
    {
        /// <summary>Plain stochastic gradient descent, as in the seed tutorials (which use learning rate 1 with clipping 1).</summary>
        Sgd = 0,

        /// <summary>Adam, with <see cref="RecurrentTrainingOptions.WeightDecay"/> added to the gradient (L2).</summary>
        Adam = 1,

        /// <summary>AdamW, with decoupled weight decay.</summary>
        AdamW = 2,
    }
}
