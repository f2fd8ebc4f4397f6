#!/usr/bin/env bash
# The language model's recipe study (not part of the tests): trains every candidate recipe of
# build/Benchmarks/RecipeStudy.cs, the defaults and the hand-written TorchSharp loop for the same wall-clock budgets
# on Moby-Dick and Song ci, scores each saved model through a reloaded PredictionEngine paragraph by paragraph, and
# writes docs/recipe.md. About an hour on 2 cores with the default budgets (60 s and 300 s). Run it on a quiet
# machine: TorchSharp's threads slow down by an order of magnitude beside another CPU-bound process; every row records
# the load average and the other processes' share of the cores, and a busy row is repeated once, then marked.
#   --budgets 60,300        the budgets in seconds (the table has a column pair for each)
#   --corpora moby-dick,songci
#   --only TEXT             only the candidate named TEXT (or else those whose name contains it), printed, no report
#   --output FILE           instead of docs/recipe.md (the measurements go beside it, as .json)
#   --report                only write the report again from the saved measurements
#   --update                with --only: re-measure those rows and keep the other saved ones (each row keeps its
#                           own load figures)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
dotnet build build/Benchmarks -c Release -v quiet -nologo
echo "[recipe] load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build/Benchmarks/bin/Release/net10.0/MlnetLstm.Benchmarks.dll recipe "$@"
