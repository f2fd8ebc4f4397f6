using System;
using System.Collections.Generic;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The ONNX-writing surface every exported graph of this library is built on, with two targets: ML.NET's
    /// ConvertToOnnx context (<see cref="MlNetOnnxGraph"/>) and a standalone model file (<see cref="OnnxModelWriter"/>).
    /// Graph code written once against it produces the same nodes in both.
    /// </summary>
    internal abstract class OnnxGraph
    {
        /// <summary>A variable name not used yet, starting with <paramref name="prefix"/>.</summary>
        public abstract string Variable(string prefix);

        /// <summary>A constant float tensor; returns its name.</summary>
        public abstract string Initializer(string prefix, float[] values, long[] dims);

        /// <summary>A constant int64 tensor; returns its name.</summary>
        public abstract string Initializer(string prefix, long[] values, long[] dims);

        /// <summary>A constant double tensor; returns its name.</summary>
        public abstract string Initializer(string prefix, double[] values, long[] dims);

        /// <summary>Adds a node; empty input names stand for omitted optional inputs.</summary>
        public abstract OnnxGraphNode Node(string op, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string? domain = null);

        /// <summary>Throws unless the graph targets opset <paramref name="minimum"/> or later, naming <paramref name="component"/>.</summary>
        public abstract void RequireOpset(int minimum, string component);

        /// <summary>One node with one output, a new variable named after the operator unless <paramref name="output"/> is given.</summary>
        public string Apply(string op, IReadOnlyList<string> inputs, Action<OnnxGraphNode>? attributes = null, string? output = null, string? domain = null)
        {
            output ??= Variable(op);
            var node = Node(op, inputs, new[] { output }, domain);
            attributes?.Invoke(node);
            return output;
        }

        /// <summary>A scalar-like float constant of shape [1] (broadcasts against anything).</summary>
        public string FloatConstant(string prefix, float value) => Initializer(prefix, new[] { value }, new long[] { 1 });

        /// <summary>A 1-D int64 constant, for shapes, indices and axes.</summary>
        public string Constant(string prefix, params long[] values) => Initializer(prefix, values, new long[] { values.Length });

        /// <summary>Transpose with a permutation.</summary>
        public string Transpose(string x, params long[] perm) => Apply("Transpose", new[] { x }, n => n.Set("perm", perm));

        /// <summary>Cast to an element type.</summary>
        public string Cast(string x, OnnxElementType to, string? output = null) => Apply("Cast", new[] { x }, n => n.Set("to", (long)to), output);

        /// <summary>Squeeze the given axes (attribute form, opsets up to 12).</summary>
        public string Squeeze(string x, params long[] axes) => Apply("Squeeze", new[] { x }, n => n.Set("axes", axes));

        /// <summary>Unsqueeze at the given axes (attribute form, opsets up to 12).</summary>
        public string Unsqueeze(string x, params long[] axes) => Apply("Unsqueeze", new[] { x }, n => n.Set("axes", axes));

        /// <summary>Reshape; 0 in the shape copies the input's dimension, −1 infers one.</summary>
        public string Reshape(string x, params long[] shape) => Apply("Reshape", new[] { x, Constant("shape", shape) });

        /// <summary>Concatenation along an axis.</summary>
        public string Concat(long axis, params string[] inputs) => Apply("Concat", inputs, n => n.Set("axis", axis));

        /// <summary>A reduction (ReduceSum, ReduceMean, ReduceMax: attribute axes, opsets up to 12).</summary>
        public string Reduce(string op, string x, bool keepDims, params long[] axes) => Apply(op, new[] { x }, n =>
        {
            n.Set("axes", axes);
            n.Set("keepdims", keepDims ? 1L : 0L);
        });

        /// <summary>Elements [start, end) of one axis (Slice with inputs, opset 10 and later).</summary>
        public string Slice(string x, long axis, long start, long end)
            => Apply("Slice", new[] { x, Constant("starts", start), Constant("ends", end), Constant("axes", axis) });
    }

    /// <summary>A node just added to an <see cref="OnnxGraph"/>, whose attributes can be set.</summary>
    internal abstract class OnnxGraphNode
    {
        /// <summary>An integer attribute.</summary>
        public abstract void Set(string name, long value);

        /// <summary>A float attribute.</summary>
        public abstract void Set(string name, float value);

        /// <summary>A string attribute.</summary>
        public abstract void Set(string name, string value);

        /// <summary>An integer-list attribute.</summary>
        public abstract void Set(string name, IReadOnlyList<long> values);

        /// <summary>A string-list attribute.</summary>
        public abstract void Set(string name, IReadOnlyList<string> values);
    }
}
