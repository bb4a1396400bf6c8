#!/usr/bin/env bash
# SPEC §9: ours against the original, on the same PostgreSQL 15, the same data sizes and the same
# machine, in one run. Writes docs/PERFORMANCE.md (a benchmark, not a test; README, "Benchmarks").
#
#  1. builds our release binary (unless PLATAFORMA_BIN names one);
#  2. starts a PostgreSQL 15 cluster kept in $BENCH_DIR between runs, and seeds two databases when
#     their sizes differ from the ones asked for: ours with `plataforma seed-demo`, the original's
#     (../shared/original-django, Django 4.2 + DRF + SimpleJWT) with its `seed_demo` (~5 minutes);
#  3. starts both: `plataforma serve` (default settings but throttles off, which would answer 429
#     to wrk) and the original under gunicorn with 5 sync workers;
#  4. runs wrk at 1, 16 and 64 connections on each endpoint, on both servers;
#  5. measures the floors: each endpoint's own SQL (what PostgreSQL logged for one request of ours)
#     under pgbench -f -M prepared at 64 clients (prepared, as ours runs its repeated statements), and /healthz (the framework's floor, and what the request log
#     costs: LOG_LEVEL=info against LOG_LEVEL=error);
#  6. writes the table: req/s, p50, p99, the ratio to the original and to the floor, peak RSS.
#
# Knobs (environment): BENCH_DIR (/tmp/plataforma-bench), BENCH_MENTORES (10000),
# BENCH_PROYECTOS (1000), BENCH_REGISTROS (1000000), BENCH_DURATION (15 s per wrk run),
# BENCH_CONNECTIONS ("1 16 64"), BENCH_ENDPOINTS (all: list detail grupos post metricas agenda),
# BENCH_OUT (docs/PERFORMANCE.md), PLATAFORMA_BIN, ORIGINAL_DIR, PG_BIN.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORIGINAL_DIR=${ORIGINAL_DIR:-$(cd "$REPO_DIR/../shared/original-django" 2>/dev/null && pwd || true)}
BENCH_DIR=${BENCH_DIR:-/tmp/plataforma-bench}
MENTORES=${BENCH_MENTORES:-10000}
PROYECTOS=${BENCH_PROYECTOS:-1000}
REGISTROS=${BENCH_REGISTROS:-1000000}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-"1 16 64"}
ENDPOINTS=${BENCH_ENDPOINTS:-"list detail grupos post metricas agenda"}
FLOOR_CLIENTS=64
THREADS=2
OUT=${BENCH_OUT:-$REPO_DIR/docs/PERFORMANCE.md}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SECRET="bench-secret-key-0f3c1a7e5d2b8046c1e9a3f7b5d0c2e4a8f6b1d3c5e7a9f0b2d4c6e8a1f3b5d7"
ADMIN_EMAIL=bench@example.com
ADMIN_PASSWORD='Bench-Admin-2026'
SIZES="$MENTORES/$PROYECTOS/$REGISTROS"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "cd / && $(printf '%q ' "$@")"; else "$@"; fi; }
free_port() {
    local port=$1
    while [ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]; do port=$((port + 1)); done
    echo "$port"
}
to_ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.2f", n }'
}
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "–"; else { r = a / b; printf (r >= 100 ? "%.0f" : (r >= 10 ? "%.1f" : "%.2f")), r } }'; }
psql_q() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# ---- everything started here is stopped by this trap ------------------------------------------
WORK="" OURS_PID="" ORIGINAL_PID="" PG_STARTED=""
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local status=$?
    set +e
    stop_pid "$OURS_PID"
    stop_pid "$ORIGINAL_PID"
    [ -n "$PG_STARTED" ] && as_postgres "$PG_BIN/pg_ctl" -D "$BENCH_DIR/pg" -m fast -w -t 60 stop >/dev/null 2>&1
    if [ -n "$WORK" ]; then
        if [ "${BENCH_KEEP:-0}" = 1 ]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. preflight and build ----------------------------------------------------------------------
