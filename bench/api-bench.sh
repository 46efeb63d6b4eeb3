#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Usage: bench/api-bench.sh BUILD_DIR [API-BENCH OPTIONS...]
#
# Starts BUILD_DIR/controller/weftd on a fresh store in a temporary directory
# and a free loopback port, runs BUILD_DIR/bench/api-bench against it, and
# prints weftd's memory (VmRSS, VmHWM from /proc/PID/status) and the store's
# size per port beside the aim (< 2 KiB of weftd memory per port). weftd is
# stopped and the directory removed on every exit, failed or not.
#
# Environment: WEFTD_SYNCHRONOUS (full, the default, or normal) is passed to
# weftd's --synchronous; WEFTD_ARGS adds other weftd options. Options after
# BUILD_DIR go to api-bench (see api-bench --help), e.g. --concurrency 4.
# See docs/bench.md for what the figures mean.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
	sed -n '3,15s/^# \{0,1\}//p' "$0"
	exit 2
fi
build=$1
shift
weftd=$build/controller/weftd
bench=$build/bench/api-bench
sync=${WEFTD_SYNCHRONOUS:-full}
aim_bytes_per_port=2048

for exe in "$weftd" "$bench"; do
	if [[ ! -x $exe ]]; then
		echo "api-bench.sh: $exe is missing; build first (ninja -C $build)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nobody listens on: bind to port 0 and let the kernel choose. Another
# program could take it before weftd does; then weftd fails to start and we
# try again with another one.
free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Whether weftd runs (kill -0 would also accept a zombie).
alive() {
	[[ -n $pid ]] && awk '$1 == "State:" && $2 == "Z" { exit 1 }' "/proc/$pid/status" 2>/dev/null
}

# Reads FIELD (VmRSS, VmHWM) of weftd in KiB.
status_kib() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"
}

file_size() {
	if [[ -e $1 ]]; then stat -c %s "$1"; else echo 0; fi
}

mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

start_weftd() {
	local try
	for try in 1 2 3; do
		port=$(free_port)
		url=http://127.0.0.1:$port
		# Never measure somebody else's server that holds the port.
		if curl -s -o /dev/null -m 2 "$url/"; then
			continue
		fi
		# shellcheck disable=SC2086 # WEFTD_ARGS is a list of words.
		"$weftd" --listen "127.0.0.1:$port" --db "$tmp/weft.db" \
			--log-level warn --synchronous "$sync" \
			${WEFTD_ARGS:-} >"$tmp/weftd.log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do
			if ! alive; then
				break
			fi
			if curl -sf -o /dev/null "$url/" && alive; then
				return 0
			fi
			sleep 0.1
		done
		if alive; then
			echo "api-bench.sh: weftd does not answer on $url" >&2
			cat "$tmp/weftd.log" >&2
			exit 1
		fi
		wait "$pid" || true
		pid=
		echo "api-bench.sh: weftd did not start (try $try):" >&2
		cat "$tmp/weftd.log" >&2
	done
	exit 1
}

start_weftd

buildtype=$(/usr/bin/python3 -c 'import json, sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype":
        print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || true)
echo "$("$weftd" --version 2>&1 | head -n1), pid $pid, $url"
echo "build: $build (${buildtype:-buildtype unknown}); --synchronous $sync; store on" \
	"$(df --output=fstype "$tmp" | tail -n1 | tr -d ' ') ($tmp)"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)," \
	"Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

rss_before=$(status_kib VmRSS)
hwm_before=$(status_kib VmHWM)

if ! "$bench" --url "$url" --weftd-pid "$pid" "$@" | tee "$tmp/bench.out"; then
	echo "api-bench.sh: api-bench failed" >&2
	if ! alive; then
		wait "$pid" && status=0 || status=$?
		pid=
		echo "api-bench.sh: weftd has exited with status $status" >&2
	fi
	echo "api-bench.sh: weftd's log:" >&2
	tail -n 50 "$tmp/weftd.log" >&2
	exit 1
fi

ports=$(sed -n 's/^verified: \([0-9]*\) ports exist.*/\1/p' "$tmp/bench.out")
rss_after=$(status_kib VmRSS)
hwm_after=$(status_kib VmHWM)
db_live=$(($(file_size "$tmp/weft.db") + $(file_size "$tmp/weft.db-wal")))
wal_live=$(file_size "$tmp/weft.db-wal")

# A clean stop checkpoints the WAL into the database file.
kill "$pid"
wait "$pid" && status=0 || status=$?
pid=
if [[ $status -ne 0 ]]; then
	echo "api-bench.sh: weftd exited with status $status on SIGTERM" >&2
fi
db_closed=$(($(file_size "$tmp/weft.db") + $(file_size "$tmp/weft.db-wal")))

echo
printf '%-40s %14s %16s %6s\n' "weftd memory and store, $ports ports" value aim ratio
printf -- '-%.0s' $(seq 79)
echo
row() { printf '%-40s %14s %16s %6s\n' "$@"; }
per_port() { awk -v a="$1" -v b="$2" -v n="$ports" 'BEGIN { printf "%.0f B/port", (b - a) / n }'; }
ratio() { awk -v a="$1" -v b="$2" -v n="$ports" -v aim="$aim_bytes_per_port" \
	'BEGIN { printf "%.2f", (b - a) / n / aim }'; }
row "VmRSS before api-bench" "$(mib "$rss_before")" "" ""
row "VmRSS after api-bench" "$(mib "$rss_after")" "" ""
row "VmHWM (peak RSS) after api-bench" "$(mib "$hwm_after")" "" ""
row "RSS growth per port (after - before)" "$(per_port "$((rss_before * 1024))" "$((rss_after * 1024))")" \
	"< $aim_bytes_per_port B/port" "$(ratio "$((rss_before * 1024))" "$((rss_after * 1024))")"
row "peak RSS growth per port (HWM - before)" "$(per_port "$((hwm_before * 1024))" "$((hwm_after * 1024))")" \
	"< $aim_bytes_per_port B/port" "$(ratio "$((hwm_before * 1024))" "$((hwm_after * 1024))")"
row "SQLite db + WAL, running (WAL $(mib "$((wal_live / 1024))"))" "$(per_port 0 "$db_live")" "" ""
row "SQLite db after a clean stop" "$(per_port 0 "$db_closed")" "" ""
printf -- '-%.0s' $(seq 79)
echo
echo "ratio = measured / aim (below 1 beats the aim). Per port: divided by all $ports ports."
