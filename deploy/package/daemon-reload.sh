#!/bin/sh
# postinst and postrm (rpm: %post, %postun): make systemd read the unit that
# was just installed, upgraded or removed. Nothing is enabled or started: the
# operator reviews /etc/icpmon/icpmon.yml first, then runs
# `systemctl enable --now icpmon`. Without a running systemd (a container, a
# chroot) there is nothing to tell. On purge dpkg deletes the configuration.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
