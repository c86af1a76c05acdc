#!/usr/bin/env bash
# Builds icpmon's .deb and .rpm: `make package`, which first builds the binary
# into STAGE. This generates what the packages hold beside it (the unit, the
# man page, the shell completions), then runs nfpm with nfpm.yaml once per
# format.
#
#   build.sh STAGE OUT
#   STAGE    directory holding the binary as STAGE/icpmon; generated files go beside it
#   OUT      where the packages go, in place of the ones built before
#   VERSION  `git describe --tags --always --dirty` of the checkout (version.sh maps it)
#   NFPM     the nfpm command module to `go run`, with its version
#   GO       the go command (default go)
set -euo pipefail
umask 022

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
die() { echo "build.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: build.sh STAGE OUT"
: "${VERSION:?build.sh: VERSION (git describe) is required}"
: "${NFPM:?build.sh: NFPM (the nfpm module to run) is required}"
go=${GO:-go}
mkdir -p "$1" "$2"
stage=$(cd "$1" && pwd)
out=$(cd "$2" && pwd)
bin=$stage/icpmon
[ -f "$bin" ] && [ -x "$bin" ] || die "$bin is not an executable: build it first (make package does)"
pkgversion=$(sh "$src/deploy/package/version.sh" "$VERSION")
arch=$("$go" env GOARCH)

# The packaged unit names the binary where the package puts it.
sed 's|/usr/local/bin/icpmon|/usr/bin/icpmon|g' "$src/deploy/icpmon.service" >"$stage/icpmon.service"
grep -q '^ExecStart=/usr/bin/icpmon ' "$stage/icpmon.service" ||
	die "deploy/icpmon.service no longer starts /usr/local/bin/icpmon: update the sed above"

"$bin" --help-man | gzip -9n >"$stage/icpmon.1.gz"
"$bin" --completion-script-bash >"$stage/icpmon.bash"
"$bin" --completion-script-zsh >"$stage/icpmon.zsh"

# One package of each kind in OUT, so that `dpkg -i OUT/icpmon_*.deb` installs this one.
rm -f "$out"/icpmon_*.deb "$out"/icpmon-*.rpm
cd "$src"
for packager in deb rpm; do
	ICPMON_PKG_STAGE=$stage ICPMON_PKG_VERSION=$pkgversion ICPMON_PKG_ARCH=$arch \
		"$go" run "$NFPM" package --config deploy/package/nfpm.yaml --packager "$packager" --target "$out/"
done
