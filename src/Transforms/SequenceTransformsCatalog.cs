using System;
using System.Collections.Generic;
using Microsoft.ML.Data;
using MlnetLstm.Transforms;

namespace Microsoft.ML
{
    /// <summary>Entry points of the MlnetLstm sequence transforms on <see cref="MLContext.Transforms"/>.</summary>
    public static class SequenceTransformsCatalog
    {
        /// <summary>
        /// Learns a character vocabulary (by Unicode scalar value) and maps text to a variable-length vector of
        /// token keys (id + 1) carrying the vocabulary as key values. Reserved tokens: <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c>.
        /// </summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="outputColumnName">The output column of token keys.</param>
        /// <param name="inputColumnName">The input text column; defaults to <paramref name="outputColumnName"/>.</param>
        /// <param name="minimumCount">Characters seen fewer times than this map to <c>&lt;unk&gt;</c>.</param>
        /// <param name="maximumVocabularySize">The largest vocabulary, reserved tokens included; the most frequent characters are kept.</param>
        /// <param name="caseFolding">Whether to lower-case text before counting and lookup.</param>
        /// <returns>The tokenizer estimator; its <c>Fit</c> learns the vocabulary.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes: it learns the vocabulary |
        /// | Input column data type | Text |
        /// | Output column data type | Variable-size vector of keys, with the vocabulary as key values |
        /// | Exportable to ONNX | Yes, on ONNX Runtime (its com.microsoft Tokenizer); case-folded words are not |
        /// ]]></format>
        /// </remarks>
        public static VocabularyTokenizingEstimator TokenizeWithCharacterVocabulary(this TransformsCatalog.TextTransforms catalog,
            string outputColumnName, string? inputColumnName = null, int minimumCount = 1, int maximumVocabularySize = Vocabulary.MaximumSize, bool caseFolding = false)
            => catalog.TokenizeWithVocabulary(new VocabularyTokenizingEstimator.Options
            {
                OutputColumnName = outputColumnName,
                InputColumnName = inputColumnName,
                Level = TokenizerLevel.Character,
                MinimumCount = minimumCount,
                MaximumVocabularySize = maximumVocabularySize,
                CaseFolding = caseFolding,
            });

        /// <summary>
        /// Learns a word vocabulary (white-space separated words) and maps text to a variable-length vector of token
        /// keys (id + 1) carrying the vocabulary as key values. Reserved tokens: <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c>.
        /// </summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="outputColumnName">The output column of token keys.</param>
        /// <param name="inputColumnName">The input text column; defaults to <paramref name="outputColumnName"/>.</param>
        /// <param name="minimumCount">Words seen fewer times than this map to <c>&lt;unk&gt;</c>.</param>
        /// <param name="maximumVocabularySize">The largest vocabulary, reserved tokens included; the most frequent words are kept.</param>
        /// <param name="caseFolding">Whether to lower-case text before counting and lookup.</param>
        /// <returns>The tokenizer estimator; its <c>Fit</c> learns the vocabulary.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes: it learns the vocabulary |
        /// | Input column data type | Text |
        /// | Output column data type | Variable-size vector of keys, with the vocabulary as key values |
        /// | Exportable to ONNX | Yes, on ONNX Runtime (its com.microsoft Tokenizer); case-folded words are not |
        /// ]]></format>
        /// </remarks>
        public static VocabularyTokenizingEstimator TokenizeWithWordVocabulary(this TransformsCatalog.TextTransforms catalog,
            string outputColumnName, string? inputColumnName = null, int minimumCount = 1, int maximumVocabularySize = Vocabulary.MaximumSize, bool caseFolding = false)
            => catalog.TokenizeWithVocabulary(new VocabularyTokenizingEstimator.Options
            {
                OutputColumnName = outputColumnName,
                InputColumnName = inputColumnName,
                Level = TokenizerLevel.Word,
                MinimumCount = minimumCount,
                MaximumVocabularySize = maximumVocabularySize,
                CaseFolding = caseFolding,
            });

