using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>How token ids enter the first recurrent layer.</summary>
    public enum TokenInputEncoding
    {
        /// <summary>
        /// One-hot vectors, as in Dive into Deep Learning's RNN chapter: the first layer's input weights are 4H×V (LSTM). A one-hot vector times a
        /// weight matrix is a column of it, so the input projection is computed by gathering columns, never by a dense
        /// one-hot matrix product (unless <see cref="OneHotProjection.Dense"/> is asked for).
        /// </summary>
        OneHot = 0,

        /// <summary>A learned embedding of <c>EmbeddingSize</c> dimensions before the first layer.</summary>
        Embedding = 1,
    }
}
