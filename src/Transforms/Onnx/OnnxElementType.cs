namespace MlnetLstm.Transforms
{
    /// <summary>The ONNX tensor element types the exported graphs use (values of onnx.proto's TensorProto.DataType).</summary>
    internal enum OnnxElementType
    {
        /// <summary>32-bit float.</summary>
        Float = 1,

        /// <summary>32-bit signed integer.</summary>
        Int32 = 6,

        /// <summary>64-bit signed integer.</summary>
        Int64 = 7,

        /// <summary>UTF-8 string.</summary>
        String = 8,

        /// <summary>64-bit float.</summary>
        Double = 11,

        /// <summary>32-bit unsigned integer (ML.NET's UInt32 keys).</summary>
        UInt32 = 12,
    }
}
