namespace MlnetLstm.Transforms
{
    /// <summary>The recurrent cell of every layer. Gate order and parameter layout follow PyTorch.</summary>
    public enum RecurrentCell
    {
        /// <summary>Long short-term memory: input, forget, candidate and output gates (PyTorch order i, f, g, o).</summary>
        Lstm = 0,

        /// <summary>Gated recurrent unit: reset, update and candidate (PyTorch order r, z, n; the reset gate multiplies the recurrent term after its bias).</summary>
        Gru = 1,

        /// <summary>Vanilla (Elman) recurrent network with tanh.</summary>
        RnnTanh = 2,

        /// <summary>Vanilla (Elman) recurrent network with ReLU.</summary>
        RnnRelu = 3,
    }
}
