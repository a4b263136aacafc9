"""The web face under load, on the national cascade's data: a province's inbox, the follow page of the
national circular, and ลงรับ, each by N concurrent clients on loopback.

    .venv/bin/python benchmarks/web.py [--postgres URL] [--clients 20] [--seconds 10 | --requests N]
                                       [--receives 100] [--reuse] [--profile] [--workers N] [--no-cache]
                                       [--pages inbox,follow,receive,dashboard]

The data: the department's circular to every provincial office, carried down the chain with the core's own
calls (forward, receive_many; as benchmarks/cascade.py, without making files), every office that forwards has
received, the local administrations (the leaves, 7,256 of them synthetic) have not. That is the cascade's
8,292 deliveries. The app is served by uvicorn (one worker) in a thread of this process, on a free port of
127.0.0.1; the clients are httpx (one connection pool of --clients connections) on asyncio in the main thread,
each sending its next request as soon as the last is answered (no think time: at saturation a request waits
for the others, latency ≈ clients / throughput; --clients 1 gives the time of one request alone).

- inbox: GET /inbox as the clerk of กระบี่'s provincial office;
- follow: GET /follow/<id of the national circular> as the department's clerk;
- ลงรับ: POST /deliveries/<id>/receive (as htmx does: the receipt fragment back) for --receives distinct
  deliveries of local administrations, each by its own office's clerk (no repeated presses); their letters'
  PDFs are made before the clock starts, as they are when a letter is issued;
- dashboard: GET /programmes/<key> as DEQP's clerk: a programme whose eligible units are the 7,256
  synthetic อบต. (field-examples §2-§3), 2,000 of them applied in 70 provinces (6 provinces without an
  applicant, as in §3) and 1,000 deadline reminders (some e-mails refused or failed), written in bulk (not
  through apply(): its acknowledgement letters are not what is measured).

``--pages dashboard`` measures the dashboard alone, on the directory with its synthetic layer (no cascade).

Prints ``web: <page> <R> req/s, p50 <ms> ms, p95 <ms> ms, errors <E>`` per page. Accounts for the
benchmark are written with one password hash made once (argon2 per account would only slow the set-up);
logging in still verifies it. --reuse keeps the data folder's cascade (the receives used up stay received).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SARABAN_DATA_DIR", str(ROOT / "data" / "bench" / "web"))
DATA = Path(os.environ["SARABAN_DATA_DIR"])
PASSWORD = "bench-web-password-2569"
LOGINS_AT_ONCE = 3
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# --- the data ------------------------------------------------------------------------------------------------

def build_cascade(db, settings) -> int:
    """The national circular carried down the chain (no files); the leaves left to receive. Its letter id."""
    from sqlalchemy import select

    from saraban.chain.circulars import forward, issue_circular, receive_many, recipients_of
    from saraban.chain.expectations import expected_to_forward, expects_to_forward
    from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
    from saraban.directory.units import get_unit
    from saraban.kernel.clock import today
    from saraban.letters.spec import load_spec
    from saraban.records.models import Delivery, Unit

    t = time.perf_counter()
    ensure_directory(db)
    with db.transaction() as s:
        add_synthetic_local_layer(s)
    spec = load_spec(ROOT / "examples" / "03-department-circular.yaml").model_copy(
        update={"ref": None, "date": today()})
    issued = issue_circular(db, settings, spec, sender_key="dla.env.2", to="all:province_office",
                            actor="dept.clerk", files=False)
    receive_many(db, settings, issued.letter_id)
    todo = [(issued.letter_id, key) for key in recipients_of(db, issued.letter_id)]
    while todo:
        letter_id, key = todo.pop()
        with db.reading() as s:
            if not expects_to_forward(s, get_unit(s, key)):
                continue
        made = forward(db, settings, letter_id, key, actor="saraban", files=False)
        with db.reading() as s:
            onward = list(s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id).where(
                Delivery.letter_id == made.letter_id, expected_to_forward(Unit))))
        if onward:
            receive_many(db, settings, made.letter_id, onward)
            todo += [(made.letter_id, k) for k in onward]
    print(f"cascade built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return issued.letter_id


DASHBOARD_KEY = "bench-eco-town"
DASHBOARD_APPLICANTS = 2_000
DASHBOARD_REMINDERS = 1_000
MISSING_PROVINCES = ("มุกดาหาร", "เพชรบุรี", "สมุทรสงคราม", "สมุทรสาคร", "พังงา", "นราธิวาส")  # field-examples §3


def build_dashboard(db) -> str:
    """The dashboard's programme (once): eligible = the synthetic อบต. of the directory's synthetic layer,
    2,000 applications spread over every province but the six of §3, 1,000 reminders; written in bulk."""
    import random
    from datetime import timedelta

    import yaml
    from sqlalchemy import insert, select

    from saraban.directory.levels import find_province
    from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
    from saraban.kernel.clock import now
    from saraban.programmes.applications import create_programme
    from saraban.records.models import Application, Programme, Reminder, Unit

    with db.reading() as s:
        if s.scalar(select(Programme.id).where(Programme.key == DASHBOARD_KEY)) is not None:
            return DASHBOARD_KEY
    t = time.perf_counter()
    ensure_directory(db)
    with db.transaction() as s:
        add_synthetic_local_layer(s)
    at = now()
    data = yaml.safe_load((ROOT / "examples" / "programmes" / "eco-town-2565.yaml").read_text(encoding="utf-8"))
    data.update(key=DASHBOARD_KEY, eligible={"levels": ["sao"], "areas": []},
                window={"opens": (at - timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
                        "closes": (at + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"), "time_zone": "Asia/Bangkok"})
    programme_id = create_programme(db, data, actor="bench").id
    levels = ["ระดับส่งเสริม", "ทองแดง", "เงิน", "ทอง", "แพลทินัม", None]
    missing = {find_province(name).code for name in MISSING_PROVINCES}
    rng = random.Random(11)
    with db.transaction() as s:
        units = s.execute(select(Unit.id, Unit.province_code).where(Unit.level == "sao").order_by(Unit.key)).all()
        by_province: dict[str, list[int]] = {}
        for uid, code in units:
            if code not in missing:
                by_province.setdefault(code, []).append(uid)
        # round robin over the provinces: every one of the 70 gets an applicant, the big ones more
        chosen: list[int] = []
        queues = [list(v) for _, v in sorted(by_province.items())]
        while len(chosen) < DASHBOARD_APPLICANTS and any(queues):
            for q in queues:
                if q and len(chosen) < DASHBOARD_APPLICANTS:
                    chosen.append(q.pop(0))
        s.execute(insert(Application), [
            {"programme_id": programme_id, "unit_id": uid, "revision": 1 + (i % 7 == 0),
             "contact": {"name": f"ผู้ประสานงาน {i}", "position": "ปลัด", "phone": f"0 7561 {i:04d}",
                         "email": f"contact{i}@example.org"},
             "scores": None, "provisional_level": rng.choice(levels),
             "submitted_at": at - timedelta(minutes=i), "updated_at": at - timedelta(minutes=i)}
            for i, uid in enumerate(chosen)])
        applied = set(chosen)
        late = [uid for uid, _ in units if uid not in applied][:DASHBOARD_REMINDERS]
        statuses = ["sent"] * 18 + ["refused", "failed"]
        s.execute(insert(Reminder), [
            {"kind": "deadline", "about": f"programme:{programme_id}", "unit_id": uid, "addressee_id": uid,
             "step": "before-14d", "letter_id": None, "mail_status": (status := statuses[i % len(statuses)]),
             "created_at": at - timedelta(hours=1), "mailed_at": None if status == "failed" else at}
            for i, uid in enumerate(late)])
    print(f"dashboard's programme: {len(units)} eligible, {len(chosen)} applications, {len(late)} reminders, "
          f"built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return DASHBOARD_KEY


def national_letter(db) -> int | None:
    from sqlalchemy import select

    from saraban.records.models import Letter, Unit

    with db.reading() as s:
        return s.scalar(select(Letter.id).join(Unit, Unit.id == Letter.unit_id)
                        .where(Unit.key == "dla.env.2").order_by(Letter.id).limit(1))


def receive_targets(db, settings, count: int) -> list[tuple[int, int]]:
    """(delivery id, office id) of ``count`` deliveries not yet received by local administrations below
    districts, whole letters first; their letters' files (with PDFs) made now, before the clock starts."""
    from sqlalchemy import select

    from saraban.chain.circulars import make_files
    from saraban.records.models import Delivery, Letter, Unit

    sender = Unit.__table__.alias("sender")
    with db.reading() as s:
        rows = s.execute(
            select(Delivery.id, Delivery.unit_id, Delivery.letter_id)
            .join(Letter, Letter.id == Delivery.letter_id).join(sender, sender.c.id == Letter.unit_id)
            .where(sender.c.level == "district_office", Delivery.received_at.is_(None))
            .order_by(Delivery.letter_id, Delivery.id).limit(count)).all()
    letters = sorted({r.letter_id for r in rows})
    t = time.perf_counter()
    make_files(db, settings, letters, pdf=True)
    print(f"files of {len(letters)} letters (for ลงรับ) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return [(r.id, r.unit_id) for r in rows]


def accounts(db, offices: dict[str, int]) -> None:
    """Clerks (username → office id) not there yet, all with one hash of PASSWORD."""
    from sqlalchemy import select

    from saraban.accounts.passwords import hash_password
    from saraban.kernel.clock import now
    from saraban.records.models import User

    with db.transaction() as s:
        have = set(s.scalars(select(User.username).where(User.username.in_(list(offices)))))
        digest, at = hash_password(PASSWORD), now()
        s.add_all(User(username=name, display_name=f"สารบรรณ {name}", unit_id=unit_id, role="clerk",
                       password_hash=digest, disabled=False, failed_logins=0, session_version=1, created_at=at,
                       password_changed_at=at)
                  for name, unit_id in offices.items() if name not in have)


def unit_id(db, key: str) -> int:
    from saraban.directory.units import get_unit

    with db.reading() as s:
        return get_unit(s, key).id


# --- the server and the clients ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, workers=1, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("uvicorn did not start")
        time.sleep(0.05)
    return server, thread


def serve_apart(port: int, workers: int):
    """``saraban web --workers N`` in processes of its own (the clients then do not share its interpreter)."""
    import subprocess
    import urllib.request

    process = subprocess.Popen([str(Path(sys.executable).with_name("saraban")), "web", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(workers)], stdout=subprocess.DEVNULL,
                               env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("saraban web did not start")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("saraban web did not answer in 60 s")


@dataclass
class Session:
    cookie: str
    csrf: str


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0

    def line(self, page: str) -> str:
        ms = sorted(t * 1000 for t in self.times)

        def pct(p: float) -> float:
            return ms[min(len(ms) - 1, int(p * len(ms)))] if ms else float("nan")

        rate = len(self.times) / self.elapsed if self.elapsed else 0.0
        return f"web: {page} {rate:.1f} req/s, p50 {pct(0.50):.0f} ms, p95 {pct(0.95):.0f} ms, errors {self.errors}"


async def login(client, username: str) -> Session:
    page = await client.get("/login")
    cookie = page.cookies.get("saraban_session", "")
    csrf = CSRF.search(page.text)[1]
    done = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf},
                             headers={"cookie": f"saraban_session={cookie}"})
    if done.status_code != 303:
        raise SystemExit(f"login of {username} failed: {done.status_code} {done.text[:300]}")
    return Session(done.cookies.get("saraban_session", cookie), csrf)