for tool in wrk pgbench psql curl jq ss python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install wrk postgresql-client jq curl iproute2 python3-venv)"
done
[ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in $PG_BIN"
[ -f "$ORIGINAL_DIR/manage.py" ] || die "the original is not at ORIGINAL_DIR=$ORIGINAL_DIR"
if [ -z "${PLATAFORMA_BIN:-}" ]; then
    log "swift build -c release --product plataforma"
    (cd "$REPO_DIR" && swift build -c release --product plataforma >&2)
    PLATAFORMA_BIN="$(cd "$REPO_DIR" && swift build -c release --show-bin-path)/plataforma"
fi
[ -x "$PLATAFORMA_BIN" ] || die "no executable at PLATAFORMA_BIN=$PLATAFORMA_BIN"
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d /tmp/plataforma-bench-run.XXXXXXXX)
chmod 755 "$WORK"
COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO_DIR" status --porcelain 2>/dev/null | grep -qv '^??' && echo " (with uncommitted changes)" || true)

# ---- 2. the cluster (kept between runs) and the two databases -----------------------------------
if [ ! -f "$BENCH_DIR/pg/PG_VERSION" ]; then
    mkdir -p "$BENCH_DIR/pg" && chmod 700 "$BENCH_DIR/pg"
    [ "$(id -u)" = 0 ] && chown postgres: "$BENCH_DIR" "$BENCH_DIR/pg"
    as_postgres "$PG_BIN/initdb" -D "$BENCH_DIR/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
        || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
fi
PG_PORT=$(free_port 57432)
# shared_buffers as the original's own benchmark had it; logging_collector off: the server log is
# where one request's SQL is read back (the floors), through log_statement switched on for it.
as_postgres "$PG_BIN/pg_ctl" -D "$BENCH_DIR/pg" -l "$BENCH_DIR/pg/server.log" -w -t 120 \
    -o "-p $PG_PORT -k $BENCH_DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=1GB -c shared_preload_libraries=pg_stat_statements" \
    start >/dev/null || { tail -20 "$BENCH_DIR/pg/server.log" >&2; die "PostgreSQL did not start"; }
PG_STARTED=1
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (kept in $BENCH_DIR/pg)"

seeded_size() { psql_q -d "$1" -Atc "SELECT sizes FROM bench_meta" 2>/dev/null || true; }
mark_seeded() { psql_q -d "$1" -c "CREATE TABLE IF NOT EXISTS bench_meta (sizes text, seconds numeric); DELETE FROM bench_meta; INSERT INTO bench_meta VALUES ('$SIZES', $2)"; }
fresh_database() { psql_q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; psql_q -d "$1" -c "CREATE EXTENSION pg_stat_statements"; }

OURS_URL="postgres://postgres@127.0.0.1:$PG_PORT/ours?sslmode=disable"
ORIGINAL_URL="postgres://postgres@127.0.0.1:$PG_PORT/original"
ours_cmd() { (cd "$WORK" && env -u REDIS_URL DATABASE_URL="$OURS_URL" DATA_DIR="$WORK/data" SECRET_KEY="$SECRET" APP_ENV=production \
    LOG_LEVEL=warning "$PLATAFORMA_BIN" "$@"); }

if [ "$(seeded_size ours)" != "$SIZES" ]; then
    log "seeding ours: seed-demo --mentores $MENTORES --proyectos $PROYECTOS --registros $REGISTROS"
    fresh_database ours
    ours_cmd migrate >"$WORK/ours-migrate.log" 2>&1 || { cat "$WORK/ours-migrate.log" >&2; die "migrate failed"; }
    started=$SECONDS
    ours_cmd seed-demo --mentores "$MENTORES" --proyectos "$PROYECTOS" --registros "$REGISTROS" >"$WORK/ours-seed.log" 2>&1 \
        || { tail -20 "$WORK/ours-seed.log" >&2; die "seed-demo failed"; }
    ours_cmd createsuperuser --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" --noinput >/dev/null
    psql_q -d ours -c "VACUUM ANALYZE"
    mark_seeded ours $((SECONDS - started))
