#!/usr/bin/env bash
# Locate (or build) the pinned Temporal binaries.
#
# Usage:
#   TEMPORAL="$(scripts/temporal-bin.sh | tail -n1)"        # the CLI (embeds the dev server)
#   "$TEMPORAL" server start-dev --headless ...
#   TOOLS="$(scripts/temporal-bin.sh --all | tail -n1)"     # every binary, for TEMPORAL_STORE=postgres
#   "$TOOLS/bin/temporal-server" --config-file ... start
#
# The LAST line of stdout is an absolute path; all progress and errors go to
# stderr. Exit status is non-zero if no usable binary was found.
#   default: the path of the `temporal` CLI.
#   --all:   the tools directory (<repo>/.tools), whose bin/ holds
#              temporal            CLI + dev server      github.com/temporalio/cli/cmd/temporal
#              temporal-server     the full server       go.temporal.io/server/cmd/server
#              temporal-sql-tool   SQL schema tool       go.temporal.io/server/cmd/tools/sql
#                                  (carries the server's schema, --schema-name postgresql/v12/...)
#              temporal-ui-server  Web UI server         github.com/temporalio/ui-server/v2/cmd/server
#
# All four come from ONE module graph (tools/temporal/go.mod), pinned by the
# CLI version in scripts/temporal-version.env: the server and UI server are
# the versions that CLI release itself resolves.
#
# Lookup order (default mode):
#   1. $TEMPORAL_CLI (path, or a command name on PATH) - used as given, must be
#      executable; a version other than the pinned one only produces a warning.
#   2. <repo>/.tools/bin, if it was filled for the current pin (.tools/bin/.temporal-key).
#   3. `temporal` on PATH, only if `temporal --version` reports the pin.
#   4. The build cache outside the repo, keyed by the pin:
#        ${HOOKSHOT_TEMPORAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hookshot/temporal}/<key>/bin
#      (<repo>/.tools/cache when there is no HOME or it cannot be written)
#      copied (hard-linked when possible) into <repo>/.tools/bin. A fresh
#      clone on the same machine (CI) takes this path instead of rebuilding.
#   5. Build all four with Go from tools/temporal into the cache, then 4.
# --all skips 1 and 3 (those are the CLI only).
set -euo pipefail

MODE=cli
case "${1:-}" in
  "") ;;
  --all) MODE=all ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 0
    ;;
  *) printf '[temporal-bin] ERROR: unknown argument %s (use --all or nothing)\n' "$1" >&2; exit 2 ;;
esac

