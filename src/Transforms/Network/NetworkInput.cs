namespace MlnetLstm.Transforms
{
    /// <summary>What a recurrent network reads at each time step.</summary>
    internal enum NetworkInput
    {
        /// <summary>Token ids, one-hot encoded (input size = vocabulary size).</summary>
        TokensOneHot = 0,

        /// <summary>Token ids through a learned embedding.</summary>
        TokensEmbedding = 1,

        /// <summary>A dense feature vector (input size = number of features).</summary>
        Features = 2,
    }
}
