using System;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>What a validation measured.</summary>
    /// <param name="LossSum">The summed loss over <paramref name="Count"/> items.</param>
    /// <param name="Count">The items scored.</param>
    /// <param name="StreamLoss">For a language model, the mean loss with the state carried across documents (see
    /// <see cref="Transforms.EpochMetrics.ValidationStreamLoss"/>); null for other objectives, or when time ran out before it.</param>
    /// <param name="Fraction">The share of the validation data scored: 1, or less when time ran out.</param>
    internal readonly record struct ValidationResult(double LossSum, long Count, double? StreamLoss, double Fraction);

    /// <summary>
    /// What a trainer teaches the network: how an epoch is cut into batches, the loss of one batch and the validation
    /// loss. <see cref="TrainingLoop"/> does the rest (optimizer, clipping, schedule, early stopping, checkpoints,
    /// progress), the same for every objective.
    /// </summary>
    internal abstract class TrainingObjective : IDisposable
    {
        /// <summary>Prepares an epoch (shuffling with <paramref name="random"/>) and returns its number of batches.</summary>
        public abstract int BeginEpoch(Random random);

        /// <summary>
        /// Forward pass of batch <paramref name="index"/> in training mode: the mean loss and the number of items it
        /// averages over. Runs inside a dispose scope that ends after the optimizer step.
        /// </summary>
        public abstract (Tensor Loss, long Count) TrainBatch(int index);

        /// <summary>
        /// The validation loss in evaluation mode, or null without validation data. <paramref name="outOfTime"/> is
        /// asked before every chunk after the first: when it says so, the result covers the prefix scored so far.
        /// </summary>
        public abstract ValidationResult? Validate(Func<bool> outOfTime);

        /// <summary>
        /// The items a whole validation predicts (a language model predicts each validation token twice: per document
        /// and as a stream): with the training speed, an estimate of its time before it has run once.
        /// </summary>
        public abstract long ValidationItems { get; }

        /// <summary>What one predicted item is, for the throughput on the log: "token", "value", "sequence".</summary>
        public abstract string ItemName { get; }

        /// <summary>A mean loss as the log shows it; a model of tokens adds perplexity and bits per token.</summary>
        public virtual string DescribeLoss(double loss) => $"{loss:F4}";

        /// <summary>The validation loss as the log shows it, with the stream loss where the objective has one.</summary>
        public virtual string DescribeValidation(double loss, double? streamLoss) => DescribeLoss(loss);

        /// <summary>Releases tensors the objective holds.</summary>
        public virtual void Dispose()
        {
        }
    }
}
