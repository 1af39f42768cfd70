#!/usr/bin/env bash
# bench-compare.sh — the same workloads against opencmq (cmqd), RabbitMQ and NATS JetStream,
# single nodes and 3-node clusters, in tables with the ratios opencmq/peer.
#
# Installs rabbitmq-server and nats-server from Debian if missing, starts each broker (or
# cluster) alone on 127.0.0.1 with durable settings (written below), runs the workloads, stops
# it, and goes on to the next. BROKERS names (by default all but nats-r3-always):
#   single node, compared with "opencmq":
#   opencmq            cmqd single node (ack after fsync), httpapi/client
#   rabbitmq           durable classic queue, persistent messages, publisher confirms
#   rabbitmq-quorum    the same with x-queue-type=quorum (same server)
#   nats               nats-server -js -sd DIR (default sync: fsync every 2 min, NOT per ack)
#   nats-always        jetstream { sync_interval: always } (fsync before every PubAck)
#   3 nodes on this machine, compared with "opencmq-3" (clients spread over the 3 nodes):
#   opencmq-3          three cmqd (--node-id/--raft-listen/--peers), one raft group; loadgen
#                      --endpoint lists all three, worker i uses node i mod 3
#   nats-r3            three nats-server in one JetStream cluster (cluster { routes }), stream
#                      replicas 3, default sync (PubAck once 2 of 3 have it, no fsync per ack);
#                      worker i connects to server i mod 3
#   rabbitmq-quorum-3  three RabbitMQ nodes (rabbit1..3@localhost, one epmd, one cookie)
#                      joined with join_cluster, quorum queue on all three; worker i uses node
#                      i mod 3 (the queue is declared on node 1, where its leader starts)
#   nats-r3-always     (not in the default list) nats-r3 with sync_interval: always
# Workloads: SendMessage-like single sends at 1 and 32 producers, batches of 16 at 32
# producers, e2e 32 producers + 8 consumers, drain DRAIN_N with 8 consumers.
#
# Debian 12's nats-server (2.9.10) does not know sync_interval; then, unless NATS_GO_BUILD=0,
# the script builds nats-server NATS_GO_VERSION with `go install` (Go module proxy) into
# TOOLS and uses that one for every NATS column, so that they differ only in their setting.
# A broker that cannot be installed or started gets "not run: why" in its cells.
#
# Environment: BROKERS (see above), REPEAT (3), WARMUP (2s), DURATION (10s), DRAIN_N
# (300000), DRAIN_REPEAT (1), OUT (results file), KEEP=1 keeps the work directory, TOOLS
# (/tmp/loadgen-tools), NATS_SERVER (a nats-server binary to use), NATS_GO_VERSION (v2.12.1),
# RABBIT3_MEM (memory high watermark of each node of the RabbitMQ cluster, 3GB),
# RABBIT3_ERL_ARGS (emulator flags of those nodes, default "+sbwt none +sbwtdcpu none
# +sbwtdio none": no scheduler busy-waiting, RabbitMQ's advice for nodes sharing CPUs).
# A full run takes about 35–40 minutes. Everything listens on 127.0.0.1 only; every process
# started is stopped at exit.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BROKERS=${BROKERS:-"opencmq rabbitmq rabbitmq-quorum nats nats-always opencmq-3 nats-r3 rabbitmq-quorum-3"}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-10s}
DRAIN_N=${DRAIN_N:-300000}
DRAIN_REPEAT=${DRAIN_REPEAT:-1}
TOOLS=${TOOLS:-/tmp/loadgen-tools}
NATS_GO_VERSION=${NATS_GO_VERSION:-v2.12.1}
NATS_GO_BUILD=${NATS_GO_BUILD:-1}
RABBIT3_MEM=${RABBIT3_MEM:-3GB}
RABBIT3_ERL_ARGS=${RABBIT3_ERL_ARGS:-+sbwt none +sbwtdcpu none +sbwtdio none}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-/tmp/bench-compare-$STAMP.md}

init_work bench-compare
declare -A NOTE VERSION

has_broker() { [[ " $BROKERS " == *" $1 "* ]]; }
# has_broker_like PREFIX: is a broker whose name starts with PREFIX asked for?
has_broker_like() { [[ " $BROKERS" == *" $1"* ]]; }
for b in $BROKERS; do
	case $b in
	opencmq | rabbitmq | rabbitmq-quorum | nats | nats-always | opencmq-3 | nats-r3 | nats-r3-always | rabbitmq-quorum-3) ;;
	*) echo "bench-compare.sh: unknown broker $b in BROKERS" >&2; exit 2 ;;
	esac
