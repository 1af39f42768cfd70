#!/usr/bin/env bash
# bench-compare.sh — the same workloads against opencmq (cmqd), RabbitMQ and NATS JetStream,
# one table with the ratios opencmq/peer.
#
# Installs rabbitmq-server and nats-server from Debian if missing, starts each broker alone
# on 127.0.0.1 with durable settings (written below), runs the workloads, stops it, and goes
# on to the next:
#   opencmq          cmqd single node (ack after fsync), httpapi/client
#   rabbitmq         durable classic queue, persistent messages, publisher confirms
#   rabbitmq-quorum  the same with x-queue-type=quorum (same server)
#   nats             nats-server -js -sd DIR (default sync: fsync every 2 min, NOT per ack)
#   nats-always      jetstream { sync_interval: always } (fsync before every PubAck)
# Workloads: SendMessage-like single sends at 1 and 32 producers, batches of 16 at 32
# producers, e2e 32 producers + 8 consumers, drain DRAIN_N with 8 consumers.
#
# Debian 12's nats-server (2.9.10) does not know sync_interval; then, unless NATS_GO_BUILD=0,
# the script builds nats-server NATS_GO_VERSION with `go install` (Go module proxy) into
# TOOLS and uses that one for both NATS rows, so that they differ only in the sync setting.
# A broker that cannot be installed or started gets "not run: why" in its cells.
#
# Environment: BROKERS (all five), REPEAT (3), WARMUP (2s), DURATION (10s), DRAIN_N (300000),
# DRAIN_REPEAT (1), OUT (results file), KEEP=1 keeps the work directory, TOOLS
# (/tmp/loadgen-tools), NATS_SERVER (a nats-server binary to use), NATS_GO_VERSION (v2.12.1).
# A full run takes about 20–25 minutes. Everything listens on 127.0.0.1 only.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BROKERS=${BROKERS:-"opencmq rabbitmq rabbitmq-quorum nats nats-always"}
REPEAT=${REPEAT:-3}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-10s}
DRAIN_N=${DRAIN_N:-300000}
DRAIN_REPEAT=${DRAIN_REPEAT:-1}
TOOLS=${TOOLS:-/tmp/loadgen-tools}
NATS_GO_VERSION=${NATS_GO_VERSION:-v2.12.1}
NATS_GO_BUILD=${NATS_GO_BUILD:-1}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-/tmp/bench-compare-$STAMP.md}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-compare.XXXXXX")
BIN=$WORK/bin
LOGS=$WORK/logs
TABLE=$WORK/table.md
mkdir -p "$BIN" "$LOGS"
: >"$TABLE"
declare -A NOTE VERSION

