using System;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What a trainer teaches the network: how an epoch is cut into batches, the loss of one batch and the validation
    /// loss. <see cref="TrainingLoop"/> does the rest (optimizer, clipping, schedule, early stopping, checkpoints,
    /// progress), the same for every task.
    /// </summary>
    internal abstract class RecurrentTask : IDisposable
    {
        /// <summary>Prepares an epoch (shuffling with <paramref name="random"/>) and returns its number of batches.</summary>
        public abstract int BeginEpoch(Random random);

        /// <summary>
        /// Forward pass of batch <paramref name="index"/> in training mode: the mean loss and the number of items it
        /// averages over. Runs inside a dispose scope that ends after the optimizer step.
        /// </summary>
        public abstract (Tensor Loss, long Count) TrainBatch(int index);

        /// <summary>
        /// The summed validation loss and item count in evaluation mode, or null without validation data; for a
        /// language model also the mean loss with the state carried across documents (see
        /// <see cref="Transforms.EpochMetrics.ValidationStreamLoss"/>).
        /// </summary>
        public abstract (double LossSum, long Count, double? StreamLoss)? Validate();

        /// <summary>What one predicted item is, for the throughput on the log: "token", "value", "sequence".</summary>
        public abstract string ItemName { get; }

        /// <summary>A mean loss as the log shows it; a model of tokens adds perplexity and bits per token.</summary>
        public virtual string DescribeLoss(double loss) => $"{loss:F4}";

        /// <summary>The validation loss as the log shows it, with the stream loss where the task has one.</summary>
        public virtual string DescribeValidation(double loss, double? streamLoss) => DescribeLoss(loss);

        /// <summary>Releases tensors the task holds.</summary>
        public virtual void Dispose()
        {
        }
    }
}