async def timed(client, tally: Tally, method: str, path: str, session: Session, ok: set[int], **kw) -> None:
    import httpx

    headers = {"cookie": f"saraban_session={session.cookie}", "x-csrf-token": session.csrf, **kw.pop("headers", {})}
    start = time.perf_counter()
    try:
        response = await client.request(method, path, headers=headers, **kw)
        status, text = response.status_code, response.text
    except httpx.HTTPError as e:
        status, text = 0, repr(e)
    tally.times.append(time.perf_counter() - start)
    if status not in ok:
        tally.errors += 1
        tally.first_error = tally.first_error or f"{method} {path}: {status} {text[:300]}"


async def reading(client, path: str, session: Session, clients: int, seconds: float, requests: int | None) -> Tally:
    for _ in range(3):  # warm: the first request of a page pays for its imports and templates
        await timed(client, Tally(), "GET", path, session, {200})
    tally, left = Tally(), [requests]
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while (time.perf_counter() < deadline) if requests is None else left[0] > 0:
            if requests is not None:
                left[0] -= 1
            await timed(client, tally, "GET", path, session, {200})

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    tally.elapsed = time.perf_counter() - start
    return tally


async def receiving(client, targets: list[tuple[int, Session]], clients: int) -> Tally:
    tally, queue = Tally(), list(reversed(targets))

    async def worker() -> None:
        while queue:
            delivery_id, session = queue.pop()
            await timed(client, tally, "POST", f"/deliveries/{delivery_id}/receive", session, {200},
                        headers={"hx-request": "true"}, data={"csrf": session.csrf})

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    tally.elapsed = time.perf_counter() - start
    return tally


