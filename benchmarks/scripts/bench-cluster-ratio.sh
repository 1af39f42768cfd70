#!/usr/bin/env bash
# bench-cluster-ratio.sh — a 3-node cluster's throughput as a fraction of one node's, measured
# in interleaved runs so that both see the same machine.
#
# Builds cmqd and loadgen, starts one single-node cmqd and one 3-node cluster on 127.0.0.1
# (fresh data directories), and for each repeat and workload runs, back to back: the single
# node, the cluster with the clients spread over its three nodes (followers forward to the
# leader), and the cluster with the clients on its leader. On a shared machine the load
# drifts within minutes; running the three side by side, REPEAT times, makes their ratios
# comparable where separate sweeps (bench-opencmq.sh) are not. Prints a markdown table: the
# median msgs/s of each setup over the repeats and the median of the per-repeat ratios.
#
# Workloads: SendMessage P=32, BatchSendMessage×16 P=32, e2e P=32 C=8, SendMessage P=1.
# Environment: REPEAT (3), WARMUP (2s), DURATION (8s), OUT (default
# /tmp/bench-cluster-ratio-<time>.md), KEEP=1 keeps the work directory, TMPDIR (where data
# directories go: that disk is what is measured).
#
# Everything listens on 127.0.0.1 only; every run is bounded by its duration.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-8s}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-/tmp/bench-cluster-ratio-$STAMP.md}

init_work bench-cluster-ratio

log "building into $BIN"
build_bins "$BIN"
LG=$BIN/loadgen
write_accounts "$WORK/accounts.json"
export CMQ_SECRET_ID=$BENCH_SECRET_ID CMQ_SECRET_KEY=$BENCH_SECRET_KEY

PORT=$(free_port)
start_cmqd single "$PORT" "$WORK/data-single"
SINGLE_EP=http://127.0.0.1:$PORT
wait_http "$SINGLE_EP/readyz" 60 || { echo "single node did not become ready" >&2; exit 1; }
start_cmqd_cluster cluster || { echo "cluster did not become ready" >&2; exit 1; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

WORKLOADS=(
	"SendMessage P=32|--workload produce --producers 32 --batch 1"
	"BatchSendMessage×16 P=32|--workload produce --producers 32 --batch 16"
	"e2e P=32 C=8|--workload e2e --producers 32 --consumers 8 --batch 1"
	"SendMessage P=1|--workload produce --producers 1 --batch 1"
)

# rate NAME LABEL ENDPOINTS ARGS...: one loadgen run; prints its msgs/s (0 if it failed).
rate() {
	local name=$1 label=$2 ep=$3
	shift 3
	run_lg "$name" "$label" --adapter opencmq-http --endpoint "$ep" "$@" \
		--warmup "$WARMUP" --duration "$DURATION" --repeat 1 --size 1024
	local v
	v=$(cut -d' ' -f1 "$LOGS/$name.val")
	echo "${v:-0}"
}

declare -A SINGLE SPREAD LEADER
for r in $(seq "$REPEAT"); do
	leader_ep=$(cluster_leader_endpoint "$CLUSTER_EPS")
	for k in "${!WORKLOADS[@]}"; do
		label=${WORKLOADS[k]%%|*}
		read -r -a args <<<"${WORKLOADS[k]#*|}"
		SINGLE[$k]+="$(rate "single-$k-$r" "1 node, $label" "$SINGLE_EP" "${args[@]}") "
		SPREAD[$k]+="$(rate "spread-$k-$r" "3 nodes spread, $label" "$CLUSTER_EPS" "${args[@]}") "
		LEADER[$k]+="$(rate "leader-$k-$r" "3 nodes leader, $label" "$leader_ep" "${args[@]}") "
	done
done

# summary SINGLES CLUSTERS: "median msgs/s | median of the per-repeat ratios (min–max)".
summary() {
	python3 - "$1" "$2" <<'EOF'
import statistics, sys
one = [float(x) for x in sys.argv[1].split()]
three = [float(x) for x in sys.argv[2].split()]
ratios = [t / o for o, t in zip(one, three) if o > 0]
print(f"{statistics.median(three):,.0f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})")
EOF
}

{
	echo "## 3 nodes ÷ 1 node, interleaved ($STAMP)"
	echo
	machine_desc
	echo "- built from: $BUILT_FROM"
	echo "- runs: REPEAT=$REPEAT WARMUP=$WARMUP DURATION=$DURATION, 1 KiB bodies; each repeat runs the three setups back to back"
	echo
	echo "| workload | 1 node msgs/s | 3 nodes, clients spread | ratio | 3 nodes, clients on the leader | ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	for k in "${!WORKLOADS[@]}"; do
		one=$(python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):,.0f}')" ${SINGLE[$k]})
		echo "| ${WORKLOADS[k]%%|*} | $one | $(summary "${SINGLE[$k]}" "${SPREAD[$k]}") | $(summary "${SINGLE[$k]}" "${LEADER[$k]}") |"
	done
} | tee "$OUT"
log "results in $OUT"
