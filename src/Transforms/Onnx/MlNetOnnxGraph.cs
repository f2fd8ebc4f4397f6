using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// An <see cref="OnnxGraph"/> inside ML.NET's ConvertToOnnx: nodes and constants go into ML.NET's
    /// <see cref="OnnxContext"/>, and data view columns map to the variables that compute them.
    /// </summary>
    internal sealed class MlNetOnnxGraph : OnnxGraph
    {
        // Intermediate variables are registered with ML.NET under names no data view column is likely to have:
        // ML.NET maps every variable name it hands out as if it were a column.
        private const string Prefix = "mlnetlstm.";

        private readonly OnnxContext _context;

        public MlNetOnnxGraph(OnnxContext context) => _context = context;

        /// <summary>Whether the graph computes data view column <paramref name="column"/> (false when an earlier step could not be exported).</summary>
        public bool HasColumn(string column) => _context.ContainsColumn(column);

        /// <summary>The variable that holds data view column <paramref name="column"/>.</summary>
        public string ColumnVariable(string column) => _context.GetVariableName(column);

        /// <summary>A new variable for output column <paramref name="column"/> of type <paramref name="type"/>; later steps read the column from it.</summary>
        public string AddColumn(string column, DataViewType type) => _context.AddIntermediateVariable(type, column);

        public override string Variable(string prefix) => _context.AddIntermediateVariable(null, Prefix + prefix, skip: true);

        public override string Initializer(string prefix, float[] values, long[] dims) => _context.AddInitializer(values, dims, Prefix + prefix);

        public override string Initializer(string prefix, long[] values, long[] dims) => _context.AddInitializer(values, dims, Prefix + prefix);

        public override string Initializer(string prefix, double[] values, long[] dims) => _context.AddInitializer(values, dims, Prefix + prefix);

        public override OnnxGraphNode Node(string op, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string? domain = null)
            => new NodeBuilder(_context.CreateNode(op, inputs, outputs, _context.GetNodeName(Prefix + op), domain ?? ""));

        public override void RequireOpset(int minimum, string component) => _context.CheckOpSetVersion(minimum, component);

        private sealed class NodeBuilder : OnnxGraphNode
        {
            private readonly OnnxNode _node;

            public NodeBuilder(OnnxNode node) => _node = node;

            public override void Set(string name, long value) => _node.AddAttribute(name, value);

            public override void Set(string name, float value) => _node.AddAttribute(name, (double)value);

            public override void Set(string name, string value) => _node.AddAttribute(name, value);

            public override void Set(string name, IReadOnlyList<long> values) => _node.AddAttribute(name, values.AsEnumerable());

            public override void Set(string name, IReadOnlyList<string> values) => _node.AddAttribute(name, values.AsEnumerable());
        }
    }
}
