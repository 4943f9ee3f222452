#!/usr/bin/env bash
# Locate (or build) the pinned Temporal CLI, which embeds the dev server.
#
# Usage:
#   TEMPORAL="$(scripts/temporal-bin.sh | tail -n1)"
#   "$TEMPORAL" server start-dev --headless ...
#
# The absolute path of the binary is the LAST line of stdout; all progress and
# errors go to stderr. Exit status is non-zero if no usable binary was found.
#
# Lookup order:
#   1. $TEMPORAL_CLI (path, or a command name on PATH) - used as given, must be
#      executable; a version other than the pinned one only produces a warning.
#   2. <repo>/.tools/bin/temporal, if `temporal --version` reports the pin.
#   3. `temporal` on PATH, only if `temporal --version` reports the pin.
#   4. Build the pin with Go from tools/temporal-cli into <repo>/.tools/bin
#      (uses the default Go module/build caches).
#
# The pinned version lives in scripts/temporal-version.env (TEMPORAL_CLI_VERSION).
set -euo pipefail

src="${BASH_SOURCE[0]}"
while [[ -L "$src" ]]; do # follow symlinks to the real script
  link="$(readlink -- "$src")"
  [[ "$link" == /* ]] && src="$link" || src="$(dirname -- "$src")/$link"
done
SCRIPT_DIR="$(cd -- "$(dirname -- "$src")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
VERSION_FILE="$SCRIPT_DIR/temporal-version.env"
WRAPPER_DIR="$REPO_ROOT/tools/temporal-cli"
TOOLS_BIN="$REPO_ROOT/.tools/bin"
LOCAL_BIN="$TOOLS_BIN/temporal"

log() { printf '[temporal-bin] %s\n' "$*" >&2; }
die() { printf '[temporal-bin] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -r "$VERSION_FILE" ]] || die "missing $VERSION_FILE"
# shellcheck source=temporal-version.env
source "$VERSION_FILE"
[[ -n "${TEMPORAL_CLI_VERSION:-}" ]] || die "TEMPORAL_CLI_VERSION not set in $VERSION_FILE"
TEMPORAL_GO_MIN="${TEMPORAL_GO_MIN:-1.24}"

# `temporal --version` prints e.g. "temporal version 1.8.2 (Server 1.31.2, UI 2.x)".
# Binaries built by plain `go install` say "0.0.0-DEV", so they never match;
# our own build stamps the version via -ldflags (as upstream releases do).
reports_pinned_version() {
  local bin="$1" out
  [[ -f "$bin" && -x "$bin" ]] || return 1
  out="$("$bin" --version 2>/dev/null)" || return 1
  [[ "$out" =~ version[[:space:]]v?${TEMPORAL_CLI_VERSION//./\\.}([[:space:]]|$) ]]
}

emit() { # print the absolute path as the last stdout line
  local dir
  dir="$(cd -- "$(dirname -- "$1")" && pwd -P)"
  printf '%s\n' "$dir/$(basename -- "$1")"
  exit 0
}

# 1. Explicit override.
if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  cand="$TEMPORAL_CLI"
  if [[ "$cand" != */* ]]; then
    cand="$(command -v -- "$cand" 2>/dev/null || true)"
    [[ -n "$cand" ]] || die "TEMPORAL_CLI='$TEMPORAL_CLI' is not found on PATH"
  fi
  [[ -f "$cand" && -x "$cand" ]] || die "TEMPORAL_CLI='$TEMPORAL_CLI' is not an executable file"
  if ! reports_pinned_version "$cand"; then
    log "warning: TEMPORAL_CLI=$cand does not report version $TEMPORAL_CLI_VERSION ($("$cand" --version 2>/dev/null | head -n1 || echo 'unknown')); using it anyway"
  fi
  emit "$cand"
fi

# 2. Previously built copy in the repo.
if reports_pinned_version "$LOCAL_BIN"; then
  emit "$LOCAL_BIN"
fi
if [[ -e "$LOCAL_BIN" ]]; then
  log "$LOCAL_BIN does not report version $TEMPORAL_CLI_VERSION; rebuilding"
fi

# 3. A `temporal` on PATH, only if it is exactly the pinned version.
if path_bin="$(command -v temporal 2>/dev/null)" && [[ -n "$path_bin" ]]; then
  if reports_pinned_version "$path_bin"; then
    emit "$path_bin"
  fi
  log "ignoring $path_bin on PATH: not version $TEMPORAL_CLI_VERSION"
fi

# 4. Build with Go.
need_msg="install Go >= $TEMPORAL_GO_MIN (https://go.dev/dl/) so this script can build Temporal CLI $TEMPORAL_CLI_VERSION, or set TEMPORAL_CLI=/path/to/temporal"
command -v go >/dev/null 2>&1 || die "no Temporal CLI $TEMPORAL_CLI_VERSION found and 'go' is not on PATH: $need_msg"
go_have="$(go env GOVERSION 2>/dev/null || true)"
go_have="${go_have#go}"
go_have="${go_have%%[!0-9.]*}" # strip suffixes like "rc1" / " X:..."
if [[ -z "$go_have" ]] ||
  [[ "$(printf '%s\n%s\n' "$TEMPORAL_GO_MIN" "$go_have" | sort -V | head -n1)" != "$TEMPORAL_GO_MIN" ]]; then
  die "Go ${go_have:-unknown} is too old: $need_msg"
fi

[[ -f "$WRAPPER_DIR/go.mod" ]] || die "missing $WRAPPER_DIR/go.mod"
if ! grep -Eq "^[[:space:]]*(require[[:space:]]+)?github\.com/temporalio/cli[[:space:]]+v${TEMPORAL_CLI_VERSION//./\\.}([[:space:]]|$)" "$WRAPPER_DIR/go.mod"; then
  die "$WRAPPER_DIR/go.mod does not require github.com/temporalio/cli v$TEMPORAL_CLI_VERSION (pinned in $VERSION_FILE); update go.mod (and the cliext replace) to match"
fi

mkdir -p "$TOOLS_BIN"

build() {
  # Re-check: another process may have finished the build while we waited.
  if reports_pinned_version "$LOCAL_BIN"; then
    log "another process built $LOCAL_BIN meanwhile"
    return 0
  fi
  log "building Temporal CLI $TEMPORAL_CLI_VERSION with Go $go_have into $TOOLS_BIN (first build downloads modules; takes minutes)"
  # Version var moved from temporalcli to internal/temporalcli in later releases;
  # -X for a missing symbol is a no-op, so set both.
  local v="$TEMPORAL_CLI_VERSION"
  (
    cd "$WRAPPER_DIR"
    GOFLAGS=-mod=mod GOBIN="$TOOLS_BIN" go install \
      -ldflags "-s -w -X github.com/temporalio/cli/internal/temporalcli.Version=$v -X github.com/temporalio/cli/temporalcli.Version=$v" \
      github.com/temporalio/cli/cmd/temporal
  ) >&2 || die "go install of Temporal CLI $v failed (see output above)"
  log "built $LOCAL_BIN ($("$LOCAL_BIN" --version 2>/dev/null | head -n1))"
}

if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS_BIN/.temporal-build.lock"
  flock 9
  build
  flock -u 9
else
  build
fi

reports_pinned_version "$LOCAL_BIN" ||
  die "built $LOCAL_BIN but '$LOCAL_BIN --version' does not report $TEMPORAL_CLI_VERSION: $("$LOCAL_BIN" --version 2>&1 | head -n1 || true)"
emit "$LOCAL_BIN"
