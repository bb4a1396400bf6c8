#!/usr/bin/env bash
# SPEC §9 benchmark of GET /api/metricas/ (a benchmark, not a test).
#
# For each data size (10,000 and 1,000,000 hour records by default) it seeds a fresh PostgreSQL
# database with `plataforma seed-demo`, starts a release `plataforma serve`, and measures the
# endpoint with wrk at 1, 16 and 64 connections, in two passes: `cached` (the default
# configuration: answers kept under the database snapshot while nothing is written) and `computed`
# (METRICAS_CACHE=false: every answer computed from the aggregates, as right after a write). In the
# same run, on the same data, it measures the baselines: a plain `SUM` over registro_horas (single
# query and pgbench at 16 clients) and each pass's own SQL under pgbench at 64 clients (§9's floor).
#
# Pass/fail (exit status 1 when any fails):
#   - p99 at 16 connections <= 10 ms at every size, in the default configuration;
#   - req/s at 64 connections at the largest size / at the smallest within 0.80–1.25, in both
#     passes (métricas must not get slower as the hour table grows: it reads aggregates);
#   - the JSON of the endpoint agrees with the plain SUM (a wrong endpoint's speed means nothing).
# Everything else (floor ratio, p99/p50 at 64c, RSS, readiness) is reported next to §9's figure.
#
# Usage: bench/metricas.sh            (see bench/README.md for the knobs)
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Settings (environment overrides)
# ---------------------------------------------------------------------------------------------
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_SIZES:-"10000 1000000"}      # hour records per run, smallest first
MENTORES=${BENCH_MENTORES:-10000}
PROYECTOS=${BENCH_PROYECTOS:-1000}
DURATION=${BENCH_DURATION:-15}             # seconds per wrk / pgbench run
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-2}                # wrk threads and pgbench jobs (2-core machine)
WRITES_PER_S=${BENCH_WRITES_PER_S:-10}     # hour-record writes per second in the "writes" pass (0: skip it)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
P99_GOAL_MS=10
RATIO_MIN=0.80 RATIO_MAX=1.25
SECRET=${BENCH_SECRET_KEY:-"9f3c1a7e5d2b8046c1e9a3f7b5d0c2e4a8f6b1d3c5e7a9f0b2d4c6e8a1f3b5d7"}
ADMIN_EMAIL=bench@example.com
ADMIN_PASSWORD='Bench-Admin-2026'

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

# Runs a command as the postgres user when we are root: initdb and postgres refuse to run as root.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# First port from $1 upwards with nothing listening on it (other clusters may share the machine).
free_port() {
    local port=$1
    while [ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]; do
        port=$((port + 1))
        [ "$port" -lt $(($1 + 500)) ] || die "no free port from $1"
    done
    echo "$port"
}

# wrk prints latencies as 812.00us, 1.23ms, 1.02s or 1.50m: convert to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

# awk arithmetic, since bash has none for decimals: calc '<expr>' -> value with 2 decimals.
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

# Same with 3 significant digits, for ratios that may be far from 1.
calc3() { awk "BEGIN { printf \"%.3g\", $1 }"; }

# Median of the numbers on stdin.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

