namespace MlnetLstm.Trainers
{
    /// <summary>
    /// How a recurrent layer is computed. Both use the same parameters (PyTorch layout: weight_ih, weight_hh,
    /// bias_ih, bias_hh) and compute the same function, so a model saved with one can be scored with the other.
    /// </summary>
    public enum RecurrentImplementation
    {
        /// <summary>TorchSharp's nn.LSTM/GRU/RNN (a fused oneDNN kernel on CPU, cuDNN on CUDA). The fastest on dense inputs.</summary>
        Fused = 0,

        /// <summary>
        /// The gate equations written out with tensor operations (GateLevelCells in the trainers), one time step at a time:
        /// transparent, a reference for the fused kernels, and the base for custom cells.
        /// </summary>
        GateLevel = 1,
    }
}
