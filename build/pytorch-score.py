#!/usr/bin/env python3
"""Scores a text with a language model exported by MlnetLstm, in PyTorch.

ml.Model.ExportToPyTorch(model, "out/moby") writes out/moby.safetensors, out/moby.pth and out/moby.json (architecture,
keys, vocabulary). This script builds the seeds' (d2l's) RNNModel -- nn.LSTM/GRU/RNN on one-hot tokens and an
nn.Linear head -- loads the weights with load_state_dict, and prints the natural-log likelihood of the text, each token
predicted from the ones before it after the end-of-text token, as MlnetLstm's LogLikelihood column computes it.

    python3 build/pytorch-score.py out/moby --text "Call me Ishmael."              # the .pth, torch.load(weights_only=True)
    python3 build/pytorch-score.py out/moby --safetensors --per-token --text "Call me"

Needs PyTorch (Debian: apt-get install python3-torch; on Debian 12 from trixie, see build/make-pytorch-fixture.sh) and,
for --safetensors, the safetensors package (python3-safetensors).
"""
import argparse
import json
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn


class RNNModel(nn.Module):
    """The seeds' RNNModel: self.rnn (nn.LSTM/GRU/RNN on one-hot input) and self.linear; an nn.Embedding when asked."""

    def __init__(self, rnn_layer, vocab_size, embedding_size=0):
        super().__init__()
        if embedding_size:
            self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        if hasattr(self, "embedding"):
            X = self.embedding(inputs.T.long())
        else:
            X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        if not isinstance(self.rnn, nn.LSTM):
            return torch.zeros(shape, device=device)
        return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))


def build(manifest):
    """The RNNModel the manifest describes (a language model's)."""
    if manifest.get("task") != "language-model":
        sys.exit(f"the export is a {manifest.get('task')} model; this script scores language models")
    cell, size = manifest["cell"], manifest["input_size"]
    width = manifest["embedding_size"] if manifest["input"] == "embedding" else size
    kwargs = dict(num_layers=manifest["num_layers"], bidirectional=manifest["bidirectional"])
    if cell == "LSTM":
        layer = nn.LSTM(width, manifest["hidden_size"], **kwargs)
    elif cell == "GRU":
        layer = nn.GRU(width, manifest["hidden_size"], **kwargs)
    else:
        layer = nn.RNN(width, manifest["hidden_size"], nonlinearity="tanh" if cell == "RNN_TANH" else "relu", **kwargs)
    return RNNModel(layer, manifest["output_size"], manifest["embedding_size"] if manifest["input"] == "embedding" else 0)


def load_weights(base, safetensors):
    if safetensors:
        from safetensors.torch import load_file
        return load_file(base + ".safetensors")
    return torch.load(base + ".pth", weights_only=True)


def into_model(model, manifest, state):
    """load_state_dict as it is under the seeds' names; under other names, key by key in state_dict order."""
    names = manifest["names"]
    if names["rnn"] == "rnn" and names["head"] == "linear" and names["embedding"] == "embedding" and set(state) == set(model.state_dict()):
        model.load_state_dict(state)
        return
    ours = list(model.state_dict().keys())
    theirs = list(manifest["keys"].keys())
    model.load_state_dict({o: state[t] for o, t in zip(ours, theirs, strict=True)})


def token_ids(text, vocabulary):
    tokens = vocabulary["tokens"]
    ids = {t: i for i, t in enumerate(tokens)}
    unknown = ids.get(vocabulary["unknown"]) if vocabulary["unknown"] is not None else None
    if vocabulary["level"] == "bpe":
        sys.exit("the vocabulary is a learned BPE (its merges are in the manifest); this script tokenizes characters and words only: "
                 "tokenize the text with the pipeline's BpeTokenizingTransformer (Vocabulary.Tokenizer) and feed the ids")
    if vocabulary["case_folding"]:
        text = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    pieces = text.split() if vocabulary["level"] == "word" else list(text)
    result = []
    for piece in pieces:
        if piece in ids:
            result.append(ids[piece])
        elif unknown is not None:
            result.append(unknown)
        else:
            sys.exit(f"'{piece}' is not in the vocabulary, which has no unknown token")
    return result


def log_probabilities(model, manifest, ids):
    """log p(token t | end-of-text, tokens before t), in float32 as PyTorch computes it."""
    end_of_text = manifest["vocabulary"]["tokens"].index(manifest["vocabulary"]["end_of_text"])
    inputs = torch.tensor([[end_of_text] + ids[:-1]]) if ids else torch.tensor([[end_of_text]])
    # Not under no_grad: the oneDNN LSTM inference kernel of some PyTorch builds is wrong on AVX-512 machines for
    # hidden sizes of 1 to 16 mod 32 (see the README); with gradients enabled PyTorch runs the training kernel.
    logits, _ = model(inputs, model.begin_state("cpu", batch_size=1))
    logp = torch.log_softmax(logits, dim=-1)
    return [float(logp[t, token]) for t, token in enumerate(ids)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the export's path without extension (out/moby for out/moby.pth, .safetensors, .json)")
    parser.add_argument("--text", default="Call me Ishmael.", help="the text to score")
    parser.add_argument("--safetensors", action="store_true", help="load <base>.safetensors instead of <base>.pth")
    parser.add_argument("--per-token", action="store_true", help="also print each token's log-probability")
    args = parser.parse_args()
    with open(args.base + ".json", encoding="utf-8") as f:
        manifest = json.load(f)
    model = build(manifest)
    into_model(model, manifest, load_weights(args.base, args.safetensors))
    ids = token_ids(args.text, manifest["vocabulary"])
    lps = log_probabilities(model, manifest, ids)
    if args.per_token:
        for token, lp in zip(ids, lps):
            print(f"{manifest['vocabulary']['tokens'][token]!r}\t{lp:.9g}")
    total = math.fsum(lps)
    print(f"log-likelihood {total:.9g} over {len(ids)} tokens (perplexity {math.exp(-total / max(1, len(ids))):.6g})")


if __name__ == "__main__":
    main()
