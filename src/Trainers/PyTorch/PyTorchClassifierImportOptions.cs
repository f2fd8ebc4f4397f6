using System.Collections.Generic;
using System.Linq;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Options of <see cref="Microsoft.ML.PyTorchCatalog.ImportPyTorchClassifier"/>: a sequence classifier (recurrent layers,
    /// optionally bidirectional, the last layer's outputs pooled, then a linear head to the class logits).
    /// </summary>
    public sealed class PyTorchClassifierImportOptions : PyTorchTokenModelImportOptions
    {
        /// <summary>The classes, in the order of the head's outputs. Required; at least 2.</summary>
        public IReadOnlyList<string>? ClassNames { get; set; }

        /// <summary>Whether the recurrent module is <c>bidirectional=True</c>. Default false.</summary>
        public bool Bidirectional { get; set; }

        /// <summary>How the PyTorch model turns the last layer's outputs into one vector. Default the final state.</summary>
        public SequencePooling Pooling { get; set; } = SequencePooling.Last;

        /// <summary>The label column the classifier's PredictedLabel key is named after (for evaluation). Default "Label".</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The output column of class probabilities. Default "Score".</summary>
        public string ScoreColumnName { get; set; } = "Score";

        /// <summary>The output column of the most probable class. Default "PredictedLabel".</summary>
        public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

        internal override void Validate()
        {
            base.Validate();
            Require(ClassNames is { Count: >= 2 } && ClassNames.Count <= ClassLabels.MaximumCount && ClassNames.Distinct().Count() == ClassNames.Count,
                nameof(ClassNames), ClassNames is null ? null : $"{ClassNames.Count} names", $"2 to {ClassLabels.MaximumCount} distinct class names, in the order of the head's outputs");
            Require(System.Enum.IsDefined(Pooling), nameof(Pooling), Pooling, "Last, Mean or Max");
            Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "the name of the label column");
            Require(!string.IsNullOrWhiteSpace(ScoreColumnName) && !string.IsNullOrWhiteSpace(PredictedLabelColumnName) && ScoreColumnName != PredictedLabelColumnName,
                nameof(ScoreColumnName), ScoreColumnName, "set, and different from PredictedLabelColumnName");
        }
    }
}
