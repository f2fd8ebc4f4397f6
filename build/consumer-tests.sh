#!/usr/bin/env bash
# Consumer checks: the packages of build/pack.sh (artifacts/packages) used the way a package user uses them, in a fresh
# folder under /tmp, outside the repository (no Directory.Build.props of ours applies), with a nuget.config of its own:
# the local feed for MlnetLstm.* plus the package sources this machine's NuGet configuration enables.
#   training    a console app (MlnetLstm.Trainers + TorchSharp-cpu) trains a small character model, saves it, checks its output
#   scoring     a scoring-only app (MlnetLstm.Transforms alone) loads that zip and predicts the same; published for
#               linux-x64 it is at most 60 MB with no libtorch, and runs with HOME pointing to an empty folder
#   quickstart  the README's quick start (the fenced block under "## Quick start"), compiled and run as printed; it
#               must print readable text
#   nobackend   an app without a libtorch backend: build warning MLNETLSTM001, and a run-time error naming the
#               packages to add (not a repository script)
# Each check prints "[consumer] PASS name" or "[consumer] FAIL name: why"; the results go, one "pass|fail name" a line,
# to the file given as $1 (build/test.sh adds them to its closing counts). Exits 1 when a check failed.
#
#   bash build/consumer-tests.sh [results-file]     (after bash build/pack.sh; MLNETLSTM_CONSUMER_KEEP=1 keeps the folder)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-/dev/null}
: >"$results"
feed="$root/artifacts/packages"
version=$(sed -n 's:.*<MlnetLstmVersion>\(.*\)</MlnetLstmVersion>.*:\1:p' "$root/Directory.Build.props")
[[ -f "$feed/MlnetLstm.Trainers.$version.nupkg" ]] || { echo "[consumer] no packages of version $version in $feed: run bash build/pack.sh first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mlnetlstm-consumer.XXXXXX")
# MLNETLSTM_CONSUMER_KEEP=1 keeps the folder, to look into a failure.
[[ "${MLNETLSTM_CONSUMER_KEEP:-}" == 1 ]] && echo "[consumer] keeping $work" || trap 'rm -rf "$work"' EXIT
failed=0
pass() { echo "[consumer] PASS $1${2:+ ($2)}"; echo "pass $1" >>"$results"; }
fail() { echo "[consumer] FAIL $1: $2"; echo "fail $1" >>"$results"; failed=1; }
log_tail() { sed 's/^/[consumer]   | /' "$1" | tail -n "${2:-15}"; }
seconds() { echo $(( ($(date +%s%N) - $1) / 1000000000 )); }

# --- The folder: empty MSBuild files stop MSBuild's upward search for Directory.Build.* and Directory.Packages.props.
for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do
    printf '<Project>\n  <!-- Empty: stops MSBuild looking for this file in the folders above. -->\n</Project>\n' >"$work/$f"
