using System;
using System.Collections.Generic;
using System.Linq;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The state_dict keys of a recurrent network in PyTorch. The defaults are those of d2l's <c>RNNModel</c> (Dive into Deep Learning, section 8.6):
    /// one multi-layer <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c> named <c>rnn</c> (keys <c>rnn.weight_ih_l{k}</c>,
    /// <c>rnn.weight_hh_l{k}</c>, <c>rnn.bias_ih_l{k}</c>, <c>rnn.bias_hh_l{k}</c>, with <c>_reverse</c> for the backward
    /// direction), a head <c>nn.Linear</c> named <c>linear</c>, and, with embedded tokens, an <c>nn.Embedding</c> named
    /// <c>embedding</c>.
    /// </summary>
    public sealed class PyTorchParameterNames
    {
        /// <summary>The attribute name of the recurrent module. Default "rnn" (d2l's <c>self.rnn</c>).</summary>
        public string RecurrentModule { get; set; } = "rnn";

        /// <summary>The attribute name of the linear head. Default "linear" (d2l's <c>self.linear</c>).</summary>
        public string Head { get; set; } = "linear";

        /// <summary>The attribute name of the token embedding, when the network has one. Default "embedding".</summary>
        public string Embedding { get; set; } = "embedding";

        /// <summary>
        /// Renames single keys: from the key the module names above give (e.g. "linear.weight") to the key in the file
        /// (e.g. "fc.weight"). Default empty.
        /// </summary>
        public IDictionary<string, string> KeyMap { get; set; } = new Dictionary<string, string>();

        /// <summary>
        /// Every parameter of a network of <paramref name="architecture"/>: its name here (see
        /// <see cref="NetworkWeights.Layout"/>), its state_dict key and its shape, in the order of the layout (which is
        /// also the order of the PyTorch module's <c>state_dict()</c>).
        /// </summary>
        /// <exception cref="ArgumentException">A module name is empty, KeyMap renames a key the network does not have, or two parameters would get one key.</exception>
        internal IReadOnlyList<(string Name, string Key, long[] Shape)> Keys(RecurrentArchitecture architecture, string option)
        {
            foreach (var (value, name) in new[] { (RecurrentModule, nameof(RecurrentModule)), (Head, nameof(Head)), (Embedding, nameof(Embedding)) })
                if (string.IsNullOrWhiteSpace(value))
                    throw new ArgumentException($"Option {option}.{name} is empty; it must be the attribute name of that module in the PyTorch model (d2l's RNNModel: rnn, linear).", option);
            var keys = NetworkWeights.Layout(architecture).Select(p => (p.Name, Key: DefaultKey(p.Name), p.Shape)).ToList();
            var map = KeyMap ?? new Dictionary<string, string>();
            foreach (var (from, to) in map)
            {
                if (!keys.Any(k => k.Key == from))
                    throw new ArgumentException($"Option {option}.KeyMap renames '{from}', which is not a key of this network; its keys are {string.Join(", ", keys.Select(k => k.Key))}.", option);
                if (string.IsNullOrWhiteSpace(to))
                    throw new ArgumentException($"Option {option}.KeyMap renames '{from}' to an empty key.", option);
            }
            keys = keys.Select(k => (k.Name, map.TryGetValue(k.Key, out var renamed) ? renamed : k.Key, k.Shape)).ToList();
            var twice = keys.GroupBy(k => k.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null)
                throw new ArgumentException($"Option {option} gives two parameters the key '{twice.Key}'; every parameter needs its own key.", option);
            return keys;
        }

        /// <summary>"layer{l}[_reverse].fused.{tensor}_l0" → "{rnn}.{tensor}_l{l}[_reverse]"; "head.*" → "{head}.*"; "embedding.weight" → "{embedding}.weight".</summary>
        private string DefaultKey(string name)
        {
            if (name.StartsWith("head.", StringComparison.Ordinal))
                return Head + name["head".Length..];
            if (name.StartsWith("embedding.", StringComparison.Ordinal))
                return Embedding + name["embedding".Length..];
            // layer{l}[_reverse].fused.{tensor}_l0
            var parts = name.Split('.');
            bool reverse = parts[0].EndsWith("_reverse", StringComparison.Ordinal);
            string layer = parts[0]["layer".Length..].Replace("_reverse", "", StringComparison.Ordinal);
            string tensor = parts[2][..^"_l0".Length];
            return $"{RecurrentModule}.{tensor}_l{layer}{(reverse ? "_reverse" : "")}";
        }
    }
}
