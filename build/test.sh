#!/usr/bin/env bash
# The README test command: installs what is missing (build/setup.sh), builds in Release and runs the whole MSTest
# suite, packs the NuGet packages (build/pack.sh) and runs the consumer checks against them outside the repository
# (build/consumer-tests.sh), then prints one closing line "N passed, N failed, N skipped" that counts the MSTest tests
# and those checks. The MSTest suite runs on the Microsoft.ML the build compiles against (MicrosoftMLVersion); the
# consumer checks run once per supported Microsoft.ML version (MicrosoftMLSupportedVersions), each counted per version
# ("training@5.0.1", "training@6.0.0"), plus the cross-version zip checks and the Microsoft.ML.TorchSharp app. Extra arguments go to `dotnet test` (for example --filter "FullyQualifiedName~Tokenizer") and
# skip the packages and consumer checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash build/setup.sh
results="$root/artifacts/test-results"
rm -rf "$results"
status=0
dotnet test test/MlnetLstm.Tests/MlnetLstm.Tests.csproj -c Release --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" || status=$?
trx="$results/results.trx"

# The packages as a user gets them (build/pack.sh), then the consumer checks outside the repository
# (build/consumer-tests.sh), each counted in the closing line. Skipped when a filter selects some MSTest tests only.
consumer_passed=0 consumer_failed=0
if [[ $# -eq 0 ]]; then
    mkdir -p "$results"
    if bash build/pack.sh; then
        echo "pass packages" >"$results/consumer.txt"
        bash build/consumer-tests.sh "$results/consumer-checks.txt" || status=1
        cat "$results/consumer-checks.txt" >>"$results/consumer.txt" 2>/dev/null || true
    else
        echo "fail packages" >"$results/consumer.txt"
        status=1
    fi
    consumer_passed=$(grep -c '^pass ' "$results/consumer.txt" || true)
    consumer_failed=$(grep -c '^fail ' "$results/consumer.txt" || true)
    echo "[test] package and consumer checks: $consumer_passed passed, $consumer_failed failed ($(awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }' "$results/consumer.txt"))"
fi

if [[ -f "$trx" ]]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
    echo "$(( $(count passed) + consumer_passed )) passed, $(( $(count failed) + consumer_failed )) failed, $(count notExecuted) skipped"
else
    echo "[test] no test results were written (the build failed?)" >&2
    status=${status/#0/1}
fi
exit "$status"
