#!/usr/bin/env bash
# bench-opencmq.sh — opencmq's own numbers over HTTP, with the two ceilings.
#
# Builds cmqd and loadgen, starts cmqd single-node on 127.0.0.1:<free port> with a fresh data
# directory and an --accounts file it writes, waits for /readyz, and runs (each REPEAT times,
# medians reported):
#   SendMessage at 1 and 32 producers; BatchSendMessage of 16 at 32 producers;
#   e2e 32 producers + 8 consumers (BatchReceiveMessage 16 / BatchDeleteMessage);
#   drain DRAIN_N messages with 8 consumers; the engine in-process at 32 producers (reference);
#   the fasthttp ceiling at 32; the fsync ceiling (1 and 64 records per fsync);
# then, if cmqd has --node-id/--raft-listen/--peers, the same against a 3-node cluster on
# 127.0.0.1, with the clients spread over the three nodes (followers forward to the leader),
# on the leader only (the single node's setup: one endpoint), or both (CLUSTER_CLIENTS).
# Stops everything and prints a markdown table with the machine description.
#
# Environment: REPEAT (3), WARMUP (2s), DURATION (10s), DRAIN_N (300000), DRAIN_REPEAT
# (REPEAT), OUT (results file, default /tmp/bench-opencmq-<time>.md), KEEP=1 keeps the
# work directory, CLUSTER=0 skips the cluster, CLUSTER_CLIENTS (spread, leader or both;
# default spread), PROFILE=1 also takes a CPU profile (see below),
# TMPDIR (where data directories go: that disk is what is measured).
#
# Everything listens on 127.0.0.1 only. Every run is bounded by its duration (drain by
# loadgen's --timeout).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-10s}
DRAIN_N=${DRAIN_N:-300000}
DRAIN_REPEAT=${DRAIN_REPEAT:-$REPEAT}
CLUSTER=${CLUSTER:-1}
CLUSTER_CLIENTS=${CLUSTER_CLIENTS:-spread}
PROFILE=${PROFILE:-0}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-/tmp/bench-opencmq-$STAMP.md}

init_work bench-opencmq

log "building into $BIN"
build_bins "$BIN"
LG=$BIN/loadgen
log "built from: $BUILT_FROM"
write_accounts "$WORK/accounts.json"
export CMQ_SECRET_ID=$BENCH_SECRET_ID CMQ_SECRET_KEY=$BENCH_SECRET_KEY

COMMON=(--warmup "$WARMUP" --duration "$DURATION" --repeat "$REPEAT" --size 1024)
DRAIN=(--workload drain --n "$DRAIN_N" --consumers 8 --repeat "$DRAIN_REPEAT" --timeout 5m --size 1024)

# http_workloads PREFIX LABELPREFIX ENDPOINTS: the HTTP workloads against ENDPOINTS.
http_workloads() {
	local p=$1 lp=$2 ep=$3
	local A=(--adapter opencmq-http --endpoint "$ep")
	run_lg "$p-send-p1" "$lp SendMessage P=1" "${A[@]}" --workload produce --producers 1 --batch 1 "${COMMON[@]}"
	run_lg "$p-send-p32" "$lp SendMessage P=32" "${A[@]}" --workload produce --producers 32 --batch 1 "${COMMON[@]}"
	run_lg "$p-batch16-p32" "$lp BatchSendMessage×16 P=32" "${A[@]}" --workload produce --producers 32 --batch 16 "${COMMON[@]}"
	run_lg "$p-e2e" "$lp e2e P=32 C=8 (SendMessage; BatchReceive 16 + BatchDelete)" "${A[@]}" --workload e2e --producers 32 --consumers 8 --batch 1 "${COMMON[@]}"
	run_lg "$p-drain" "$lp drain N=$DRAIN_N C=8 (BatchReceive 16 + BatchDelete)" "${A[@]}" "${DRAIN[@]}"
}

# 1. Single node.
PORT=$(free_port)
start_cmqd single "$PORT" "$WORK/data-single"
EP=http://127.0.0.1:$PORT
wait_http "$EP/readyz" 60 || { cat "$LOGS/single.cmqd.err" >&2; echo "cmqd did not become ready" >&2; exit 1; }
log "cmqd single node ready at $EP (pid $CMQD_PID)"
SINGLE_PID=$CMQD_PID
http_workloads single "cmqd 1 node," "$EP"

