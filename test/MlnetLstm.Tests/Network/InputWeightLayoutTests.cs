using System.IO;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using static MlnetLstm.Tests.NetworkTestKit;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// A network that gathers one-hot input keeps its first layer's W_ih column-major in memory (the speed of the
    /// gather's gradient depends on it), yet it is the same parameter: PyTorch's shape and name, saved row-major, and
    /// loadable into a network that keeps the row-major layout.
    /// </summary>
    [TestClass]
    public sealed class InputWeightLayoutTests
    {
        [TestMethod]
        public void GatheringNetworkStoresInputWeightsColumnMajorAndSavesThemRowMajor()
        {
            using var scope = NewDisposeScope();
            const int vocabulary = 40, hidden = 8; // V > 4H: Auto gathers
            using var gathering = Network(RecurrentCell.Lstm, NetworkInput.TokensOneHot, vocabulary, hidden, layers: 2);
            Assert.IsTrue(gathering.GathersOneHot);
            var weight = gathering.get_parameter("layer0.fused.weight_ih_l0")!;
            CollectionAssert.AreEqual(new long[] { 4 * hidden, vocabulary }, weight.shape);
            CollectionAssert.AreEqual(new long[] { 1, 4 * hidden }, weight.stride(), "column-major: W_ih's transpose is contiguous");
            CollectionAssert.AreEqual(new long[] { hidden, 1 }, gathering.get_parameter("layer1.fused.weight_ih_l0")!.stride(), "only the first layer reads one-hot input");

            var bytes = new MemoryStream();
            using (var writer = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true))
                ParameterSerializer.Save(writer, gathering);

            // The saved values of W_ih, read back from the bytes, are its elements in row-major order, element by element.
            bytes.Position = 0;
            using (var reader = new BinaryReader(bytes, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                int count = reader.ReadInt32();
                for (int p = 0; p < count; p++)
                {
                    string name = reader.ReadString();
                    int rank = reader.ReadInt32();
                    long elements = 1;
                    for (int d = 0; d < rank; d++)
                        elements *= reader.ReadInt64();
                    if (name != "layer0.fused.weight_ih_l0")
                    {
                        reader.BaseStream.Seek(elements * sizeof(float), SeekOrigin.Current);
                        continue;
                    }
                    for (int row = 0; row < 4 * hidden; row++)
                        for (int column = 0; column < vocabulary; column++)
                            Assert.AreEqual(weight[row, column].item<float>(), reader.ReadSingle(), $"W_ih[{row}, {column}]");
                }
            }

            // Into a network that multiplies dense one-hot matrices: row-major, same values.
            bytes.Position = 0;
            using var dense = Network(RecurrentCell.Lstm, NetworkInput.TokensOneHot, vocabulary, hidden, layers: 2, seed: 99);
            dense.OneHotProjection = OneHotProjection.Dense;
            using (var reader = new BinaryReader(bytes))
                ParameterSerializer.Load(reader, dense, "test bytes");
            var loaded = dense.get_parameter("layer0.fused.weight_ih_l0")!;
            CollectionAssert.AreEqual(new long[] { vocabulary, 1 }, loaded.stride(), "a network built to multiply dense one-hot keeps PyTorch's row-major layout");
            Assert.IsTrue(loaded.eq(weight).all().item<bool>(), "loaded W_ih equals the saved one");
        }

        [TestMethod]
        public void InputWeightLayoutFollowsTheProjectionWithTheSameValues()
        {
            using var scope = NewDisposeScope();
            using var network = Network(RecurrentCell.Gru, NetworkInput.TokensOneHot, 11, 6, layers: 1); // V ≤ 4H: Auto multiplies dense one-hot
            var weight = network.get_parameter("layer0.fused.weight_ih_l0")!;
            CollectionAssert.AreEqual(new long[] { 11, 1 }, weight.stride());
            using var before = weight.detach().clone();

            network.OneHotProjection = OneHotProjection.Gather;
            CollectionAssert.AreEqual(new long[] { 1, 18 }, weight.stride(), "switching to the gather stores W_ih column-major");
            Assert.IsTrue(weight.eq(before).all().item<bool>(), "with the same values");

            network.OneHotProjection = OneHotProjection.Dense;
            CollectionAssert.AreEqual(new long[] { 11, 1 }, weight.stride(), "switching back to dense one-hot restores the row-major layout");
            Assert.IsTrue(weight.eq(before).all().item<bool>(), "with the same values");
        }
    }
}