else
    log "ours already seeded with $SIZES (kept from an earlier run)"
    ours_cmd migrate >"$WORK/ours-migrate.log" 2>&1 || { cat "$WORK/ours-migrate.log" >&2; die "migrate failed"; }
fi

VENV="$BENCH_DIR/original-venv"
if [ ! -x "$VENV/bin/gunicorn" ]; then
    log "installing the original's requirements into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$ORIGINAL_DIR/requirements.txt"
fi
original_cmd() { (cd "$ORIGINAL_DIR" && env DATABASE_URL="$ORIGINAL_URL" DJANGO_SECRET_KEY="$SECRET" "$VENV/bin/python" manage.py "$@"); }
if [ "$(seeded_size original)" != "$SIZES" ]; then
    log "seeding the original: seed_demo --mentores $MENTORES --proyectos $PROYECTOS --registros $REGISTROS (about 5 minutes)"
    fresh_database original
    original_cmd migrate --noinput >"$WORK/original-migrate.log" 2>&1 || { cat "$WORK/original-migrate.log" >&2; die "the original's migrate failed"; }
    started=$SECONDS
    ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" original_cmd bootstrap_admin >/dev/null
    original_cmd seed_demo --mentores "$MENTORES" --proyectos "$PROYECTOS" --registros "$REGISTROS" >"$WORK/original-seed.log" 2>&1 \
        || { tail -20 "$WORK/original-seed.log" >&2; die "the original's seed_demo failed"; }
    psql_q -d original -c "VACUUM ANALYZE"
    mark_seeded original $((SECONDS - started))
else
    log "the original already seeded with $SIZES (kept from an earlier run)"
fi
for db in ours original; do
    [ "$(psql_q -d "$db" -Atc "SELECT count(*) FROM $( [ $db = ours ] && echo registro_horas || echo registros_registrohoras)")" -ge "$REGISTROS" ] \
        || die "$db has fewer than $REGISTROS hour records"
done

# ---- 3. both servers -----------------------------------------------------------------------------
OURS_PORT=$(free_port 58080)
start_ours() {  # start_ours LOG_LEVEL
    stop_pid "$OURS_PID"
    (cd "$WORK" && exec env -u REDIS_URL DATABASE_URL="$OURS_URL" DATA_DIR="$WORK/data" SECRET_KEY="$SECRET" APP_ENV=production \
        LOG_LEVEL="$1" THROTTLE_USER=None THROTTLE_ANON=None THROTTLE_LOGIN_IP=None THROTTLE_LOGIN_FAILURES=None \
        ACCESS_TOKEN_LIFETIME_MINUTES=240 "$PLATAFORMA_BIN" serve --hostname 127.0.0.1 --port "$OURS_PORT") \
        >"$WORK/ours-serve-$1.log" 2>&1 &
    OURS_PID=$!
    local started=$SECONDS
    until curl -fs -o /dev/null "http://127.0.0.1:$OURS_PORT/healthz"; do
        kill -0 "$OURS_PID" 2>/dev/null || { cat "$WORK/ours-serve-$1.log" >&2; die "serve exited"; }
        [ $((SECONDS - started)) -lt 30 ] || die "serve not ready in 30 s"
        sleep 0.05
    done
}
start_ours info
ORIGINAL_PORT=$(free_port 58180)
(cd "$ORIGINAL_DIR" && exec env DATABASE_URL="$ORIGINAL_URL" DJANGO_SECRET_KEY="$SECRET" ACCESS_TOKEN_LIFETIME_MINUTES=240 \
    "$VENV/bin/gunicorn" config.wsgi:application --bind "127.0.0.1:$ORIGINAL_PORT" --workers 5 --worker-class sync \
    --timeout 120 --no-control-socket) >"$WORK/original-serve.log" 2>&1 &
ORIGINAL_PID=$!
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$ORIGINAL_PORT/api/token/" -X OPTIONS && break; sleep 0.1; done