done
# The package sources this machine enables (user-level and machine-wide NuGet configuration), read before our
# nuget.config exists; the user's global packages folder is a fallback folder, so TorchSharp's libtorch is not unpacked
# again, while MlnetLstm.* always unpack into a folder of this run's own (the global folder keeps the first copy of a
# version it sees, which would hide a repacked package).
mapfile -t sources < <(cd "$work" && dotnet nuget list source --format short 2>/dev/null | awk '$1 == "E" { print $2 }')
[[ ${#sources[@]} -gt 0 ]] || { fail setup "no enabled package source in this machine's NuGet configuration (dotnet nuget list source)"; exit 1; }
user_packages=$(cd "$work" && dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
{
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo '  <config><add key="globalPackagesFolder" value="packages" /></config>'
    echo "  <fallbackPackageFolders><clear /><add key=\"user\" value=\"$user_packages\" /></fallbackPackageFolders>"
    echo '  <packageSources>'
    echo '    <clear />'
    echo "    <add key=\"local\" value=\"$feed\" />"
    for i in "${!sources[@]}"; do echo "    <add key=\"source$i\" value=\"${sources[$i]}\" />"; done
    echo '  </packageSources>'
    echo '  <packageSourceMapping>'
    echo '    <packageSource key="local"><package pattern="MlnetLstm.*" /></packageSource>'
    for i in "${!sources[@]}"; do echo "    <packageSource key=\"source$i\"><package pattern=\"*\" /></packageSource>"; done
    echo '  </packageSourceMapping>'
    echo '</configuration>'
} >"$work/nuget.config"
if compgen -G "$user_packages/mlnetlstm.*/$version" >/dev/null; then
    echo "[consumer] note: $user_packages holds MlnetLstm packages of version $version; they would shadow the new ones, so the checks below verify the hash"
fi

copy_app() { # $1: app folder name under build/consumers
    mkdir -p "$work/$1"
    cp "$root/build/consumers/$1/"* "$work/$1/"
    sed -i "s/@VERSION@/$version/g" "$work/$1/"*.csproj
}
# Checks that the restored MlnetLstm packages are the ones just packed (same SHA-512 as the .nupkg files).
check_restored() { # $1: app folder
    local id lower expected actual
    for id in MlnetLstm.Transforms MlnetLstm.Trainers; do
        grep -q "\"$id/$version\"" "$work/$1/obj/project.assets.json" || continue
        lower=${id,,}
        expected=$(openssl dgst -sha512 -binary "$feed/$id.$version.nupkg" | base64 -w0)
        actual=$(cat "$work/packages/$lower/$version/$lower.$version.nupkg.sha512" 2>/dev/null || echo "(not restored into this run's folder)")
        [[ "$actual" == "$expected" ]] || { echo "$id $version restored is not the package just packed: $actual"; return 1; }
    done
}
build_app() { # $1: app folder; writes $work/$1.build.log
    (cd "$work/$1" && timeout 300 dotnet build -c Release --nologo -v minimal >"$work/$1.build.log" 2>&1) && check_restored "$1" >>"$work/$1.build.log"
}

# --- training
start=$(date +%s%N)
copy_app training
if ! build_app training; then
    fail training "build failed"; log_tail "$work/training.build.log"
elif ! (cd "$work/training" && timeout 240 dotnet bin/Release/net10.0/Training.dll "$work/model.zip" >"$work/training.log" 2>&1); then
    fail training "the app failed"; log_tail "$work/training.log"
else
    log_tail "$work/training.log" 3
    pass training "$(seconds "$start") s"
fi

# --- scoring: the zip from the training app, expected continuation from its output
start=$(date +%s%N)
copy_app scoring
if [[ ! -f "$work/model.zip" ]]; then
    fail scoring "no model.zip from the training app"
elif ! build_app scoring; then
    fail scoring "build failed"; log_tail "$work/scoring.build.log"
elif ! (cd "$work/scoring" && timeout 300 dotnet publish -c Release -r linux-x64 --self-contained false -o "$work/scoring-publish" --nologo -v quiet >"$work/scoring.publish.log" 2>&1); then
    fail scoring "dotnet publish -r linux-x64 failed"; log_tail "$work/scoring.publish.log"
else
    size=$(du -sb "$work/scoring-publish" | cut -f1)
    mib=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
    torch=$(find "$work/scoring-publish" -iname '*torch*' -printf '%f ')
    empty_home=$(mktemp -d "$work/home.XXXXXX")
    if (( size > 60 * 1000 * 1000 )); then
        fail scoring "the linux-x64 publish folder is $mib MiB, more than 60 MB"
    elif [[ -n "$torch" ]]; then
        fail scoring "the publish folder holds TorchSharp or libtorch files: $torch"
    elif ! (cd "$work/scoring-publish" && HOME="$empty_home" DOTNET_CLI_HOME="$empty_home" NUGET_PACKAGES="$empty_home/none" timeout 60 \
            ./Scoring "$work/model.zip" "the dog " "sat on the log." >"$work/scoring.log" 2>&1); then
        fail scoring "the published app failed with HOME=$empty_home"; log_tail "$work/scoring.log"
    elif [[ -n "$(ls -A "$empty_home")" ]]; then
        fail scoring "the app wrote into the empty HOME: $(ls -A "$empty_home")"
    else
        log_tail "$work/scoring.log" 3
        echo "[consumer]   | publish -r linux-x64: $mib MiB, $(find "$work/scoring-publish" -type f | wc -l) files, no TorchSharp or libtorch file"
        echo "$mib" >"$work/scoring.size"
        pass scoring "$(seconds "$start") s; publish folder $mib MiB"
    fi
fi

# --- quickstart: the README's block, as printed
start=$(date +%s%N)
copy_app quickstart
awk '/^## Quick start/ { section = 1; next } section && /^## / { exit }
     section && /^```csharp/ { code = 1; next } code && /^```/ { exit } code { print }' "$root/README.md" >"$work/quickstart/Program.cs"
if [[ ! -s "$work/quickstart/Program.cs" ]]; then
    fail quickstart "README.md has no \`\`\`csharp block under \"## Quick start\""
elif ! build_app quickstart; then
    fail quickstart "the README quick start does not compile"; log_tail "$work/quickstart.build.log" 20
elif ! (cd "$work/quickstart" && timeout 120 dotnet bin/Release/net10.0/QuickStart.dll >"$work/quickstart.log" 2>&1); then
    fail quickstart "the README quick start failed"; log_tail "$work/quickstart.log"
else
    printed=$(grep -v '^\s*$' "$work/quickstart.log" | tail -n 1)
    letters=$(tr -cd '[:alpha:]' <<<"$printed" | wc -c)
    words=$(grep -oE '[[:alpha:]]{3,}' <<<"$printed" | wc -l)
    log_tail "$work/quickstart.log" 3
    if (( letters < 30 || words < 6 )); then
        fail quickstart "its last line is not readable text ($letters letters, $words words): '$printed'"
    else
        pass quickstart "$(seconds "$start") s, training and generation included"
    fi
fi

# --- nobackend
start=$(date +%s%N)
copy_app nobackend
if ! build_app nobackend; then
    fail nobackend "build failed"; log_tail "$work/nobackend.build.log"
elif ! grep -q "MLNETLSTM001" "$work/nobackend.build.log"; then
    fail nobackend "no build warning MLNETLSTM001 for an app without a libtorch backend"; log_tail "$work/nobackend.build.log"
# TorchSharp looks for libtorch in the NuGet package cache when the app has none (for notebooks); an app deployed
# without a backend has no such cache, so neither has this run.
elif ! (cd "$work/nobackend" && HOME="$work/nobackend-home" NUGET_PACKAGES="$work/nobackend-home/packages" timeout 60 \
        dotnet bin/Release/net10.0/NoBackend.dll >"$work/nobackend.log" 2>&1); then
    fail nobackend "training without a backend did not fail with an exception"; log_tail "$work/nobackend.log"
elif ! grep -q "TorchSharp-cpu" "$work/nobackend.log" || grep -q "setup.sh" "$work/nobackend.log"; then
    fail nobackend "the error does not name the backend packages, or names a repository script"; log_tail "$work/nobackend.log"
else
    echo "[consumer]   | $(head -c 200 "$work/nobackend.log")…"
    pass nobackend "$(seconds "$start") s"
fi
exit "$failed"