psql_q() { PGOPTIONS='-c client_min_messages=warning' timeout 300 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# ---------------------------------------------------------------------------------------------
# Everything started here is stopped by this trap, whatever happens (error, Ctrl-C, success).
# ---------------------------------------------------------------------------------------------
WORK="" SERVER_PID="" PG_STARTED=""
cleanup() {
    local status=$?
    set +e
    stop_server
    if [ -n "$PG_STARTED" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# ---------------------------------------------------------------------------------------------
# Preflight
# ---------------------------------------------------------------------------------------------
preflight() {
    local tool
    for tool in wrk pgbench psql curl jq ss awk timeout; do
        command -v "$tool" >/dev/null || die "$tool not found (apt-get install wrk postgresql-client jq curl iproute2)"
    done
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL server binaries not found in $PG_BIN (set PG_BIN)"
    if [ -z "${PLATAFORMA_BIN:-}" ]; then
        # From a fresh clone: build the release binary (the benchmark is about release builds).
        log "PLATAFORMA_BIN not set: swift build -c release in $REPO_DIR"
        (cd "$REPO_DIR" && swift build -c release)
        PLATAFORMA_BIN="$(cd "$REPO_DIR" && swift build -c release --show-bin-path)/plataforma"
    fi
    [ -x "$PLATAFORMA_BIN" ] || die "no executable at PLATAFORMA_BIN=$PLATAFORMA_BIN"
    case "$PLATAFORMA_BIN" in *debug*) log "WARNING: $PLATAFORMA_BIN looks like a debug build; §9 is about release" ;; esac
}

# ---------------------------------------------------------------------------------------------
# A throwaway PostgreSQL 15 cluster in the temp dir, on a free loopback port
# ---------------------------------------------------------------------------------------------
start_cluster() {
    PGDATA="$WORK/pg"
    mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
        || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
    PG_PORT=$(free_port 56500)
    # max_connections: pgbench's 64 clients plus the app's pool plus psql, with room to spare.
    # pg_stat_statements: to show which SQL the endpoint really runs, and its time in the database.
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_preload_libraries=pg_stat_statements" \
        start >/dev/null || { cat "$PGDATA/server.log" >&2; die "PostgreSQL did not start"; }
    PG_STARTED=1
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PGDATA)"
}

# ---------------------------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------------------------
# The configuration every plataforma command of the benchmark gets (a fresh database per size).
app_environment() {
    APP_ENVIRONMENT=(DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB?sslmode=disable"
        DATA_DIR="$WORK/data" SECRET_KEY="$SECRET" APP_ENV=production LOG_LEVEL=warning)
}

# app SECONDS COMMAND...: runs a plataforma command, bounded in time. Commands run in the temp
# dir and without REDIS_URL, so that neither a `.env` nor the caller's environment changes the
# configuration measured.
app() {
    local limit=$1; shift
    app_environment
    (cd "$WORK" && exec timeout "$limit" env -u REDIS_URL "${APP_ENVIRONMENT[@]}" "$PLATAFORMA_BIN" "$@")
}

prepare_database() {
    local records=$1 started
    DB="bench_$records"
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    psql_q -d "$DB" -c "CREATE EXTENSION pg_stat_statements"
    app 300 migrate >"$WORK/migrate-$records.log" 2>&1 || { cat "$WORK/migrate-$records.log" >&2; die "migrate failed"; }
    log "seed-demo --mentores $MENTORES --proyectos $PROYECTOS --registros $records"
    started=$(date +%s.%N)
    app 1800 seed-demo --mentores "$MENTORES" --proyectos "$PROYECTOS" --registros "$records" \
        >"$WORK/seed-$records.log" 2>&1 || { tail -20 "$WORK/seed-$records.log" >&2; die "seed-demo failed"; }
    SEED_S[$records]=$(calc "$(date +%s.%N) - $started")
    log "seeded in ${SEED_S[$records]} s: $(grep -o 'creados en.*' "$WORK/seed-$records.log" || true)"
    app 120 createsuperuser --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --noinput >"$WORK/su-$records.log" 2>&1 \
        || { cat "$WORK/su-$records.log" >&2; die "createsuperuser failed"; }
    # Fresh statistics, as a long-running database would have after autovacuum.
    psql_q -d "$DB" -c "VACUUM ANALYZE"
    local count
    count=$(psql_q -d "$DB" -Atc "SELECT COUNT(*) FROM registro_horas")
    [ "$count" = "$records" ] || log "WARNING: registro_horas has $count rows, expected $records"
}

start_server() {
    local records=$1 attempt
    APP_PORT=56600
    # A port free when checked may be taken before we bind (other sessions share the machine):
    # on "Address already in use", try the next one.
    for attempt in 1 2 3 4 5; do
        APP_PORT=$(free_port "$APP_PORT")
        launch_server "$records" && return 0
        grep -q 'Address already in use' "$WORK/serve-$records.log" || break
        log "port $APP_PORT taken meanwhile, trying another (attempt $attempt)"
        APP_PORT=$((APP_PORT + 1))
    done
    cat "$WORK/serve-$records.log" >&2
    die "serve did not start"
}

# Starts serve on $APP_PORT and waits for /healthz; fails if the process exits or is not ready in 15 s.
launch_server() {
    local records=$1 started
    started=$(date +%s.%N)
    # No REDIS_URL: no shared cache. No throttles: they would answer 429 to wrk. A pool of 16
    # connections, as many as the 16-connection run needs. SERVER_ENV adds METRICAS_CACHE=false
    # for the pass that computes every answer.
    # `exec` makes $! the server itself, not a subshell.
    app_environment
    (
        cd "$WORK"
        exec env -u REDIS_URL "${APP_ENVIRONMENT[@]}" THROTTLE_USER=None THROTTLE_ANON=None THROTTLE_LOGIN_IP=None \
            THROTTLE_LOGIN_FAILURES=None ACCESS_TOKEN_LIFETIME_MINUTES=120 DATABASE_POOL_SIZE=16 "${SERVER_ENV[@]}" \
            "$PLATAFORMA_BIN" serve --hostname 127.0.0.1 --port "$APP_PORT"
    ) >"$WORK/serve-$records.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            return 1
        fi
        if curl -fs -o /dev/null "http://127.0.0.1:$APP_PORT/healthz"; then
            READY_S[$records]=$(calc "$(date +%s.%N) - $started")
            log "serve (pid $SERVER_PID) ready on 127.0.0.1:$APP_PORT in ${READY_S[$records]} s"
            return 0
        fi
        sleep 0.05
    done
    stop_server
    return 1
}

get_token() {
    local body
    body=$(curl -s --max-time 10 -X POST -H 'Content-Type: application/json' \
        -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" "http://127.0.0.1:$APP_PORT/api/token/")
    TOKEN=$(jq -r '.access // empty' <<<"$body" 2>/dev/null || true)
    [ -n "$TOKEN" ] || die "POST /api/token/ gave no access token: $body"
}

# One request with curl before measuring: 200, JSON, and the same totals as a plain SUM.
check_response() {
    local records=$1 status app_total sum_total
    status=$(curl -s --max-time 10 -o "$WORK/metricas-$records.json" -w '%{http_code}' \
        -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$APP_PORT/api/metricas/")
    if [ "$status" != 200 ] || ! jq -e 'has("horas_totales")' "$WORK/metricas-$records.json" >/dev/null 2>&1; then
        log "GET /api/metricas/ answered $status: $(head -c 500 "$WORK/metricas-$records.json")"
        die "the endpoint does not answer 200 with horas_totales"
    fi
    app_total=$(jq -r '.horas_totales' "$WORK/metricas-$records.json")
    sum_total=$(psql_q -d "$DB" -Atc "SELECT COALESCE(SUM(horas), 0) / 100.0 FROM registro_horas WHERE estado = 'aprobado'")
    if awk -v a="$app_total" -v b="$sum_total" 'BEGIN { d = a - b; exit !(d > 0.005 || d < -0.005) }'; then
        FAILURES+=("$records records: horas_totales $app_total differs from SUM over registro_horas $sum_total")
    fi
    log "GET /api/metricas/ -> 200, horas_totales $app_total (plain SUM: $sum_total)"
}

# The SQL one request runs, as PostgreSQL saw it (normalized by pg_stat_statements).
capture_sql() {
    local records=$1 pass=$2
    # One answer first, so that the cached pass shows a cached answer's statements.
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$APP_PORT/api/metricas/"
    psql_q -d "$DB" -Atc "SELECT pg_stat_statements_reset()" >/dev/null
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$APP_PORT/api/metricas/"
    psql_q -d "$DB" -At -F ' | ' -c "SELECT calls, regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query !~* 'pg_stat_statements' ORDER BY query" >"$WORK/sql-$records-$pass.txt"
    SQL_COUNT[$records/$pass]=$(awk -F' [|] ' '{ n += $1 } END { print n + 0 }' "$WORK/sql-$records-$pass.txt")
    log "one request ran ${SQL_COUNT[$records/$pass]} statements (calls | query):"
    sed 's/^/      /' "$WORK/sql-$records-$pass.txt" >&2
}

# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
# wrk -t$THREADS -c$1 -d$2s: sets WRK_RPS, WRK_P50, WRK_P99 (ms); fails on errors or non-2xx.
run_wrk() {
    local connections=$1 seconds=$2 out="$WORK/wrk-$3.txt" threads=$THREADS
    [ "$connections" -ge "$threads" ] || threads=$connections   # wrk wants connections >= threads
    timeout $((seconds + 60)) wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 5s --latency \
        -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$APP_PORT/api/metricas/" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed"; }
    WRK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    WRK_P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    WRK_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    WRK_REQS=$(awk '/requests in/ { print $1 }' "$out")
    # Errors make the figures meaningless: report them precisely and stop.
    if grep -qE 'Non-2xx|Socket errors' "$out"; then
        cat "$out" >&2
        tail -20 "$WORK/serve-"*.log >&2 || true
        die "wrk saw errors at $connections connections (see above)"
    fi
    [ -n "$WRK_RPS" ] && [ -n "$WRK_P99" ] || { cat "$out" >&2; die "could not parse wrk output"; }
}

# pgbench -n -M extended (the app's protocol: parse/bind/execute per query): sets PGB_TPS, PGB_LAT.
run_pgbench() {
    local file=$1 clients=$2 out="$WORK/pgbench-$3.txt"
    timeout $((DURATION + 60)) pgbench -n -M extended -h 127.0.0.1 -p "$PG_PORT" -U postgres \
        -f "$file" -c "$clients" -j "$THREADS" -T "$DURATION" "$DB" >"$out" 2>&1 \
        || { cat "$out" >&2; die "pgbench failed"; }
    PGB_TPS=$(awk '/^tps = / { printf "%.0f", $3 }' "$out")
    PGB_LAT=$(awk '/^latency average = / { print $4 }' "$out")
    if grep -qE 'number of failed transactions: [1-9]' "$out"; then cat "$out" >&2; die "pgbench saw failures"; fi
}

# The endpoint's SQL, values inlined; capture_sql shows what the server actually sent, to compare.
# `cached`: what an answer from the cache runs, AuthenticationMiddleware's account lookup alone (it
# reads the snapshot too); `computed`: that plus MetricasQuery.compute, unfiltered (counters, one
# grouped pass, top 10).
write_endpoint_sql() {
    local file=$1 kind=$2 admin_id
    admin_id=$(psql_q -d "$DB" -Atc "SELECT id FROM usuarios WHERE email = '$ADMIN_EMAIL'")
    {
        # The account lookup, which on PostgreSQL also reads the snapshot (the cache's validator).
        echo "SELECT *, CAST(pg_current_snapshot() AS TEXT) AS plataforma_snapshot FROM usuarios WHERE id = $admin_id;"
        if [ "$kind" = computed ]; then
            cat <<SQL
SELECT clave, valor FROM metricas_contadores;
SELECT m.estado AS estado, m.mes AS mes, CAST(SUM(m.horas) AS BIGINT) AS horas, CAST(SUM(m.registros) AS BIGINT) AS registros FROM metricas_mes m WHERE 1 = 1 GROUP BY m.estado, m.mes ORDER BY mes;
SELECT t.proyecto AS proyecto, p.nombre AS nombre, t.horas AS horas FROM ( SELECT m.proyecto_id AS proyecto, CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m WHERE 1 = 1 AND m.estado = 'aprobado' GROUP BY m.proyecto_id HAVING SUM(m.registros) > 0 ORDER BY horas DESC, proyecto LIMIT 10 ) t JOIN proyectos p ON p.id = t.proyecto ORDER BY t.horas DESC, t.proyecto;
SQL
        fi
    } >"$file"
}

SUM_SQL="SELECT estado, SUM(horas) FROM registro_horas GROUP BY estado"

# Single-query latency of the plain SUM: psql \timing, one warm-up then the median of 5.
time_sum_query() {
    local records=$1 args=(-c '\timing on') i
    for i in 1 2 3 4 5 6; do args+=(-c "$SUM_SQL"); done
    psql_q -d "$DB" "${args[@]}" >"$WORK/sum-timing-$records.txt"
    SUM_MS[$records]=$(awk '/^Time: / { print $2 }' "$WORK/sum-timing-$records.txt" | tail -n 5 | median)
    SUM_MS[$records]=$(calc "${SUM_MS[$records]}")
}

# Database time per request during the 64-connection run (pg_stat_statements total / requests).
db_ms_per_request() {
    psql_q -d "$DB" -Atc "SELECT COALESCE(SUM(total_exec_time), 0) FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query !~* 'pg_stat_statements'"
}

# Answers by origin so far (plataforma_metricas_cache_total on /metrics):
# "memoria calculado sin_cache compartido".
cache_counts() {
    curl -s --max-time 10 "http://127.0.0.1:$APP_PORT/metrics" | awk '
        /^plataforma_metricas_cache_total\{resultado="memoria"\}/ { m = $2 }
        /^plataforma_metricas_cache_total\{resultado="calculado"\}/ { c = $2 }
        /^plataforma_metricas_cache_total\{resultado="sin_cache"\}/ { s = $2 }
        /^plataforma_metricas_cache_total\{resultado="compartido"\}/ { w = $2 }
        END { printf "%d %d %d %d\n", m, c, s, w }'
}

# One configuration of the server, measured: 1c, 16c, 64c. Sets the arrays under key "$records/$pass".
measure_pass() {
    local records=$1 pass=$2 key="$1/$2" label="$1-$2" before after
    log "--- $records records, $pass answers ---"
    start_server "$records"
    get_token
    check_response "$records"
    capture_sql "$records" "$pass"

    log "warm-up ${WARMUP}s"
    run_wrk 16 "$WARMUP" "warmup-$label"
    run_wrk 1 5 "c1-$label"
    P50_C1[$key]=$WRK_P50
    log "wrk  1c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms"
    before=$(cache_counts)
    run_wrk 16 "$DURATION" "c16-$label"
    after=$(cache_counts)
    RPS16[$key]=$WRK_RPS P50_16[$key]=$WRK_P50 P99_16[$key]=$WRK_P99
    # How the 16c answers were made: from memory, computed (cache miss), or computed with no cache.
    ORIGIN16[$key]=$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ");
        printf "memoria %d, calculado %d, compartido %d, sin_cache %d", y[1] - x[1], y[2] - x[2], y[4] - x[4], y[3] - x[3] }')
    log "wrk 16c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms (answers: ${ORIGIN16[$key]})"
    psql_q -d "$DB" -Atc "SELECT pg_stat_statements_reset()" >/dev/null
    run_wrk 64 "$DURATION" "c64-$label"
    RPS64[$key]=$WRK_RPS P50_64[$key]=$WRK_P50 P99_64[$key]=$WRK_P99
    DBMS[$key]=$(calc "$(db_ms_per_request) / $WRK_REQS")
    log "wrk 64c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms; database time ${DBMS[$key]} ms/request"
    # Resident memory right after the heaviest run (VmHWM: the peak over the process's life).
    RSS_MB[$key]=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    HWM_MB[$key]=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    log "serve RSS ${RSS_MB[$key]} MB (peak ${HWM_MB[$key]} MB)"
    # LOG_LEVEL=warning: anything the server logged while measured is worth reading.
    SERVE_LINES[$key]=$(grep -c . "$WORK/serve-$records.log" || true)
    if [ "${SERVE_LINES[$key]}" -gt 0 ]; then
        log "WARNING: serve logged ${SERVE_LINES[$key]} lines during the runs; the first ones:"
        grep . "$WORK/serve-$records.log" | head -5 | cut -c1-400 | sed 's/^/      /' >&2
    fi
    stop_server
    local stopped
    stopped=$(grep -c . "$WORK/serve-$records.log" || true)
    [ "$stopped" -eq "${SERVE_LINES[$key]}" ] ||
        log "note: serve logged $((stopped - SERVE_LINES[$key])) lines while stopping (SIGTERM), e.g.:" \
            "$(grep . "$WORK/serve-$records.log" | sed -n "$((SERVE_LINES[$key] + 1))p" | cut -c1-300)"
}

# The default configuration while hour records are written: pgbench updates one random record
# WRITES_PER_S times a second (each a transaction through the triggers, moving the snapshot) during
# the 16c run, so answers keep being recomputed. Reported, not a pass/fail figure.
measure_with_writes() {
    local records=$1 key="$1/writes" before after max_id
    log "--- $records records, cached answers with $WRITES_PER_S writes/s ---"
    start_server "$records"
    get_token
    max_id=$(psql_q -d "$DB" -Atc "SELECT MAX(id) FROM registro_horas")
    printf '\\set id random(1, %s)\nUPDATE registro_horas SET horas = horas WHERE id = :id;\n' "$max_id" >"$WORK/write.sql"
    run_wrk 16 "$WARMUP" "warmup-$records-writes"
    before=$(cache_counts)
    timeout $((DURATION + 60)) pgbench -n -M extended -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$WORK/write.sql" \
        -c 1 -R "$WRITES_PER_S" -T "$DURATION" "$DB" >"$WORK/pgbench-writes-$records.txt" 2>&1 &
    local writer=$!
    run_wrk 16 "$DURATION" "c16-$records-writes"
    wait "$writer" || { cat "$WORK/pgbench-writes-$records.txt" >&2; die "the writer failed"; }
    after=$(cache_counts)
    RPS16[$key]=$WRK_RPS P50_16[$key]=$WRK_P50 P99_16[$key]=$WRK_P99
    WRITES[$records]=$(awk -F': ' '/actually processed/ { split($2, n, "/"); print n[1] }' "$WORK/pgbench-writes-$records.txt")
    ORIGIN16[$key]=$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " "); split(a, y, " ");
        printf "memoria %d, calculado %d, compartido %d", y[1] - x[1], y[2] - x[2], y[4] - x[4] }')
    log "wrk 16c with ${WRITES[$records]} writes: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms (answers: ${ORIGIN16[$key]})"
    stop_server
}

