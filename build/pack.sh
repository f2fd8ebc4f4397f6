#!/usr/bin/env bash
# Packs MlnetLstm.Transforms and MlnetLstm.Trainers (Release) into artifacts/packages: a .nupkg and a .snupkg (symbols)
# each, at the version of MlnetLstmVersion in Directory.Build.props, then checks what a package user gets: the readme,
# the licence expression, XML docs, and the dependencies (Microsoft.ML: the range of the supported versions,
# MicrosoftMLVersionRange from Directory.Packages.props; no TorchSharp in Transforms; the managed TorchSharp, not a
# backend, in Trainers; no build-time tool such as the Publicizer).
#
#   bash build/pack.sh            (build/test.sh runs it before the consumer checks)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/artifacts/packages"
rm -rf "$out"
mkdir -p "$out"
commit=$(git rev-parse HEAD 2>/dev/null || echo "")
for project in src/Transforms/MlnetLstm.Transforms.csproj src/Trainers/MlnetLstm.Trainers.csproj; do
    dotnet pack "$project" -c Release -o "$out" --nologo -v quiet -p:RepositoryCommit="$commit"
done
version=$(sed -n 's:.*<MlnetLstmVersion>\(.*\)</MlnetLstmVersion>.*:\1:p' Directory.Build.props)
ml_range=$(dotnet msbuild src/Transforms/MlnetLstm.Transforms.csproj -getProperty:MicrosoftMLVersionRange)
[[ "$ml_range" == "["* ]] || { echo "[pack] ERROR: no MicrosoftMLVersionRange: '$ml_range'" >&2; exit 1; }

fail() { echo "[pack] ERROR: $*" >&2; exit 1; }
nuspec() { unzip -p "$out/$1.$version.nupkg" "$1.nuspec"; }
for id in MlnetLstm.Transforms MlnetLstm.Trainers; do
    [[ -f "$out/$id.$version.nupkg" ]] || fail "$id.$version.nupkg was not written"
    [[ -f "$out/$id.$version.snupkg" ]] || fail "$id.$version.snupkg (symbols) was not written"
    files=$(unzip -Z1 "$out/$id.$version.nupkg")
    for f in README.md "lib/net10.0/$id.dll" "lib/net10.0/$id.xml"; do
        grep -qx "$f" <<<"$files" || fail "$id.$version.nupkg lacks $f"
    done
    spec=$(nuspec "$id")
    grep -q '<license type="expression">MIT</license>' <<<"$spec" || fail "$id: no MIT licence expression"
    grep -q '<readme>README.md</readme>' <<<"$spec" || fail "$id: no package readme"
    grep -q '<repository type="git"' <<<"$spec" || fail "$id: no repository type"
    grep -qF "<dependency id=\"Microsoft.ML\" version=\"$ml_range\"" <<<"$spec" || fail "$id: Microsoft.ML is not the supported range $ml_range: $(grep '"Microsoft.ML"' <<<"$spec")"
    ! grep -qi 'publicizer\|mono.cecil' <<<"$spec" || fail "$id depends on the build-time Publicizer"
done
! nuspec MlnetLstm.Transforms | grep "<dependency " | grep -qi torch || fail "MlnetLstm.Transforms depends on TorchSharp"
trainers=$(nuspec MlnetLstm.Trainers)
grep -q "<dependency id=\"MlnetLstm.Transforms\" version=\"\[$version\]\"" <<<"$trainers" || fail "MlnetLstm.Trainers does not depend on exactly MlnetLstm.Transforms $version"
grep -q '<dependency id="TorchSharp" version="\[0.107.0, 0.108.0)"' <<<"$trainers" || fail "MlnetLstm.Trainers does not depend on the managed TorchSharp 0.107"
! grep "<dependency " <<<"$trainers" | grep -qi 'TorchSharp-cpu\|libtorch' || fail "MlnetLstm.Trainers depends on a libtorch backend (the app chooses it)"
grep -qx 'buildTransitive/MlnetLstm.Trainers.targets' <<<"$(unzip -Z1 "$out/MlnetLstm.Trainers.$version.nupkg")" || fail "MlnetLstm.Trainers lacks its backend check"
echo "[pack] $(cd "$out" && ls | tr '\n' ' ')in artifacts/packages: metadata and dependencies ok (Microsoft.ML $ml_range)"
