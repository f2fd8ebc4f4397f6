#!/usr/bin/env bash
# The soak run: trains a character LSTM language model, then scores rows one at a time through one PredictionEngine
# (every output column) while sampling the process's RSS from /proc/self/status; writes docs/soak-report.md with the
# samples and the drift (last sample vs the first after warm-up) and exits 1 when the drift is above 5 %.
#
#   bash build/soak.sh [epochs] [rows]     defaults: 3 epochs, 100000 rows (about 2 minutes on 2 cores)
#
# Linux only (it reads /proc/self/status). The code is the "soak" mode of test/ModelRunner (Soak.cs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
epochs=${1:-3}
rows=${2:-100000}
bash build/setup.sh --no-corpora
dotnet build test/ModelRunner/MlnetLstm.ModelRunner.csproj -c Release --nologo -v quiet
mkdir -p docs
dotnet test/ModelRunner/bin/Release/net10.0/MlnetLstm.ModelRunner.dll soak "$epochs" "$rows" docs/soak-report.md
