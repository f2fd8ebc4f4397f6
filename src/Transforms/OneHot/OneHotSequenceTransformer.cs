using System;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(OneHotSequenceTransformer), null, typeof(SignatureLoadModel),
    OneHotSequenceTransformer.UserName, OneHotSequenceTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(OneHotSequenceTransformer), null, typeof(SignatureLoadRowMapper),
    OneHotSequenceTransformer.UserName, OneHotSequenceTransformer.LoaderSignature)]

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Maps a vector of T token keys with key count V to a sparse one-hot sequence of length T×V (T non-zeros):
    /// index t×V + (key − 1) holds 1. A missing key (0) gives an all-zero position, as in ML.NET's one-hot encoding.
    /// With a maximum length L the output has the fixed size L×V, slot names "t:token", and positions past T are
    /// zero; a longer row is an error, never truncated. The output carries the vocabulary as
    /// <see cref="SequenceAnnotations.TokenVocabulary"/>. Stateless and safe to share between threads.
    /// </summary>
    public sealed class OneHotSequenceTransformer : OneToOneTransformerBase
    {
        internal const string LoaderSignature = "MlnetLstmOneHotSequence";
        internal const string UserName = "MlnetLstm One-Hot Sequence";

        private static VersionInfo GetVersionInfo() => ModelFormat.Version("ONEHOTSQ", LoaderSignature, typeof(OneHotSequenceTransformer));

        internal OneHotSequenceTransformer(IHost host, string outputColumnName, string inputColumnName, int maximumLength)
            : base(host, (outputColumnName, inputColumnName))
        {
            MaximumLength = maximumLength;
        }

        private OneHotSequenceTransformer(IHost host, ModelLoadContext ctx, string source)
            : base(host, ctx)
        {
            // *** Binary format ***
            // <base: column names>
            // int: maximum length (0 = variable-length output)
            // 32 bytes: SHA-256 of the bytes above (from format 0x00010002; see ModelFormat)
            MaximumLength = ctx.Reader.ReadInt32();
            if (MaximumLength < 0)
                throw new FormatException($"{source}: maximum length {MaximumLength} is negative; the file is corrupt.");
        }

        /// <summary>The fixed number of positions of the output (0: variable-length output).</summary>
        public int MaximumLength { get; }

        /// <summary>The output column name.</summary>
        public string OutputColumnName => ColumnPairs[0].outputColumnName;

        /// <summary>The input token-key column name.</summary>
        public string InputColumnName => ColumnPairs[0].inputColumnName;

        private static OneHotSequenceTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            var host = MlNetVersion.Register(env, nameof(OneHotSequenceTransformer));
            return ModelFormat.Load(ctx, GetVersionInfo(), UserName, source =>
            {
                ModelFormat.CheckColumnCount(ctx, source, 1);
                return new OneHotSequenceTransformer(host, ctx, source);
            });
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        internal static string ExpectedInput(string column, string actual) =>
            $"Input column '{column}' must be a vector of UInt32 keys with a known key count (the output of TokenizeWithCharacterVocabulary, or of MapValueToKey on a text vector); it is {actual}.";

        /// <inheritdoc/>
        protected override void CheckInputColumn(DataViewSchema inputSchema, int col, int srcCol)
        {
            var type = inputSchema[srcCol].Type;
            if (type is not VectorDataViewType { ItemType: KeyDataViewType key } || key.RawType != typeof(uint) || key.Count == 0 || key.Count > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), ExpectedInput(inputSchema[srcCol].Name, $"{type}"));
            if (MaximumLength > 0 && (long)MaximumLength * (long)key.Count > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(inputSchema),
                    $"MaximumLength {MaximumLength} × {key.Count} tokens exceeds the largest ML.NET vector ({int.MaxValue} slots); use a smaller MaximumLength or 0 for variable length.");
        }

        /// <inheritdoc/>
        protected override void SaveModel(ModelSaveContext ctx)
        {
            Host.CheckValue(ctx, nameof(ctx));
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            SaveColumns(ctx);
            ctx.Writer.Write(MaximumLength);
            ModelFormat.WriteChecksum(ctx);
        }

        /// <inheritdoc/>
        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : OneToOneMapperBase, ISaveAsOnnx
        {
            private readonly OneHotSequenceTransformer _parent;

            public bool CanSaveOnnx(OnnxContext ctx) => true;

            public void SaveAsOnnx(OnnxContext ctx)
            {
                var output = GetOutputColumnsCore()[0];
                OneHotSequenceOnnx.Save(new MlNetOnnxGraph(ctx), _parent.InputColumnName, _vocabularySize, _parent.MaximumLength, output.Name, output.Type, LoaderSignature);
            }
            private readonly int _vocabularySize;
            private readonly string[] _tokens;
            private readonly string _separator;
            private readonly string? _unknownToken;

            public Mapper(OneHotSequenceTransformer parent, DataViewSchema inputSchema)
                : base(parent.Host.Register(nameof(Mapper)), parent, inputSchema)
            {
                _parent = parent;
                var column = inputSchema[ColMapNewToOld[0]];
                _vocabularySize = (int)((VectorDataViewType)column.Type).ItemType.GetKeyCount();
                var vocabulary = SequenceAnnotations.ReadVocabulary(column);
                _tokens = vocabulary?.Tokens.Length == _vocabularySize
                    ? vocabulary.Value.Tokens
                    : Enumerable.Range(1, _vocabularySize).Select(key => key.ToString(CultureInfo.InvariantCulture)).ToArray();
                _separator = vocabulary?.Separator ?? "";
                _unknownToken = vocabulary?.UnknownToken;
            }

            /// <inheritdoc/>
            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
            {
                var annotations = new DataViewSchema.Annotations.Builder();
                SequenceAnnotations.AddVocabulary(annotations, SequenceAnnotations.TokenVocabulary, _tokens, _separator, _unknownToken);
                int length = _parent.MaximumLength;
                if (length > 0)
                {
                    ValueGetter<VBuffer<ReadOnlyMemory<char>>> slotNames = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
                    {
                        var editor = VBufferEditor.Create(ref dst, length * _vocabularySize);
                        for (int t = 0; t < length; t++)
                            for (int v = 0; v < _vocabularySize; v++)
                                editor.Values[t * _vocabularySize + v] = $"{t}:{_tokens[v]}".AsMemory();
                        dst = editor.Commit();
                    };
                    annotations.AddSlotNames(length * _vocabularySize, slotNames);
                }
                var type = new VectorDataViewType(NumberDataViewType.Single, length * _vocabularySize);
                return new[] { new DataViewSchema.DetachedColumn(_parent.OutputColumnName, type, annotations.ToAnnotations()) };
            }

            /// <inheritdoc/>
            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var keysGetter = input.GetGetter<VBuffer<uint>>(input.Schema[ColMapNewToOld[iinfo]]);
                int vocabularySize = _vocabularySize;
                int maximumLength = _parent.MaximumLength;
                string inputName = _parent.InputColumnName;
                VBuffer<uint> keys = default;
                ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> dst) =>
                {
                    keysGetter(ref keys);
                    int length = keys.Length;
                    if (maximumLength > 0 && length > maximumLength)
                        throw new InvalidOperationException(
                            $"A row of column '{inputName}' has {length} tokens, more than the one-hot transform's maximumLength of {maximumLength}. " +
                            "Raise maximumLength, use 0 for variable-length output, or split the text; rows are never truncated.");
                    long size = (long)(maximumLength > 0 ? maximumLength : length) * vocabularySize;
                    if (size > int.MaxValue)
                        throw new InvalidOperationException(
                            $"A row of column '{inputName}' has {length} tokens; its one-hot sequence ({length} × {vocabularySize}) exceeds the largest ML.NET vector. Split the text into shorter rows.");
                    int count = 0;
                    foreach (var key in keys.DenseValues())
                    {
                        if (key > vocabularySize)
                            throw new InvalidOperationException($"Column '{inputName}' holds key {key}, beyond its key count {vocabularySize}; the data is inconsistent with its schema.");
                        if (key != 0)
                            count++;
                    }
                    var editor = VBufferEditor.Create(ref dst, (int)size, count, requireIndicesOnDense: true);
                    int t = 0, k = 0;
                    foreach (var key in keys.DenseValues())
                    {
                        if (key != 0)
                        {
                            editor.Values[k] = 1f;
                            editor.Indices[k] = t * vocabularySize + (int)key - 1;
                            k++;
                        }
                        t++;
                    }
                    dst = editor.Commit();
                };
                return getter;
            }
        }
    }
}