done

log "building into $BIN"
build_bins "$BIN"
export LG=$BIN/loadgen # used by run_lg
write_accounts "$WORK/accounts.json"
export CMQ_SECRET_ID=$BENCH_SECRET_ID CMQ_SECRET_KEY=$BENCH_SECRET_KEY

WL_NAMES=(send-p1 send-p32 batch16-p32 e2e drain)
declare -A WL_LABEL WL_ARGS
WL_LABEL[send-p1]="send, 1 producer"
WL_ARGS[send-p1]="--workload produce --producers 1 --batch 1"
WL_LABEL[send-p32]="send, 32 producers"
WL_ARGS[send-p32]="--workload produce --producers 32 --batch 1"
WL_LABEL[batch16-p32]="batch of 16, 32 producers"
WL_ARGS[batch16-p32]="--workload produce --producers 32 --batch 16"
WL_LABEL[e2e]="e2e 32 prod + 8 cons"
WL_ARGS[e2e]="--workload e2e --producers 32 --consumers 8 --batch 1"
WL_LABEL[drain]="drain $DRAIN_N, 8 consumers"
WL_ARGS[drain]="--workload drain --n $DRAIN_N --consumers 8 --repeat $DRAIN_REPEAT --timeout 5m"

# run_workloads BROKER ADAPTER_ARGS...
run_workloads() {
	local b=$1 w
	shift
	for w in "${WL_NAMES[@]}"; do
		# shellcheck disable=SC2086 # WL_ARGS are word lists
		run_lg "$b-$w" "$b: ${WL_LABEL[$w]}" "$@" --warmup "$WARMUP" --duration "$DURATION" --repeat "$REPEAT" --size 1024 ${WL_ARGS[$w]}
	done
}

# ---- install what is missing ----
RABBIT_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
RABBITMQCTL=/usr/lib/rabbitmq/bin/rabbitmqctl
need=()
if has_broker_like rabbitmq && [ ! -x "$RABBIT_SERVER" ]; then need+=(rabbitmq-server); fi
if has_broker_like nats && ! command -v nats-server >/dev/null && [ -z "${NATS_SERVER:-}" ]; then need+=(nats-server); fi
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	# The packages' own services are not started (this script starts its own brokers on
	# 127.0.0.1): a policy-rc.d that refuses, unless the machine has one already.
	rc_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		rc_policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$rc_policy" && chmod 755 "$rc_policy"
	fi
	if ! { timeout 600 apt-get update >"$LOGS/apt.log" 2>&1 &&
		DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y "${need[@]}" >>"$LOGS/apt.log" 2>&1; }; then
		log "apt-get install ${need[*]} failed: $(tail -1 "$LOGS/apt.log")"
	fi
	[ -z "$rc_policy" ] || rm -f "$rc_policy"
fi

# ---- opencmq ----
if has_broker opencmq; then
	PORT=$(free_port)
	start_cmqd compare "$PORT" "$WORK/data-cmqd"
	if wait_http "http://127.0.0.1:$PORT/readyz" 60; then
		VERSION[opencmq]="$("$BIN/cmqd" --version 2>&1 | head -1) ($BUILT_FROM)"
		run_workloads opencmq --adapter opencmq-http --endpoint "http://127.0.0.1:$PORT"
	else
		NOTE[opencmq]="not run: cmqd did not become ready ($(tail -1 "$LOGS/compare.cmqd.err" | tr '|' '/'))"
	fi
	stop_pids 40 "$CMQD_PID"
fi
if has_broker opencmq-3; then
	rc=0
	start_cmqd_cluster opencmq-3 || rc=$?
	if [ $rc = 0 ]; then
		VERSION[opencmq]="$("$BIN/cmqd" --version 2>&1 | head -1) ($BUILT_FROM)"
		log "opencmq-3 ready: $CLUSTER_EPS"
		run_workloads opencmq-3 --adapter opencmq-http --endpoint "$CLUSTER_EPS"
	elif [ $rc = 2 ]; then
		NOTE[opencmq-3]="not run: this cmqd has no --node-id/--raft-listen/--peers"
	else
		NOTE[opencmq-3]="not run: the 3 cmqd did not become ready in 60 s ($(tail -1 "$LOGS/opencmq-3-1.cmqd.err" | tr '|' '/' | cut -c1-120))"
	fi
	stop_cmqd_cluster