async def run(base: str, args, follow_id: int | None, targets: list[tuple[int, int]],
              dashboard: str | None = None) -> None:
    import httpx

    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    no_jar = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # each request carries its own person's cookie
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60, follow_redirects=False,
                                 cookies=no_jar) as client:
        pages = args.pages
        province = await login(client, "bench.krabi") if "inbox" in pages else None
        department = await login(client, "bench.dept") if "follow" in pages else None
        owner = await login(client, "bench.deqp") if dashboard else None
        # Logging in verifies the password (argon2) inside the login's write transaction: on SQLite every login
        # queues on the write lock, so the accounts of the ลงรับ clients log in a few at a time, before timing.
        gate = asyncio.Semaphore(LOGINS_AT_ONCE)

        async def office_login(office: int) -> Session:
            async with gate:
                return await login(client, f"bench.o{office}")

        start = time.perf_counter()
        sessions = await asyncio.gather(*(office_login(o) for _, o in targets))
        print(f"{len(sessions) + 2} logins in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        results = []
        if province is not None:
            results.append(("inbox", await reading(client, "/inbox", province, args.clients, args.seconds,
                                                   args.requests)))
        if follow_id is not None and department is not None:
            results.append(("follow", await reading(client, f"/follow/{follow_id}", department, args.clients,
                                                     args.seconds, args.requests)))
        if targets:
            results.append(("ลงรับ", await receiving(client, [(d, s) for (d, _), s in zip(targets, sessions,
                                                                                            strict=True)],
                                                      args.clients)))
        if dashboard and owner is not None:
            results.append(("dashboard", await reading(client, f"/programmes/{dashboard}", owner, args.clients,
                                                        args.seconds, args.requests)))
    for page, tally in results:
        print(tally.line(page))
        if tally.first_error:
            print(f"  first error: {tally.first_error}")


def profile(app, paths: list[tuple[str, str, str]]) -> None:
    """One request (username, method, path) of each page under cProfile: saraban's calls by cumulative time,
    then the top by own time.

    The app is called in this thread (httpx's ASGI transport, FastAPI's thread pool replaced by direct calls)
    so that the profile sees all of it."""
    import cProfile
    import pstats

    import fastapi.dependencies.utils
    import fastapi.routing
    import httpx

    async def direct(func, *args, **kwargs):
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = direct
    fastapi.dependencies.utils.run_in_threadpool = direct

    async def one(username: str, method: str, path: str) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                     follow_redirects=False) as client:
            session = await login(client, username)
            headers = {"cookie": f"saraban_session={session.cookie}", "hx-request": "true"}
            form = {"csrf": session.csrf} if method == "POST" else None
            if method == "GET":
                await client.get(path, headers=headers)  # warm
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            status = (await client.request(method, path, headers=headers, data=form)).status_code
            profiler.disable()
            print(f"\nprofile of {method} {path} ({status}, {1000 * (time.perf_counter() - start):.0f} ms under the "
                  "profiler):")
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(r"saraban|sqlalchemy/(orm/loading|engine/base)|jinja2/env", 25)
            stats.sort_stats("tottime").print_stats(12)

    for username, method, path in paths:
        asyncio.run(one(username, method, path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("SARABAN_DATABASE_URL") or None,
                        help="a PostgreSQL URL (default: SARABAN_DATABASE_URL, else SQLite in the data folder); "
                             "emptied first unless --reuse")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per reading page (default 10)")
    parser.add_argument("--requests", type=int, help="requests per reading page instead of --seconds")
    parser.add_argument("--receives", type=int, default=100, help="distinct deliveries to ลงรับ (default 100)")
    parser.add_argument("--reuse", action="store_true", help="keep the data folder's cascade if it is there")
    parser.add_argument("--profile", action="store_true", help="also profile one request of each page")
    parser.add_argument("--no-cache", action="store_true",
                        help="the follow page counts in the database on every request (its figures are otherwise "
                             "shared until a register line is written); in-thread serving only")
    parser.add_argument("--pages", default="inbox,follow,receive,dashboard",
                        help="the pages to measure, of inbox, follow, receive, dashboard (default: all); "
                             "without inbox, follow and receive no cascade is built")
    parser.add_argument("--workers", type=int, default=0,
                        help="serve with `saraban web --workers N` in processes of their own (default: one uvicorn "
                             "worker in a thread of this process)")
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 200))
    args.pages = {p.strip() for p in args.pages.split(",") if p.strip()}
    unknown = args.pages - {"inbox", "follow", "receive", "dashboard"}
    if unknown:
        parser.error(f"unknown page(s) {', '.join(sorted(unknown))}: of inbox, follow, receive, dashboard")
    cascade = bool(args.pages & {"inbox", "follow", "receive"})

    from fresh_data import fresh_data  # benchmarks/, the script's own folder

    if args.reuse and (args.postgres or (DATA / "web.db").exists()):
        os.environ["SARABAN_DATABASE_URL"] = args.postgres or f"sqlite:///{DATA / 'web.db'}"
    else:
        args.reuse = False
        fresh_data(DATA, args.postgres, "web.db")

    from sqlalchemy import func, select

    from saraban.faces.web.app import create_app, route_table
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database
    from saraban.records.models import Delivery

    settings = load_settings()
    db = open_database(settings)
    follow_id = national_letter(db) if args.reuse and cascade else None
    if follow_id is None and cascade:
        follow_id = build_cascade(db, settings)
    dashboard = build_dashboard(db) if "dashboard" in args.pages else None
    with db.reading() as s:
        deliveries = s.scalar(select(func.count()).select_from(Delivery))
    targets = receive_targets(db, settings, args.receives + (1 if args.profile else 0)) \
        if "receive" in args.pages else []
    spare = targets.pop() if args.profile and targets else None  # one ลงรับ to profile
    accounts(db, {"bench.krabi": unit_id(db, "prov.81"), "bench.dept": unit_id(db, "dla.env.2"),
                  "bench.deqp": unit_id(db, "deqp"),
                  **{f"bench.o{office}": office for _, office in targets + ([spare] if spare else [])}})
    app = create_app(settings, db)
    if args.no_cache:
        from saraban.faces.web.routes import follow, programmes

        follow._tree_views.seconds = 0
        programmes._views.seconds = 0
    paths = {path for path, _, _ in route_table(app)}
    missing = [p for p in ("/inbox", "/follow/{letter_id}", "/deliveries/{delivery_id}/receive") if p not in paths]
    if missing:
        print(f"not in the app yet (skipped): {', '.join(missing)}")
    kind = db.engine.dialect.name
    print(f"database: {kind}, {deliveries} deliveries; {args.clients} clients, "
          + (f"{args.requests} requests" if args.requests else f"{args.seconds:g} s") + " per reading page, "
          f"{len(targets)} distinct ลงรับ")
    port = free_port()
    if args.workers:
        os.environ["SARABAN_DATABASE_URL"] = str(db.engine.url.render_as_string(hide_password=False))
        print(f"served by saraban web --workers {args.workers} (processes of their own)")
        process = serve_apart(port, args.workers)
        try:
            asyncio.run(run(f"http://127.0.0.1:{port}", args,
                            follow_id if "/follow/{letter_id}" in paths else None, targets, dashboard))
        finally:
            process.terminate()
            process.wait(timeout=20)
    else:
        server, thread = serve(app, port)
        try:
            asyncio.run(run(f"http://127.0.0.1:{port}", args,
                            follow_id if "/follow/{letter_id}" in paths else None, targets, dashboard))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    if args.profile:
        profile(app, ([("bench.krabi", "GET", "/inbox")] if "inbox" in args.pages else [])
                + ([("bench.dept", "GET", f"/follow/{follow_id}")] if follow_id and "follow" in args.pages else [])
                + ([("bench.deqp", "GET", f"/programmes/{dashboard}")] if dashboard else [])
                + ([(f"bench.o{spare[1]}", "POST", f"/deliveries/{spare[0]}/receive")] if spare else []))
    db.engine.dispose()


if __name__ == "__main__":
    main()
