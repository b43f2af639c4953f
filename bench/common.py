"""Shared bench machinery: a fresh PostgreSQL database, gunicorn on a loopback port, a bounded
closed-loop load generator, and the figures (req/s, p50, p99). Every target is 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from bench import bare_app

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HOST = "127.0.0.1"
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(32)
# gunicorn runs with the repository's gunicorn.conf.py (workers, threads, keep-alive, timeouts: the
# settings these benches tuned); BENCH_GUNICORN_WORKERS / BENCH_GUNICORN_THREADS / BENCH_KEEPALIVE
# override them for a sweep (bench/tune.py).
_CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS") or _CONF["workers"])
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS") or _CONF["threads"])
KEEPALIVE = int(os.environ.get("BENCH_KEEPALIVE") or _CONF["keepalive"])
CLIENTS = 16


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_postgres() -> None:
    """Start the local cluster if it is down (DEVELOPERS.md); fail loudly if it stays down."""

    def ready() -> bool:
        return subprocess.run(["pg_isready", "-h", HOST, "-p", "5432", "-q"], check=False).returncode == 0

    if ready():
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if versions and shutil.which("pg_ctlcluster"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"], check=False)
    for _ in range(30):
        if ready():
            return
        time.sleep(1)
    raise SystemExit("bench: PostgreSQL on 127.0.0.1:5432 cannot be reached")


def fresh_database(name: str) -> str:
    """A new, empty database `name` (plus `BENCH_DB_SUFFIX`, so that two checkouts benching at
    once do not drop each other's database)."""
    name += os.environ.get("BENCH_DB_SUFFIX", "")
    ensure_postgres()
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_ENABLED": "0",
        "SCHEDULER_ENABLED": "0",
        "INSTANCE_PATH": str(ROOT / "bench" / "results" / "instance"),
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


def flask(database_url: str, *args: str, **extra_env: str) -> subprocess.Popen:
    """`flask --app wsgi *args` on the bench database, in its own process group (stopped with
    `os.killpg`), its output (stdout and stderr) read through `.communicate()`."""
    return subprocess.Popen(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=server_env(database_url, **extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def migrate(database_url: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=server_env(database_url),
        check=True,
        capture_output=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    app_spec: str, database_url: str, port: int | None = None, *, clients: int = CLIENTS, **extra_env: str
) -> Iterator[int]:
    """gunicorn with the repository's settings (gunicorn.conf.py) on a loopback port; stopped on exit.

    A gthread worker accepts connections until it holds `--worker-connections` (1,000 by default),
    so one worker could take every keep-alive client of the load generator while the other idled:
    the figures then measured one core, not two, and swung threefold from run to run. Each worker
    is capped at its share of the clients plus its threads (gthread keeps at most
    worker_connections - threads connections idle, and closes the others after their response),
    so the clients spread over both workers and none is made to reconnect.
    """
    port = port or free_port()
    worker_connections = -(-clients // GUNICORN_WORKERS) + GUNICORN_THREADS
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(GUNICORN_WORKERS),
        "--threads",
        str(GUNICORN_THREADS),
        "--keep-alive",
        str(KEEPALIVE),
        "--worker-connections",
        str(worker_connections),
        "--log-level",
        "warning",
        # Formatted as in production (the cost is measured), written nowhere.
        "--access-logfile",
        os.devnull,
        app_spec,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(database_url, **extra_env), start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"bench: gunicorn on port {port} did not start")
        yield port
    finally:
        stop(proc)


def stop(*procs: subprocess.Popen, timeout: float = 15) -> None:
    """Stop processes started in sessions of their own (`start_new_session=True`) with all their
    children: SIGTERM to each group, then SIGKILL to a group still there after `timeout` seconds."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Request:
    method: str
    path: str
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a body sent as it is (a page's form), with its own Content-Type header


@dataclass
class LoadResult:
    count: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]
    bodies: list[dict]
    finished: list[float] = field(default_factory=list)  # seconds since the start, per request

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def row(self, name: str) -> dict:
        return {
            "name": name,
            "requests": self.count,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(50), 2),
            "p99_ms": round(self.pct(99), 2),
            "statuses": dict(sorted(self.statuses.items())),
        }


def run_load(
    requests: list[Request], concurrency: int, ports: list[int], *, time_limit: float = 120.0, keep_bodies: bool = False
) -> LoadResult:
    """Closed loop: `concurrency` keep-alive clients take requests from one list until it is empty
    or the time limit passes. Clients are spread round-robin over `ports`."""
    lock = threading.Lock()
    cursor = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies: list[dict] = []
    finished: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + time_limit
    origin = time.perf_counter()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection(HOST, ports[n % len(ports)], timeout=30)
        while time.monotonic() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            req = requests[index]
            payload = (
                req.raw if req.raw is not None else json.dumps(req.body).encode() if req.body is not None else None
            )
            headers = {"Content-Type": "application/json", **req.headers}
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                # Counted as status 0, never silently dropped; the client reconnects and goes on.
                conn.close()
                conn = http.client.HTTPConnection(HOST, ports[n % len(ports)], timeout=30)
                with lock:
                    statuses[0] = statuses.get(0, 0) + 1
                    if len(errors) < 3:
                        errors.append(f"{req.method} {req.path}: {exc!r}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                finished.append(time.perf_counter() - origin)
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if keep_bodies:
                    bodies.append(_parsed(response, data))
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        log(f"bench: {statuses[0]} requests failed, first: {'; '.join(errors)}")
    return LoadResult(len(latencies), seconds, latencies, statuses, bodies, finished)


def _parsed(response: http.client.HTTPResponse, data: bytes) -> dict:
    """A JSON answer as it is; a page's answer as its status and where it redirects to."""
    if response.getheader("Content-Type", "").startswith("application/json"):
        return json.loads(data) if data else {}
    return {"status_code": response.status, "location": response.getheader("Location", ""), "size": len(data)}


def bare_requests(n: int) -> list[Request]:
    return [Request("POST", "/bare", {"payload": f"row {i}"}) for i in range(n)]


def measure_bare(database_url: str, requests: int, clients: int) -> LoadResult:
    """The yardstick: the bare INSERT+COMMIT endpoint (bench/bare_app.py) under the same load and
    the same gunicorn settings."""
    bare_app.prepare(database_url)
    with gunicorn("bench.bare_app:create_bare_app()", database_url, clients=clients) as port:
        warm_up(port, clients=clients)
        return require_answers(run_load(bare_requests(requests), clients, [port]), "bare")


def merged(first: LoadResult, second: LoadResult) -> LoadResult:
    """Two loads as one: their requests over their time together."""
    statuses = dict(first.statuses)
    for status, count in second.statuses.items():
        statuses[status] = statuses.get(status, 0) + count
    return LoadResult(
        first.count + second.count,
        first.seconds + second.seconds,
        first.latencies_ms + second.latencies_ms,
        statuses,
        first.bodies + second.bodies,
    )


def yardstick_rows(before: LoadResult, after: LoadResult) -> tuple[LoadResult, list[dict]]:
    """The yardstick measured before and after a load: the two pooled (the figure the ratio uses)
    and the table rows of all three."""
    pooled = merged(before, after)
    return pooled, [before.row("bare, before"), after.row("bare, after"), pooled.row("bare insert+commit")]


def require_answers(result: LoadResult, name: str) -> LoadResult:
    """Figures of a load where requests got no answer at all are not comparable: stop instead."""
    if result.statuses.get(0):
        raise SystemExit(f"bench: {name}: {result.statuses[0]} requests got no answer (see above)")
    return result


def warm_up(port: int, requests: list[Request] | None = None, n: int = 200, clients: int = CLIENTS) -> None:
    """Warm every worker before measuring: `n` requests (read-only ones on the path under test, or
    /healthz) over as many connections as the load will use, so each worker has imported, compiled
    and connected what the measured requests need, and the figures are of the steady state."""
    requests = requests or [Request("GET", "/healthz")]
    result = run_load([requests[i % len(requests)] for i in range(n)], clients, [port], time_limit=30)
    if set(result.statuses) - {200}:
        raise SystemExit(f"bench: warm-up got {result.statuses}")
    # A worker that hit its connection cap re-opens its listener only on its next loop turn (up to
    # 1 s later); give both workers that turn, or a measured client can wait a second to connect.
    time.sleep(1.5)


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n== {title} ==")
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k in keys))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of `values` (the nearest rank), 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def bench_app(database_url: str):
    """The real app in this process (for seeding and token issuing), on the bench database."""
    os.environ.setdefault("INSTANCE_PATH", str(ROOT / "bench" / "results" / "instance"))
    from config import Config
    from parking import create_app

    return create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=SECRET_KEY,
        SCHEDULER_ENABLED=False,
        RATELIMIT_ENABLED=False,
    )