fi

# ---- RabbitMQ ----
# One epmd (own port) for every node; HOME=$RDIR for every node and rabbitmqctl, so they share
# the Erlang cookie written there. Each node has its own directory with its config files,
# mnesia and logs, and node.env, the environment that rabbitmq-server and rabbitmqctl get.
RDIR=$WORK/rabbit
# rabbit_node DIR NAME MEMORY_LINE ERL_ARGS: prepares node NAME@localhost in DIR (free ports).
rabbit_node() {
	local dir=$1 name=$2 mem=$3 erl_args=$4 port dist
	port=$(free_port)
	dist=$(free_port)
	mkdir -p "$dir/mnesia" "$dir/log"
	echo '[].' >"$dir/enabled_plugins"
	: >"$dir/rabbitmq-env.conf"
	echo '[].' >"$dir/advanced.config"
	# Durability is per queue and message (durable queue, persistent messages, confirms
	# sent after the message is fsynced); nothing here weakens it.
	cat >"$dir/rabbitmq.conf" <<-EOF
		listeners.tcp.default = 127.0.0.1:$port
		loopback_users.guest = true
		$mem
		disk_free_limit.absolute = 1GB
		log.file.level = warning
	EOF
	# Erlang distribution on loopback only, for the nodes and for rabbitmqctl.
	cat >"$dir/node.env" <<-EOF
		export HOME='$RDIR' RABBITMQ_NODENAME='$name@localhost' RABBITMQ_MNESIA_BASE='$dir/mnesia'
		export RABBITMQ_LOG_BASE='$dir/log' RABBITMQ_CONFIG_FILE='$dir/rabbitmq.conf'
		export RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins' RABBITMQ_CONF_ENV_FILE='$dir/rabbitmq-env.conf'
		export RABBITMQ_ADVANCED_CONFIG_FILE='$dir/advanced.config' RABBITMQ_PID_FILE='$dir/rabbit.pid'
		export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist
		export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$REPMD
		export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1} $erl_args'
		export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
	EOF
}
# rabbit_port DIR: the node's AMQP port.
# shellcheck source=/dev/null # node.env is written by rabbit_node
rabbit_port() { (. "$1/node.env" && echo "$RABBITMQ_NODE_PORT"); }
# rabbit_ctl DIR ARGS...: rabbitmqctl against the node in DIR, at most 60 s.
rabbit_ctl() {
	local dir=$1
	shift
	# shellcheck source=/dev/null
	(. "$dir/node.env" && exec timeout 60 "$RABBITMQCTL" "$@")
}
# rabbit_start DIR: starts the node in DIR; its PID goes to PIDS and RABBIT_PIDS.
rabbit_start() {
	# shellcheck source=/dev/null
	(. "$1/node.env" && exec "$RABBIT_SERVER") >"$LOGS/rabbit-$(basename "$1").out" 2>&1 &
	PIDS+=("$!")
	RABBIT_PIDS+=("$!")
}
# rabbit_ready DIR: waits up to 120 s for the node to accept AMQP and finish booting.
rabbit_ready() {
	wait_tcp "$(rabbit_port "$1")" 120 && rabbit_ctl "$1" await_startup >/dev/null 2>&1
}
# rabbit_why DIR: the last line of the node's output, for a "not run" note.
rabbit_why() { tail -1 "$LOGS/rabbit-$(basename "$1").out" 2>/dev/null | tr '|' '/' | cut -c1-120; }
rabbit_version() {
	VERSION[rabbitmq]="RabbitMQ $(rabbit_ctl "$1" version 2>/dev/null | tail -1), Erlang $(erl -noshell -eval 'io:fwrite("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null)"
}
RABBIT_PIDS=()
if has_broker_like rabbitmq; then
	if [ ! -x "$RABBIT_SERVER" ]; then
		for b in rabbitmq rabbitmq-quorum rabbitmq-quorum-3; do NOTE[$b]="not run: rabbitmq-server could not be installed"; done
	else
		REPMD=$(free_port)
		mkdir -p "$RDIR"
		head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RDIR/.erlang.cookie"
		chmod 400 "$RDIR/.erlang.cookie"
		(exec epmd -address 127.0.0.1 -port "$REPMD") >"$LOGS/epmd.log" 2>&1 &
		EPMD_PID=$!
		PIDS+=("$EPMD_PID")
	fi
