using System;
using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The shape of a recurrent network: everything needed to rebuild it (in the trainers) or score with it (in the managed engine) before its weights are read.
    /// Every field is range-checked on construction, so absurd sizes from a damaged model file are rejected
    /// before anything is allocated.
    /// </summary>
    internal sealed record RecurrentArchitecture
    {
        /// <summary>The largest hidden size, embedding size or number of features accepted.</summary>
        public const int MaximumWidth = 1 << 16;

        /// <summary>The most layers accepted.</summary>
        public const int MaximumLayers = 64;

        /// <summary>The most parameters (floats) a network may have: 2^31, 8 GiB.</summary>
        public const long MaximumParameters = 1L << 31;

        public RecurrentArchitecture(RecurrentCell cell, NetworkInput input, int inputSize, int embeddingSize, int hiddenSize, int layers, float dropout, int outputSize,
            bool bidirectional = false)
        {
            Check(Enum.IsDefined(cell), $"cell kind {(int)cell} is not LSTM, GRU or RNN");
            Check(Enum.IsDefined(input), $"network input kind {(int)input} is unknown");
            Check(inputSize >= 1 && inputSize <= Vocabulary.MaximumSize, $"input size {inputSize} is outside 1 to {Vocabulary.MaximumSize}");
            Check(input != NetworkInput.TokensEmbedding || (embeddingSize >= 1 && embeddingSize <= MaximumWidth), $"embedding size {embeddingSize} is outside 1 to {MaximumWidth}");
            Check(hiddenSize >= 1 && hiddenSize <= MaximumWidth, $"hidden size {hiddenSize} is outside 1 to {MaximumWidth}");
            Check(layers >= 1 && layers <= MaximumLayers, $"number of layers {layers} is outside 1 to {MaximumLayers}");
            Check(dropout >= 0 && dropout < 1, $"dropout {dropout} is outside [0, 1)");
            Check(outputSize >= 1 && outputSize <= Vocabulary.MaximumSize, $"output size {outputSize} is outside 1 to {Vocabulary.MaximumSize}");
            Cell = cell;
            Input = input;
            InputSize = inputSize;
            EmbeddingSize = input == NetworkInput.TokensEmbedding ? embeddingSize : 0;
            HiddenSize = hiddenSize;
            Layers = layers;
            Dropout = dropout;
            OutputSize = outputSize;
            Bidirectional = bidirectional;
            Check(ParameterCount <= MaximumParameters, $"the network would have {ParameterCount} parameters, more than {MaximumParameters}");
        }

        public RecurrentCell Cell { get; }

        public NetworkInput Input { get; }

        /// <summary>Vocabulary size for token input, number of features for feature input.</summary>
        public int InputSize { get; }

        public int EmbeddingSize { get; }

        public int HiddenSize { get; }

        public int Layers { get; }

        /// <summary>Dropout probability between layers, applied only in training.</summary>
        public float Dropout { get; }

        /// <summary>Width of the linear head on the last layer's hidden state.</summary>
        public int OutputSize { get; }

        /// <summary>Whether every layer also reads the sequence backwards (encoders only; never for next-token models).</summary>
        public bool Bidirectional { get; }

        /// <summary>1, or 2 when bidirectional.</summary>
        public int Directions => Bidirectional ? 2 : 1;

        /// <summary>Width of a layer's output: hidden size × directions.</summary>
        public int OutputWidth => HiddenSize * Directions;

        /// <summary>Rows of weight_ih per hidden unit: 4 for LSTM, 3 for GRU, 1 for RNN.</summary>
        public int Gates => Cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

        /// <summary>Input width of the first recurrent layer.</summary>
        public int FirstLayerInputSize => Input == NetworkInput.TokensEmbedding ? EmbeddingSize : InputSize;

        /// <summary>The number of parameters (floats), computed in 64 bits.</summary>
        public long ParameterCount
        {
            get
            {
                long h = HiddenSize, g = Gates;
                long total = Input == NetworkInput.TokensEmbedding ? (long)InputSize * EmbeddingSize : 0;
                for (int layer = 0; layer < Layers; layer++)
                    total += Directions * g * h * ((layer == 0 ? FirstLayerInputSize : h * Directions) + h + 2);
                return total + OutputSize * (h * Directions + 1);
            }
        }

        private static void Check(bool condition, string problem)
        {
            if (!condition)
                throw new FormatException($"Invalid network architecture: {problem}.");
        }

        // *** Binary format ***
        // int: cell kind (0 LSTM, 1 GRU, 2 RNN tanh, 3 RNN ReLU)
        // int: input kind (0 one-hot tokens, 1 embedded tokens, 2 features)
        // int: input size
        // int: embedding size (0 unless embedded tokens)
        // int: hidden size
        // int: layers
        // float: dropout
        // int: output size
        // byte: bidirectional (0 or 1)
        public void Save(BinaryWriter writer)
        {
            writer.Write((int)Cell);
            writer.Write((int)Input);
            writer.Write(InputSize);
            writer.Write(EmbeddingSize);
            writer.Write(HiddenSize);
            writer.Write(Layers);
            writer.Write(Dropout);
            writer.Write(OutputSize);
            writer.Write(Bidirectional ? (byte)1 : (byte)0);
        }

        /// <exception cref="FormatException">A field is out of range; nothing has been allocated.</exception>
        public static RecurrentArchitecture Load(BinaryReader reader) => new(
            (RecurrentCell)reader.ReadInt32(), (NetworkInput)reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(),
            reader.ReadInt32(), reader.ReadInt32(), reader.ReadSingle(), reader.ReadInt32(), reader.ReadByte() switch
            {
                0 => false,
                1 => true,
                var b => throw new FormatException($"Invalid network architecture: bidirectional flag {b} is neither 0 nor 1."),
            });
    }
}
