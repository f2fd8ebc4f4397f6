namespace MlnetLstm.Transforms
{
    /// <summary>How a sequence encoder turns the per-step outputs of the last layer into one vector.</summary>
    public enum SequencePooling
    {
        /// <summary>
        /// The final state: the forward direction's output at the last valid step (and, when bidirectional, the
        /// backward direction's output at the first step, where it ends).
        /// </summary>
        Last = 0,

        /// <summary>The mean over the valid steps.</summary>
        Mean = 1,

        /// <summary>The element-wise maximum over the valid steps.</summary>
        Max = 2,
    }
}