fi
if [ -x "$RABBIT_SERVER" ] && { has_broker rabbitmq || has_broker rabbitmq-quorum; }; then
	rabbit_node "$RDIR/single" loadgen "vm_memory_high_watermark.relative = 0.4" ""
	rabbit_start "$RDIR/single"
	if rabbit_ready "$RDIR/single"; then
		rabbit_version "$RDIR/single"
		AMQP=amqp://guest:guest@127.0.0.1:$(rabbit_port "$RDIR/single")/
		has_broker rabbitmq && run_workloads rabbitmq --adapter rabbitmq --amqp-url "$AMQP" --prefetch 64
		has_broker rabbitmq-quorum && run_workloads rabbitmq-quorum --adapter rabbitmq --amqp-url "$AMQP" --prefetch 64 --rabbit-quorum
	else
		NOTE[rabbitmq]="not run: rabbitmq-server did not start in 120 s ($(rabbit_why "$RDIR/single"))"
		NOTE[rabbitmq-quorum]=${NOTE[rabbitmq]}
	fi
	stop_pids 60 "${RABBIT_PIDS[@]}"
	RABBIT_PIDS=()
fi
# rabbit_cluster: starts rabbit1..3@localhost, joins 2 and 3 to 1, and sets AMQP3 (the three
# AMQP URLs). Returns non-zero with RABBIT_WHY set when a step fails.
rabbit_cluster() {
	local i urls=""
	for i in 1 2 3; do
		rabbit_node "$RDIR/node$i" "rabbit$i" "vm_memory_high_watermark.absolute = $RABBIT3_MEM" "$RABBIT3_ERL_ARGS"
		rabbit_start "$RDIR/node$i"
	done
	for i in 1 2 3; do
		rabbit_ready "$RDIR/node$i" || { RABBIT_WHY="node rabbit$i did not start in 120 s ($(rabbit_why "$RDIR/node$i"))"; return 1; }
		urls+="${urls:+,}amqp://guest:guest@127.0.0.1:$(rabbit_port "$RDIR/node$i")/"
	done
	for i in 2 3; do
		if ! { rabbit_ctl "$RDIR/node$i" stop_app && rabbit_ctl "$RDIR/node$i" join_cluster rabbit1@localhost &&
			rabbit_ctl "$RDIR/node$i" start_app; } >>"$LOGS/rabbit-join.log" 2>&1; then
			RABBIT_WHY="rabbit$i could not join rabbit1 ($(tail -1 "$LOGS/rabbit-join.log" | tr '|' '/' | cut -c1-120))"
			return 1
		fi
	done
	if ! rabbit_ctl "$RDIR/node1" await_online_nodes 3 >>"$LOGS/rabbit-join.log" 2>&1; then
		RABBIT_WHY="the cluster did not see 3 running nodes in 60 s"
		return 1
	fi
	rabbit_ctl "$RDIR/node1" cluster_status >>"$LOGS/rabbit-join.log" 2>&1 || true
	AMQP3=$urls
}
if [ -x "$RABBIT_SERVER" ] && has_broker rabbitmq-quorum-3; then
	if rabbit_cluster; then
		[ -n "${VERSION[rabbitmq]:-}" ] || rabbit_version "$RDIR/node1"
		log "rabbitmq-quorum-3 ready: $AMQP3"
		run_workloads rabbitmq-quorum-3 --adapter rabbitmq --amqp-url "$AMQP3" --prefetch 64 --rabbit-quorum
	else
		NOTE[rabbitmq-quorum-3]="not run: $RABBIT_WHY"
	fi
	stop_pids 60 "${RABBIT_PIDS[@]}"
	RABBIT_PIDS=()
fi
if [ -n "${EPMD_PID:-}" ]; then stop_pids 10 "$EPMD_PID"; fi

