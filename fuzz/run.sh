#!/bin/bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time on its seed corpus. Usage: fuzz/run.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
out=build-fuzz
mkdir -p "$out"
flags="-g -O1 -std=c17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude -Ilib -Icontroller"
core=$(ls controller/*.c lib/*.c | grep -v weftd.c)
libs="$(pkg-config --libs jansson sqlite3 uuid libevent)"

# shellcheck disable=SC2086
clang $flags -o "$out/fuzz-api" fuzz/fuzz-api.c $core $libs
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz-netaddr" fuzz/fuzz-netaddr.c lib/netaddr.c
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz-sbproto" fuzz/fuzz-sbproto.c lib/sbproto.c lib/netaddr.c $libs
# shellcheck disable=SC2086
clang $flags -Iagent -o "$out/fuzz-dhcp" fuzz/fuzz-dhcp.c agent/dhcp-proto.c

for t in api netaddr sbproto dhcp; do
	work=$(mktemp -d)
	cp fuzz/corpus/$t/* "$work/"
	echo "fuzz: $t for ${secs}s"
	rc=0
	"$out/fuzz-$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$out/" "$work" >"$out/$t.log" 2>&1 || rc=$?
	grep -E '^(stat::number_of_executed_units|stat::new_units_added|SUMMARY)' "$out/$t.log" || true
	rm -rf "$work"
	if [ "$rc" -ne 0 ]; then
		tail -40 "$out/$t.log" >&2
		echo "fuzz: $t FAILED (exit $rc); the crashing input is $out/crash-*" >&2
		exit 1
	fi
done
echo "fuzz: all targets ran clean"
