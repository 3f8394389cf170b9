#!/usr/bin/env bash
# Load test of the conversions API (docs/PERFORMANCE.md, "Signed postbacks").
#
# Builds the real binary (cmd/keranjang) and bench/postbackload, and for ROUNDS rounds runs
# `keranjang demo --serve` (the whole program on the built-in fake Bot API, with a fresh temporary store)
# twice: with group commit (concurrent order writes share one bbolt transaction and one fsync, DB.Batch)
# and with --no-group-commit (every postback pays its own fsync). Each time postbackload sends signed
# postbacks — each a new pending order on the demo's basket link, durable before its 200 — from
# CONCURRENCY senders for DURATION, and prints postbacks/s and latency percentiles. Every answer must be
# 200 with "changed": true.
#
# Environment: DURATION (10s), CONCURRENCY (32), ROUNDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
ROUNDS=${ROUNDS:-2}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/keranjang" ./cmd/keranjang
go build -o "$work/postbackload" ./bench/postbackload

# run MODE: starts the binary in MODE (group or solo), sends the load, stops the binary. Sets RATE, P99.
run() {
	local mode=$1 flags=(--serve) out="$work/$1.out" log="$work/$1.log"
	[[ $mode == solo ]] && flags+=(--no-group-commit)
	"$work/keranjang" demo "${flags[@]}" >"$out" 2>"$log" &
	local pid=$! ready=""
	for _ in $(seq 300); do
		ready=$(grep '^ready ' "$out" || true)
		[[ -n $ready ]] && break
		sleep 0.1
	done
	[[ -n $ready ]] || { echo "server did not start"; cat "$log"; kill "$pid"; exit 1; }
	local code seller key addr
	code=$(sed -E 's/.* code=([^ ]*).*/\1/' <<<"$ready")
	seller=$(sed -E 's/.* seller=([^ ]*).*/\1/' <<<"$ready")
	key=$(sed -E 's/.* key=([^ ]*).*/\1/' <<<"$ready")
	addr=$(sed -E 's/.* addr=([^ ]*).*/\1/' <<<"$ready")
	local res status=0
	res=$("$work/postbackload" -addr "$addr" -seller "$seller" -key "$key" -code "$code" \
		-c "$CONCURRENCY" -d "$DURATION") || status=$?
	kill -TERM "$pid"
	wait "$pid"
	printf '  %-6s %s\n' "$mode" "$res"
	((status == 0)) || { echo "FAIL: $mode"; exit 1; }
	RATE=$(sed -E 's/.* rate=([0-9]+).*/\1/' <<<"$res")
	P99=$(sed -E 's/.* p99=([0-9.]+)ms.*/\1/' <<<"$res")
}

echo "postbackload -c $CONCURRENCY -d $DURATION, $ROUNDS rounds, $(nproc) CPUs, $(go version | cut -d' ' -f3)"
fail=0
for round in $(seq "$ROUNDS"); do
	echo "round $round"
	run group
	group=$RATE
	run solo
	ratio=$(awk -v g="$group" -v s="$RATE" 'BEGIN { printf "%.1f", g / s }')
	ok=$(awk -v g="$group" 'BEGIN { print (g >= 2000) ? "ok" : "MISS" }')
	echo "  group commit ${group}/s, one fsync each ${RATE}/s (x${ratio})  [$ok: target >= 2000/s with group commit]"
	[[ $ok == ok ]] || fail=1
done
exit $fail