# ---- NATS JetStream ----
# nats_supports_sync BIN: does this nats-server accept jetstream { sync_interval: always }?
nats_supports_sync() {
	printf 'listen: 127.0.0.1:4222\njetstream { store_dir: "%s", sync_interval: always }\n' "$WORK/nats-test" >"$WORK/nats-test.conf"
	"$1" -c "$WORK/nats-test.conf" -t >/dev/null 2>&1
}
# run_nats NAME SERVERS EXTRA_CONFIG: starts SERVERS nats-server (1, or a JetStream cluster of
# 3), each with its own store dir and EXTRA_CONFIG in its jetstream block, waits for them,
# runs the workloads with a stream of SERVERS replicas, and stops them.
run_nats() {
	local name=$1 n=$2 extra=$3 i dir urls="" routes="" pids=() health=()
	local -a port cport mport
	for ((i = 1; i <= n; i++)); do
		port[i]=$(free_port)
		cport[i]=$(free_port)
		mport[i]=$(free_port)
		routes+="${routes:+, }nats-route://127.0.0.1:${cport[i]}"
	done
	for ((i = 1; i <= n; i++)); do
		dir=$WORK/$name-$i
		mkdir -p "$dir"
		{
			printf 'server_name: %s-%s\nlisten: 127.0.0.1:%s\nhttp: 127.0.0.1:%s\n' "$name" "$i" "${port[i]}" "${mport[i]}"
			printf 'jetstream {\n  store_dir: "%s"\n  %s\n}\n' "$dir" "$extra"
			[ "$n" -gt 1 ] && printf 'cluster {\n  name: %s\n  listen: 127.0.0.1:%s\n  routes: [%s]\n}\n' "$name" "${cport[i]}" "$routes"
		} >"$dir.conf"
		"$NATS_BIN" -c "$dir.conf" >"$LOGS/$name-$i.server.log" 2>&1 &
		pids+=("$!")
		PIDS+=("$!")
		urls+="${urls:+,}nats://127.0.0.1:${port[i]}"
		health+=("http://127.0.0.1:${mport[i]}/healthz")
	done
	# /healthz answers 200 once JetStream is up (in a cluster: once the meta group has a leader).
	if wait_http_all 60 "${health[@]}"; then
		run_workloads "$name" --adapter nats --nats-url "$urls" --nats-replicas "$n" --nats-ack ack
	else
		NOTE[$name]="not run: nats-server did not become healthy in 60 s ($(tail -1 "$LOGS/$name-1.server.log" | tr '|' '/' | cut -c1-120))"
	fi
	stop_pids 30 "${pids[@]}"
}
if has_broker_like nats; then
	NATS_BIN=${NATS_SERVER:-$(command -v nats-server || true)}
	if [ -n "$NATS_BIN" ] && ! nats_supports_sync "$NATS_BIN" && [ "$NATS_GO_BUILD" = 1 ] && command -v go >/dev/null; then
		log "$("$NATS_BIN" --version) has no sync_interval; building nats-server $NATS_GO_VERSION into $TOOLS"
		if [ ! -x "$TOOLS/nats-server-$NATS_GO_VERSION" ]; then
			mkdir -p "$TOOLS"
			if (cd "$TOOLS" && GOFLAGS='' GOBIN="$TOOLS/gobin" timeout 900 go install "github.com/nats-io/nats-server/v2@$NATS_GO_VERSION") >"$LOGS/nats-build.log" 2>&1; then
				mv "$TOOLS/gobin/nats-server" "$TOOLS/nats-server-$NATS_GO_VERSION"
			else
				log "building nats-server failed: $(tail -1 "$LOGS/nats-build.log")"
			fi
		fi
		[ -x "$TOOLS/nats-server-$NATS_GO_VERSION" ] && NATS_BIN=$TOOLS/nats-server-$NATS_GO_VERSION
	fi
	if [ -z "$NATS_BIN" ]; then
		for b in nats nats-always nats-r3 nats-r3-always; do NOTE[$b]="not run: nats-server could not be installed"; done
	else
		VERSION[nats]="$("$NATS_BIN" --version 2>&1) ($NATS_BIN)"
		NO_SYNC="not run: $("$NATS_BIN" --version 2>&1) has no sync_interval (needs nats-server >= 2.10)"
		# Default sync: what `nats-server -js -sd DIR` does (sync_interval 2m).
		has_broker nats && run_nats nats 1 ""
		if has_broker nats-always; then
			if nats_supports_sync "$NATS_BIN"; then run_nats nats-always 1 "sync_interval: always"; else NOTE[nats-always]=$NO_SYNC; fi
		fi
		has_broker nats-r3 && run_nats nats-r3 3 ""
		if has_broker nats-r3-always; then
			if nats_supports_sync "$NATS_BIN"; then run_nats nats-r3-always 3 "sync_interval: always"; else NOTE[nats-r3-always]=$NO_SYNC; fi
		fi
	fi
fi

