# shellcheck shell=bash
# Helpers shared by bench-opencmq.sh and bench-compare.sh (sourced, not run).
#
# Every process a script starts is recorded in PIDS and stopped by its PID (SIGTERM, then
# SIGKILL after a grace period) when the script exits, however it exits.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PIDS=()
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

log() { echo "[$(date +%T)] $*" >&2; }

# free_port prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		echo $((20000 + RANDOM % 20000))
	fi
}

# wait_http URL SECONDS: wait until URL answers 200 (every URL of a cluster: call it per node,
# each with its own budget, or use wait_http_all).
wait_http() {
	local url=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_http_all SECONDS URL...: wait until every URL answers 200, SECONDS in all.
wait_http_all() {
	local deadline=$((SECONDS + $1)) u
	shift
	for u in "$@"; do
		wait_http "$u" $((deadline - SECONDS > 0 ? deadline - SECONDS : 1)) || return 1
	done
}

# wait_tcp PORT SECONDS: wait until something accepts on 127.0.0.1:PORT.
wait_tcp() {
	local port=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# stop_pid PID [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL.
stop_pid() {
	local pid=$1 grace=${2:-40} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	log "pid $pid did not stop in ${grace}s: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# forget_pid PID: drop PID from PIDS (after stopping it).
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop_pids GRACE_SECONDS PID...: stops each PID (last first) and drops it from PIDS.
stop_pids() {
	local grace=$1 i
	shift
	for ((i = $#; i >= 1; i--)); do
		stop_pid "${!i}" "$grace"
		forget_pid "${!i}"
	done
}

# stop_all stops every recorded process, newest first.
stop_all() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}" 40
	done
	PIDS=()
}

# machine_desc prints the machine description as markdown.
machine_desc() {
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- nproc: $(nproc)"
	echo "- CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
	echo "- memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
	echo "- disk of the data dirs: $(df -hT "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1 " " $2 ", " $3}')"
	echo "- $(go version)"
	echo "- kernel: $(uname -r)"
	echo "- load average at start: ${LOAD_START:-?}, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
	echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
}

# build_bins OUTDIR: builds cmqd and loadgen into OUTDIR from the work tree ($ROOT). If the
# work tree does not build (other work in progress), builds from a snapshot of HEAD with
# the work tree's benchmarks/loadgen, go.mod and go.sum on top, and says so.
build_bins() {
	local out=$1
	mkdir -p "$out"
	if (cd "$ROOT" && go build -o "$out/cmqd" ./cmd/cmqd && go build -o "$out/loadgen" ./benchmarks/loadgen) 2>"$out/build.err"; then
		BUILT_FROM="work tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' + uncommitted changes')"
		return 0
	fi
	log "the work tree does not build ($(head -3 "$out/build.err" | tr '\n' ' ')); building from a snapshot of HEAD"
	local src=$out/src
	rm -rf "$src" && mkdir -p "$src"
	git -C "$ROOT" archive HEAD | tar -x -C "$src"
	mkdir -p "$src/benchmarks/loadgen"
	cp "$ROOT"/benchmarks/loadgen/*.go "$src/benchmarks/loadgen/"
	cp "$ROOT/go.mod" "$ROOT/go.sum" "$src/"
	(cd "$src" && go build -o "$out/cmqd" ./cmd/cmqd && go build -o "$out/loadgen" ./benchmarks/loadgen)
	# shellcheck disable=SC2034 # read by the scripts that source this file
	BUILT_FROM="snapshot of HEAD $(git -C "$ROOT" rev-parse --short HEAD) + work-tree loadgen (work tree did not build)"
}

# run_lg NAME LABEL ARGS...: runs loadgen, keeps its output in $LOGS/NAME.{out,err}, echoes
# its result lines, and appends its summary row (or a failure row) to $TABLE. It also
# writes "msgs/s p50 p99" of the medians to $LOGS/NAME.val ("" on failure).
run_lg() {
	local name=$1 label=$2
	shift 2
	log "run $name: loadgen $*"
	local rc=0 pid
	# In the background, recorded in PIDS, and waited for: a signal to the script then stops
	# it at once (the trap's stop_all) instead of after the run.
	"$LG" --label "$label" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	forget_pid "$pid"
	grep '^run \|^  error: ' "$LOGS/$name.out" >&2 || true # with the first errors of a run
	local row
	row=$(grep '^| ' "$LOGS/$name.out" | grep -v '^| setup\|^| ---' | tail -1 || true)
	if [ $rc -ne 0 ] || [ -z "$row" ]; then
		local why
		why=$(grep -v '^\[' "$LOGS/$name.err" | tail -1 | tr '|' '/' | cut -c1-160)
		[ -n "$row" ] && echo "$row" >>"$TABLE"
		echo "| $label | failed (exit $rc): ${why:-see $LOGS/$name.err} | | | | | | |" >>"$TABLE"
		echo "" >"$LOGS/$name.val"
		return 0
	fi
	echo "$row" >>"$TABLE"
	echo "$row" | awk -F'|' '{gsub(/ /,""); print $3, $4, $5}' >"$LOGS/$name.val"
}

table_header() {
	echo "| setup | msgs/s (median) | p50 ms | p99 ms | p99.9 ms | latency of | runs (msgs/s min–max) | errors |"
	echo "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |"
}

# write_accounts FILE: one account, namespace "bench", fixed benchmark-only keys.
BENCH_SECRET_ID=AKIDbench00000000000000000000000000000
BENCH_SECRET_KEY=benchbenchbenchbenchbenchbench12
write_accounts() {
	printf '[{"namespace":"bench","secretId":"%s","secretKey":"%s"}]\n' "$BENCH_SECRET_ID" "$BENCH_SECRET_KEY" >"$1"
	chmod 600 "$1"
}

# cmqd_has WORD: does cmqd's --help mention WORD (a flag such as -peers)?
cmqd_has() {
	[ -n "${CMQD_HELP:-}" ] || CMQD_HELP=$("$BIN/cmqd" --help 2>&1 || true)
	grep -qi -- "$1" <<<"$CMQD_HELP"
}

# init_work NAME: a fresh work directory for a script run: $WORK (under TMPDIR, the disk
# that is measured), $BIN, $LOGS and an empty $TABLE. On exit every process the script
# started (PIDS) is stopped and $WORK removed, unless KEEP=1.
init_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	BIN=$WORK/bin
	LOGS=$WORK/logs
	TABLE=$WORK/table.md
	mkdir -p "$BIN" "$LOGS"
	: >"$TABLE"
	trap cleanup_work EXIT
	trap 'exit 130' INT TERM
}

cleanup_work() {
	stop_all
	if [ "${KEEP:-0}" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

# start_cmqd NAME PORT DATADIR [EXTRA FLAGS...]: starts cmqd in the background, records its
# PID in PIDS and in CMQD_PID.
start_cmqd() {
	local name=$1 port=$2 data=$3
	shift 3
	mkdir -p "$data"
	# cmqd runs on raft even alone: give a lone node a free raft port too.
	if [ $# -eq 0 ] && cmqd_has -raft-listen; then
		set -- --raft-listen 127.0.0.1:0
	fi
	"$BIN/cmqd" --listen "127.0.0.1:$port" --data "$data" --accounts "$WORK/accounts.json" \
		--log-level warn "$@" >"$LOGS/$name.cmqd.out" 2>"$LOGS/$name.cmqd.err" &
	CMQD_PID=$!
	PIDS+=("$CMQD_PID")
}

# start_cmqd_cluster NAME: starts three cmqd on 127.0.0.1 as one raft group (--node-id,
# --raft-listen, --peers), data in $WORK/data-NAME-I, logs in $LOGS/NAME-I.cmqd.{out,err},
# PIDs in PIDS and CLUSTER_PIDS, and waits up to 60 s for each node's /readyz. Sets
# CLUSTER_EPS (the HTTP endpoints, comma-separated, for loadgen --endpoint) and CLUSTER_PEERS.
# Returns 2 if cmqd has no cluster flags (nothing started), 1 if a node did not become ready
# (the nodes stay up: stop them with stop_cmqd_cluster).
start_cmqd_cluster() {
	local name=$1 i
	local -a cp rp
	CLUSTER_PIDS=()
	CLUSTER_EPS=""
	cmqd_has -peers && cmqd_has -raft-listen && cmqd_has -node-id || return 2
	for i in 1 2 3; do cp[i]=$(free_port); rp[i]=$(free_port); done
	# Peers as id=host:port, comma-separated (adjust here if cmqd's --help says otherwise).
	CLUSTER_PEERS="1=127.0.0.1:${rp[1]},2=127.0.0.1:${rp[2]},3=127.0.0.1:${rp[3]}"
	for i in 1 2 3; do
		start_cmqd "$name-$i" "${cp[i]}" "$WORK/data-$name-$i" --node-id "$i" --raft-listen "127.0.0.1:${rp[i]}" --peers "$CLUSTER_PEERS"
		CLUSTER_PIDS+=("$CMQD_PID")
		CLUSTER_EPS+="${CLUSTER_EPS:+,}http://127.0.0.1:${cp[i]}"
	done
	wait_http_all 60 "http://127.0.0.1:${cp[1]}/readyz" "http://127.0.0.1:${cp[2]}/readyz" "http://127.0.0.1:${cp[3]}/readyz"
}

# cluster_leader_endpoint EPS: the endpoint (of the comma-separated EPS, in node id order,
# as start_cmqd_cluster sets CLUSTER_EPS) of the node that leads now, from /cluster/status.
cluster_leader_endpoint() {
	local eps=$1 id
	id=$(curl -sf "${eps%%,*}/cluster/status" | sed -n 's/.*"leader": *\([0-9]*\).*/\1/p')
	[ -n "$id" ] && [ "$id" -ge 1 ] || { echo "no leader known" >&2; return 1; }
	echo "$eps" | cut -d, -f"$id"
}

# stop_cmqd_cluster: stops the nodes start_cmqd_cluster started.
stop_cmqd_cluster() {
	stop_pids 40 "${CLUSTER_PIDS[@]}"
	CLUSTER_PIDS=()
}