token() {  # token PORT
    curl -fs -X POST -H 'Content-Type: application/json' -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
        "http://127.0.0.1:$1/api/token/" | jq -r .access
}
OURS_TOKEN=$(token "$OURS_PORT") || die "no token from ours"
ORIGINAL_TOKEN=$(token "$ORIGINAL_PORT") || die "no token from the original"

# The objects the requests name, each server's own: a mentor, a project with groups, and 256
# (mentor, active project) pairs for distinct valid hour records.
OURS_MENTOR=$(psql_q -d ours -Atc "SELECT min(m.id) FROM mentores m JOIN proyecto_mentores pm ON pm.mentor_id = m.id")
OURS_PROJECT=$(psql_q -d ours -Atc "SELECT min(proyecto_id) FROM grupos")
ORIGINAL_MENTOR=$(psql_q -d original -Atc "SELECT min(mentor_id) FROM proyectos_proyecto_mentores")
ORIGINAL_PROJECT=$(psql_q -d original -Atc "SELECT min(proyecto_id) FROM proyectos_grupo")
# One pair per mentor: two pairs of one mentor would get the same day and slot, and overlap.
psql_q -d ours -Atc "SELECT DISTINCT ON (pm.mentor_id) pm.mentor_id, pm.proyecto_id FROM proyecto_mentores pm
    JOIN proyectos p ON p.id = pm.proyecto_id WHERE p.estado = 'activo' ORDER BY pm.mentor_id, pm.proyecto_id LIMIT 256" >"$WORK/ours-pairs.txt"
psql_q -d original -Atc "SELECT DISTINCT ON (pm.mentor_id) pm.mentor_id, pm.proyecto_id FROM proyectos_proyecto_mentores pm
    JOIN proyectos_proyecto p ON p.id = pm.proyecto_id WHERE p.estado = 'activo' ORDER BY pm.mentor_id, pm.proyecto_id LIMIT 256" >"$WORK/original-pairs.txt"
MONTH_START=$(date -u +%Y-%m-01)
MONTH_END=$(date -u -d "$MONTH_START +1 month -1 day" +%F)

path_of() {  # path_of ENDPOINT SERVER
    local mentor project
    if [ "$2" = ours ]; then mentor=$OURS_MENTOR project=$OURS_PROJECT; else mentor=$ORIGINAL_MENTOR project=$ORIGINAL_PROJECT; fi
    case $1 in
        list) echo "/api/mentores/?page_size=20" ;;
        detail) echo "/api/mentores/$mentor/" ;;
        grupos) echo "/api/proyectos/$project/grupos/" ;;
        post) echo "/api/registro-horas/" ;;
        metricas) echo "/api/metricas/" ;;
        agenda) echo "/api/agenda/?mentor=$mentor&desde=$MONTH_START&hasta=$MONTH_END" ;;
    esac
}
label_of() {
    case $1 in
        list) echo 'GET /api/mentores/?page_size=20' ;;
        detail) echo 'GET /api/mentores/{id}/' ;;
        grupos) echo 'GET /api/proyectos/{id}/grupos/' ;;
        post) echo 'POST /api/registro-horas/' ;;
        metricas) echo 'GET /api/metricas/' ;;
        agenda) echo 'GET /api/agenda/?mentor&desde&hasta (a month)' ;;
        healthz) echo 'GET /healthz' ;;
    esac
}

