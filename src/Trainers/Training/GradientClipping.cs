using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>Gradient clipping by global norm, as <c>grad_clipping(θ)</c> in Dive into Deep Learning's RNN chapter.</summary>
    internal static class GradientClipping
    {
        /// <summary>
        /// Computes the global norm ‖g‖ = √(Σ over all parameters of Σ g²) and, where it exceeds
        /// <paramref name="maximumNorm"/>, scales every gradient by θ/‖g‖. Unlike torch's clip_grad_norm_ there is no
        /// ε in the denominator, so the clipped norm is exactly θ. Runs on the device without a host round trip.
        /// </summary>
        /// <param name="parameters">The parameters whose gradients are clipped; those without a gradient are skipped.</param>
        /// <param name="maximumNorm">θ, greater than zero.</param>
        /// <returns>The global norm before clipping, a scalar tensor (zero when no parameter has a gradient).</returns>
        public static Tensor ClipByGlobalNorm(IEnumerable<Tensor> parameters, double maximumNorm)
        {
            var gradients = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
            if (gradients.Count == 0)
                return zeros(1).squeeze();
            var norm = stack(gradients.Select(g => g.square().sum())).sum().sqrt();
            // min(1, θ/‖g‖) multiplies by exactly 1 when no clipping is needed (and by 0·∞ = NaN only if ‖g‖ is NaN).
            var scale = (maximumNorm / norm).clamp_max(1.0);
            foreach (var gradient in gradients)
                gradient.mul_(scale);
            return norm;
        }
    }
}
