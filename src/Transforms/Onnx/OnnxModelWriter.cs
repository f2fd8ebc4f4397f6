using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// An <see cref="OnnxGraph"/> written as a standalone ONNX model file (opset <see cref="Opset"/>, IR version 7),
    /// for graphs that ML.NET's column-based converter cannot express, such as a language model's recurrent state
    /// as extra inputs and outputs. Field numbers are those of onnx.proto.
    /// </summary>
    internal sealed class OnnxModelWriter : OnnxGraph
    {
        // raw_data is little-endian; MemoryMarshal copies the values' bytes as they are in memory.
        static OnnxModelWriter()
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX export writes tensors in memory order and needs a little-endian processor.");
        }

        /// <summary>The opset the standalone graphs target: the newest ML.NET's converter writes, so both share one set of operators.</summary>
        public const int Opset = 12;

        private const long IrVersion = 7;

        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly List<Action<ProtobufWriter>> _nodes = new();
        private readonly List<Action<ProtobufWriter>> _initializers = new();
        private readonly List<Action<ProtobufWriter>> _inputs = new();
        private readonly List<Action<ProtobufWriter>> _outputs = new();
        private readonly List<KeyValuePair<string, string>> _metadata = new();
        private readonly string _graphName;

        public OnnxModelWriter(string graphName) => _graphName = graphName;

        /// <summary>A graph input; a dimension is a fixed size (long) or a symbolic name (string).</summary>
        public string AddInput(string name, OnnxElementType type, params object[] dims)
        {
            Reserve(name);
            _inputs.Add(w => ValueInfo(w, name, type, dims));
            return name;
        }

        /// <summary>A graph output under exactly <paramref name="name"/>, for a node to write; claim it before naming internal variables.</summary>
        public string AddOutput(string name, OnnxElementType type, params object[] dims)
        {
            Reserve(name);
            _outputs.Add(w => ValueInfo(w, name, type, dims));
            return name;
        }

        /// <summary>A key/value pair of the model's metadata_props (ONNX Runtime: <c>ModelMetadata.CustomMetadataMap</c>).</summary>
        public void AddMetadata(string key, string value) => _metadata.Add(new(key, value));

        public override string Variable(string prefix)
        {
            string name = prefix;
            for (int i = 0; !_names.Add(name); i++)
                name = prefix + i;
            return name;
        }

        public override string Initializer(string prefix, float[] values, long[] dims)
        {
            string name = Variable(prefix);
            var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            _initializers.Add(w => Tensor(w, name, OnnxElementType.Float, dims, bytes));
            return name;
        }

        public override string Initializer(string prefix, long[] values, long[] dims)
        {
            string name = Variable(prefix);
            var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            _initializers.Add(w => Tensor(w, name, OnnxElementType.Int64, dims, bytes));
            return name;
        }

        public override string Initializer(string prefix, double[] values, long[] dims)
        {
            string name = Variable(prefix);
            var bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            _initializers.Add(w => Tensor(w, name, OnnxElementType.Double, dims, bytes));
            return name;
        }

        public override OnnxGraphNode Node(string op, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string? domain = null)
        {
            var node = new NodeBuilder(Variable(op + "_node"));
            _nodes.Add(w =>
            {
                // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
                foreach (var input in inputs)
                    w.String(1, input);
                foreach (var output in outputs)
                    w.String(2, output);
                w.String(3, node.Name);
                w.String(4, op);
                foreach (var attribute in node.Attributes)
                    w.Message(5, attribute);
                if (!string.IsNullOrEmpty(domain))
                    w.String(7, domain);
            });
            return node;
        }

        public override void RequireOpset(int minimum, string component)
        {
            if (minimum > Opset)
                throw new InvalidOperationException($"{component} needs ONNX opset {minimum}; the standalone export writes opset {Opset}.");
        }

        /// <summary>Writes the model: ModelProto with its graph, opset imports and metadata.</summary>
        public void Write(Stream stream, string producerVersion)
        {
            var model = new ProtobufWriter();
            // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8, metadata_props = 14.
            model.Int(1, IrVersion);
            model.String(2, "MlnetLstm");
            model.String(3, producerVersion);
            model.Message(7, graph =>
            {
                // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
                foreach (var node in _nodes)
                    graph.Message(1, node);
                graph.String(2, _graphName);
                foreach (var initializer in _initializers)
                    graph.Message(5, initializer);
                foreach (var input in _inputs)
                    graph.Message(11, input);
                foreach (var output in _outputs)
                    graph.Message(12, output);
            });
            // OperatorSetIdProto: domain = 1, version = 2.
            model.Message(8, o => o.Int(2, Opset));
            foreach (var (key, value) in _metadata)
                model.Message(14, m =>
                {
                    // StringStringEntryProto: key = 1, value = 2.
                    m.String(1, key);
                    m.String(2, value);
                });
            model.WriteTo(stream);
        }

        private void Reserve(string name)
        {
            if (!_names.Add(name))
                throw new InvalidOperationException($"ONNX variable '{name}' is defined twice.");
        }

        private static void Tensor(ProtobufWriter w, string name, OnnxElementType type, long[] dims, byte[] littleEndian)
        {
            // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian values).
            foreach (var d in dims)
                w.Int(1, d);
            w.Int(2, (long)type);
            w.String(8, name);
            w.Bytes(9, littleEndian);
        }

        private static void ValueInfo(ProtobufWriter w, string name, OnnxElementType type, object[] dims)
        {
            // ValueInfoProto: name = 1, type = 2; TypeProto: tensor_type = 1; Tensor: elem_type = 1, shape = 2;
            // TensorShapeProto: dim = 1; Dimension: dim_value = 1, dim_param = 2.
            w.String(1, name);
            w.Message(2, t => t.Message(1, tensor =>
            {
                tensor.Int(1, (long)type);
                tensor.Message(2, shape =>
                {
                    foreach (var dim in dims)
                        shape.Message(1, d =>
                        {
                            if (dim is string symbol)
                                d.String(2, symbol);
                            else
                                d.Int(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
                        });
                });
            }));
        }

        private sealed class NodeBuilder : OnnxGraphNode
        {
            public NodeBuilder(string name) => Name = name;

            public string Name { get; }

            public List<Action<ProtobufWriter>> Attributes { get; } = new();

            // AttributeProto: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, strings = 9, type = 20
            // (AttributeType FLOAT = 1, INT = 2, STRING = 3, INTS = 7, STRINGS = 8).
            public override void Set(string name, long value) => Add(name, 2, w => w.Int(3, value));

            public override void Set(string name, float value) => Add(name, 1, w => w.Float(2, value));

            public override void Set(string name, string value) => Add(name, 3, w => w.String(4, value));

            public override void Set(string name, IReadOnlyList<long> values) => Add(name, 7, w =>
            {
                foreach (var v in values)
                    w.Int(8, v);
            });

            public override void Set(string name, IReadOnlyList<string> values) => Add(name, 8, w =>
            {
                foreach (var v in values)
                    w.String(9, v);
            });

            private void Add(string name, int type, Action<ProtobufWriter> value) => Attributes.Add(w =>
            {
                w.String(1, name);
                value(w);
                w.Int(20, type);
            });
        }
    }
}
