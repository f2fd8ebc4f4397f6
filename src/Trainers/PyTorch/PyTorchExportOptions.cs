namespace MlnetLstm.Trainers
{
    /// <summary>Options of <see cref="Microsoft.ML.PyTorchCatalog.ExportToPyTorch"/>.</summary>
    public sealed class PyTorchExportOptions
    {
        /// <summary>The state_dict keys to write. Default those of d2l's <c>RNNModel</c> (Dive into Deep Learning, section 8.6): rnn.*, linear.*, which its <c>load_state_dict</c> accepts.</summary>
        public PyTorchParameterNames Names { get; set; } = new();

        /// <summary>Whether to write <c>&lt;path&gt;.safetensors</c>. Default true.</summary>
        public bool WriteSafetensors { get; set; } = true;

        /// <summary>Whether to write <c>&lt;path&gt;.pth</c> (PyTorch's zip format, which <c>torch.load(path, weights_only=True)</c> reads). Default true.</summary>
        public bool WritePth { get; set; } = true;
    }
}
