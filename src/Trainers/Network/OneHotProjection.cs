namespace MlnetLstm.Trainers
{
    /// <summary>
    /// How the first layer computes W_ih · one_hot(x) for one-hot token input. Both give the
    /// same numbers from the same parameters; they differ only in speed.
    /// </summary>
    public enum OneHotProjection
    {
        /// <summary>Chooses <see cref="Gather"/> for large vocabularies and <see cref="Dense"/> for small ones (see the benchmarks).</summary>
        Auto = 0,

        /// <summary>Gathers the columns of W_ih for the token ids (cost independent of the vocabulary size); the recurrence then runs gate by gate.</summary>
        Gather = 1,

        /// <summary>Builds the one-hot matrix and multiplies it (cost grows with the vocabulary); the recurrence can then run fused.</summary>
        Dense = 2,
    }
}
