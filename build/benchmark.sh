#!/usr/bin/env bash
# Benchmarks (not part of the tests): builds in Release and measures, side by side in one run, MlnetLstm against a
# hand-written TorchSharp loop (and PyTorch when python3 can import torch): training throughput, scoring latency,
# quality at equal time, memory and GFLOP/s. Writes docs/benchmarks.md. About 15 minutes on 2 cores; --quick for about 5.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
dotnet build build/Benchmarks -c Release -v quiet -nologo
dotnet build/Benchmarks/bin/Release/net10.0/MlnetLstm.Benchmarks.dll benchmarks "$@"
