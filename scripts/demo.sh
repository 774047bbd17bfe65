#!/usr/bin/env bash
# The main job, end to end on one machine (as root, Debian bookworm):
#   build recipes/debian-minimal.ts → sign with a local key (made on first run) → push over TLS
#   with basic auth to a local registry (Debian's docker-registry) → verify by pulling it back →
#   show podman, configured to accept only our key, pulling and running it → rebuild and publish
#   a second version → history → roll the channel tag back to the first version.
# State (key, registry storage, CA, signatures, policy) lives in .imgfactory/demo; the registry
# is left running so the consumer command printed at the end works (a re-run restarts it).
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
# The previous run's registry (left running for its consumers) gives way to this one.
if [ -f "$state/registry.pid" ] && kill -0 "$(cat "$state/registry.pid")" 2>/dev/null; then
  kill "$(cat "$state/registry.pid")"; while kill -0 "$(cat "$state/registry.pid")" 2>/dev/null; do sleep 0.2; done
fi
rm -f "$state/registry.json"
# Started with node directly (not the shell function) so $! is the server itself; its CA is
# kept in $state/tls so consumers keep trusting it after the demo and across runs.
setsid node "$PWD/bin/imgfactory.js" registry serve --tls --tls-dir "$state/tls" --port 5000 --user demo \
  --password-file "$state/password" --storage-dir "$state/registry" --lookaside-dir "$state/lookaside" \
  --json > "$state/registry.json" 2> "$state/registry.log" < /dev/null &
registry_pid=$!
echo "$registry_pid" > "$state/registry.pid"
# Stopped only if the demo fails; on success it keeps serving the consumer command below.
trap 'kill $registry_pid 2>/dev/null; wait $registry_pid 2>/dev/null || true; rm -f "$state/registry.pid"' EXIT
for _ in $(seq 1 100); do [ -s "$state/registry.json" ] && break; sleep 0.2; done
field() { node -e "process.stdout.write(String(require('$state/registry.json')['$1']))"; }
ca=$(field caFile); cert_dir=$(field certDir)

echo "== build, sign, push"
export IMGFACTORY_REGISTRY_USER=demo
IMGFACTORY_REGISTRY_PASSWORD=$(cat "$state/password"); export IMGFACTORY_REGISTRY_PASSWORD
imgfactory build recipes/debian-minimal.ts --key "$state/keys/demo.secret.asc" --push \
  --ca-file "$ca" --lookaside-dir "$state/lookaside" --json > "$state/build.json"
json_field() { node -e "const j=require('$1'); process.stdout.write(String($2))"; }
digest=$(json_field "$state/build.json" 'j.digest')
version1=$(json_field "$state/build.json" 'j.pushed.at(-1).targets[0].split(":").pop()')
repo=localhost:5000/base/debian-minimal
ref=$repo:12
echo "published $repo:$version1 (write-once) and the channels bookworm, 12 -> $digest"

echo "== verify: pull it back (refused unless signature and provenance check out)"
rm -rf "$state/pulled"
imgfactory pull "$ref" --key "$state/keys/demo.pub.asc" --ca-file "$ca" --out "$state/pulled"

echo "== consumer policy: reject everything but images signed by our key"
consumer="$state/consumer-home"
rm -rf "$consumer" && mkdir -p "$consumer/.config/containers"
# Signatures are read straight from the lookaside directory (file://): no server has to stay up.
imgfactory policy --key "$state/keys/demo.pub.asc" --registry localhost:5000 --lookaside "$state/lookaside" \
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

echo "== a second build (SOURCE_DATE_EPOCH a day earlier, so another digest) published as a new version"
sde=$(json_field "$state/build.json" 'j.sourceDateEpoch')
imgfactory build recipes/debian-minimal.ts --out "$state/out-v2" --source-date-epoch $((sde - 86400)) \
  --key "$state/keys/demo.secret.asc" --push --ca-file "$ca" --lookaside-dir "$state/lookaside" --json > "$state/build-v2.json"
digest2=$(json_field "$state/build-v2.json" 'j.digest')
version2=$(json_field "$state/build-v2.json" 'j.pushed.at(-1).targets[0].split(":").pop()')
echo "published $repo:$version2 -> $digest2; the channels moved to it"

echo "== history (from the registry alone; each version's signature checked first)"
imgfactory history "$repo" --key "$state/keys/demo.pub.asc" --ca-file "$ca"

echo "== rollback: channel 12 back to $version1 (no signing key needed: 12 was signed at publish time)"
imgfactory rollback "$ref" --to "$version1" --key "$state/keys/demo.pub.asc" --ca-file "$ca"
imgfactory history "$repo" --key "$state/keys/demo.pub.asc" --ca-file "$ca"
podman_ pull -q --cert-dir "$cert_dir" --creds "demo:$IMGFACTORY_REGISTRY_PASSWORD" "$ref" >/dev/null
echo "podman now gets $(podman_ image inspect --format '{{.Digest}}' "$ref") for $ref"

trap - EXIT
cat <<DONE

image    $ref  (channel; versions: $version1, $version2)
digest   $digest
registry left running (pid $registry_pid): stop it with  kill \$(cat $state/registry.pid)
consumers run (policy.json + registries.d in $consumer/.config/containers):
  HOME=$consumer CONTAINERS_CONF=$state/containers.conf podman pull --cert-dir $cert_dir --creds demo:\$(cat $state/password) $ref
DONE
