#!/usr/bin/env bash
# The main job, end to end on one machine (as root, Debian bookworm):
#   build recipes/debian-minimal.ts → sign with a local key (made on first run) → push over TLS
#   with basic auth to a local registry (Debian's docker-registry) → verify by pulling it back →
#   show podman, configured to accept only our key, pulling and running it.
# State (key, registry storage, policy) lives in .imgfactory/demo; run again to rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "demo: run as root (debootstrap, chroot and mounts need it)" >&2; exit 2; fi

state="$PWD/.imgfactory/demo"
imgfactory() { node "$PWD/bin/imgfactory.js" "$@"; }
mkdir -p "$state"

echo "== system packages and npm dependencies"
bash scripts/install-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/cli/main.js ] || npm run build

echo "== signing key"
if [ ! -f "$state/keys/demo.secret.asc" ]; then
  imgfactory keys generate --name demo --email demo@imgfactory.invalid --out "$state/keys" >/dev/null
fi
[ -f "$state/password" ] || (umask 077; openssl rand -hex 16 > "$state/password")

echo "== local registry (TLS, basic auth) and lookaside server"
# Started with node directly (not the shell function) so $! is the server itself.
node "$PWD/bin/imgfactory.js" registry serve --tls --port 5000 --user demo --password-file "$state/password" \
  --storage-dir "$state/registry" --lookaside-dir "$state/lookaside" --json > "$state/registry.json" &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; wait $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$state/registry.json" ] && break; sleep 0.2; done
field() { node -e "process.stdout.write(String(require('$state/registry.json')['$1']))"; }
ca=$(field caFile); cert_dir=$(field certDir); lookaside_url=$(field lookasideUrl)

echo "== build, sign, push"
export IMGFACTORY_REGISTRY_USER=demo
IMGFACTORY_REGISTRY_PASSWORD=$(cat "$state/password"); export IMGFACTORY_REGISTRY_PASSWORD
imgfactory build recipes/debian-minimal.ts --key "$state/keys/demo.secret.asc" --push \
  --ca-file "$ca" --lookaside-dir "$state/lookaside" --json > "$state/build.json"
digest=$(node -e "process.stdout.write(require('$state/build.json').digest)")
ref=localhost:5000/base/debian-minimal:12

echo "== verify: pull it back (refused unless signature and provenance check out)"
rm -rf "$state/pulled"
imgfactory pull "$ref" --key "$state/keys/demo.pub.asc" --ca-file "$ca" --out "$state/pulled"

echo "== consumer policy: reject everything but images signed by our key"
consumer="$state/consumer-home"
rm -rf "$consumer" && mkdir -p "$consumer/.config/containers"
imgfactory policy --key "$state/keys/demo.pub.asc" --registry localhost:5000 --lookaside "$lookaside_url" \
  --out "$consumer/.config/containers" >/dev/null
cat > "$state/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
CONF

echo "== podman pull + run with that policy"
podman_() { HOME="$consumer" CONTAINERS_CONF="$state/containers.conf" podman "$@"; }
podman_ pull -q --cert-dir "$cert_dir" --creds "demo:$IMGFACTORY_REGISTRY_PASSWORD" "$ref" >/dev/null
podman_ run --rm "$ref" sh -c 'echo "debian $(cat /etc/debian_version), running as $(id -un)"'

cat <<DONE

image    $ref
digest   $digest
consumers run (policy.json + registries.d in $consumer/.config/containers):
  HOME=$consumer podman pull --cert-dir $cert_dir --creds demo:\$(cat $state/password) $ref
DONE