# ---- the table ----
# cell BROKER WORKLOAD: "msgs/s (p99 ms)" or the note.
cell() {
	local f=$LOGS/$1-$2.val
	if [ -n "${NOTE[$1]:-}" ]; then
		echo "${NOTE[$1]}"
	elif [ -s "$f" ]; then
		awk '{printf "%s (p99 %s ms)", $1, $3}' "$f"
	elif [ -f "$f" ]; then
		echo "failed (see per-run table)"
	else
		echo "not run"
	fi
}
# ratio BASE PEER WORKLOAD: BASE msgs/s ÷ PEER msgs/s.
ratio() {
	local a=$LOGS/$1-$3.val b=$LOGS/$2-$3.val
	if [ -s "$a" ] && [ -s "$b" ] && [ -z "${NOTE[$1]:-}" ] && [ -z "${NOTE[$2]:-}" ]; then
		awk -v x="$(cut -d' ' -f1 "$a")" -v y="$(cut -d' ' -f1 "$b")" 'BEGIN { if (y > 0) printf "%.2f×", x / y; else print "–" }'
	else
		echo "–"
	fi
}
# ratio_table TITLE BASE PEER...: one row per workload, BASE and each asked-for PEER with the
# ratio BASE/PEER.
ratio_table() {
	local title=$1 base=$2 b w hdr sep row peers=()
	shift 2
	for b in "$@"; do has_broker "$b" && peers+=("$b"); done
	has_broker "$base" || [ ${#peers[@]} -gt 0 ] || return 0
	echo "### $title"
	echo
	hdr="| workload | $base msgs/s |"
	sep="| --- | --- |"
	for b in "${peers[@]}"; do
		hdr+=" $b msgs/s | $base/$b |"
		sep+=" --- | ---: |"
	done
	echo "$hdr"
	echo "$sep"
	for w in "${WL_NAMES[@]}"; do
		row="| ${WL_LABEL[$w]} | $(cell "$base" "$w") |"
		for b in "${peers[@]}"; do row+=" $(cell "$b" "$w") | $(ratio "$base" "$b" "$w") |"; done
		echo "$row"
	done
	echo
}
{
	echo "## opencmq vs RabbitMQ vs NATS JetStream ($STAMP)"
	echo
	machine_desc
	echo "- runs: REPEAT=$REPEAT WARMUP=$WARMUP DURATION=$DURATION, drain N=$DRAIN_N × $DRAIN_REPEAT; 1 KiB bodies; medians"
	for b in opencmq rabbitmq nats; do [ -n "${VERSION[$b]:-}" ] && echo "- $b: ${VERSION[$b]}"; done
	echo
	ratio_table "Single node" opencmq rabbitmq rabbitmq-quorum nats nats-always
	ratio_table "3 nodes on this machine (clients spread over the nodes)" opencmq-3 nats-r3 rabbitmq-quorum-3 nats-r3-always
	echo "Setups: opencmq = cmqd single node, httpapi/client (SendMessage / BatchSendMessage, BatchReceiveMessage 16 wait 1 s, BatchDeleteMessage), ack after fsync;"
	echo "rabbitmq = amqp091-go, durable queue, persistent messages, publisher confirm awaited per send (per batch of 16), prefetch 64, manual ack multiple=true per received batch;"
	echo "nats = nats.go jetstream, file storage, work-queue retention, Publish waits for PubAck (batch: PublishAsync + wait all), one durable pull consumer, FetchNoWait(16) or when empty Fetch(1, 1 s) + FetchNoWait(15), Ack per message (not AckSync);"
	echo "nats (default sync) does NOT fsync before the PubAck (sync_interval 2 min); nats-always does."
	echo "3 nodes, all on this machine (one disk, the same cores): opencmq-3 = three cmqd in one raft group, the ack after a quorum has the entry fsynced, loadgen --endpoint lists the three nodes (worker i uses node i mod 3, followers forward to the leader);"
	echo "nats-r3 = three nats-server in one JetStream cluster, stream replicas 3, default sync (PubAck once a quorum has the message, no fsync per ack; nats-r3-always: sync_interval always), worker i connects to server i mod 3;"
	echo "rabbitmq-quorum-3 = three RabbitMQ nodes joined into one cluster, quorum queue with a member on each (declared on node 1, where its leader starts), $RABBIT3_MEM memory high watermark and \`$RABBIT3_ERL_ARGS\` per node, worker i uses node i mod 3."
	echo "Latency (p99) is of one send call (produce), body timestamp to receipt (e2e), one receive+ack cycle (drain)."
	echo
	echo "### Every run"
	echo
	table_header
	cat "$TABLE"
} | tee "$OUT"
log "results in $OUT"