cleanup() {
	stop_all
	if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

has_broker() { [[ " $BROKERS " == *" $1 "* ]]; }

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
if (has_broker rabbitmq || has_broker rabbitmq-quorum) && [ ! -x "$RABBIT_SERVER" ]; then need+=(rabbitmq-server); fi
if (has_broker nats || has_broker nats-always) && ! command -v nats-server >/dev/null && [ -z "${NATS_SERVER:-}" ]; then need+=(nats-server); fi
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	if ! { apt-get update >"$LOGS/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >>"$LOGS/apt.log" 2>&1; }; then
		log "apt-get install ${need[*]} failed: $(tail -1 "$LOGS/apt.log")"
	fi
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
	stop_pid "$CMQD_PID" 40
	forget_pid "$CMQD_PID"
fi

# ---- RabbitMQ ----
RDIR=$WORK/rabbit
rabbit_env() {
	export HOME=$RDIR RABBITMQ_NODENAME=loadgen@localhost RABBITMQ_MNESIA_BASE=$RDIR/mnesia \
		RABBITMQ_LOG_BASE=$RDIR/log RABBITMQ_CONFIG_FILE=$RDIR/rabbitmq.conf \
		RABBITMQ_ENABLED_PLUGINS_FILE=$RDIR/enabled_plugins RABBITMQ_CONF_ENV_FILE=$RDIR/rabbitmq-env.conf \
		RABBITMQ_ADVANCED_CONFIG_FILE=$RDIR/advanced.config RABBITMQ_PID_FILE=$RDIR/rabbit.pid \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$RPORT RABBITMQ_DIST_PORT=$RDIST \
		ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$REPMD
}
if has_broker rabbitmq || has_broker rabbitmq-quorum; then
	if [ ! -x "$RABBIT_SERVER" ]; then
		NOTE[rabbitmq]="not run: rabbitmq-server could not be installed"
	else
		RPORT=$(free_port)
		RDIST=$(free_port)
		REPMD=$(free_port)
		mkdir -p "$RDIR/mnesia" "$RDIR/log"
		echo '[].' >"$RDIR/enabled_plugins"
		: >"$RDIR/rabbitmq-env.conf"
		echo '[].' >"$RDIR/advanced.config"
		# Durability is per queue and message (durable queue, persistent messages, confirms
		# sent after the message is fsynced); nothing here weakens it.
		cat >"$RDIR/rabbitmq.conf" <<-EOF
			listeners.tcp.default = 127.0.0.1:$RPORT
			loopback_users.guest = true
			vm_memory_high_watermark.relative = 0.4
			disk_free_limit.absolute = 1GB
			log.file.level = warning
		EOF
		(
			rabbit_env
			exec epmd -address 127.0.0.1 -port "$REPMD"
		) >"$LOGS/epmd.log" 2>&1 &
		EPMD_PID=$!
		PIDS+=("$EPMD_PID")
		(
			rabbit_env
			exec "$RABBIT_SERVER"
		) >"$LOGS/rabbitmq.out" 2>&1 &
		RABBIT_PID=$!
		PIDS+=("$RABBIT_PID")
		if wait_tcp "$RPORT" 120 && (rabbit_env && timeout 60 "$RABBITMQCTL" await_startup >/dev/null 2>&1); then
			VERSION[rabbitmq]="RabbitMQ $(rabbit_env && timeout 30 "$RABBITMQCTL" version 2>/dev/null | tail -1), Erlang $(erl -noshell -eval 'io:fwrite("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null)"
			AMQP=amqp://guest:guest@127.0.0.1:$RPORT/
			has_broker rabbitmq && run_workloads rabbitmq --adapter rabbitmq --amqp-url "$AMQP" --prefetch 64
			has_broker rabbitmq-quorum && run_workloads rabbitmq-quorum --adapter rabbitmq --amqp-url "$AMQP" --prefetch 64 --rabbit-quorum
		else
			NOTE[rabbitmq]="not run: rabbitmq-server did not start in 120 s ($(tail -1 "$LOGS/rabbitmq.out" | tr '|' '/' | cut -c1-120))"
		fi
		stop_pid "$RABBIT_PID" 60
		forget_pid "$RABBIT_PID"
		stop_pid "$EPMD_PID" 10
		forget_pid "$EPMD_PID"
	fi
	NOTE[rabbitmq-quorum]=${NOTE[rabbitmq]:-}
fi

# ---- NATS JetStream ----
# nats_supports_sync BIN: does this nats-server accept jetstream { sync_interval: always }?
nats_supports_sync() {
	printf 'listen: 127.0.0.1:4222\njetstream { store_dir: "%s", sync_interval: always }\n' "$WORK/nats-test" >"$WORK/nats-test.conf"
	"$1" -c "$WORK/nats-test.conf" -t >/dev/null 2>&1
}
# run_nats NAME EXTRA_CONFIG
run_nats() {
	local name=$1 extra=$2 port dir
	port=$(free_port)
	dir=$WORK/nats-$name
	mkdir -p "$dir"
	printf 'listen: 127.0.0.1:%s\njetstream {\n  store_dir: "%s"\n  %s\n}\n' "$port" "$dir" "$extra" >"$dir.conf"
	"$NATS_BIN" -c "$dir.conf" >"$LOGS/$name.server.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	if wait_tcp "$port" 30; then
		run_workloads "$name" --adapter nats --nats-url "nats://127.0.0.1:$port" --nats-ack ack
	else
		NOTE[$name]="not run: nats-server did not start ($(tail -1 "$LOGS/$name.server.log" | tr '|' '/'))"
	fi
	stop_pid "$pid" 30
	forget_pid "$pid"
}
if has_broker nats || has_broker nats-always; then
	NATS_BIN=${NATS_SERVER:-$(command -v nats-server || true)}
	if [ -n "$NATS_BIN" ] && ! nats_supports_sync "$NATS_BIN" && [ "$NATS_GO_BUILD" = 1 ] && command -v go >/dev/null; then
		log "$("$NATS_BIN" --version) has no sync_interval; building nats-server $NATS_GO_VERSION into $TOOLS"
		if [ ! -x "$TOOLS/nats-server-$NATS_GO_VERSION" ]; then
			mkdir -p "$TOOLS"
			if (cd "$TOOLS" && GOFLAGS='' GOBIN="$TOOLS/gobin" go install "github.com/nats-io/nats-server/v2@$NATS_GO_VERSION") >"$LOGS/nats-build.log" 2>&1; then
				mv "$TOOLS/gobin/nats-server" "$TOOLS/nats-server-$NATS_GO_VERSION"
			else
				log "building nats-server failed: $(tail -1 "$LOGS/nats-build.log")"
			fi
		fi
		[ -x "$TOOLS/nats-server-$NATS_GO_VERSION" ] && NATS_BIN=$TOOLS/nats-server-$NATS_GO_VERSION
	fi
	if [ -z "$NATS_BIN" ]; then
		NOTE[nats]="not run: nats-server could not be installed"
		NOTE[nats-always]=${NOTE[nats]}
	else
		VERSION[nats]="$("$NATS_BIN" --version 2>&1) ($NATS_BIN)"
		# Default sync: what `nats-server -js -sd DIR` does (sync_interval 2m).
		has_broker nats && run_nats nats ""
		if has_broker nats-always; then
			if nats_supports_sync "$NATS_BIN"; then
				run_nats nats-always "sync_interval: always"
			else
				NOTE[nats-always]="not run: $("$NATS_BIN" --version 2>&1) has no sync_interval (needs nats-server >= 2.10)"
			fi
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
ratio() {
	local a=$LOGS/opencmq-$2.val b=$LOGS/$1-$2.val
	if [ -s "$a" ] && [ -s "$b" ] && [ -z "${NOTE[$1]:-}" ]; then
		awk -v x="$(cut -d' ' -f1 "$a")" -v y="$(cut -d' ' -f1 "$b")" 'BEGIN { if (y > 0) printf "%.2f×", x / y; else print "–" }'
	else
		echo "–"
	fi
}
PEERS=()
for b in rabbitmq rabbitmq-quorum nats nats-always; do has_broker "$b" && PEERS+=("$b"); done
{
	echo "## opencmq vs RabbitMQ vs NATS JetStream ($STAMP)"
	echo
	machine_desc
	echo "- runs: REPEAT=$REPEAT WARMUP=$WARMUP DURATION=$DURATION, drain N=$DRAIN_N × $DRAIN_REPEAT; 1 KiB bodies; medians"
	for b in opencmq rabbitmq nats; do [ -n "${VERSION[$b]:-}" ] && echo "- $b: ${VERSION[$b]}"; done
	echo
	hdr="| workload | opencmq msgs/s |"
	sep="| --- | --- |"
	for b in "${PEERS[@]}"; do
		hdr+=" $b msgs/s | opencmq/$b |"
		sep+=" --- | ---: |"
	done
	echo "$hdr"
	echo "$sep"
	for w in "${WL_NAMES[@]}"; do
		row="| ${WL_LABEL[$w]} | $(cell opencmq "$w") |"
		for b in "${PEERS[@]}"; do row+=" $(cell "$b" "$w") | $(ratio "$b" "$w") |"; done
		echo "$row"
	done
	echo
	echo "Setups: opencmq = cmqd single node, httpapi/client (SendMessage / BatchSendMessage, BatchReceiveMessage 16 wait 1 s, BatchDeleteMessage), ack after fsync;"
	echo "rabbitmq = amqp091-go, durable queue, persistent messages, publisher confirm awaited per send (per batch of 16), prefetch 64, manual ack multiple=true per received batch;"
	echo "nats = nats.go jetstream, file storage, work-queue retention, Publish waits for PubAck (batch: PublishAsync + wait all), one durable pull consumer, FetchNoWait(16) or when empty Fetch(1, 1 s) + FetchNoWait(15), Ack per message (not AckSync);"
	echo "nats (default sync) does NOT fsync before the PubAck (sync_interval 2 min); nats-always does."
	echo "Latency (p99) is of one send call (produce), body timestamp to receipt (e2e), one receive+ack cycle (drain)."
	echo
	echo "### Every run"
	echo
	table_header
	cat "$TABLE"
} | tee "$OUT"
log "results in $OUT"
