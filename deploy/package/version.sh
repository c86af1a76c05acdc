#!/bin/sh
# Prints the package version for `git describe --tags --always --dirty`
# output, in a form that dpkg and rpm both order right (~ sorts before the
# bare version, + after it):
#
#   v1.2.3              1.2.3
#   v1.2.3-rc.1         1.2.3~rc.1
#   v1.2.3-4-gabc1234   1.2.3+git4.abc1234           4 commits after the tag
#   abc1234             0.0.0~git20261203.abc1234    no tag yet: HEAD's commit
#                                                    date (UTC), then its hash
#   …-dirty             …+dirty (.dirty after a +)   uncommitted changes
#
# Usage: version.sh DESCRIBE [YYYYMMDD]; the date defaults to HEAD's.
set -eu

describe=${1:?usage: version.sh DESCRIBE [YYYYMMDD]}
fail() {
	echo "version.sh: cannot make a package version of '$describe': $*" >&2
	exit 1
}

base=${describe%-dirty}
if printf '%s\n' "$base" | grep -Eqx '[0-9a-f]{7,40}'; then
	date=${2:-$(TZ=UTC git log -1 --date=format-local:%Y%m%d --format=%cd)}
	printf '%s\n' "$date" | grep -Eqx '[0-9]{8}' || fail "the commit date '$date' is not YYYYMMDD"
	version=0.0.0~git$date.$base
else
	# v1.2.3[-pre][-N-gHASH]: the tag, then how far HEAD is past it.
	tag=$(printf '%s\n' "$base" | sed -E 's/-[0-9]+-g[0-9a-f]+$//')
	printf '%s\n' "$tag" | grep -Eqx 'v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?' ||
		fail "want a vMAJOR.MINOR.PATCH[-PRERELEASE] tag or a bare commit hash (is this a git checkout?)"
	version=$(printf '%s\n' "${tag#v}" | sed 's/-/~/')
	if [ "$tag" != "$base" ]; then
		version=$version$(printf '%s\n' "$base" | sed -E 's/.*-([0-9]+)-g([0-9a-f]+)$/+git\1.\2/')
	fi
fi

if [ "$base" != "$describe" ]; then
	case $version in
	*+*) version=$version.dirty ;;
	*) version=$version+dirty ;;
	esac
fi
printf '%s\n' "$version"
