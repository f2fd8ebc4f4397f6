#!/usr/bin/env bash
# The README main job: installs what is missing (build/setup.sh), then trains a character LSTM on Moby-Dick through
# an ML.NET pipeline (about 6 minutes on 2 cores), writes out/<corpus>-<cell>.zip and its perplexity PNG, reloads the
# zip and generates from a few prefixes. Arguments go to the sample (--corpus songci, --cell gru, --minutes 3, --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
dotnet build src/Samples/Console -c Release -v quiet -nologo
dotnet src/Samples/Console/bin/Release/net10.0/MlnetLstm.Samples.dll "$@"
