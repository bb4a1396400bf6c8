#!/usr/bin/env bash
# SPEC §9 benchmark of GET /api/metricas/ (a benchmark, not a test).
#
# For each data size (10,000 and 1,000,000 hour records by default) it seeds a fresh PostgreSQL
# database with `plataforma seed-demo`, starts a release `plataforma serve`, and measures the
# endpoint with wrk at 16 and 64 connections. In the same run, on the same data, it measures the
# baselines: a plain `SUM` over registro_horas (single query and pgbench at 16 clients) and the
# endpoint's own SQL under pgbench at 64 clients (§9's floor).
#
# Pass/fail (exit status 1 when any fails):
#   - p99 at 16 connections <= 10 ms at every size;
#   - req/s at 64 connections at the largest size / at the smallest within 0.80–1.25
#     (métricas must not get slower as the hour table grows: it reads aggregates, not the records);
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
    # No REDIS_URL: every request goes to the database (the harder path). No throttles: they would
    # answer 429 to wrk. A pool of 16 connections, as many as the 16-connection run needs.
    # `exec` makes $! the server itself, not a subshell.
    app_environment
    (
        cd "$WORK"
        exec env -u REDIS_URL "${APP_ENVIRONMENT[@]}" THROTTLE_USER=None THROTTLE_ANON=None THROTTLE_LOGIN_IP=None \
            THROTTLE_LOGIN_FAILURES=None ACCESS_TOKEN_LIFETIME_MINUTES=120 DATABASE_POOL_SIZE=16 \
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
    local records=$1
    psql_q -d "$DB" -Atc "SELECT pg_stat_statements_reset()" >/dev/null
    curl -s --max-time 10 -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$APP_PORT/api/metricas/"
    psql_q -d "$DB" -At -F ' | ' -c "SELECT calls, regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query !~* 'pg_stat_statements' ORDER BY query" >"$WORK/sql-$records.txt"
    SQL_COUNT[$records]=$(awk -F' [|] ' '{ n += $1 } END { print n + 0 }' "$WORK/sql-$records.txt")
    log "one request ran ${SQL_COUNT[$records]} statements (calls | query):"
    sed 's/^/      /' "$WORK/sql-$records.txt" >&2
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

# The endpoint's SQL (MetricasQuery.compute, unfiltered path), values inlined; capture_sql shows
# what the server actually sent, to compare. $1 adds the per-request account lookup of
# AuthenticationMiddleware (Usuario.find), which the endpoint also pays for.
write_endpoint_sql() {
    local file=$1 with_auth=$2 month admin_id
    month=$(date -u +%Y-%m)   # TIME_ZONE defaults to UTC
    {
        if [ "$with_auth" = 1 ]; then
            admin_id=$(psql_q -d "$DB" -Atc "SELECT id FROM usuarios WHERE email = '$ADMIN_EMAIL'")
            echo "SELECT * FROM usuarios WHERE id = $admin_id LIMIT 1;"
        fi
        cat <<SQL
SELECT (SELECT COUNT(*) FROM proyectos WHERE estado = 'activo') AS proyectos, (SELECT COUNT(*) FROM mentores) AS mentores, (SELECT COUNT(*) FROM mentores WHERE activo = true) AS activos;
SELECT m.estado AS estado, CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m WHERE 1 = 1 GROUP BY m.estado;
SELECT m.mes AS mes, CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m WHERE 1 = 1 AND m.estado = 'aprobado' GROUP BY m.mes HAVING SUM(m.registros) > 0 ORDER BY mes;
SELECT m.proyecto_id AS proyecto, p.nombre AS nombre, CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m JOIN proyectos p ON p.id = m.proyecto_id WHERE 1 = 1 AND m.estado = 'aprobado' GROUP BY m.proyecto_id, p.nombre HAVING SUM(m.registros) > 0 ORDER BY horas DESC, proyecto LIMIT 10;
SELECT CAST(SUM(m.horas) AS BIGINT) AS horas FROM metricas_mes m WHERE m.estado = 'aprobado' AND m.mes = '$month';
SQL
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

bench_size() {
    local records=$1
    log "=== $records hour records ==="
    prepare_database "$records"
    start_server "$records"
    get_token
    check_response "$records"
    capture_sql "$records"

    log "warm-up ${WARMUP}s"
    run_wrk 16 "$WARMUP" "warmup-$records"
    run_wrk 1 5 "c1-$records"
    P50_C1[$records]=$WRK_P50
    log "wrk  1c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms"
    run_wrk 16 "$DURATION" "c16-$records"
    RPS16[$records]=$WRK_RPS P50_16[$records]=$WRK_P50 P99_16[$records]=$WRK_P99
    log "wrk 16c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms"
    psql_q -d "$DB" -Atc "SELECT pg_stat_statements_reset()" >/dev/null
    run_wrk 64 "$DURATION" "c64-$records"
    RPS64[$records]=$WRK_RPS P50_64[$records]=$WRK_P50 P99_64[$records]=$WRK_P99
    DBMS[$records]=$(calc "$(db_ms_per_request) / $WRK_REQS")
    log "wrk 64c: $WRK_RPS req/s, p50 $WRK_P50 ms, p99 $WRK_P99 ms; database time ${DBMS[$records]} ms/request"
    # Resident memory right after the heaviest run (VmHWM: the peak over the process's life).
    RSS_MB[$records]=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    HWM_MB[$records]=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    log "serve RSS ${RSS_MB[$records]} MB (peak ${HWM_MB[$records]} MB)"
    # LOG_LEVEL=warning: anything the server logged while measured is worth reading.
    SERVE_LINES[$records]=$(grep -c . "$WORK/serve-$records.log" || true)
    if [ "${SERVE_LINES[$records]}" -gt 0 ]; then
        log "WARNING: serve logged ${SERVE_LINES[$records]} lines during the runs; the first ones:"
        grep . "$WORK/serve-$records.log" | head -5 | cut -c1-400 | sed 's/^/      /' >&2
    fi
    # The baselines run with the server stopped, so that they get the same machine the app had.
    stop_server
    local after
    after=$(grep -c . "$WORK/serve-$records.log" || true)
    [ "$after" -eq "${SERVE_LINES[$records]}" ] ||
        log "note: serve logged $((after - SERVE_LINES[$records])) lines while stopping (SIGTERM), e.g.:" \
            "$(grep . "$WORK/serve-$records.log" | sed -n "$((SERVE_LINES[$records] + 1))p" | cut -c1-300)"

    time_sum_query "$records"
    log "plain SUM, single query: ${SUM_MS[$records]} ms (median of 5)"
    printf '%s;\n' "$SUM_SQL" >"$WORK/sum.sql"
    run_pgbench "$WORK/sum.sql" 16 "sum-$records"
    SUM_TPS[$records]=$PGB_TPS SUM_LAT[$records]=$PGB_LAT
    log "plain SUM, pgbench 16 clients: $PGB_TPS tps, latency average $PGB_LAT ms"
    write_endpoint_sql "$WORK/endpoint.sql" 0
    run_pgbench "$WORK/endpoint.sql" 64 "endpoint-$records"
    FLOOR_TPS[$records]=$PGB_TPS
    log "endpoint SQL, pgbench 64 clients: $PGB_TPS tps (latency average $PGB_LAT ms)"
    write_endpoint_sql "$WORK/endpoint-auth.sql" 1
    run_pgbench "$WORK/endpoint-auth.sql" 64 "endpoint-auth-$records"
    FLOOR_AUTH_TPS[$records]=$PGB_TPS
    log "endpoint SQL + account lookup, pgbench 64 clients: $PGB_TPS tps (latency average $PGB_LAT ms)"

    psql_q -d postgres -c "DROP DATABASE $DB"
}

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
summary() {
    local r first last ratio
    read -r first _ <<<"$SIZES"
    last=${SIZES##* }
    echo
    echo "=== GET /api/metricas/ — release build, PostgreSQL 15, wrk -t$THREADS -d${DURATION}s, no Redis ==="
    echo "binary: $PLATAFORMA_BIN"
    echo "data: $MENTORES mentors, $PROYECTOS projects; load before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
    echo
    printf '%-9s | %-26s | %-26s | %6s | %8s | %7s | %8s | %10s %10s\n' \
        "" "wrk 16c" "wrk 64c" "RSS" "SUM" "SUM 16c" "DB" "floor 64c" "floor+auth"
    printf '%-9s | %8s %8s %8s | %8s %8s %8s | %6s | %8s | %7s | %8s | %10s %10s\n' \
        records req/s p50 p99 req/s p50 p99 MB "1q ms" tps "ms/req" tps tps
    for r in $SIZES; do
        printf '%-9s | %8s %8s %8s | %8s %8s %8s | %6s | %8s | %7s | %8s | %10s %10s\n' \
            "$r" "${RPS16[$r]}" "${P50_16[$r]}" "${P99_16[$r]}" "${RPS64[$r]}" "${P50_64[$r]}" "${P99_64[$r]}" \
            "${RSS_MB[$r]}" "${SUM_MS[$r]}" "${SUM_TPS[$r]}" "${DBMS[$r]}" "${FLOOR_TPS[$r]}" "${FLOOR_AUTH_TPS[$r]}"
    done
    echo "(latencies in ms; SUM 1q = '$SUM_SQL', median of 5 single runs; SUM 16c = same under pgbench -c 16,"
    echo " latency average shown below; floor = the endpoint's 5 queries under pgbench -c 64; floor+auth adds"
    echo " the per-request account lookup; DB ms/req = pg_stat_statements time during the 64c run / requests)"
    echo
    for r in $SIZES; do
        echo "$r records: seed ${SEED_S[$r]} s; serve ready in ${READY_S[$r]} s; statements per request ${SQL_COUNT[$r]};" \
            "métricas 1c p50 ${P50_C1[$r]} ms; SUM pgbench 16c latency average ${SUM_LAT[$r]} ms; peak RSS ${HWM_MB[$r]} MB;" \
            "server log lines while measured: ${SERVE_LINES[$r]}"
    done
    echo
    ratio=$(calc "${RPS64[$last]} / ${RPS64[$first]}")
    local verdict=ok
    awk -v x="$ratio" -v lo="$RATIO_MIN" -v hi="$RATIO_MAX" 'BEGIN { exit !(x >= lo && x <= hi) }' || {
        verdict=FAIL; FAILURES+=("64c throughput ratio $last/$first = $ratio, outside $RATIO_MIN–$RATIO_MAX"); }
    echo "throughput at 64c, $last / $first records: $ratio  (goal $RATIO_MIN–$RATIO_MAX) $verdict"
    for r in $SIZES; do
        verdict=ok
        awk -v x="${P99_16[$r]}" -v g="$P99_GOAL_MS" 'BEGIN { exit !(x <= g) }' || {
            verdict=FAIL; FAILURES+=("$r records: p99 at 16c = ${P99_16[$r]} ms > $P99_GOAL_MS ms"); }
        echo "$r records: p99 at 16c ${P99_16[$r]} ms vs goal ≤ $P99_GOAL_MS ms: $verdict"
    done
    for r in $SIZES; do
        local floor floor_auth tail sum_ratio sum_ratio_c1
        floor=$(calc "${RPS64[$r]} / ${FLOOR_TPS[$r]}")
        floor_auth=$(calc "${RPS64[$r]} / ${FLOOR_AUTH_TPS[$r]}")
        tail=$(calc "${P99_64[$r]} / ${P50_64[$r]}")
        sum_ratio=$(calc3 "${SUM_MS[$r]} / ${P50_16[$r]}")
        sum_ratio_c1=$(calc3 "${SUM_MS[$r]} / ${P50_C1[$r]}")
        echo "$r records: endpoint req/s at 64c / pgbench floor = $floor (with auth lookup: $floor_auth; §9 wants ≥ 0.5)" \
            "$(awk -v x="$floor" 'BEGIN { print (x >= 0.5 ? "ok" : "BELOW") }')"
        echo "$r records: p99/p50 at 64c = $tail (§9 wants ≤ 4) $(awk -v x="$tail" 'BEGIN { print (x <= 4 ? "ok" : "ABOVE") }');" \
            "RSS ${RSS_MB[$r]} MB (§9 ≤ 150) $(awk -v x="${RSS_MB[$r]}" 'BEGIN { print (x <= 150 ? "ok" : "ABOVE") }')"
        echo "$r records: plain SUM single query ${SUM_MS[$r]} ms = ${sum_ratio}× métricas p50 at 16c (${P50_16[$r]} ms)," \
            "${sum_ratio_c1}× métricas p50 at 1c (${P50_C1[$r]} ms)"
    done
}

main() {
    declare -gA SEED_S READY_S SQL_COUNT P50_C1 RPS16 P50_16 P99_16 RPS64 P50_64 P99_64 DBMS RSS_MB HWM_MB \
        SUM_MS SUM_TPS SUM_LAT FLOOR_TPS FLOOR_AUTH_TPS SERVE_LINES
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
