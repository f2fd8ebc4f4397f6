using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>How the learning rate changes during training.</summary>
    public enum LearningRateSchedule
    {
        /// <summary>The learning rate stays at its initial value.</summary>
        Constant = 0,

        /// <summary>
        /// Cosine decay from the initial value to zero over the run: the fraction done is the larger of
        /// steps / (epochs × batches per epoch) and elapsed time / time budget.
        /// </summary>
        Cosine = 1,
    }
}
