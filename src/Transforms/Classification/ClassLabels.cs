using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>The classes of a key-typed label column: their count and, when the key carries text values, their names.</summary>
    internal sealed record ClassLabels(string ColumnName, int Count, string[]? Names)
    {
        /// <summary>The most classes accepted.</summary>
        public const int MaximumCount = 1 << 20;

        public static ClassLabels Bind(DataViewSchema schema, string name)
        {
            var column = schema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Label column '{name}' is not in the data. Name it with the LabelColumnName option.");
            if (column.Type is KeyDataViewType { Count: < 2 } few && few.RawType == typeof(uint))
                throw new ArgumentOutOfRangeException(nameof(schema),
                    $"Label column '{name}' has {few.Count} class{(few.Count == 1 ? "" : "es")}; a classifier needs at least 2. Train on rows of at least two " +
                    "labels, or list every class in MapValueToKey's keyData so the key has them all.");
            if (column.Type is not KeyDataViewType key || key.RawType != typeof(uint) || key.Count < 2 || key.Count > MaximumCount)
                throw new ArgumentOutOfRangeException(nameof(schema),
                    $"Label column '{name}' is {column.Type}; it must be a UInt32 key with 2 to {MaximumCount} classes: map labels to keys with mlContext.Transforms.Conversion.MapValueToKey(\"{name}\").");
            string[]? names = null;
            if (column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues) is { Type: VectorDataViewType { ItemType: TextDataViewType } })
            {
                VBuffer<ReadOnlyMemory<char>> values = default;
                column.GetKeyValues(ref values);
                names = values.DenseValues().Select(v => v.ToString()).ToArray();
            }
            return new ClassLabels(name, (int)key.Count, names);
        }

        // *** Binary format ***
        // string: label column; int: number of classes C; byte: has names; C × string: names (if any)
        public void Save(BinaryWriter writer)
        {
            writer.Write(ColumnName);
            writer.Write(Count);
            writer.Write(Names is null ? (byte)0 : (byte)1);
            if (Names is not null)
                foreach (var n in Names)
                    writer.Write(n);
        }

        public static ClassLabels Load(BinaryReader reader, string source, long end)
        {
            string column = reader.ReadString();
            int count = reader.ReadInt32();
            if (count < 2 || count > MaximumCount)
                throw new FormatException($"{source}: {count} classes is outside 2 to {MaximumCount}; the file is corrupt.");
            string[]? names = ModelFormat.ReadFlag(reader, source, "class names present") ? ModelFormat.ReadStrings(reader, count, end, source, "class names") : null;
            return new ClassLabels(column, count, names);
        }
    }
}
