#!/usr/bin/env bash
# Installs icpmon on an ops host: the binary built by `make build`, the systemd
# unit, the example configuration (never over one already there) and the alert
# rules. Run as root, then: systemctl daemon-reload && systemctl enable --now icpmon
#
#   DESTDIR  stage everything under this directory (packaging, tests)
#   PREFIX   where the binary and shared data go (default /usr/local)
#   BIN      the binary to install (default bin/icpmon of this checkout)
# The configuration lives in /etc/icpmon and the unit in /etc/systemd/system
# whatever the PREFIX: that is where systemd and the unit look for them.
set -euo pipefail
umask 022

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}
bin=${BIN:-$src/bin/icpmon}

die() { echo "install.sh: $*" >&2; exit 1; }

# Check everything before writing anything, so a failure leaves no half install.
[ -f "$bin" ] && [ -x "$bin" ] || die "$bin is not an executable: run 'make build' first"
[ -f "$src/deploy/icpmon.yml" ] || die "$src/deploy/icpmon.yml is missing"
case $prefix in
*'|'* | *'&'* | *'\'*) die "PREFIX must not contain |, & or \\, got '$prefix'" ;;
/*) ;;
*) die "PREFIX must be an absolute path, got '$prefix'" ;;
esac
shopt -s nullglob
rules=("$src"/alerts/*.rules.yml)
[ ${#rules[@]} -gt 0 ] || die "no alert rules in $src/alerts"

bindir=$prefix/bin
rulesdir=$prefix/share/icpmon/rules
confdir=/etc/icpmon
unitdir=/etc/systemd/system

install -D -m 0755 "$bin" "$destdir$bindir/icpmon"
echo "installed $destdir$bindir/icpmon"

# The unit names the binary by its installed path.
install -d -m 0755 "$destdir$unitdir"
sed "s|/usr/local/bin/icpmon|$bindir/icpmon|g" "$src/deploy/icpmon.service" >"$destdir$unitdir/icpmon.service"
chmod 0644 "$destdir$unitdir/icpmon.service"
echo "installed $destdir$unitdir/icpmon.service"

# The service runs as a dynamic user: the config must be world-readable, so
# keep secrets out of it (see LoadCredential= in the unit).
install -d -m 0755 "$destdir$confdir"
if [ -e "$destdir$confdir/icpmon.yml" ]; then
	echo "kept $destdir$confdir/icpmon.yml (example not copied over it)"
else
	install -m 0644 "$src/deploy/icpmon.yml" "$destdir$confdir/icpmon.yml"
	echo "installed $destdir$confdir/icpmon.yml"
fi

install -d -m 0755 "$destdir$rulesdir"
for rule in "${rules[@]}"; do
	install -m 0644 "$rule" "$destdir$rulesdir/"
	echo "installed $destdir$rulesdir/$(basename "$rule") (point Prometheus' rule_files at it)"
done