# The wrk script: the token, and for POST a distinct valid record per request: the pairs in turn,
# 15-minute slots from 08:00, days from a base that every run moves on (so no run repeats one).
RUN_BASE_FILE="$BENCH_DIR/post-day-base"
write_lua() {  # write_lua SERVER TOKEN FILE
    local base
    base=$(cat "$RUN_BASE_FILE" 2>/dev/null || echo 0)
    echo $((base + 60)) >"$RUN_BASE_FILE"
    {
        echo "local token = \"$1\""
        echo "local pairs = {"
        awk -F'|' '{ printf "  {%s, %s},\n", $1, $2 }' "$WORK/$3-pairs.txt"
        echo "}"
        cat <<LUA
local base_day = $base
local thread_index = 0
local threads = {}
function setup(thread)
  thread:set("id", thread_index)
  thread_index = thread_index + 1
end
function init(args)
  counter = 0
  method = args[1] or "GET"
end
function request()
  local headers = { ["Authorization"] = "Bearer " .. token }
  if method ~= "POST" then return wrk.format("GET", nil, headers) end
  counter = counter + 1
  local n = counter - 1
  local pair = pairs[(n % #pairs) + 1]
  local k = math.floor(n / #pairs)
  local slot = k % 40
  local day = base_day + id * 30 + math.floor(k / 40)
  -- 1970-01-01 + day, as YYYY-MM-DD
  local date = os.date("!%Y-%m-%d", 86400 * day)
  local start = 480 + slot * 15
  local body = string.format('{"mentor": %d, "proyecto": %d, "fecha": "%s", "hora_inicio": "%02d:%02d", "hora_fin": "%02d:%02d", "descripcion": "bench"}',
    pair[1], pair[2], date, math.floor(start / 60), start % 60, math.floor((start + 15) / 60), (start + 15) % 60)
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", nil, headers, body)
end
LUA
    } >"$2"
}

# wrk -c$1 for $2 s on SERVER's endpoint; sets RPS, P50, P99 (ms), ERRORS.
run_wrk() {  # run_wrk SERVER ENDPOINT CONNECTIONS SECONDS
    local server=$1 endpoint=$2 connections=$3 seconds=$4 port token out threads=$THREADS method=GET
    if [ "$server" = ours ]; then port=$OURS_PORT token=$OURS_TOKEN; else port=$ORIGINAL_PORT token=$ORIGINAL_TOKEN; fi
    [ "$endpoint" = post ] && method=POST
    [ "$connections" -ge "$threads" ] || threads=$connections
    write_lua "$token" "$WORK/wrk.lua" "$server"
    out="$WORK/wrk-$server-$endpoint-$connections.txt"
    timeout $((seconds + 120)) wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 30s --latency -s "$WORK/wrk.lua" \
        "http://127.0.0.1:$port$(path_of "$endpoint" "$server")" -- "$method" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    RPS=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$out")
    P50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    ERRORS=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
}

# Peak resident memory: ours is one process (VmHWM); the original is gunicorn's master plus workers.
peak_rss_mb() {
    local pid=$1 total=0 child
    for child in $pid $(pgrep -P "$pid" || true); do
        total=$((total + $(awk '/^VmHWM:/ { print $2 }' "/proc/$child/status" 2>/dev/null || echo 0)))
    done
    calc "$total / 1024"
}

# ---- 4. the measurements -------------------------------------------------------------------------
# Records an interrupted earlier run left behind would overlap this run's.
psql_q -d ours -c "DELETE FROM registro_horas WHERE descripcion IN ('bench', 'bench-floor') OR descripcion LIKE 'bench-check-%'" >/dev/null
psql_q -d original -c "DELETE FROM registros_registrohoras WHERE descripcion = 'bench' OR descripcion LIKE 'bench-check-%'" >/dev/null
declare -A R
check_answer() {  # one request through curl: 2xx and JSON, else the figures would mean nothing
    local server=$1 endpoint=$2 port token status
    if [ "$server" = ours ]; then port=$OURS_PORT token=$OURS_TOKEN; else port=$ORIGINAL_PORT token=$ORIGINAL_TOKEN; fi
    if [ "$endpoint" = post ]; then
        local pair; pair=$(head -1 "$WORK/$server-pairs.txt")
        status=$(curl -s -o "$WORK/check.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"mentor\": ${pair%|*}, \"proyecto\": ${pair#*|}, \"fecha\": \"1960-01-04\", \"hora_inicio\": \"08:00\", \"hora_fin\": \"08:15\", \"descripcion\": \"bench-check-$$\"}" \
            "http://127.0.0.1:$port/api/registro-horas/")
        [ "$status" = 201 ] || { cat "$WORK/check.json" >&2; die "$server POST answered $status"; }
    else
        status=$(curl -s -o "$WORK/check.json" -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port$(path_of "$endpoint" "$server")")
        [ "$status" = 200 ] && jq -e . "$WORK/check.json" >/dev/null || { head -c 400 "$WORK/check.json" >&2; die "$server $endpoint answered $status"; }
    fi
}
for endpoint in $ENDPOINTS; do
    for server in ours original; do
        [ "$endpoint" = agenda ] && [ "$server" = original ] && continue   # the original has no agenda
        check_answer "$server" "$endpoint"
        run_wrk "$server" "$endpoint" 16 "$WARMUP"
        for c in $CONNECTIONS; do
            # The original's sync workers keep serving what wrk left queued: let them finish first.
            [ "$server" = original ] && sleep 3
            run_wrk "$server" "$endpoint" "$c" "$DURATION"
            R[$server/$endpoint/$c]="$RPS $P50 $P99 $ERRORS"
            log "$server $(label_of "$endpoint") c=$c: $RPS req/s, p50 $P50 ms, p99 $P99 ms, errors $ERRORS"
        done
    done
done
OURS_RSS=$(peak_rss_mb "$OURS_PID")
ORIGINAL_RSS=$(peak_rss_mb "$ORIGINAL_PID")
stop_pid "$ORIGINAL_PID"; ORIGINAL_PID=""

# ---- 5. floors -----------------------------------------------------------------------------------
# One request of ours with log_statement=all: the statements PostgreSQL received, with their
# parameters inlined (as PostgreSQL prints them: quoted literals), become a pgbench script.
capture_sql() {  # capture_sql ENDPOINT FILE
    local endpoint=$1 file=$2 mark="bench-capture-$RANDOM$RANDOM"
    psql_q -d postgres -c "ALTER SYSTEM SET log_statement = 'all'" -c "ALTER SYSTEM SET log_min_error_statement = 'panic'" \
        -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    psql_q -d ours -c "SELECT '$mark-start'" >/dev/null
    if [ "$endpoint" = post ]; then
        local pair; pair=$(sed -n 130p "$WORK/ours-pairs.txt")
        curl -fs -o /dev/null -X POST -H "Authorization: Bearer $OURS_TOKEN" -H 'Content-Type: application/json' \
            -d "{\"mentor\": ${pair%|*}, \"proyecto\": ${pair#*|}, \"fecha\": \"1961-01-02\", \"hora_inicio\": \"08:00\", \"hora_fin\": \"08:15\", \"descripcion\": \"bench-floor\"}" \
            "http://127.0.0.1:$OURS_PORT/api/registro-horas/"
    else
        curl -fs -o /dev/null -H "Authorization: Bearer $OURS_TOKEN" "http://127.0.0.1:$OURS_PORT$(path_of "$endpoint" ours)"
    fi
    psql_q -d ours -c "SELECT '$mark-end'" >/dev/null
    psql_q -d postgres -c "ALTER SYSTEM RESET log_statement" -c "ALTER SYSTEM RESET log_min_error_statement" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    python3 - "$BENCH_DIR/pg/server.log" "$mark" "$endpoint" "$WORK/ours-pairs.txt" >"$file" <<'PY'
import re, sys
log, mark, endpoint, pairs_file = sys.argv[1:]
text = open(log, errors="replace").read()
start = text.rindex(f"{mark}-start")
end = text.rindex("\n", 0, text.rindex(f"{mark}-end"))   # the end marker's own line is left out
section = text[start:end]
# Each statement: "LOG:  execute <unnamed>: SQL" or "LOG:  statement: SQL", maybe followed by
# "DETAIL:  parameters: $1 = '...', $2 = '...'"; lines of a statement continue with a tab.
entries = re.split(r"\n(?=\S)", section)

def without_colons(sql):
    """pgbench reads ':name' as a variable even inside a literal (a JSON '"hora_fin":"08:15"' in the
    audit row): a literal with a colon becomes an E'' literal with the colon as \\x3a, the same value."""
    out, i = [], 0
    while i < len(sql):
        if sql[i] != "'":
            out.append(sql[i]); i += 1; continue
        j, content = i + 1, []
        while j < len(sql):
            if sql[j] == "'" and sql[j + 1:j + 2] == "'":
                content.append("''"); j += 2; continue
            if sql[j] == "'":
                break
            content.append(sql[j]); j += 1
        text = "".join(content)
        escaped_already = out and out[-1] in "eE" and (len(out) < 2 or not (out[-2].isalnum() or out[-2] == "_"))
        if ":" in text and not escaped_already:
            out.append("E'" + text.replace("\\", "\\\\").replace(":", "\\x3a") + "'")
        else:
            out.append("'" + text + "'")
        i = j + 1
    return "".join(out)
statements = []
for index, entry in enumerate(entries):
    found = re.search(r"LOG:\s+(?:execute [^:]*|statement): (.*)", entry, re.S)
    if not found or "bench-capture" in entry:
        continue
    sql = re.sub(r"\n\t", " ", found.group(1)).strip()
    params = {}
    if index + 1 < len(entries) and "DETAIL:  parameters:" in entries[index + 1]:
        detail = entries[index + 1].split("parameters:", 1)[1]
        for name, value in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", detail):
            params[int(name)] = value
    sql = re.sub(r"\$(\d+)\b", lambda m: params.get(int(m.group(1)), m.group(0)), sql)
    statements.append(without_colons(sql))
if endpoint == "post":
    # Many clients writing one mentor's records would queue on that mentor's lock, which the real
    # load (256 mentors in turn) does not: each transaction takes a pair of its own.
    pair = open(pairs_file).read().splitlines()[129].split("|")
    print(r"\set n random(1, 256)")
    print("SELECT mentor_id AS m, proyecto_id AS p FROM bench_pairs WHERE n = :n \\gset")
    statements = [re.sub(rf"'{pair[0]}'(?!\d)", ":m", s) for s in statements]
    statements = [re.sub(rf"'{pair[1]}'(?!\d)", ":p", s) for s in statements]
for sql in statements:
    print(sql.rstrip(";") + ";")
PY
}
declare -A FLOOR
psql_q -d ours -c "DROP TABLE IF EXISTS bench_pairs; CREATE TABLE bench_pairs (n int primary key, mentor_id bigint, proyecto_id bigint)" >/dev/null
awk -F'|' '{ printf "INSERT INTO bench_pairs VALUES (%d, %s, %s);\n", NR, $1, $2 }' "$WORK/ours-pairs.txt" | psql_q -d ours >/dev/null
for endpoint in $ENDPOINTS; do
    capture_sql "$endpoint" "$WORK/floor-$endpoint.sql"
    statements=$(grep -vc '^\\set\|gset$' "$WORK/floor-$endpoint.sql" || true)
    out="$WORK/pgbench-$endpoint.txt"
    timeout $((DURATION + 120)) pgbench -n -M prepared -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$WORK/floor-$endpoint.sql" \
        -c "$FLOOR_CLIENTS" -j "$THREADS" -T "$DURATION" ours >"$out" 2>&1 || { cat "$out" >&2; cat "$WORK/floor-$endpoint.sql" >&2; die "pgbench failed"; }
    FLOOR[$endpoint]="$(awk '/^tps = / { printf "%.1f", $3 }' "$out") $statements"
    log "floor of $endpoint: ${FLOOR[$endpoint]% *} tps ($statements statements per request)"
done
psql_q -d ours -c "DELETE FROM registro_horas WHERE descripcion IN ('bench', 'bench-floor') OR descripcion LIKE 'bench-check-%'; DROP TABLE bench_pairs" >/dev/null
psql_q -d original -c "DELETE FROM registros_registrohoras WHERE descripcion = 'bench' OR descripcion LIKE 'bench-check-%'" >/dev/null

# /healthz: the framework's floor, and what the request log costs (info, the default, against error).
declare -A HEALTH
for level in info error; do
    start_ours "$level"
    wrk -t"$THREADS" -c64 -d"${WARMUP}s" "http://127.0.0.1:$OURS_PORT/healthz" >/dev/null 2>&1 || true
    timeout $((DURATION + 60)) wrk -t"$THREADS" -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$OURS_PORT/healthz" >"$WORK/wrk-healthz-$level.txt"
    HEALTH[$level]="$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$WORK/wrk-healthz-$level.txt") $(to_ms "$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-healthz-$level.txt")") $(to_ms "$(awk '$1 == "99%" { print $2 }' "$WORK/wrk-healthz-$level.txt")")"
    log "/healthz at LOG_LEVEL=$level: ${HEALTH[$level]%% *} req/s"
done

# ---- 6. docs/PERFORMANCE.md ----------------------------------------------------------------------
{
    echo "# Performance (SPEC §9)"
    echo
    echo "Made by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$COMMIT\`$DIRTY. Ours: release build, default"
    echo "settings but throttles off, no Redis. The original: \`../shared/original-django\` (Django 4.2 + DRF +"
    echo "SimpleJWT) under gunicorn with 5 sync workers. Both on the same PostgreSQL 15 cluster (shared_buffers 1 GB),"
    echo "each with its own data seeded to $MENTORES mentors, $PROYECTOS projects and $REGISTROS hour records. \`wrk -t$THREADS\`, ${DURATION} s per"
    echo "run; the floor is \`pgbench -f\` at $FLOOR_CLIENTS clients on the statements one request of ours sent (read from"
    echo "PostgreSQL's log), the POST's in one transaction with its commit."
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)."
    echo
    echo "| endpoint | conns | ours req/s | ours p50 ms | ours p99 ms | original req/s | original p50 ms | original p99 ms | ours / original | floor tps | ours / floor | p99 / p50 |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for endpoint in $ENDPOINTS; do
        for c in $CONNECTIONS; do
            read -r o_rps o_p50 o_p99 o_err <<<"${R[ours/$endpoint/$c]}"
            if [ -n "${R[original/$endpoint/$c]:-}" ]; then
                read -r g_rps g_p50 g_p99 g_err <<<"${R[original/$endpoint/$c]}"
                vs=$(ratio "$o_rps" "$g_rps")×
            else
                g_rps="–" g_p50="–" g_p99="–" vs="–"
            fi
            floor="–" vs_floor="–"
            if [ "$c" = "$FLOOR_CLIENTS" ]; then floor=${FLOOR[$endpoint]% *}; vs_floor=$(ratio "$o_rps" "$floor"); fi
            echo "| \`$(label_of "$endpoint")\` | $c | $o_rps | $o_p50 | $o_p99 | $g_rps | $g_p50 | $g_p99 | $vs | $floor | $vs_floor | $(ratio "$o_p99" "$o_p50") |"
        done
    done
    echo
    echo "Statements per request of ours (from the log): $(for e in $ENDPOINTS; do printf '%s %s; ' "$e" "${FLOOR[$e]#* }"; done)"
    echo
    read -r hi_rps hi_p50 hi_p99 <<<"${HEALTH[info]}"
    read -r he_rps he_p50 he_p99 <<<"${HEALTH[error]}"
    echo "\`GET /healthz\` at 64 connections: $hi_rps req/s with \`LOG_LEVEL=info\` (the default; p50 $hi_p50 ms, p99 $hi_p99 ms),"
    echo "$he_rps req/s with \`LOG_LEVEL=error\`: the request log costs $(awk -v a="$hi_rps" -v b="$he_rps" 'BEGIN { printf "%.1f", (1 - a / b) * 100 }') % of it (§9: under 5 %)."
    echo
    echo "Peak resident memory during the runs: ours $OURS_RSS MB; the original (master and 5 workers) $ORIGINAL_RSS MB."
    echo "Non-2xx answers and socket errors are 0 in every run unless the table's row says otherwise:"
    for key in "${!R[@]}"; do read -r _ _ _ e <<<"${R[$key]}"; [ "$e" = 0 ] || echo "- $key: $e"; done
} >"$OUT"
log "wrote $OUT"
cat "$OUT"
