#!/usr/bin/env python3
"""Fault drill (SPEC §2, §8): hour records written through crashes of PostgreSQL and Redis.

A `plataforma serve` (the binary given in PLATAFORMA_BIN, release build in CI) runs on a
PostgreSQL cluster and a Redis server that this script creates, owns and removes. Writers POST
hour records with an `Idempotency-Key` each, and retry with the same key and body on any error
that is not a definitive answer, as a careful client does. Meanwhile:

  ~6 s   every server connection is killed with pg_terminate_backend
  ~12 s  PostgreSQL is stopped with `pg_ctl -m immediate` (a crash), started again 5 s later
  ~24 s  Redis is killed with SIGKILL, started again 3 s later
  ~40 s  writers stop sending new records, and finish retrying what is outstanding

Then every record is listed through the API and one summary line is printed:
  sent, acknowledged, present, lost (acknowledged, not present), duplicated (one key written
  twice, or a retry refused as overlapping its own first write), never-written (sent, never
  acknowledged, not present: a stuck claim), 5xx after recovery (sent 5 s or more after the
  database was back), recovery (database back -> first 201).
Exit status 1 when lost, duplicated or never-written is not 0, when there is a 5xx after
recovery, or when recovery takes longer than 2 s; also when /readyz does not say 503 during the
outage and 200 right after, when HTML uploaded as `foto.png` is not refused with 415, or when a
server started with another FIELD_ENCRYPTION_KEY does not exit 78 naming the reason.

Needs PostgreSQL 15 binaries (PG_BIN, default /usr/lib/postgresql/15/bin) and redis-server. Run
as root it runs PostgreSQL as the `postgres` user. Everything listens on 127.0.0.1 only.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import date, timedelta

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
BIN = os.environ.get("PLATAFORMA_BIN")
WRITERS = int(os.environ.get("DRILL_WRITERS", "8"))
DURATION = float(os.environ.get("DRILL_SECONDS", "40"))
RETRY_PAUSE = 0.1          # seconds between retries of one record
DRAIN_SECONDS = 30         # how long outstanding records are retried after the writing phase
RECOVERY_LIMIT = 2.0       # database back -> first 201
QUIET_AFTER = 5.0          # no 5xx for requests sent this long after the database is back
ADMIN = ("drill@example.com", "Simulacro-Admin-2026")
MENTOR_PASSWORD = "Simulacro-Mentor-2026"

START = time.monotonic()


def now():
    return time.monotonic() - START


def log(message):
    print(f"[{now():6.2f}s] {message}", flush=True)


def free_port(start):
    port = start
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


def as_postgres(command):
    """Runs a PostgreSQL tool; as root, as the postgres user (initdb refuses root)."""
    if os.geteuid() == 0:
        return subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", "cd / && " + command],
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(["/bin/sh", "-c", command], check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


class Cluster:
    """A throwaway PostgreSQL cluster. synchronous_commit stays on: an acknowledged commit must
    survive the immediate stop, which is what the drill checks."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port(56432)
        as_postgres(f"{PG_BIN}/initdb -D {self.data} -U postgres --auth=trust -E UTF8 --locale=C")

    def start(self):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        as_postgres(f"{PG_BIN}/pg_ctl -D {self.data} -l {self.dir}/postgres.log -w -t 60 -o '{opts}' start")

    def stop(self, mode):
        as_postgres(f"{PG_BIN}/pg_ctl -D {self.data} -m {mode} -w -t 60 stop")

    def psql(self, sql, database="postgres"):
        return subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
                              check=True, stdout=subprocess.PIPE, text=True).stdout.strip()

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))


