"""The hand-written loop of MlnetLstm's benchmarks in PyTorch: nn.LSTM/GRU over a dense one_hot, a linear head,
cross-entropy, SGD lr 1, clip_grad_norm_(1), sequential batches with the state carried (detached).
Uses as many threads as TorchSharp does. Prints the median tokens/s of the timed windows (after one warm-up window) as its last line."""
import sys
import time

import torch
import torch.nn.functional as F


def main():
    path, vocab, hidden, layers, cell, steps, batch, per_window, windows, threads = sys.argv[1:11]
    vocab, hidden, layers, steps, batch, per_window, windows, threads = map(int, (vocab, hidden, layers, steps, batch, per_window, windows, threads))
    torch.set_num_threads(threads)  # as many as TorchSharp uses (Debian's build defaults to one)
    ids = torch.tensor([int(t) for t in open(path).read().split()])
    torch.manual_seed(1)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(vocab, hidden, layers)
    head = torch.nn.Linear(hidden, vocab)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=1.0)
    rates = []
    for w in range(windows + 1):
        offset = w % steps
        per_row = (len(ids) - offset - 1) // batch
        xs = ids[offset:offset + per_row * batch].view(batch, per_row)
        ys = ids[offset + 1:offset + 1 + per_row * batch].view(batch, per_row)
        state = None
        start = time.perf_counter()
        for b in range(per_window):
            col = (b * steps) % (per_row - steps)
            x, y = xs[:, col:col + steps].t(), ys[:, col:col + steps].t()
            out, state = rnn(F.one_hot(x, vocab).float(), state)
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            loss = F.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            loss.item()
        rates.append(per_window * steps * batch / (time.perf_counter() - start))
    timed = sorted(rates[1:])
    print(timed[len(timed) // 2])


if __name__ == "__main__":
    main()
