#!/bin/sh
# Before the files go (deb prerm, rpm %preun): on removal stop icpmon and drop
# the operator's enablement, which would otherwise point at a missing unit. An
# upgrade (deb: upgrade; rpm: 1 or more versions left) leaves it running.
set -e

case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now icpmon.service || true
	fi
	;;
esac
