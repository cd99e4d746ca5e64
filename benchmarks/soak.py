"""Svyaz soak test (issue #6, "Load, soak and faults"): a bounded mixed workload against a
production-mode server on loopback. Not a test: it prints one line per figure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/svyaz_soak .venv/bin/python benchmarks/soak.py
    … benchmarks/soak.py --duration 60 --users 4          # a short run

It starts gunicorn (`--workers`, default 4, DEBUG off) on a free port of 127.0.0.1 against
the database in DATABASE_URL (filled by `manage.py generate_data`), then `--users` virtual
users (threads, stdlib http.client, one connection per request as gunicorn's sync workers
close them) each repeat: pick an action by weight, send it, wait a random think time
(exponential, mean `--think` seconds). The mix: the contact list (default and filtered),
search by name and by phone, the client card, the pipeline board, My day, API list and
detail — and writes through the API: create a contact with a phone, change a deal's
amount, log a call. `--warmup` seconds of load come first and are not counted.

Printed: the run's settings; `soak_requests` (count, throughput, errors);
`soak_server_cpu` (CPU time of the web workers per request, and how many cores they kept
busy); one line per action with p50/p95 of the wall time seen by the client (it includes
waiting for a free worker), server_p50/server_p95 (time inside gunicorn, from its access
log), its errors and the issue's target with the verdict on the client's p95;
`soak_errors` by status when there are any; `soak_worker_rss` per gunicorn worker (resident
memory after the warm-up and at the end, worker restarts); with `wrk` installed (and not
`--no-wrk`) the API detail throughput under wrk (benchmarks/run.py's figure). It stops by
itself after `--duration` seconds (default 600) and stops gunicorn.

Records it writes are named "Soak …" (contacts, calls); deals keep their titles.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
os.environ.setdefault("SVYAZ_MANIFEST_STATIC", "0")

from benchmarks.run import RSS_TARGET_MB, free_port, pick_fixtures, rss_mb, run_wrk  # noqa: E402
from benchmarks.stats import figure_line, percentile, verdict  # noqa: E402

# Issue #6 targets (p95, PostgreSQL) by kind of page; writes have none.
TARGETS_MS = {"list": 50, "card": 50, "my_day": 50, "search": 30, "board": 150, "api": 50}


class Action:
    def __init__(self, name: str, weight: int, group: str | None, make):
        self.name, self.weight, self.group, self.make = name, weight, group, make


def build_actions(fx: dict, pages: dict, api: dict, rng_ids: dict) -> list[Action]:
    """(method, path, headers, body, expected statuses) factories, one per action."""
    mine = rng_ids["contacts"]
    deals = rng_ids["deals"]
    seq = iter(range(10**9))
    run = f"{random.SystemRandom().randrange(16**6):06x}"  # names unique across runs
    lock = threading.Lock()

    def n() -> int:
        with lock:
            return next(seq)

    def get(path, headers):
        return lambda rng: ("GET", path, headers, None, (200,))

    def contact_create(rng):
        i = n()
        body = {
            "first_name": "Soak",
            "last_name": f"Soak {run}-{i:06d}",
            "phones": [f"+7926{rng.randrange(10**7):07d}"],
            # The workload creates records; the duplicate check still runs, its 409 is skipped.
            "confirm_duplicate": True,
        }
        return "POST", "/api/v1/contacts/", api, body, (201,)

    def deal_patch(rng):
        deal = rng.choice(deals)
        body = {"amount": str(rng.randrange(1_000, 1_000_000))}
        return "PATCH", f"/api/v1/deals/{deal}/", api, body, (200,)

    def activity_create(rng):
        body = {
            "kind": "call",
            "direction": "out",
            "subject": f"Soak call {n():06d}",
            "contact": rng.choice(mine),
            "duration_seconds": rng.randrange(10, 900),
            "outcome": "answered",
        }
        return "POST", "/api/v1/activities/", api, body, (201,)

    manager, admin = pages["manager"], pages["admin"]
    return [
        Action("page_contact_list", 10, "list", get("/clients/contacts/", manager)),
        Action(
            "page_contact_list_filter",
            4,
            "list",
            get("/clients/contacts/?status=customer", admin),
        ),  # fmt: skip
        Action(
            "page_search_name",
            8,
            "search",
            get(f"/search/?q={quote(fx['name_prefix'])}", manager),
        ),  # fmt: skip
        Action("page_search_phone", 4, "search", get(f"/search/?q={quote(fx['phone'])}", manager)),
        Action(
            "page_contact_card",
            10,
            "card",
            lambda rng: ("GET", f"/clients/contacts/{rng.choice(mine)}/", manager, None, (200,)),
        ),  # fmt: skip
        Action("page_board", 2, "board", get(f"/sales/board/?pipeline={fx['pipeline']}", admin)),
        Action("page_my_day", 5, "my_day", get("/tasks/my-day/", manager)),
        Action("api_contact_list", 6, "api", get("/api/v1/contacts/", api)),
        Action(
            "api_contact_detail",
            12,
            "api",
            lambda rng: ("GET", f"/api/v1/contacts/{rng.choice(mine)}/", api, None, (200,)),
        ),  # fmt: skip
        Action("api_contact_create", 4, None, contact_create),
        Action("api_deal_patch", 3, None, deal_patch),
        Action("api_activity_create", 4, None, activity_create),
    ]


def send(port: int, method: str, path: str, headers: dict, body) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        h = dict(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.counting = False
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.error_examples: list[str] = []

    def add(self, name: str, ms: float, error: str | None) -> None:
        if not self.counting:
            return
        with self.lock:
            self.samples[name].append(ms)
            if error:
                self.errors[name][error] += 1
                if len(self.error_examples) < 10:
                    self.error_examples.append(f"{name}: {error}")


def virtual_user(n, port, actions, think, stop, rec: Recorder, seed):
    rng = random.Random(seed * 1000 + n)
    weights = [a.weight for a in actions]
    while not stop.is_set():
        action = rng.choices(actions, weights)[0]
        method, path, headers, body, ok = action.make(rng)
        # Counted requests name their action for gunicorn's access log (server-side time).
        headers = {**headers, "X-Soak": action.name if rec.counting else "-"}
        started = time.perf_counter()
        try:
            status = send(port, method, path, headers, body)
            error = None if status in ok else f"HTTP {status}"
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
        rec.add(action.name, (time.perf_counter() - started) * 1000, error)
        stop.wait(rng.expovariate(1 / think) if think > 0 else 0)


def worker_pids(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def wait_up(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            if send(port, "GET", "/accounts/login/", {}, None) == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not come up")


def sample_ids(fx: dict) -> dict:
    from svyaz.contacts.models import Contact
    from svyaz.sales.models import Deal

    mine = list(
        Contact.objects.filter(owner=fx["manager"])
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )
    deals = list(
        Deal.objects.filter(owner=fx["manager"], lines__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:200]
    )
    if not mine or not deals:
        raise SystemExit("the busy manager owns no contacts or deals: run generate_data first")
    return {"contacts": mine, "deals": deals}


def session_cookie(user) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies['sessionid'].value}"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="measured seconds")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of load not counted")
    parser.add_argument("--users", type=int, default=8, help="virtual users (threads)")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefix", default="gen", help="username prefix used by generate_data")
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    from svyaz.contacts.models import Contact

    fx = pick_fixtures(args.prefix, args.seed)
    ids = sample_ids(fx)
    pages = {"manager": session_cookie(fx["manager"]), "admin": session_cookie(fx["admin"])}
    api = {"Authorization": f"Token {fx['token']}", "Accept": "application/json"}
    actions = build_actions(fx, pages, api, ids)
    contacts = Contact.objects.count()
    vendor = connection.vendor
    connection.close()

    print(
        f"# svyaz soak {time.strftime('%Y-%m-%d %H:%M')} {vendor} contacts={contacts} "
        f"duration={args.duration}s warmup={args.warmup}s users={args.users} "
        f"think={args.think}s workers={args.workers} python={platform.python_version()} "
        f"cpus={os.cpu_count()} load={' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    port = free_port()
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "0",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "SVYAZ_EMBEDDED_SCHEDULER": "0",
    }
    access_log = Path(tempfile.mkdtemp(prefix="svyaz-soak-")) / "access.log"
    cmd = [sys.executable, "-m", "gunicorn", "svyaz.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(args.workers), "--timeout", "60", "--log-level", "warning",
           "--access-logfile", str(access_log),
           "--access-logformat", "%({x-soak}i)s %(s)s %(D)s"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - fixed local command
    stop = threading.Event()
    rec = Recorder()
    threads = []
    try:
        wait_up(port, proc)
        threads = [
            threading.Thread(
                target=virtual_user,
                args=(i, port, actions, args.think, stop, rec, args.seed),
                daemon=True,
            )
            for i in range(args.users)
        ]
        for t in threads:
            t.start()
        stop.wait(args.warmup)
        start_pids = worker_pids(proc.pid)
        rss_start = {pid: rss_mb(pid) for pid in start_pids}
        cpu_start = {pid: cpu_seconds(pid) for pid in start_pids}
        rec.counting = True
        started = time.monotonic()
        stop.wait(args.duration)
        rec.counting = False
        elapsed = time.monotonic() - started
        end_pids = worker_pids(proc.pid)
        rss_end = {pid: rss_mb(pid) for pid in end_pids}
        cpu_used = sum(cpu_seconds(pid) - cpu_start.get(pid, 0.0) for pid in end_pids)
        stop.set()
        for t in threads:
            t.join(timeout=70)
    finally:
        stop.set()
        proc.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    server = server_times(access_log)
    report(rec, actions, elapsed, rss_start, rss_end, server, cpu_used, args.workers)
    print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    shutil.rmtree(access_log.parent, ignore_errors=True)
    if not args.no_wrk:
        run_wrk(fx, seconds=10, workers=args.workers, connections=16)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_times(access_log: Path) -> dict[str, list[float]]:
    """Time spent in gunicorn per counted request (access log `%(D)s`, µs → ms), by action."""
    times: dict[str, list[float]] = defaultdict(list)
    try:
        lines = access_log.read_text().splitlines()
    except OSError:
        return times
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] != "-" and parts[2].isdigit():
            times[parts[0]].append(int(parts[2]) / 1000)
    return times


def report(rec: Recorder, actions, elapsed, rss_start, rss_end, server, cpu_used, workers):
    total = sum(len(s) for s in rec.samples.values())
    errors = sum(sum(c.values()) for c in rec.errors.values())
    print(
        f"soak_requests total={total} rps={total / elapsed:.1f} errors={errors} "
        f"duration={elapsed:.0f}s",
        flush=True,
    )
    # CPU of the web workers per request: steadier than wall times on a shared machine.
    print(
        f"soak_server_cpu per_request={cpu_used * 1000 / max(total, 1):.1f}ms "
        f"cores_busy={cpu_used / elapsed:.2f} workers={workers}",
        flush=True,
    )
    for action in actions:
        samples = rec.samples.get(action.name)
        if not samples:
            continue
        extra = {"errors": sum(rec.errors[action.name].values())}
        if server.get(action.name):
            extra["server_p50"] = f"{percentile(server[action.name], 50):.1f}ms"
            extra["server_p95"] = f"{percentile(server[action.name], 95):.1f}ms"
        if action.group:
            target = TARGETS_MS[action.group]
            extra["target"] = f"{target}ms"
            extra["verdict"] = verdict(percentile(samples, 95), target)
        print(figure_line(f"soak_{action.name}", samples, **extra), flush=True)
    if errors:
        by_status = Counter()
        for counter in rec.errors.values():
            by_status.update(counter)
        print(f"soak_errors {dict(by_status)} examples={rec.error_examples}", flush=True)
    restarted = len(set(rss_end) - set(rss_start))  # new pids: workers that were replaced
    for i, pid in enumerate(sorted(set(rss_start) | set(rss_end))):
        start, end = rss_start.get(pid), rss_end.get(pid)
        print(
            f"soak_worker_rss worker={i} pid={pid} "
            f"start={f'{start:.0f}MB' if start else '-'} end={f'{end:.0f}MB' if end else '-'} "
            f"target={RSS_TARGET_MB}MB verdict={'ok' if (end or 0) < RSS_TARGET_MB else 'MISS'}",
            flush=True,
        )
    print(f"soak_worker_restarts {restarted}", flush=True)


if __name__ == "__main__":
    main()