        /// <summary>Learns a vocabulary and maps text to token keys, with every option of <see cref="VocabularyTokenizingEstimator.Options"/>.</summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="options">The tokenizer options.</param>
        /// <returns>The tokenizer estimator; its <c>Fit</c> learns the vocabulary.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes: it learns the vocabulary |
        /// | Input column data type | Text |
        /// | Output column data type | Variable-size vector of keys, with the vocabulary as key values |
        /// | Exportable to ONNX | Yes, on ONNX Runtime (its com.microsoft Tokenizer); case-folded words are not |
        /// ]]></format>
        /// </remarks>
        public static VocabularyTokenizingEstimator TokenizeWithVocabulary(this TransformsCatalog.TextTransforms catalog, VocabularyTokenizingEstimator.Options options)
            => new(catalog.GetEnvironment(), options);

        /// <summary>
        /// Learns a byte-pair-encoding vocabulary of <paramref name="vocabularySize"/> subword tokens (characters, then
        /// the most frequent merged pairs within runs of letters, digits or symbols) and maps text to a variable-length
        /// vector of token keys (id + 1) carrying the vocabulary as key values; the fitted transformer's
        /// <see cref="BpeVocabulary.Tokenizer"/> is the Microsoft.ML.Tokenizers <c>BpeTokenizer</c> of that vocabulary.
        /// Reserved tokens: <c>&lt;unk&gt;</c>, <c>&lt;eos&gt;</c>. A subword language model reads several characters per
        /// step; compare it with a character model in bits per character.
        /// </summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="outputColumnName">The output column of token keys.</param>
        /// <param name="inputColumnName">The input text column; defaults to <paramref name="outputColumnName"/>.</param>
        /// <param name="vocabularySize">The vocabulary size, reserved tokens included.</param>
        /// <param name="minimumCount">Characters seen fewer times than this map to <c>&lt;unk&gt;</c>; pairs seen fewer times are not merged.</param>
        /// <returns>The tokenizer estimator; its <c>Fit</c> learns the vocabulary, the same for the same data.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes: it learns the vocabulary and merges |
        /// | Input column data type | Text |
        /// | Output column data type | Variable-size vector of keys, with the vocabulary as key values |
        /// | Exportable to ONNX | No: no ONNX operator applies BPE merges; export the language model with ExportOnnxGenerator and tokenize with the BpeTokenizer |
        /// ]]></format>
        /// </remarks>
        public static BpeTokenizingEstimator TokenizeWithLearnedBpe(this TransformsCatalog.TextTransforms catalog,
            string outputColumnName, string? inputColumnName = null, int vocabularySize = 1000, int minimumCount = 1)
            => catalog.TokenizeWithLearnedBpe(new BpeTokenizingEstimator.Options
            {
                OutputColumnName = outputColumnName,
                InputColumnName = inputColumnName,
                VocabularySize = vocabularySize,
                MinimumCount = minimumCount,
            });

        /// <summary>Learns a BPE vocabulary and maps text to token keys, with every option of <see cref="BpeTokenizingEstimator.Options"/>.</summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="options">The tokenizer options.</param>
        /// <returns>The tokenizer estimator; its <c>Fit</c> learns the vocabulary.</returns>
        public static BpeTokenizingEstimator TokenizeWithLearnedBpe(this TransformsCatalog.TextTransforms catalog, BpeTokenizingEstimator.Options options)
            => new(catalog.GetEnvironment(), options);

        /// <summary>
        /// Maps a vector of token keys to a sparse one-hot sequence (T×V floats with T non-zeros).
        /// </summary>
        /// <param name="catalog">The categorical transforms catalog.</param>
        /// <param name="outputColumnName">The output column.</param>
        /// <param name="inputColumnName">The input column of token keys; defaults to <paramref name="outputColumnName"/>.</param>
        /// <param name="maximumLength">0 for a variable-length output; otherwise the fixed number of positions (longer rows are an error), which adds slot names.</param>
        /// <returns>The one-hot sequence estimator.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | No |
        /// | Input column data type | Vector of UInt32 keys |
        /// | Output column data type | Sparse vector of Single, T × V with T non-zeros |
        /// | Exportable to ONNX | Yes, with a variable length |
        /// ]]></format>
        /// </remarks>
        public static OneHotSequenceEstimator OneHotEncodeSequence(this TransformsCatalog.CategoricalTransforms catalog,
            string outputColumnName, string? inputColumnName = null, int maximumLength = 0)
            => new(catalog.GetEnvironment(), outputColumnName, inputColumnName, maximumLength);
    }
}