class Redis:
    def __init__(self, work):
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir)
        self.port = free_port(56479)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")])
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class Client:
    """One keep-alive HTTP connection; a broken connection is reopened on the next request."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.connection = None

    def request(self, method, path, body=None, headers=None, timeout=30):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                value = json.loads(payload) if payload else None
            except ValueError:
                value = None
            return response.status, value
        except (OSError, http.client.HTTPException):
            self.close()
            return None, None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = []          # (time sent, time answered, status or None, writer, key)
        self.sent = set()
        self.acknowledged = {}      # key -> record id
        self.refused = []           # (key, status, body)

    def attempt(self, *row):
        with self.lock:
            self.attempts.append(row)


def record_body(index):
    """Record `index` of a writer: 15-minute slots, 95 a day, days counted from 2020-01-06."""
    day = date(2020, 1, 6) + timedelta(days=index // 95)
    slot = index % 95
    start, end = slot * 15, slot * 15 + 15
    return day.isoformat(), f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"


def writer(number, port, token, project, stats, stop_sending, give_up):
    client = Client(port, token)
    index = 0
    while not stop_sending.is_set():
        fecha, inicio, fin = record_body(index)
        key = f"drill-{number}-{index}"
        body = {"proyecto": project, "fecha": fecha, "hora_inicio": inicio, "hora_fin": fin, "descripcion": key}
        with stats.lock:
            stats.sent.add(key)
        while True:
            sent_at = now()
            status, value = client.request("POST", "/api/registro-horas/", body, {"Idempotency-Key": key}, timeout=30)
            stats.attempt(sent_at, now(), status, number, key)
            if status == 201:
                with stats.lock:
                    stats.acknowledged[key] = value.get("id") if isinstance(value, dict) else None
                break
            if status is not None and 400 <= status < 500 and status not in (408, 409, 429):
                with stats.lock:
                    stats.refused.append((key, status, value))
                break
            if give_up.is_set():
                break
            time.sleep(RETRY_PAUSE)
        index += 1
    client.close()


def main():
    if not BIN or not os.access(BIN, os.X_OK):
        sys.exit("PLATAFORMA_BIN must name the plataforma binary")
    work = tempfile.mkdtemp(prefix="fault-drill.")
    os.chmod(work, 0o755)  # the postgres user must reach its cluster inside
    cluster = Cluster(work)
    redis = Redis(work)
    server = None
    try:
        cluster.start()
        cluster.psql("CREATE ROLE drill LOGIN PASSWORD 'drill'")
        cluster.psql("CREATE DATABASE drill OWNER drill")
        redis.start()
        port = free_port(18480)
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": f"postgres://drill:drill@127.0.0.1:{cluster.port}/drill",
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "DATA_DIR": os.path.join(work, "data"), "LOG_LEVEL": "warning", "LOG_FORMAT": "text",
            "SECRET_KEY": "drill-" + os.urandom(32).hex(), "ACCESS_TOKEN_LIFETIME_MINUTES": "120",
            "THROTTLE_USER": "100000/min", "THROTTLE_ANON": "None", "THROTTLE_LOGIN_IP": "None",
            "THROTTLE_LOGIN_FAILURES": "None",
        })
        env.pop("FIELD_ENCRYPTION_KEY", None)
        subprocess.run([BIN, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([BIN, "createsuperuser", "--email", ADMIN[0], "--password", ADMIN[1], "--noinput"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        server_log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([BIN, "serve", "--hostname", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=server_log, stderr=subprocess.STDOUT)
        admin = Client(port)
        for _ in range(200):
            if admin.request("GET", "/readyz")[0] == 200:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the server did not become ready")
        status, tokens = admin.request("POST", "/api/token/", {"email": ADMIN[0], "password": ADMIN[1]})
        admin.token = tokens["access"]

        # One mentor account and profile per writer, all assigned to one active project.
        mentors, mentor_tokens = [], []
        for number in range(WRITERS):
            email = f"drill-mentor-{number}@example.com"
            status, user = admin.request("POST", "/api/usuarios/", {
                "email": email, "password": MENTOR_PASSWORD, "nombre": f"Mentor {number}", "rol": "mentor"})
            assert status == 201, (status, user)
            status, mentor = admin.request("POST", "/api/mentores/", {
                "usuario": user["id"], "nombre": f"Mentor {number}", "email": email, "telefono": f"60000000{number % 10}"})
            assert status == 201, (status, mentor)
            mentors.append(mentor["id"])
            status, pair = Client(port).request("POST", "/api/token/", {"email": email, "password": MENTOR_PASSWORD})
            assert status == 200, (status, pair)
            mentor_tokens.append(pair["access"])
        status, project = admin.request("POST", "/api/proyectos/", {
            "nombre": "Simulacro", "estado": "activo", "fecha_inicio": "2020-01-01", "mentores": mentors})
        assert status == 201, (status, project)

        stats = Stats()
        stop_sending, give_up = threading.Event(), threading.Event()
        threads = [threading.Thread(target=writer, args=(n, port, mentor_tokens[n], project["id"], stats,
                                                         stop_sending, give_up), daemon=True)
                   for n in range(WRITERS)]
        log(f"{WRITERS} writers start")
        for thread in threads:
            thread.start()

        began = now()

        def at(moment):  # seconds after the writers started
            time.sleep(max(0.0, began + moment - now()))

        at(6)
        killed = cluster.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE usename = 'drill' AND pid <> pg_backend_pid()")
        log(f"pg_terminate_backend: {killed} server connections killed")
        at(12)
        cluster.stop("immediate")
        db_down = now()
        log("PostgreSQL stopped with -m immediate")
        at(14)
        probe = Client(port)
        sent_at = now()
        ready_down = probe.request("GET", "/readyz", timeout=15)[0]
        log(f"/readyz while PostgreSQL is down: {ready_down} in {now() - sent_at:.2f}s")
        at(17)
        cluster.start()
        db_back = now()
        log("PostgreSQL started again and accepting connections")
        ready_up = probe.request("GET", "/readyz", timeout=15)[0]
        log(f"/readyz right after: {ready_up} in {now() - db_back:.2f}s")
        probe.close()
        at(24)
        redis.kill()
        log("Redis killed (SIGKILL)")
        at(27)
        redis.start()
        log("Redis started again")
        at(DURATION)
        stop_sending.set()
        log("writers stop sending new records; outstanding ones are retried")
        deadline = time.monotonic() + DRAIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        give_up.set()
        for thread in threads:
            thread.join(10)

        # Every record, through the API.
        present = {}
        path = "/api/registro-horas/?page_size=100&ordering=creado"
        listing_failures = 0
        while path:
            status, page = admin.request("GET", path)
            if status != 200:
                listing_failures += 1
                if listing_failures > 50:
                    raise RuntimeError(f"listing records answered {status}: {page}")
                time.sleep(0.2)
                continue
            for item in page["results"]:
                present[item["descripcion"]] = present.get(item["descripcion"], 0) + 1
            nxt = page.get("next")
            path = None if not nxt else urllib.parse.urlsplit(nxt)._replace(scheme="", netloc="").geturl()

        sent = stats.sent
        acknowledged = set(stats.acknowledged)
        lost = sorted(key for key in acknowledged if key not in present)
        doubled = sorted(key for key, count in present.items() if count > 1)
        refused_own = [r for r in stats.refused if r[0] in present]
        never = sorted(key for key in sent if key not in present and key not in acknowledged)
        late_5xx = [a for a in stats.attempts if a[0] >= db_back + QUIET_AFTER and (a[2] is None or a[2] >= 500)]
        firsts = [a[1] for a in stats.attempts if a[2] == 201 and a[0] >= db_down and a[1] >= db_back]
        recovery = (min(firsts) - db_back) if firsts else float("inf")
        by_status = {}
        for a in stats.attempts:
            by_status[str(a[2] or "conn")] = by_status.get(str(a[2] or "conn"), 0) + 1
        outage_5xx = sum(1 for a in stats.attempts if a[2] is None or a[2] >= 500)
        slowest = max((a[1] - a[0] for a in stats.attempts), default=0.0)

        log(f"answers by status: {dict(sorted(by_status.items()))}; slowest answer {slowest:.2f}s; "
            f"listing retried {listing_failures} times")
        slow = [a for a in stats.attempts if a[1] - a[0] > 2.0]
        if slow:
            log(f"{len(slow)} answers took over 2 s, e.g. " + ", ".join(
                f"sent {a[0] - began:.1f}s after start: {a[2] or 'no answer'} in {a[1] - a[0]:.1f}s" for a in slow[:6]))
        if stats.refused:
            log(f"refused (4xx other than 409/429): {len(stats.refused)}, e.g. {stats.refused[:3]}")
        if never:
            log(f"never written, e.g. {never[:5]}")
        if late_5xx:
            log(f"5xx after recovery, e.g. {late_5xx[:5]}")
        duplicated = len(doubled) + len(refused_own)

        # Two start-up and upload checks on the same release binary and data.
        status, _ = admin.request("GET", "/readyz")
        html = b"<html><script>alert(1)</script></html>"
        boundary = "drill" + os.urandom(8).hex()
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"foto.png\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + html + f"\r\n--{boundary}--\r\n".encode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/api/archivos/", body=form, headers={
            "Authorization": f"Bearer {admin.token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        disguised = connection.getresponse().status
        connection.close()
        log(f"HTML uploaded as foto.png (image/png): {disguised}")
        wrong_key = dict(env, FIELD_ENCRYPTION_KEY=__import__("base64").b64encode(os.urandom(32)).decode())
        refused = subprocess.run([BIN, "serve", "--hostname", "127.0.0.1", "--port", str(free_port(port + 1))], env=wrong_key,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        named = "which is not configured" in refused.stdout and "rotate-keys" in refused.stdout
        log(f"serve with another FIELD_ENCRYPTION_KEY: exit {refused.returncode}, reason named: {named}")
        summary = (f"fault drill: sent={len(sent)} acknowledged={len(acknowledged)} present={len(present)} "
                   f"lost={len(lost)} duplicated={duplicated} never_written={len(never)} "
                   f"5xx_total={outage_5xx} 5xx_after_recovery={len(late_5xx)} recovery={recovery:.2f}s")
        print(summary, flush=True)
        ok = (not lost and duplicated == 0 and not never and not late_5xx and recovery <= RECOVERY_LIMIT
              and not stats.refused and ready_down == 503 and ready_up == 200 and status == 200
              and disguised == 415 and refused.returncode == 78 and named)
        if not ok:
            print("fault drill: FAILED", flush=True)
            print("--- last lines of the server log:")
            server_log.flush()
            with open(os.path.join(work, "serve.log")) as f:
                print("".join(f.readlines()[-40:]))
            return 1
        print("fault drill: PASSED", flush=True)
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        redis.kill()
        if cluster.running():
            try:
                cluster.stop("fast")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
