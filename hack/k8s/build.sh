#!/usr/bin/env bash
# Builds the Kubernetes control plane used by the integration tests of
# internal/dispatch/eks: etcd 3.7.0, kube-apiserver, kube-controller-manager,
# kube-scheduler (all v1.37.2) and kwok v0.8.0, into $KOYOMI_K8S_BINS
# (default <repo>/.cache/k8s-v1.37.2). Needs only Go and the module proxy.
#
#   hack/k8s/build.sh          build what is missing; no-op when all exist
#   hack/k8s/build.sh regen    regenerate go.mod's replace block from the
#                              upstream k8s.io/kubernetes go.mod, then tidy
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
KWOK_VERSION=v0.8.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${KOYOMI_K8S_BINS:-$repo/.cache/k8s-${K8S_VERSION}}"
go="${GO:-go}"
export GOWORK=off
nice="${NICE-nice -n 10}" # NICE= (empty) builds at normal priority

regen() {
	local mod
	mod="$(cd "$here" && GOFLAGS=-mod=mod "$go" mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
	[ -f "$mod" ] || { echo "build.sh: cannot find go.mod of k8s.io/kubernetes@${K8S_VERSION}" >&2; exit 1; }
	{
		printf 'module github.com/koyomi-dev/koyomi/hack/k8s\n\ngo 1.26.0\n\n'
		printf 'require (\n\tgo.etcd.io/etcd/server/v3 v3.7.0\n\tk8s.io/kubernetes %s\n)\n\n' "$K8S_VERSION"
		printf 'replace (\n'
		# sample-cli-plugin and sample-controller are not published and not needed.
		awk -v v="$STAGING_VERSION" '/^replace \(/{f=1;next} f&&/^\)/{f=0} f && $3 ~ /^\.\/staging\// && $1 !~ /sample-(cli-plugin|controller)$/ {printf "\t%s => %s %s\n", $1, $1, v}' "$mod"
		printf ')\n'
	} >"$here/go.mod"
	(cd "$here" && GOFLAGS=-mod=mod "$go" mod tidy)
}

if [ "${1:-}" = regen ]; then
	regen
	exit 0
fi

bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
missing=()
for b in "${bins[@]}"; do
	[ -x "$out/$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "k8s binaries up to date in $out"
	exit 0
fi
echo "building ${missing[*]} into $out"
mkdir -p "$out"

ldflags="-s -w"
for kv in "gitVersion=${K8S_VERSION}" gitMajor=1 gitMinor=37 gitTreeState=clean; do
	ldflags+=" -X k8s.io/component-base/version.$kv"
done

pkgs=()
for b in "${missing[@]}"; do
	case "$b" in
	etcd) pkgs+=(./cmd/etcd) ;;
	kube-*) pkgs+=("k8s.io/kubernetes/cmd/$b") ;;
	esac
done
start=$SECONDS
if [ ${#pkgs[@]} -gt 0 ]; then
	# Build into a temporary directory first so that an interrupted build
	# never leaves a truncated binary that the skip check would accept.
	tmp="$(mktemp -d "$out/.build.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$here" && $nice "$go" build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}")
	for f in "$tmp"/*; do mv -f "$f" "$out/"; done
fi
if [[ " ${missing[*]} " == *" kwok "* ]]; then
	tmpbin="$(mktemp -d "$out/.kwok.XXXXXX")"
	(cd "$here" && GOBIN="$tmpbin" $nice "$go" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}")
	mv -f "$tmpbin/kwok" "$out/kwok"
	rm -rf "$tmpbin"
fi
echo "built ${missing[*]} in $((SECONDS - start))s"
"$out/kube-apiserver" --version
"$out/etcd" --version | sed -n 1p