PROFILE_NOTE=""
if [ "$PROFILE" = 1 ]; then
	# cmqd's pprof endpoint, if it has one; otherwise profile the same server code in-process.
	if cmqd_has pprof; then
		PROFILE_NOTE="cmqd advertises a pprof flag; see its --help (not wired into this script)"
	else
		PROFILE_NOTE="cmqd has no pprof endpoint: profiled the same server path in-process (loadgen --adapter opencmq-inproc --cpuprofile)"
	fi
	RAFT=()
	if cmqd_has -raft-listen; then RAFT=(--raft); fi # cmqd runs on raft: profile that path
	"$LG" --adapter opencmq-inproc "${RAFT[@]}" --workload produce --producers 32 --batch 1 --warmup 2s --duration 20s \
		--cpuprofile "$WORK/inproc-send-p32.pprof" >"$LOGS/profile.out" 2>&1 || true
	grep '^run ' "$LOGS/profile.out" >&2 || true
	go tool pprof -top -nodecount=30 "$LG" "$WORK/inproc-send-p32.pprof" >"$LOGS/profile.top" 2>/dev/null || true
	go tool pprof -top -cum -nodecount=60 "$LG" "$WORK/inproc-send-p32.pprof" >"$LOGS/profile.cum" 2>/dev/null || true
	cp "$WORK/inproc-send-p32.pprof" "${OUT%.md}.inproc-send-p32.pprof" 2>/dev/null || true
	cp "$LG" "${OUT%.md}.loadgen" 2>/dev/null || true # the binary the profile needs
fi
stop_pids 40 "$SINGLE_PID"

# 2. References and ceilings (no cmqd running).
run_lg engine-send-p32 "engine in-process SendMessage P=32 (no HTTP)" --adapter opencmq-engine --workload produce --producers 32 --batch 1 "${COMMON[@]}"
run_lg fasthttp-p32 "fasthttp ceiling P=32 (bare server, fixed JSON, same client)" --adapter fasthttp-ceiling --workload produce --producers 32 --batch 1 "${COMMON[@]}"
run_lg fsync-1 "fsync ceiling, 1 × 1 KiB record per fsync" --adapter fsync-ceiling --workload produce --producers 1 --batch 1 "${COMMON[@]}"
run_lg fsync-64 "fsync ceiling, 64 × 1 KiB records per fsync" --adapter fsync-ceiling --workload produce --producers 1 --batch 64 "${COMMON[@]}"

# 3. Three-node cluster, if cmqd has the flags.
CLUSTER_NOTE=""
if [ "$CLUSTER" != 1 ]; then
	CLUSTER_NOTE="cluster skipped (CLUSTER=$CLUSTER)"
else
	rc=0
	start_cmqd_cluster cluster || rc=$?
	if [ $rc = 0 ]; then
		log "cluster ready: $CLUSTER_EPS"
		if [ "$CLUSTER_CLIENTS" != leader ]; then
			http_workloads cluster "cmqd 3 nodes, clients spread," "$CLUSTER_EPS"
		fi
		if [ "$CLUSTER_CLIENTS" != spread ]; then
			LEADER_EP=$(cluster_leader_endpoint "$CLUSTER_EPS")
			log "leader: $LEADER_EP"
			http_workloads cluster-leader "cmqd 3 nodes, clients on the leader," "$LEADER_EP"
		fi
	elif [ $rc = 2 ]; then
		CLUSTER_NOTE="cluster not measured: this cmqd has no --node-id/--raft-listen/--peers flags yet"
	else
		CLUSTER_NOTE="cluster did not become ready in 60 s (flags used: --node-id N --raft-listen 127.0.0.1:P --peers $CLUSTER_PEERS); last log lines: $(tail -2 "$LOGS/cluster-1.cmqd.err" | tr '\n|' ' /')"
		echo "| cmqd 3 nodes | not measured: cluster did not start | | | | | | |" >>"$TABLE"
	fi
	stop_cmqd_cluster
fi

{
	echo "## opencmq load test ($STAMP)"
	echo
	machine_desc
	echo "- built from: $BUILT_FROM"
	echo "- runs: REPEAT=$REPEAT WARMUP=$WARMUP DURATION=$DURATION DRAIN_N=$DRAIN_N (medians of the runs); 1 KiB bodies"
	echo
	table_header
	cat "$TABLE"
	echo
	[ -n "$CLUSTER_NOTE" ] && echo "- $CLUSTER_NOTE"
	if [ -n "$PROFILE_NOTE" ]; then
		echo "- $PROFILE_NOTE; profile: ${OUT%.md}.inproc-send-p32.pprof (binary ${OUT%.md}.loadgen)"
		echo
		echo '```'
		grep '^run ' "$LOGS/profile.out" 2>/dev/null
		head -40 "$LOGS/profile.top" 2>/dev/null
		echo
		sed -n '6,70p' "$LOGS/profile.cum" 2>/dev/null
		echo '```'
	fi
	echo "- latency of: send-ack = one Send call (one request, 1 or 16 messages); end-to-end = body timestamp to receipt, per message; receive+ack = one BatchReceive + BatchDelete cycle"
} | tee "$OUT"
log "results in $OUT"
