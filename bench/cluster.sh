#!/usr/bin/env bash
# Load test of the PostgreSQL backend and of many instances (docs/PERFORMANCE.md, "PostgreSQL and many
# instances").
#
# Builds the real binary (cmd/keranjang) and bench/clusterload, which, for each configuration in one run
# — bbolt with one instance, then PostgreSQL with one, two and three instances, each on a fresh database
# (a copy of a seeded bbolt file; a new schema on the PostgreSQL server, dropped afterwards) — starts
# `keranjang serve` in webhook mode against an in-process fake Bot API and measures, spreading the load
# over the instances: redirects/s (wrk as fast as it goes, then at a steady rate), signed postbacks/s
# and Telegram updates/s end to end, each after the machine has been quiet for 3 s. After a graceful stop
# it checks that no click was lost (clicks stored = 302s answered − clicks dropped and counted by a full
# click buffer; none may be dropped at the steady rate) and that every acknowledged postback is an order.
# It prints one table with each rate's ratio to the first configuration, and the CPU time per request.
#
# Environment: BENCH_POSTGRES or KERANJANG_TEST_POSTGRES (the PostgreSQL server, required for the pg
# configurations), CONFIGS (bbolt:1,pg:1,pg:2,pg:3), DURATION (8s per measurement), THREADS (6) and
# CONNECTIONS (60) for wrk, VISITORS (many: every redirect a new visitor; one: the same visitor each
# time), STEADY (5000 redirects/s), CONCURRENCY (32 postback senders), INFLIGHT (64 unanswered updates),
# USERS (5000 affiliates sending updates), KEEP=1 to keep the working directory with the instances' logs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/keranjang" ./cmd/keranjang
go build -o "$work/clusterload" ./bench/clusterload

keep=()
if [[ ${KEEP:-} == 1 ]]; then
	keep=(-keep -work "$(mktemp -d)")
	echo "working directory: ${keep[2]}"
fi
echo "$(nproc) CPUs, $(go version | cut -d' ' -f3), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/clusterload" -bin "$work/keranjang" -configs "${CONFIGS:-bbolt:1,pg:1,pg:2,pg:3}" \
	-d "${DURATION:-8s}" -threads "${THREADS:-6}" -connections "${CONNECTIONS:-60}" \
	-visitors "${VISITORS:-many}" -steady "${STEADY:-5000}" \
	-c "${CONCURRENCY:-32}" -inflight "${INFLIGHT:-64}" -users "${USERS:-5000}" ${keep[@]+"${keep[@]}"}
