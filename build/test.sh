#!/usr/bin/env bash
# The README test command: installs what is missing (build/setup.sh), builds in Release and runs the whole MSTest
# suite, then prints one closing line "N passed, N failed, N skipped". Extra arguments go to `dotnet test`
# (for example --filter "FullyQualifiedName~Tokenizer").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
results="$root/artifacts/test-results"
rm -rf "$results"
status=0
dotnet test test/MlnetLstm.Tests.csproj -c Release --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" || status=$?
trx="$results/results.trx"
if [[ -f "$trx" ]]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
    echo "$(count passed) passed, $(count failed) failed, $(count notExecuted) skipped"
else
    echo "[test] no test results were written (the build failed?)" >&2
    status=${status/#0/1}
fi
exit "$status"