src="${BASH_SOURCE[0]}"
while [[ -L "$src" ]]; do # follow symlinks to the real script
  link="$(readlink -- "$src")"
  [[ "$link" == /* ]] && src="$link" || src="$(dirname -- "$src")/$link"
done
SCRIPT_DIR="$(cd -- "$(dirname -- "$src")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
VERSION_FILE="$SCRIPT_DIR/temporal-version.env"
WRAPPER_DIR="$REPO_ROOT/tools/temporal"
TOOLS_DIR="$REPO_ROOT/.tools"
TOOLS_BIN="$TOOLS_DIR/bin"
LOCAL_BIN="$TOOLS_BIN/temporal"
KEY_FILE="$TOOLS_BIN/.temporal-key"
BINARIES=(temporal temporal-server temporal-sql-tool temporal-ui-server)
# Bump when the build recipe below changes in a way that changes the binaries,
# so cached builds made by the old recipe are not reused.
RECIPE=1

log() { printf '[temporal-bin] %s\n' "$*" >&2; }
die() { printf '[temporal-bin] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -r "$VERSION_FILE" ]] || die "missing $VERSION_FILE"
# shellcheck source=temporal-version.env
source "$VERSION_FILE"
[[ -n "${TEMPORAL_CLI_VERSION:-}" ]] || die "TEMPORAL_CLI_VERSION not set in $VERSION_FILE"
[[ -n "${TEMPORAL_SERVER_VERSION:-}" ]] || die "TEMPORAL_SERVER_VERSION not set in $VERSION_FILE"
[[ -n "${TEMPORAL_UI_SERVER_VERSION:-}" ]] || die "TEMPORAL_UI_SERVER_VERSION not set in $VERSION_FILE"
TEMPORAL_GO_MIN="${TEMPORAL_GO_MIN:-1.24}"

# `temporal --version` prints e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)".
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
  if [[ -d "$1" ]]; then
    (cd -- "$1" && pwd -P)
  else
    dir="$(cd -- "$(dirname -- "$1")" && pwd -P)"
    printf '%s\n' "$dir/$(basename -- "$1")"
  fi
  exit 0
}

done_path() { [[ "$MODE" == all ]] && emit "$TOOLS_DIR" || emit "$LOCAL_BIN"; }

# 1. Explicit override (the CLI only).
if [[ "$MODE" == cli && -n "${TEMPORAL_CLI:-}" ]]; then
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

# The wrapper module must pin what the env file says.
[[ -f "$WRAPPER_DIR/go.mod" && -f "$WRAPPER_DIR/go.sum" ]] || die "missing $WRAPPER_DIR/go.mod or go.sum"
requires() { # module version: go.mod has `module vVERSION` (require block or single line)
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?${1//./\\.}[[:space:]]+v${2//./\\.}([[:space:]]|$)" "$WRAPPER_DIR/go.mod"
}
requires github.com/temporalio/cli "$TEMPORAL_CLI_VERSION" ||
  die "$WRAPPER_DIR/go.mod does not require github.com/temporalio/cli v$TEMPORAL_CLI_VERSION (pinned in $VERSION_FILE); see docs/temporal-binary.md, 'Changing the pin'"
requires go.temporal.io/server "$TEMPORAL_SERVER_VERSION" ||
  die "$WRAPPER_DIR/go.mod does not require go.temporal.io/server v$TEMPORAL_SERVER_VERSION (TEMPORAL_SERVER_VERSION in $VERSION_FILE)"
requires github.com/temporalio/ui-server/v2 "$TEMPORAL_UI_SERVER_VERSION" ||
  die "$WRAPPER_DIR/go.mod does not require github.com/temporalio/ui-server/v2 v$TEMPORAL_UI_SERVER_VERSION (TEMPORAL_UI_SERVER_VERSION in $VERSION_FILE)"

# The cache key: the pin, the platform, and a digest of everything that
# decides the binaries (the module graph, the recipe). The Go version is in
# it too: a different toolchain makes different binaries.
go_have=""
if command -v go >/dev/null 2>&1; then
  go_have="$(go env GOVERSION 2>/dev/null || true)"
  go_have="${go_have#go}"
  go_have="${go_have%%[!0-9.]*}" # strip suffixes like "rc1" / " X:..."
fi
platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
digest="$(cat "$WRAPPER_DIR/go.mod" "$WRAPPER_DIR/go.sum" "$WRAPPER_DIR/tools.go" <(printf 'recipe=%s go=%s\n' "$RECIPE" "$go_have") | sha256sum | cut -c1-12)"
KEY="cli-${TEMPORAL_CLI_VERSION}_server-${TEMPORAL_SERVER_VERSION}_ui-${TEMPORAL_UI_SERVER_VERSION}_${platform}_${digest}"

have_all() { # dir: every binary present and executable
  local b
  for b in "${BINARIES[@]}"; do [[ -f "$1/$b" && -x "$1/$b" ]] || return 1; done
}

# 2. .tools/bin filled for this key.
if [[ -r "$KEY_FILE" && "$(cat "$KEY_FILE")" == "$KEY" ]] && have_all "$TOOLS_BIN"; then
  done_path
fi

# 3. A `temporal` on PATH, only if it is exactly the pinned version (CLI only).
if [[ "$MODE" == cli ]] && path_bin="$(command -v temporal 2>/dev/null)" && [[ -n "$path_bin" ]]; then
  if reports_pinned_version "$path_bin"; then
    emit "$path_bin"
  fi
  log "ignoring $path_bin on PATH: not version $TEMPORAL_CLI_VERSION"
fi

if [[ -n "${HOOKSHOT_TEMPORAL_CACHE:-}" ]]; then
  CACHE_ROOT="$HOOKSHOT_TEMPORAL_CACHE"
elif [[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]]; then
  CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/hookshot/temporal"
else
  CACHE_ROOT="$TOOLS_DIR/cache"
fi
mkdir -p "$TOOLS_BIN"
if ! mkdir -p "$CACHE_ROOT" 2>/dev/null || [[ ! -w "$CACHE_ROOT" ]]; then
  # Still works, without the sharing between clones.
  log "warning: cannot write the build cache $CACHE_ROOT; using $TOOLS_DIR/cache instead"
  CACHE_ROOT="$TOOLS_DIR/cache"
  mkdir -p "$CACHE_ROOT"
fi
ENTRY="$CACHE_ROOT/$KEY"

build() { # into the cache entry; the caller holds the cache lock
  local need_msg="install Go >= $TEMPORAL_GO_MIN (https://go.dev/dl/) so this script can build Temporal $TEMPORAL_CLI_VERSION"
  [[ "$MODE" == cli ]] && need_msg+=", or set TEMPORAL_CLI=/path/to/temporal"
  [[ -n "$go_have" ]] || die "no Temporal binaries for $KEY in $CACHE_ROOT and 'go' is not on PATH: $need_msg"
  if [[ "$(printf '%s\n%s\n' "$TEMPORAL_GO_MIN" "$go_have" | sort -V | head -n1)" != "$TEMPORAL_GO_MIN" ]]; then
    die "Go $go_have is too old: $need_msg"
  fi
  local v="$TEMPORAL_CLI_VERSION" t0=$SECONDS tb b pkg
  tmp="$ENTRY.tmp.$$" # global: the EXIT trap runs outside this function
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  trap 'rm -rf "$tmp"' EXIT
  log "building Temporal CLI $v, server $TEMPORAL_SERVER_VERSION, SQL tool, UI server $TEMPORAL_UI_SERVER_VERSION with Go $go_have into $ENTRY (a first build downloads modules and compiles for minutes)"
  for b in "${BINARIES[@]}"; do
    case "$b" in
      temporal) pkg=github.com/temporalio/cli/cmd/temporal ;;
      temporal-server) pkg=go.temporal.io/server/cmd/server ;;
      temporal-sql-tool) pkg=go.temporal.io/server/cmd/tools/sql ;;
      temporal-ui-server) pkg=github.com/temporalio/ui-server/v2/cmd/server ;;
    esac
    log "  go build $pkg -> $b"
    tb=$SECONDS
    # -mod=readonly: the committed go.sum is the graph; never re-resolve here.
    # The CLI's Version var is stamped as upstream release builds do; -X of
    # a symbol a package lacks is a no-op, so one flag set fits all four.
    (
      cd "$WRAPPER_DIR"
      GOWORK=off go build -mod=readonly -trimpath -o "$tmp/bin/$b" \
        -ldflags "-s -w -X github.com/temporalio/cli/internal/temporalcli.Version=$v" \
        "$pkg"
    ) >&2 || die "go build of $pkg failed (see output above)"
    log "    $b: $((SECONDS - tb)) s"
  done
  reports_pinned_version "$tmp/bin/temporal" ||
    die "built temporal but its --version does not report $v: $("$tmp/bin/temporal" --version 2>&1 | head -n1 || true)"
  "$tmp/bin/temporal-server" --version 2>/dev/null | grep -q "version $TEMPORAL_SERVER_VERSION" ||
    die "built temporal-server but its --version does not report $TEMPORAL_SERVER_VERSION"
  "$tmp/bin/temporal-ui-server" --version 2>/dev/null | grep -q "version $TEMPORAL_UI_SERVER_VERSION" ||
    die "built temporal-ui-server but its --version does not report $TEMPORAL_UI_SERVER_VERSION"
  {
    printf 'key=%s\ncli=%s\nserver=%s\nui_server=%s\ngo=%s\nbuilt=%s\nbuild_seconds=%s\n' \
      "$KEY" "$v" "$TEMPORAL_SERVER_VERSION" "$TEMPORAL_UI_SERVER_VERSION" "$go_have" "$(date -u +%FT%TZ)" "$((SECONDS - t0))"
  } >"$tmp/manifest"
  rm -rf "$ENTRY"
  mv "$tmp" "$ENTRY" # the entry appears whole or not at all
  trap - EXIT
  log "built $ENTRY in $((SECONDS - t0)) s"
}

fill() { # .tools/bin from the cache entry; the caller holds the tools lock
  local b
  for b in "${BINARIES[@]}"; do
    # Hard link when the cache is on the same file system (no copy of ~600 MB);
    # replaced by rename so a running binary is never overwritten in place.
    ln -f "$ENTRY/bin/$b" "$TOOLS_BIN/.$b.new" 2>/dev/null || cp -f "$ENTRY/bin/$b" "$TOOLS_BIN/.$b.new"
    mv -f "$TOOLS_BIN/.$b.new" "$TOOLS_BIN/$b"
  done
  printf '%s\n' "$KEY" >"$KEY_FILE"
  log "filled $TOOLS_BIN from $ENTRY"
}

locked() { # fd file cmd...: run cmd under an exclusive flock when flock exists
  local fd="$1" file="$2"
  shift 2
  if command -v flock >/dev/null 2>&1; then
    eval "exec $fd>\"\$file\""
    flock "$fd"
    "$@"
    flock -u "$fd"
  else
    "$@"
  fi
}

ensure_entry() {
  # Re-check under the lock: another process may have built it meanwhile.
  if have_all "$ENTRY/bin"; then
    return 0
  fi
  build
}

ensure_tools() {
  if [[ -r "$KEY_FILE" && "$(cat "$KEY_FILE")" == "$KEY" ]] && have_all "$TOOLS_BIN"; then
    log "another process filled $TOOLS_BIN meanwhile"
    return 0
  fi
  if have_all "$ENTRY/bin"; then
    log "using cached build $ENTRY"
  else
    locked 8 "$CACHE_ROOT/.$KEY.lock" ensure_entry
  fi
  fill
}

# Lock order: tools, then cache (only ever in that order, so no deadlock).
locked 9 "$TOOLS_BIN/.temporal-build.lock" ensure_tools

have_all "$TOOLS_BIN" || die "$TOOLS_BIN is missing binaries after filling it from $ENTRY"
done_path
