#!/usr/bin/env bash
# Uploads a 200 MB file to a real `plataforma serve` and watches the server's resident memory:
# uploads stream to disk, so RSS must not grow with the file. Prints baseline, peak and growth
# (upload and download), checks the downloaded bytes' SHA-256, and fails if growth >= LIMIT_MB.
#
#   scripts/upload-memory.sh            (SIZE_MB=200 LIMIT_MB=20 by default; CONFIG=release to measure a release build)
set -euo pipefail

SIZE_MB="${SIZE_MB:-200}"
LIMIT_MB="${LIMIT_MB:-20}"
CONFIG="${CONFIG:-debug}"
EMAIL="memoria@example.com"
PASSWORD="Memoria-Prueba-2026"

cd "$(dirname "$0")/.."
echo "building ($CONFIG)…"
swift build -c "$CONFIG" --product plataforma >/dev/null
BIN="$(swift build -c "$CONFIG" --show-bin-path)/plataforma"

WORK="$(mktemp -d /tmp/upload-memory.XXXXXXXX)"
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
    [[ -n "$SAMPLER_PID" ]] && kill "$SAMPLER_PID" 2>/dev/null || true
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATA_DIR="$WORK/data" MAX_UPLOAD_MB=300 USER_QUOTA_MB=1000 LOG_LEVEL=warning THROTTLE_USER=None
# Run from the temp dir so no developer .env is read.
( cd "$WORK" && DJANGO_SUPERUSER_EMAIL="$EMAIL" DJANGO_SUPERUSER_PASSWORD="$PASSWORD" "$BIN" createsuperuser --noinput >/dev/null )
# exec: $! is the server itself.
( cd "$WORK" && exec "$BIN" serve --hostname 127.0.0.1 --port "$PORT" >"$WORK/serve.log" 2>&1 ) &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$BASE/readyz" >/dev/null

TOKEN="$(curl -fs -X POST "$BASE/api/token/" -H 'Content-Type: application/json' \
    -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')"

# A PDF header and random bytes: passes the content check without being compressible.
FILE="$WORK/grande.pdf"
printf '%%PDF-1.7\n' >"$FILE"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >>"$FILE"
EXPECTED="$(sha256sum "$FILE" | cut -d' ' -f1)"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
sample() {  # sample OUTFILE: VmRSS every 100 ms until killed
    while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kb >>"$1"; sleep 0.1; done
}
report() {  # report LABEL BASELINE_KB SAMPLES_FILE → prints, echoes growth in MB
    local peak
    peak="$(sort -n "$3" | tail -1)"
    awk -v label="$1" -v base="$2" -v peak="$peak" -v n="$(wc -l <"$3")" 'BEGIN {
        printf "%-9s baseline %.1f MB, peak %.1f MB, growth %.1f MB (%d samples)\n", label, base / 1024, peak / 1024, (peak - base) / 1024, n
    }' >&2
    awk -v base="$2" -v peak="$peak" 'BEGIN { printf "%.1f", (peak - base) / 1024 }'
}

# Warm up (routes, database, allocator) with a small upload, then measure.
curl -fs -H "Authorization: Bearer $TOKEN" -F "archivo=@/dev/stdin;filename=warm.txt" "$BASE/api/archivos/" <<<"calentando" >/dev/null
BASELINE="$(rss_kb)"
sample "$WORK/upload.rss" & SAMPLER_PID=$!
START=$(date +%s.%N)
RESPONSE="$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Expect:' -F "archivo=@$FILE;filename=grande.pdf" "$BASE/api/archivos/")"
ELAPSED=$(python3 -c "import time; print(round(time.time() - $START, 1))")
kill "$SAMPLER_PID"; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
rss_kb >>"$WORK/upload.rss"
echo "uploaded ${SIZE_MB} MB in ${ELAPSED} s"
UPLOAD_GROWTH="$(report upload "$BASELINE" "$WORK/upload.rss")"

URL="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])' <<<"$RESPONSE")"
STORED="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["sha256"])' <<<"$RESPONSE")"
BASELINE="$(rss_kb)"
sample "$WORK/download.rss" & SAMPLER_PID=$!
curl -fsS -H "Authorization: Bearer $TOKEN" -o "$WORK/descarga.pdf" "$URL"
kill "$SAMPLER_PID"; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
DOWNLOAD_GROWTH="$(report download "$BASELINE" "$WORK/download.rss")"
DOWNLOADED="$(sha256sum "$WORK/descarga.pdf" | cut -d' ' -f1)"

STATUS=0
if [[ "$EXPECTED" == "$STORED" && "$EXPECTED" == "$DOWNLOADED" ]]; then
    echo "sha256 ok: $EXPECTED"
else
    echo "sha256 MISMATCH: file $EXPECTED, server $STORED, download $DOWNLOADED"; STATUS=1
fi
for pair in "upload:$UPLOAD_GROWTH" "download:$DOWNLOAD_GROWTH"; do
    if python3 -c "import sys; sys.exit(0 if float('${pair#*:}') < $LIMIT_MB else 1)"; then
        echo "${pair%%:*} growth ${pair#*:} MB < $LIMIT_MB MB: ok"
    else
        echo "${pair%%:*} growth ${pair#*:} MB >= $LIMIT_MB MB: FAIL"; STATUS=1
    fi
done
exit "$STATUS"