bench_size() {
    local records=$1
    log "=== $records hour records ==="
    prepare_database "$records"
    # The default configuration: answers come from the cache while nothing is written.
    SERVER_ENV=()
    measure_pass "$records" cached
    # Every answer computed from the aggregates: what a request costs right after a write.
    SERVER_ENV=(METRICAS_CACHE=false)
    measure_pass "$records" computed
    SERVER_ENV=()
    [ "$WRITES_PER_S" -gt 0 ] && measure_with_writes "$records"

    # The baselines run with the server stopped, so that they get the same machine the app had.
    time_sum_query "$records"
    log "plain SUM, single query: ${SUM_MS[$records]} ms (median of 5)"
    printf '%s;\n' "$SUM_SQL" >"$WORK/sum.sql"
    run_pgbench "$WORK/sum.sql" 16 "sum-$records"
    SUM_TPS[$records]=$PGB_TPS SUM_LAT[$records]=$PGB_LAT
    log "plain SUM, pgbench 16 clients: $PGB_TPS tps, latency average $PGB_LAT ms"
    local kind
    for kind in cached computed; do
        write_endpoint_sql "$WORK/endpoint-$kind.sql" "$kind"
        run_pgbench "$WORK/endpoint-$kind.sql" 64 "endpoint-$kind-$records"
        FLOOR_TPS[$records/$kind]=$PGB_TPS
        log "endpoint SQL ($kind answer, with the account lookup), pgbench 64 clients: $PGB_TPS tps (latency average $PGB_LAT ms)"
    done

    psql_q -d postgres -c "DROP DATABASE $DB"
}

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
summary() {
    local r first last ratio pass key verdict
    read -r first _ <<<"$SIZES"
    last=${SIZES##* }
    echo
    echo "=== GET /api/metricas/ — release build, PostgreSQL 15, wrk -t$THREADS -d${DURATION}s, no Redis ==="
    echo "binary: $PLATAFORMA_BIN"
    echo "data: $MENTORES mentors, $PROYECTOS projects; load before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
    echo "passes: cached = the default configuration (answers kept under the PostgreSQL snapshot while nothing"
    echo "        is written); computed = METRICAS_CACHE=false (every answer computed from the aggregates)"
    echo
    printf '%-9s %-8s | %-26s | %-26s | %6s | %8s | %10s | %8s | %7s\n' \
        "" "" "wrk 16c" "wrk 64c" "RSS" "DB" "floor 64c" "SUM" "SUM 16c"
    printf '%-9s %-8s | %8s %8s %8s | %8s %8s %8s | %6s | %8s | %10s | %8s | %7s\n' \
        records pass req/s p50 p99 req/s p50 p99 MB "ms/req" tps "1q ms" tps
    for r in $SIZES; do
        for pass in cached computed; do
            key="$r/$pass"
            printf '%-9s %-8s | %8s %8s %8s | %8s %8s %8s | %6s | %8s | %10s | %8s | %7s\n' \
                "$r" "$pass" "${RPS16[$key]}" "${P50_16[$key]}" "${P99_16[$key]}" "${RPS64[$key]}" "${P50_64[$key]}" "${P99_64[$key]}" \
                "${RSS_MB[$key]}" "${DBMS[$key]}" "${FLOOR_TPS[$key]}" "${SUM_MS[$r]}" "${SUM_TPS[$r]}"
        done
    done
    if [ "$WRITES_PER_S" -gt 0 ]; then
        for r in $SIZES; do
            printf '%-9s %-8s | %8s %8s %8s | %s\n' "$r" writes "${RPS16[$r/writes]}" "${P50_16[$r/writes]}" "${P99_16[$r/writes]}" \
                "cached, with ${WRITES[$r]} hour-record updates during the 16c run (answers: ${ORIGIN16[$r/writes]})"
        done
    fi
    echo "(latencies in ms; SUM 1q = '$SUM_SQL', median of 5 single runs; SUM 16c = same under pgbench -c 16;"
    echo " floor = the statements one answer of that pass runs, account lookup included, under pgbench -c 64;"
    echo " DB ms/req = pg_stat_statements time during the 64c run / requests)"
    echo
    for r in $SIZES; do
        echo "$r records: seed ${SEED_S[$r]} s; serve ready in ${READY_S[$r]} s; SUM pgbench 16c latency average ${SUM_LAT[$r]} ms"
        for pass in cached computed; do
            key="$r/$pass"
            echo "  $pass: statements per request ${SQL_COUNT[$key]}; 1c p50 ${P50_C1[$key]} ms; 16c answers: ${ORIGIN16[$key]};" \
                "peak RSS ${HWM_MB[$key]} MB; server log lines while measured: ${SERVE_LINES[$key]}"
        done
    done
    echo
    for pass in cached computed; do
        ratio=$(calc "${RPS64[$last/$pass]} / ${RPS64[$first/$pass]}")
        verdict=ok
        awk -v x="$ratio" -v lo="$RATIO_MIN" -v hi="$RATIO_MAX" 'BEGIN { exit !(x >= lo && x <= hi) }' || {
            verdict=FAIL; FAILURES+=("$pass: 64c throughput ratio $last/$first = $ratio, outside $RATIO_MIN–$RATIO_MAX"); }
        echo "$pass: throughput at 64c, $last / $first records: $ratio  (goal $RATIO_MIN–$RATIO_MAX) $verdict"
    done
    for r in $SIZES; do
        # The goal is for the server as configured by default; the computed pass is reported beside it.
        verdict=ok
        awk -v x="${P99_16[$r/cached]}" -v g="$P99_GOAL_MS" 'BEGIN { exit !(x <= g) }' || {
            verdict=FAIL; FAILURES+=("$r records: p99 at 16c = ${P99_16[$r/cached]} ms > $P99_GOAL_MS ms"); }
        echo "$r records: p99 at 16c ${P99_16[$r/cached]} ms vs goal ≤ $P99_GOAL_MS ms: $verdict" \
            "(computed on every request: ${P99_16[$r/computed]} ms)"
    done
    for r in $SIZES; do
        for pass in cached computed; do
            key="$r/$pass"
            local floor tail
            floor=$(calc "${RPS64[$key]} / ${FLOOR_TPS[$key]}")
            tail=$(calc "${P99_64[$key]} / ${P50_64[$key]}")
            echo "$r records, $pass: req/s at 64c / pgbench floor = $floor (§9 wants ≥ 0.5)" \
                "$(awk -v x="$floor" 'BEGIN { print (x >= 0.5 ? "ok" : "BELOW") }');" \
                "p99/p50 at 64c = $tail (§9 wants ≤ 4) $(awk -v x="$tail" 'BEGIN { print (x <= 4 ? "ok" : "ABOVE") }');" \
                "RSS ${RSS_MB[$key]} MB (§9 ≤ 150) $(awk -v x="${RSS_MB[$key]}" 'BEGIN { print (x <= 150 ? "ok" : "ABOVE") }')"
        done
        echo "$r records: plain SUM single query ${SUM_MS[$r]} ms = $(calc3 "${SUM_MS[$r]} / ${P50_C1[$r/computed]}")× a computed" \
            "answer's p50 at 1c (${P50_C1[$r/computed]} ms), $(calc3 "${SUM_MS[$r]} / ${P50_C1[$r/cached]}")× a cached one's (${P50_C1[$r/cached]} ms)"
    done
}

main() {
    declare -gA SEED_S READY_S SQL_COUNT P50_C1 RPS16 P50_16 P99_16 RPS64 P50_64 P99_64 DBMS RSS_MB HWM_MB \
        SUM_MS SUM_TPS SUM_LAT FLOOR_TPS SERVE_LINES ORIGIN16 WRITES
    SERVER_ENV=()
    FAILURES=()
    local started
    started=$(date +%s)
    preflight
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    # wrk, the server and PostgreSQL share the cores: other work on the machine skews every figure.
    awk -v l="${LOAD_BEFORE%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }' &&
        log "WARNING: load average $LOAD_BEFORE on $(nproc) cores: the machine is busy, figures will be noisy"
    WORK=$(mktemp -d /tmp/bench-metricas.XXXXXX)
    chmod 755 "$WORK"   # the postgres user must reach its data directory inside
    mkdir -p "$WORK/data"
    start_cluster
    local records
    for records in $SIZES; do bench_size "$records"; done
    summary
    echo "wall time: $(( $(date +%s) - started )) s"
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        echo
        printf 'FAILED: %s\n' "${FAILURES[@]}"
        exit 1
    fi
    echo "PASSED"
}

main "$@"
