#!/usr/bin/env bash
# Reproduces the seeds' d2l experiment (not a test): 256 hidden units, batch 32, 35 steps, SGD lr 1, clip 1, 500 epochs
# on the first 10,000 characters of Moby-Dick lower-cased to letters and spaces, for nn-style RNN, GRU, LSTM,
# gate-level LSTM and 2-layer LSTM. Writes docs/d2l-reproduction.md. Options: --epochs N, --output FILE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
dotnet build build/Benchmarks -c Release -v quiet -nologo
dotnet build/Benchmarks/bin/Release/net10.0/MlnetLstm.Benchmarks.dll d2l "$@"
