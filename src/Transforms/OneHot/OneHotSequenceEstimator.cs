using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Turns a vector of token keys (length T, key count V) into a one-hot sequence: a sparse float vector of length
    /// T×V with a 1 at t×V + (key − 1) for each position t. Never a dense T×V array. Enter it through
    /// <see cref="SequenceTransformsCatalog.OneHotEncodeSequence"/>. Fitting learns nothing; it only checks the schema.
    /// </summary>
    public sealed class OneHotSequenceEstimator : IEstimator<OneHotSequenceTransformer>
    {
        private readonly IHost _host;
        private readonly string _outputColumnName;
        private readonly string _inputColumnName;
        private readonly int _maximumLength;

        internal OneHotSequenceEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, int maximumLength)
        {
            _host = MlNetVersion.Register(env, nameof(OneHotSequenceEstimator));
            if (string.IsNullOrWhiteSpace(outputColumnName))
                throw new ArgumentException("outputColumnName must name the output column.", nameof(outputColumnName));
            if (maximumLength < 0)
                throw new ArgumentOutOfRangeException(nameof(maximumLength), $"maximumLength is {maximumLength}: use 0 for a variable-length output, or the longest sequence length to expect.");
            _outputColumnName = outputColumnName;
            _inputColumnName = inputColumnName ?? outputColumnName;
            _maximumLength = maximumLength;
        }

        /// <summary>Checks the input column and returns the transformer.</summary>
        public OneHotSequenceTransformer Fit(IDataView input)
        {
            _host.CheckValue(input, nameof(input));
            var transformer = new OneHotSequenceTransformer(_host, _outputColumnName, _inputColumnName, _maximumLength);
            transformer.GetOutputSchema(input.Schema);
            return transformer;
        }

        /// <summary>Checks the input schema and returns the schema after the transform.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            _host.CheckValue(inputSchema, nameof(inputSchema));
            if (!inputSchema.TryFindColumn(_inputColumnName, out var column))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Input column '{_inputColumnName}' is not in the data. Name the token-id column (for example the output of TokenizeWithCharacterVocabulary).");
            if (!column.IsKey || column.Kind == SchemaShape.Column.VectorKind.Scalar || column.ItemType.RawType != typeof(uint))
                throw new ArgumentOutOfRangeException(nameof(inputSchema), OneHotSequenceTransformer.ExpectedInput(_inputColumnName, $"{column.ItemType}"));
            var result = inputSchema.ToDictionary(c => c.Name);
            var annotations = new SchemaShape(new[]
            {
                new SchemaShape.Column(SequenceAnnotations.TokenVocabulary, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false),
                new SchemaShape.Column(SequenceAnnotations.TokenSeparator, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false),
            }.Concat(_maximumLength > 0
                ? new[] { new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false) }
                : Array.Empty<SchemaShape.Column>()));
            result[_outputColumnName] = new SchemaShape.Column(_outputColumnName,
                _maximumLength > 0 ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector,
                NumberDataViewType.Single, false, annotations);
            return new SchemaShape(result.Values);
        }
    }
}