def let_go(db) -> None:
    """The end of seeding in this process: the session's connection back to its pool, then the
    pool closed (disposing a pool while the session still holds a connection leaves it open)."""
    db.session.remove()
    db.engine.dispose()


def count_rows(database_url: str, queries: dict[str, tuple[str, dict]]) -> dict[str, int]:
    """What a bench checks after its load: one `SELECT count(*) …` per name, on a short connection."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        found = {name: conn.execute(sa.text(sql), params).scalar() or 0 for name, (sql, params) in queries.items()}
    engine.dispose()
    return found


class Gateway:
    """A fake SMS gateway (webhook receiver) on 127.0.0.1, http.server in a thread: it checks each
    POST's signature with `secret` and counts, per delivery id, the POSTs it saw (`seen`) and the
    messages it took (`taken`, answered 200), and the bad signatures (answered 401). `refuse`, given
    a POST's body and how many times its delivery was seen, returns the status to refuse it with, or
    None to take it (by default every message with a good signature is taken). `secret` may be set
    after the start, once the seed has made it."""

    def __init__(self, secret: bytes = b"", refuse: Callable[[bytes, int], int | None] | None = None) -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self.seen: Counter = Counter()
        self.taken: Counter = Counter()
        self.bad_signatures = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get("X-Tidal-Delivery", "")
                expected = "sha256=" + hmac.new(gateway.secret, body, hashlib.sha256).hexdigest()
                with gateway.lock:
                    gateway.seen[delivery] += 1
                    if not hmac.compare_digest(expected, self.headers.get("X-Tidal-Signature", "")):
                        gateway.bad_signatures += 1
                        status = 401
                    else:
                        status = (refuse(body, gateway.seen[delivery]) if refuse is not None else None) or 200
                        if status == 200:
                            gateway.taken[delivery] += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/sms"

    @property
    def duplicates(self) -> int:
        """Messages taken more than once: each one past the first of a delivery id."""
        return sum(n - 1 for n in self.taken.values() if n > 1)


#: The columns a city-scale seed COPYs into each table (`copy_rows`), in the order of its rows.
SEED_COLUMNS: dict[str, tuple[str, ...]] = {
    "garages": (
        "id",
        "name",
        "timezone",
        "capacity",
        "horizon_days",
        "booking_cutoff_minutes",
        "free_cancel_minutes",
        "early_entry_minutes",
        "no_show_minutes",
        "reminder_minutes",
        "exit_grace_minutes",
        "strike_limit",
        "strike_window_days",
        "suspension_days",
        "bookings_per_household",
        "ballot_close_hour",
        "created_at",
    ),
    "window_templates": (
        "id",
        "garage_id",
        "name",
        "weekdays",
        "start_time",
        "end_time",
        "default_quota",
        "mode",
        "active",
        "created_at",
    ),
    "windows": (
        "id",
        "garage_id",
        "template_id",
        "service_date",
        "opens_at",
        "closes_at",
        "quota",
        "booked",
        "state",
        "mode",
        "created_at",
    ),
    "households": ("id", "garage_id", "building", "unit", "room", "state", "waitlist_priority", "created_at"),
    "users": (
        "id",
        "phone",
        "name",
        "password_hash",
        "role",
        "locale",
        "household_id",
        "token_version",
        "active",
        "created_at",
    ),
    "vehicles": ("id", "household_id", "garage_id", "plate", "state", "created_at"),
    "bookings": (
        "id",
        "window_id",
        "garage_id",
        "household_id",
        "vehicle_id",
        "plate",
        "status",
        "slot",
        "priority",
        "late_cancel",
        "created_at",
        "updated_at",
        "confirmed_at",
        "inside",
        "entered_at",
        "exited_at",
    ),
}


def garage_row(garage_id: int, capacity: int, created: object) -> tuple[object, ...]:
    """A seeded garage in Shanghai with the rules every city-scale seed gives it, in the order of
    `SEED_COLUMNS["garages"]`."""
    return (
        garage_id,
        f"Garage {garage_id}",
        "Asia/Shanghai",
        capacity,
        14,
        120,
        0,
        15,
        180,
        30,
        15,
        3,
        30,
        14,
        1,
        12,
        created,
    )


def copy_rows(conn, table: str, rows: Iterable[Sequence[object]], columns: Sequence[str] | None = None) -> None:
    """COPY … FROM STDIN, the fast bulk path of PostgreSQL: `rows` in the order of `columns` (by
    default the table's `SEED_COLUMNS`)."""
    names = SEED_COLUMNS[table] if columns is None else columns
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def processes_cpu() -> Iterator[tuple[str, float]]:
    """(command line, CPU seconds so far: user and system) of every process this user can read,
    from /proc; a process that ends while it is read is left out."""
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield command, (int(fields[11]) + int(fields[12])) / tick  # utime, stime


def is_backend_of(command: str, database: str) -> bool:
    """Whether a process is a PostgreSQL backend connected to `database` (its title reads
    "postgres: user database host(port) state")."""
    return command.startswith("postgres: ") and f" {database} " in command


def backend_cpu_seconds(database: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to `database` (the server must run
    on this machine, as it does for every bench)."""
    return sum(cpu for command, cpu in processes_cpu() if is_backend_of(command, database))


def emit(figures: dict) -> None:
    """The last line of every bench script: one JSON object of figures."""
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True), flush=True)


Loader = Callable[[], list[Request]]
