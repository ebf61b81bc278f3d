#!/bin/sh
# Install the Debian packages that building, testing, the demo or the
# benchmark need.  Usage: tests/deps.sh [build|demo|check|bench]...
# As root, missing packages are installed with apt-get; otherwise the
# exact command to run is printed and the script exits 1.
set -eu

build="gcc make pkg-config libgnutls28-dev"
demo="$build gnutls-bin curl python3"
check="$demo bats netcat-openbsd socat mandoc clang libclang-rt-14-dev
	python3-websockets python3-flask python3-cryptography php-cli nodejs
	node-express node-cookie-parser node-cookie golang-go python3-django
	python3-starlette python3-uvicorn python3-werkzeug
	systemd softhsm2 p11-kit gnutls-bin openbsd-inetd stunnel4
	libcurl4-gnutls-dev openssl procps psmisc jq iproute2 nginx haproxy"
bench="$check wrk hyperfine testssl.sh"

want=
[ $# -gt 0 ] || set -- check
for profile in "$@"; do
	case $profile in
	build) want="$want $build" ;;
	demo) want="$want $demo" ;;
	check) want="$want $check" ;;
	bench) want="$want $bench" ;;
	*) echo "usage: $0 [build|demo|check|bench]..." >&2; exit 64 ;;
	esac
done

missing=
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: as root, run: apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# Installing inetd or nginx must not start services on this machine.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.deps
chmod +x /usr/sbin/policy-rc.d.deps
[ -e /usr/sbin/policy-rc.d ] || ln -s policy-rc.d.deps /usr/sbin/policy-rc.d
status=0
apt-get install -y -qq --no-install-recommends $missing >&2 || status=$?
[ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" = policy-rc.d.deps ] &&
    rm -f /usr/sbin/policy-rc.d
rm -f /usr/sbin/policy-rc.d.deps
exit $status
