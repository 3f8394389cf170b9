#!/usr/bin/env bash
# Load test of the basket-link redirect (docs/PERFORMANCE.md, "Basket-link redirects").
#
# Builds the real binary (cmd/keranjang) and bench/redirectserver, and runs wrk against the bare 302
# handler (redirectserver -bare) and the tracked redirect, alternating bare/tracked for ROUNDS rounds,
# each on a fresh process with a fresh store. Prints throughput, p99 and the tracked/bare ratio per
# round, and checks after each graceful shutdown that no click was lost.
#
# TRACKED=binary (the default) runs `keranjang demo --serve`: the whole binary (bot against the built-in
# fake Bot API, HTTP server, scheduler, store) serving a basket link of the demo; after SIGTERM it prints
# the clicks written, which must be the 302s wrk saw (plus at most one in-flight request per connection).
# TRACKED=server runs bench/redirectserver (the track server and store alone), which counts the 302s it
# answered itself; TRACKED_FLAGS are extra flags for it, for example -discard-clicks to measure the
# handler without the store's click writes.
#
# Environment: PORT (18089), DURATION (10s), THREADS (2), CONNECTIONS (64), ROUNDS (3), TRACKED (binary).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18089}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
TRACKED=${TRACKED:-binary}
UA="Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"

if ! command -v wrk >/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/redirectserver" ./bench/redirectserver
go build -o "$work/keranjang" ./cmd/keranjang

# to_ms converts a wrk latency such as 812.00us, 1.23ms or 1.01s to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else { printf "%s", v } }'
}

# run MODE: starts the server in MODE (bare or tracked), runs wrk, stops the server and checks counts.
# Sets RPS, P99, WRK_REQUESTS.
run() {
	local mode=$1 flags=() out="$work/$1.out" log="$work/$1.log"
	[[ $mode == bare ]] && flags=(-bare)
	[[ $mode == tracked ]] && flags=(${TRACKED_FLAGS:-})
	if [[ $mode == tracked && $TRACKED == binary ]]; then
		"$work/keranjang" demo --serve >"$out" 2>"$log" &
	else
		"$work/redirectserver" -addr "127.0.0.1:$PORT" ${flags[@]+"${flags[@]}"} >"$out" 2>"$log" &
	fi
	local pid=$!
	local code="" addr="127.0.0.1:$PORT"
	for _ in $(seq 300); do
		code=$(sed -n 's/^ready code=\([A-Za-z0-9]*\).*/\1/p' "$out")
		[[ -n $code ]] && break
		sleep 0.1
	done
	[[ -n $code ]] || { echo "server did not start"; cat "$log"; kill "$pid"; exit 1; }
	if grep -q '^ready .* addr=' "$out"; then
		addr=$(sed -n 's/^ready .* addr=//p' "$out")
	fi
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "User-Agent: $UA" \
		"http://$addr/r/$code" >"$work/wrk.$mode" 2>&1
	kill -TERM "$pid"
	wait "$pid"
	RPS=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.$mode")
	P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.$mode")")
	WRK_REQUESTS=$(awk '/requests in/ {print $1}' "$work/wrk.$mode")
	local errors
	errors=$(awk '/Non-2xx or 3xx|Socket errors/' "$work/wrk.$mode")
	local final redirects recorded dropped
	final=$(grep '^final ' "$out")
	if [[ $final == *redirects=* ]]; then
		redirects=$(sed -E 's/.*redirects=([0-9]+).*/\1/' <<<"$final")
	else
		# The binary does not count its 302s apart: every 302 queues exactly one click, so the clicks
		# written are the 302s answered, and wrk's count must match them up to the requests in flight.
		redirects=$(sed -E 's/.*recorded=([0-9]+).*/\1/' <<<"$final")
	fi
	recorded=$(sed -E 's/.*recorded=([0-9]+).*/\1/' <<<"$final")
	dropped=$(sed -E 's/.*dropped=([0-9]+).*/\1/' <<<"$final")
	printf '  %-8s %10s req/s  p99 %7s ms  wrk=%s  %s\n' "$mode" "$RPS" "$P99" "$WRK_REQUESTS" "$final"
	[[ -z $errors ]] || echo "  wrk: $errors"
	if [[ $recorded != "$redirects" || $dropped != 0 ]]; then
		echo "FAIL: $mode recorded $recorded of $redirects redirects ($dropped dropped)"
		exit 1
	fi
	if ((WRK_REQUESTS > redirects || redirects - WRK_REQUESTS > CONNECTIONS)); then
		echo "FAIL: $mode answered $redirects redirects but wrk counted $WRK_REQUESTS"
		exit 1
	fi
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds, $(nproc) CPUs, $(go version | cut -d' ' -f3)"
fail=0
for round in $(seq "$ROUNDS"); do
	echo "round $round"
	run bare
	bare_rps=$RPS
	run tracked
	ratio=$(awk -v t="$RPS" -v b="$bare_rps" 'BEGIN { printf "%.1f", 100 * t / b }')
	ok=$(awk -v r="$ratio" -v p="$P99" 'BEGIN { print (r >= 70 && p < 10) ? "ok" : "MISS" }')
	echo "  tracked/bare throughput ${ratio}%  tracked p99 ${P99} ms  [$ok: target >= 70% and p99 < 10 ms]"
	[[ $ok == ok ]] || fail=1
done
exit $fail
