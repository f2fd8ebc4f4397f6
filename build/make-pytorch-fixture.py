#!/usr/bin/env python3
"""Trains the PyTorch models of test/Fixtures/PyTorch and writes what the tests compare MlnetLstm's import with.

With the seeds' RNNModel (build/pytorch-score.py): a character LSTM 1x64 on the start of Moby-Dick (a few kB, public
domain), and a 2-layer GRU 2x16 on the same text. For each: torch.save(model.state_dict()) as <name>.pth,
safetensors.torch.save_file as <name>.safetensors (the LSTM), the vocabulary and architecture as <name>.json (the
format ml.Model.ExportToPyTorch writes), and <name>.expected.json: PyTorch's own per-token log-probabilities of a few
texts. Run by build/make-pytorch-fixture.sh; the tests read the files without PyTorch.
"""
import argparse
import importlib.util
import json
import math
import os
from collections import Counter

import torch
from torch import nn

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("pytorch_score", os.path.join(here, "pytorch-score.py"))
score = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score)

RESERVED = ["<unk>", "<eos>"]

TEXTS = [
    "Call me Ishmael.",
    "It is a way I have of driving off the spleen and regulating the circulation.",
    "Queequeg was a native of Rokovoko, an island far away to the West and South.",
    "The whale, ©2024: zebra!",  # '©' and perhaps other characters are outside the vocabulary: <unk>
    "a",
]


def vocabulary_of(paragraphs):
    """As MlnetLstm's TokenizeWithCharacterVocabulary learns it: reserved tokens, then characters by count, ties by code point."""
    counts = Counter(c for p in paragraphs for c in p)
    learned = sorted((c for c in counts if c not in RESERVED), key=lambda c: (-counts[c], c))
    return RESERVED + learned


def train(model, stream, steps, batch_size, epochs, lr, seed):
    """d2l's train_ch8 with sequential partitioning (state carried between batches, detached), Adam and clipping."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    data = torch.tensor(stream)
    for epoch in range(epochs):
        offset = int(torch.randint(0, steps, (1,), generator=generator))
        per_row = (len(stream) - offset - 1) // batch_size
        xs = data[offset:offset + per_row * batch_size].reshape(batch_size, per_row)
        ys = data[offset + 1:offset + 1 + per_row * batch_size].reshape(batch_size, per_row)
        state, total, count = None, 0.0, 0
        for i in range(0, per_row - steps + 1, steps):
            X, Y = xs[:, i:i + steps], ys[:, i:i + steps]
            if state is None:
                state = model.begin_state("cpu", batch_size)
            elif isinstance(state, tuple):
                state = tuple(s.detach() for s in state)
            else:
                state = state.detach()
            y_hat, state = model(X, state)
            loss = loss_fn(y_hat, Y.T.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss) * Y.numel()
            count += Y.numel()
        if (epoch + 1) % 10 == 0:
            print(f"  epoch {epoch + 1}: perplexity {math.exp(total / count):.3f}")


def write(model, name, cell, vocabulary, out, safetensors):
    state = model.state_dict()
    torch.save(state, os.path.join(out, name + ".pth"))
    if safetensors:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(out, name + ".safetensors"))
    manifest = {
        "format": "MlnetLstm PyTorch export 1",
        "task": "language-model",
        "cell": cell,
        "input": "one-hot",
        "input_size": len(vocabulary),
        "embedding_size": 0,
        "hidden_size": model.rnn.hidden_size,
        "num_layers": model.rnn.num_layers,
        "bidirectional": False,
        "output_size": len(vocabulary),
        "names": {"rnn": "rnn", "head": "linear", "embedding": "embedding"},
        "keys": {k: list(v.shape) for k, v in state.items()},
        "vocabulary": {"tokens": vocabulary, "level": "character", "separator": "", "unknown": "<unk>", "case_folding": False, "end_of_text": "<eos>"},
        "producer": f"build/make-pytorch-fixture.py, PyTorch {torch.__version__}",
    }
    with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    expected = []
    for text in TEXTS:
        ids = score.token_ids(text, manifest["vocabulary"])
        lps = score.log_probabilities(model, manifest, ids)
        # A float64 copy of the model checks PyTorch's float32 numbers (and its kernels) before they become the reference.
        double = score.build(manifest).double()
        double.load_state_dict({k: v.double() for k, v in state.items()})
        with torch.no_grad():
            inputs = torch.tensor([[vocabulary.index("<eos>")] + ids[:-1]])
            begin = double.begin_state("cpu", 1)
            begin = tuple(s.double() for s in begin) if isinstance(begin, tuple) else begin.double()
            logits, _ = double.rnn(nn.functional.one_hot(inputs.T, len(vocabulary)).double(), begin)
            lp64 = torch.log_softmax(double.linear(logits.reshape(-1, logits.shape[-1])), -1)
        worst = max(abs(lp - float(lp64[t, tok])) for t, (tok, lp) in enumerate(zip(ids, lps)))
        assert worst < 1e-4, f"PyTorch's float32 and float64 disagree by {worst} on {text!r}"
        expected.append({"text": text, "ids": ids, "log_probabilities": [float(f"{lp:.9g}") for lp in lps], "log_likelihood": math.fsum(lps)})
    with open(os.path.join(out, name + ".expected.json"), "w", encoding="utf-8") as f:
        json.dump({"producer": f"PyTorch {torch.__version__}, float32, gradients enabled (training kernels)", "texts": expected}, f, ensure_ascii=False, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help=".cache/corpora/moby-dick.txt")
    parser.add_argument("--out", required=True, help="test/Fixtures/PyTorch")
    parser.add_argument("--characters", type=int, default=4000, help="how much of the corpus's start to train on")
    args = parser.parse_args()
    torch.manual_seed(15)
    torch.set_num_threads(1)
    with open(args.corpus, encoding="utf-8") as f:
        text = f.read(args.characters * 2)
    text = text[:text.rfind("\n\n", 0, args.characters)]
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(paragraphs) + "\n")
    vocabulary = vocabulary_of(paragraphs)
    ids = {t: i for i, t in enumerate(vocabulary)}
    # The documents joined by <eos>, as MlnetLstm's language-model trainer joins rows.
    stream = [i for p in paragraphs for i in [ids[c] for c in p] + [ids["<eos>"]]]
    print(f"{len(stream)} tokens, vocabulary {len(vocabulary)}")

    print("LSTM 1x64")
    lstm = score.RNNModel(nn.LSTM(len(vocabulary), 64), len(vocabulary))
    train(lstm, stream, steps=35, batch_size=16, epochs=60, lr=0.01, seed=1)
    write(lstm, "moby-lstm-1x64", "LSTM", vocabulary, args.out, safetensors=True)

    print("GRU 2x16")
    gru = score.RNNModel(nn.GRU(len(vocabulary), 16, num_layers=2), len(vocabulary))
    train(gru, stream, steps=35, batch_size=16, epochs=30, lr=0.01, seed=2)
    write(gru, "moby-gru-2x16", "GRU", vocabulary, args.out, safetensors=False)


if __name__ == "__main__":
    main()
