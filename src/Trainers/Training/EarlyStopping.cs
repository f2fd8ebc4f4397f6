using System;
using System.Collections.Generic;
using System.Linq;
using MlnetLstm.Transforms;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Early stopping: keeps a copy of the weights of the epoch with the best validation loss so far, says when the
    /// loss has not improved for the patience, and gives those weights back at the end. Owns the copy (native memory).
    /// </summary>
    internal sealed class EarlyStopping : IDisposable
    {
        private readonly int _patience;
        private Dictionary<string, Tensor>? _best;
        private double _bestLoss = double.PositiveInfinity;
        private int _withoutImprovement;

        public EarlyStopping(int patience) => _patience = patience;

        /// <summary>The epoch whose weights are kept (0 for none).</summary>
        public int BestEpoch { get; private set; }

        /// <summary>The kept weights by parameter name, or null (for a checkpoint).</summary>
        public IReadOnlyDictionary<string, Tensor>? BestWeights => _best;

        /// <summary>
        /// Continues from a checkpoint: its best weights (which this takes over) and their epoch, or, when it was written
        /// without early stopping, its last epoch, the best one it can give back.
        /// </summary>
        /// <returns>A sentence for the log when the checkpoint had no best weights; else null.</returns>
        public string? Resume(IReadOnlyList<EpochMetrics> history, Dictionary<string, Tensor>? bestWeights, int bestEpoch, nn.Module network)
        {
            if (_patience == 0 || history.Count == 0 || !history[^1].ValidationLoss.HasValue)
            {
                // Resumed without early stopping: the last weights are the result, as in a run without it.
                Dispose(bestWeights);
                return null;
            }
            string? note = null;
            if (bestWeights is null)
            {
                bestWeights = Copy(network);
                bestEpoch = history.Count;
                note = $"The checkpoint keeps no best weights (it was written without early stopping): early stopping counts from epoch {bestEpoch}, its last.";
            }
            _best = bestWeights;
            BestEpoch = bestEpoch;
            _bestLoss = history[bestEpoch - 1].ValidationLoss!.Value;
            _withoutImprovement = history.Count - bestEpoch;
            return note;
        }

        /// <summary>Takes an epoch's validation loss; returns true when training should stop.</summary>
        public bool Observe(int epoch, double validationLoss, nn.Module network)
        {
            if (validationLoss < _bestLoss)
            {
                _bestLoss = validationLoss;
                BestEpoch = epoch;
                _withoutImprovement = 0;
                Dispose(_best);
                _best = Copy(network);
                return false;
            }
            return ++_withoutImprovement >= _patience;
        }

        /// <summary>How many epochs the validation loss has not improved.</summary>
        public int EpochsWithoutImprovement => _withoutImprovement;

        /// <summary>Puts the best epoch's weights back into the network, if any were kept.</summary>
        public void Restore(nn.Module network)
        {
            if (_best is null)
                return;
            using var noGrad = no_grad();
            foreach (var (name, parameter) in network.named_parameters())
                parameter.copy_(_best[name]);
        }

        public void Dispose()
        {
            Dispose(_best);
            _best = null;
        }

        private static Dictionary<string, Tensor> Copy(nn.Module network)
            => network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());

        private static void Dispose(Dictionary<string, Tensor>? weights)
        {
            if (weights is not null)
                foreach (var tensor in weights.Values)
                    tensor.Dispose();
        }
    }
}
