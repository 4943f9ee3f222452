#!/bin/sh
# One-shot job (service "temporal-init", image temporalio/admin-tools):
# waits for the Temporal frontend, creates the namespace Hookshot uses and
# registers Hookshot's custom search attributes. Safe to re-run: "already
# exists" answers are accepted.
#
# The admin-tools image is Alpine: plain POSIX sh.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=72h}"
: "${SEARCH_ATTRIBUTES:=WebhookName ProjectName JobStatus JobKind}"
# After creating something new, wait this long so every server cache (the
# namespace registry, ~10s; the search-attribute cache, ~60s) has picked it up
# before Hookshot (which depends on this job) starts using it.
: "${CACHE_SETTLE_SECONDS:=65}"
created=0

# Prefer the frontend's IPv4 address: the server binds 0.0.0.0 (IPv4 only),
# so an AAAA answer on an IPv6-enabled network would not reach it. Falls back
# to the name as given if the lookup finds nothing.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '$1 !~ /:/ { print $1; exit }' || true)
ADDRESS="${ip:-$host}:${port}"

export TEMPORAL_ADDRESS="$ADDRESS" # the CLI reads it; --address is passed too
op() { temporal operator "$@" --address "$ADDRESS"; }
healthy() { op cluster health >/tmp/health.out 2>&1 && grep -qw SERVING /tmp/health.out; }

echo "temporal-init: waiting for the frontend at ${host}:${port} (${ADDRESS})"
i=0
until healthy; do
  i=$((i + 1))
  if [ "$i" -ge 90 ]; then
    echo "temporal-init: frontend not serving after ~3 minutes" >&2
    cat /tmp/health.out >&2 || true
    exit 1
  fi
  sleep 2
done
echo "temporal-init: frontend is serving"

# create_tolerant WHAT CMD...: runs CMD, accepts "already exists", retries
# other failures a few times (a freshly started frontend can still be
# refreshing its caches), then gives up with CMD's output.
create_tolerant() {
  what=$1
  shift
  n=0
  while :; do
    if out=$("$@" 2>&1); then
      echo "temporal-init: created ${what}"
      created=1
      return 0
    fi
    case "$out" in
      *[Aa]lready*)
        echo "temporal-init: ${what} already exists"
        return 0
        ;;
    esac
    n=$((n + 1))
    if [ "$n" -ge 10 ]; then
      echo "temporal-init: could not create ${what}:" >&2
      echo "$out" >&2
      return 1
    fi
    echo "temporal-init: creating ${what} failed, retrying: $(echo "$out" | tail -n 1)"
    sleep 3
  done
}

# --- namespace ---------------------------------------------------------------
if op namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "temporal-init: namespace '${NAMESPACE}' already exists"
else
  create_tolerant "namespace '${NAMESPACE}'" \
    op namespace create --namespace "$NAMESPACE" --retention "$NAMESPACE_RETENTION"
fi

# A new namespace takes a moment to reach every frontend cache.
i=0
until op search-attribute list --namespace "$NAMESPACE" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 30 ]; then
    echo "temporal-init: namespace '${NAMESPACE}' still not usable after 60s" >&2
    op search-attribute list --namespace "$NAMESPACE" || true
    exit 1
  fi
  sleep 2
done

# --- search attributes (all Keyword) -----------------------------------------
# Only create the missing ones: on SQL visibility the server answers "OK" to
# re-registering an existing attribute, which would look like a change.
existing=$(op search-attribute list --namespace "$NAMESPACE" 2>/dev/null | awk '{ print $1 }')
for name in $SEARCH_ATTRIBUTES; do
  if printf '%s\n' "$existing" | grep -qx "$name"; then
    echo "temporal-init: search attribute ${name} already registered"
    continue
  fi
  create_tolerant "search attribute ${name} (Keyword)" \
    op search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword
done

op search-attribute list --namespace "$NAMESPACE" || true

if [ "$created" -eq 1 ] && [ "$CACHE_SETTLE_SECONDS" -gt 0 ]; then
  echo "temporal-init: waiting ${CACHE_SETTLE_SECONDS}s for server caches to pick up the new namespace/search attributes"
  sleep "$CACHE_SETTLE_SECONDS"
fi
echo "temporal-init: done"
