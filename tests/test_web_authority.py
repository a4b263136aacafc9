"""Issue 10, point 3: every route of the app, walked as each person of a foreign office (Phuket's), never
shows or changes anything of Krabi's office; without a session every route sends to the login page.

The walk reads the app's own route table, so a route added later is walked too; a path parameter the walk
does not know fails the test, naming what to add to ``PATH_VALUES``' kinds below.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from PIL import Image
from pydantic import BaseModel
from sqlalchemy import or_, select

from saraban.records.models import Assignment, Base, Delivery, Draft, Letter, Unit, User
from tests.web import WebClient, web_world  # noqa: F401  (the web fixture)

FOREIGN = ("phuket.clerk", "phuket.head", "phuket.staff", "phuket.admin", "patong.clerk")
FOREIGN_PROVINCE = "83"
KRABI_PROVINCE = "81"

# Path parameters that name one of Krabi's things: a foreign person gets 403 or 404, and nothing changes.
KRABI_PARAMS = frozenset({"delivery_id", "letter_id", "draft_id", "user_id", "token", "unit_key", "application_id",
                          "evidence_id"})
# Path parameters that only choose a view of the person's own office (filled with valid values).
VIEW_PARAMS = frozenset({"year", "series", "kind", "fmt", "programme_key"})

# Routes anyone may request, each with the reason (path, method) → why.
PUBLIC = {
    ("/login", "GET"): "the login form",
    ("/login", "POST"): "logging in (a logged-in person posting it only logs in again as themselves)",
    ("/logout", "POST"): "ends only one's own session",
    ("/t/{token}", "GET"): "the QR's public page of a copy: genuine or not, nothing confidential, no ลงรับ for "
                           "a foreign person (asserted below)",
    ("/verify", "GET"): "the public check of a letter: the form only",
    ("/verify", "POST"): "the public check of a letter: it answers only ที่, ลงวันที่ and the sending office of a "
                         "letter whose exact PDF or number and date is given, and writes nothing "
                         "(tests/test_web_verify.py)",
}
# A person's own views (no path parameter): (path → the roles that must get the page).
OWN_VIEWS = {
    "/": {"clerk", "head", "staff", "admin"},
    "/inbox": {"clerk", "head"},
    "/drafts": {"clerk", "head"},
    "/follow": {"clerk", "head"},
    "/registers": {"clerk", "head"},
    "/users": {"admin"},
    "/applications": {"clerk", "head"},
}
# Form fields a POST may expect, filled with values that probe Krabi's things or are plausible.
FORM_NAMES_PROBING_KRABI = ("delivery_id", "delivery_ids", "letter_id", "draft_id", "user_id", "unit", "unit_key",
                            "office", "token")

MARK_FORWARD = "ส่งต่อของกระบี่ KRABI-FWD-7f3a"
MARK_DRAFT = "ร่างของกระบี่ KRABI-DRAFT-9c1e"
MARK_USER = "นางสาวกระบี่ ลับเฉพาะ KRABI-USER-4d2b"
MARK_APPLICATION = "ผู้ประสานงานเทศบาลเมืองกระบี่ KRABI-APP-5e7a"
MARK_EVIDENCE = "หลักฐานของกระบี่ KRABI-EVIDENCE-3b9d.pdf"
# Krabi's own people: one of them must reach each page naming a Krabi thing (the control of the walk); the town's
# application is seen by the programme owner's appointed assessor too.
KRABI_PEOPLE = ("krabi.clerk", "town.clerk", "deqp.assessor")


@dataclass
class KrabiWorld:
    """Krabi's things the walk asks for, and what must never show on a foreign page."""

    krabi_id: int
    values: dict[str, list[str]]
    markers: list[str]
    tokens: list[str]
    foreign_units: set[int] = field(default_factory=set)
    krabi_units: set[int] = field(default_factory=set)
    dept_letters: list[int] = field(default_factory=list)
    dated: str = ""  # the day a plausible form's letter is dated


def build_krabi(web) -> KrabiWorld:
    """The department's circular received by Krabi and forwarded to a district (with files), a second one not
    yet received, a delivery assigned to krabi.staff, a draft of Krabi's, Krabi's users (one more, named)."""
    from saraban.accounts.users import NewUser, import_users
    from saraban.chain.circulars import forward, issue_circular, make_files, receive
    from saraban.chain.numbering import register_year
    from saraban.kernel.clock import now, today
    from saraban.letters.spec import parse_spec
    from saraban.programmes.applications import apply
    from saraban.programmes.evidence import add_evidence
    from tests.dbs import circular_spec
    from tests.web import PASSWORD

    db, settings = web.db, web.settings
    dated = today().isoformat()
    first = web.circular(to="prov.81,prov.83", date=dated)
    second = issue_circular(db, settings, circular_spec(subject="หนังสือเวียนฉบับที่สองที่ยังไม่ลงรับ", date=dated),
                            sender_key="dla.env.2", to="prov.81,prov.83", actor="dept.clerk", files=False)
    receive(db, settings, first.letter_id, "prov.81", actor="krabi.clerk")
    fwd = forward(db, settings, first.letter_id, "prov.81", "amphoe.8101", actor="krabi.clerk", files=False)
    import_users(db, [NewUser(username="krabi.secret", display_name=MARK_USER, unit="prov.81", role="staff",
                              password=PASSWORD)], actor="krabi.admin")
    with db.transaction() as s:
        letter = s.get(Letter, fwd.letter_id)
        letter.subject = MARK_FORWARD
        letter.spec = {**letter.spec, "subject": MARK_FORWARD}
    make_files(db, settings, [fwd.letter_id])
    # DEQP's programme, invited to Krabi's town and Phuket's Patong; the town applied with one evidence file
    programme = web.programme()
    application = apply(db, settings, programme.key, "muni.8101.krabi", contact={"name": MARK_APPLICATION},
                        scores={"1.1": 4}, actor="town.clerk")
    pdf = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(pdf, "PDF")
    evidence = add_evidence(db, settings, application.application_id, "1.1", MARK_EVIDENCE, pdf.getvalue(),
                            actor="town.clerk")
    spec = parse_spec(circular_spec(subject=MARK_DRAFT, date=dated).model_dump(mode="json", exclude_none=True))
    with db.transaction() as s:
        units = {u.key: u for u in s.scalars(select(Unit).where(Unit.key.in_(["prov.81", "amphoe.8101"])))}
        krabi = units["prov.81"]
        users = {u.username: u for u in s.scalars(select(User).where(User.unit_id == krabi.id))}
        received = s.scalar(select(Delivery).where(Delivery.letter_id == first.letter_id,
                                                   Delivery.unit_id == krabi.id))
        waiting = s.scalar(select(Delivery).where(Delivery.letter_id == second.letter_id,
                                                  Delivery.unit_id == krabi.id))
        district = s.scalar(select(Delivery).where(Delivery.letter_id == fwd.letter_id))
        at = now()
        s.add(Assignment(delivery_id=received.id, user_id=users["krabi.staff"].id,
                         assigned_by_id=users["krabi.clerk"].id, at=at))
        draft = Draft(unit_id=krabi.id, author_id=users["krabi.clerk"].id, spec=spec.model_dump(mode="json",
                      exclude_none=True), to_text="amphoe.8101", status="draft", created_at=at, updated_at=at)
        s.add(draft)
        s.flush()
        foreign_units = set(s.scalars(select(Unit.id).where(Unit.province_code == FOREIGN_PROVINCE)))
        krabi_units = set(s.scalars(select(Unit.id).where(Unit.province_code == KRABI_PROVINCE)))
        values = {
            "delivery_id": [str(received.id), str(waiting.id), str(district.id)],
            "letter_id": [str(fwd.letter_id), str(first.letter_id)],
            "draft_id": [str(draft.id)],
            "user_id": [str(users["krabi.clerk"].id), str(users["krabi.secret"].id)],
            "token": [waiting.token, received.token, programme.tokens["muni.8101.krabi"]],
            "unit_key": ["prov.81", "amphoe.8101"],
            "year": [str(register_year(at))],
            "series": ["receive", "circular", "send"],
            "kind": ["docx", "pdf", "xlsx", "stamped"],
            "fmt": ["xlsx", "docx"],
            "programme_key": [programme.key],
            "application_id": [str(application.application_id)],
            "evidence_id": [str(evidence.evidence_id)],
        }
        markers = [MARK_FORWARD, MARK_DRAFT, MARK_USER, MARK_APPLICATION, MARK_EVIDENCE] \
            + [u.display_name for u in users.values()]
        return KrabiWorld(krabi.id, values, markers, [waiting.token, received.token], foreign_units, krabi_units,
                          [first.letter_id, second.letter_id], dated)


# --- what must not change --------------------------------------------------------------------------------------

def snapshot(web, world: KrabiWorld) -> dict[str, tuple[int, str]]:
    """Row counts and a hash of the rows of every table, leaving out rows of the foreign province (a foreign
    person may change their own office's things, e.g. their account's last login) and, of the events, keeping
    those about Krabi's province, its letters and the department's letters; then the files under out/."""
    from saraban.records.models import Event

    out: dict[str, tuple[int, str]] = {}
    with web.db.reading() as s:
        letters = set(s.scalars(select(Letter.id).where(Letter.unit_id.in_(world.krabi_units)))) \
            | set(world.dept_letters)
        deliveries = set(s.scalars(select(Delivery.id).where(Delivery.letter_id.in_(letters))))
        for table in Base.metadata.sorted_tables:
            if table.name == "login_failures":  # a foreign person's own failed logins, nothing of Krabi's
                continue
            query = select(table)
            if table.name == "events":
                query = query.where(or_(Event.office_id.in_(world.krabi_units), Event.unit_id.in_(world.krabi_units),
                                        Event.letter_id.in_(letters), Event.delivery_id.in_(deliveries)))
            else:
                owner = table.c.get("unit_id") if "unit_id" in table.c else table.c.get("owner_unit_id")
                if table.name == "units":
                    owner = table.c.id
                if owner is not None:
                    query = query.where(or_(owner.is_(None), owner.not_in(world.foreign_units)))
            rows = s.execute(query.order_by(*table.primary_key.columns)).all()
            out[table.name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
    root = web.settings.output_dir
    files = sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in (root.rglob("*") if root.exists() else []) if p.is_file() and not _foreign_file(p))
    out["files under out/"] = (len(files), hashlib.sha256(repr(files).encode()).hexdigest())
    return out


def _foreign_file(path: Path) -> bool:
    return any(re.search(rf"(^|[.-]){FOREIGN_PROVINCE}\d*($|[.-])", part) and "81" not in part
               for part in path.parts[-4:])


def changed(before: dict, after: dict) -> list[str]:
    return [f"{name}: {before.get(name)} → {after.get(name)}" for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)]


# --- the routes ------------------------------------------------------------------------------------------------

PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def api_routes(app) -> dict[tuple[str, str], object]:
    """The APIRoute objects behind ``route_table`` (by path and endpoint name), to read the forms they expect."""
    from fastapi.routing import APIRoute

    found, pending = {}, list(app.router.routes)
    while pending:
        route = pending.pop(0)
        if (inner := getattr(route, "original_router", None)) is not None:
            pending.extend(inner.routes)
        elif isinstance(route, APIRoute):
            found[(route.path, route.endpoint.__name__)] = route
    return found


def fill_paths(path: str, values: dict[str, list[str]]) -> list[str]:
    names = PARAM.findall(path)
    unknown = [n for n in names if n not in values]
    assert not unknown, (
        f"the authority walk does not know the path parameter(s) {unknown} of {path}: add them to the values of "
        f"build_krabi in tests/test_web_authority.py (a Krabi thing → KRABI_PARAMS with Krabi's ids; a choice of "
        f"view → VIEW_PARAMS with valid values), or use one of the names of the brief")
    paths = []
    for combo in product(*(values[n] for n in names)):
        filled = path
        for name, value in zip(names, combo, strict=True):
            filled = re.sub(r"{" + name + r"(?::\w+)?}", value, filled, count=1)
        paths.append(filled)
    return paths


def form_fields(route) -> list[tuple[str, object]]:
    """The form fields (name, annotation) the route's endpoint declares (a form model's fields too)."""
    fields = []
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields += [(f.alias or n, f.annotation) for n, f in annotation.model_fields.items()]
        else:
            fields.append((param.alias, annotation))
    return fields


def plausible_form(route, world: KrabiWorld) -> dict[str, object]:
    """Values for every field the route expects: Krabi's things where a field names one (probing), else
    something a person might type."""
    probe = {"delivery_id": world.values["delivery_id"][1], "delivery_ids": world.values["delivery_id"],
             "letter_id": world.values["letter_id"][0], "draft_id": world.values["draft_id"][0],
             "user_id": world.values["user_id"][1], "unit": "prov.81", "unit_key": "prov.81", "office": "prov.81",
             "token": world.tokens[0]}
    typed = {"to": "amphoe.8301", "units": "amphoe.8301", "username": "walk.probe", "display_name": "ผู้ทดสอบ",
             "role": "clerk", "password": "walk-probe-password-1234", "q": "", "page": "1",
             "year": world.values["year"][0], "series": "receive", "subject": "ทดสอบ", "next": "/"}
    # A whole letter form too, for routes that read the form themselves (drafts): extra fields are ignored.
    form: dict[str, object] = {"kind": "stamped", "circular": "1", "date": world.dated,
                               "to": "สำนักงานส่งเสริมการปกครองท้องถิ่นอำเภอ", "subject": "ทดสอบ",
                               "sender.name": "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดภูเก็ต", "body": ["ทดสอบ"],
                               "recipients": "amphoe.8301", "user_id": probe["user_id"]}
    for name, annotation in form_fields(route):
        if name in probe:
            form[name] = probe[name]
        elif name in typed:
            form[name] = typed[name]
        else:
            text = str(annotation)
            form[name] = "1" if "int" in text else "true" if "bool" in text else ["ทดสอบ"] if "list" in text \
                else "ทดสอบ"
    return form


def request(client: WebClient, method: str, path: str, form: dict | None = None):
    if method == "GET":
        return client.get(path)
    if method == "POST":
        return client.post(path, form or {})
    return client.http.request(method, path, data={"csrf": client.csrf, **(form or {})},
                               headers={"x-csrf-token": client.csrf})


def page_text(response) -> str:
    """What the person receives: the HTML, or the XML inside a docx/xlsx (a zip)."""
    if response.content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(response.content)) as z:
                return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        except zipfile.BadZipFile:
            pass
    return response.content.decode("utf-8", "replace")


def shows_receive_form(html: str) -> bool:
    """A form other than logging out, or a ลงรับ button."""
    forms = re.findall(r"<form\b[^>]*>", html)
    return any('action="/logout"' not in f for f in forms) or bool(re.search(r"<button\b[^>]*>[^<]*ลงรับ", html))


def reached_by_krabi(web, table, world: KrabiWorld) -> list[str]:
    """The control: one of Krabi's own people (KRABI_PEOPLE: the province's clerk, the town's for its
    application) gets each page that names a Krabi thing for at least one of the walk's values (else a 404 for
    the foreign office would prove nothing). Page images are left out (they are made with LibreOffice on
    demand: slow, and the walk does not need them to exist)."""
    people = [web.client(name) for name in KRABI_PEOPLE]
    problems = []
    for path, methods, endpoint in sorted(table):
        if "GET" not in methods or not set(PARAM.findall(path)) & KRABI_PARAMS or path.endswith(".png") \
                or (path, "GET") in PUBLIC:
            continue
        statuses = [who.get(filled).status_code for filled in fill_paths(path, world.values) for who in people]
        if 200 not in statuses:
            problems.append(f"GET {path} ({endpoint}): Krabi's own people get {statuses} for the walk's values: "
                            "they do not reach the page (fix build_krabi)")
    return problems


# --- the walk --------------------------------------------------------------------------------------------------

def test_every_route_as_a_foreign_office_shows_and_changes_nothing_of_krabi(web) -> None:
    from saraban.faces.web.app import route_table

    world = build_krabi(web)
    table = route_table(web.app)
    routes = api_routes(web.app)
    assert {(p, e) for p, _, e in table} == set(routes)
    people = {name: web.client(name) for name in FOREIGN}
    roles = {name: name.split(".")[1] for name in FOREIGN}
    problems: list[str] = []
    walked: list[str] = []
    own_pages: dict[str, set[str]] = {}
    problems += reached_by_krabi(web, table, world)
    base = snapshot(web, world)
    for path, methods, endpoint in sorted(table):
        names = set(PARAM.findall(path))
        fill_paths(path, world.values)  # fails at once, naming an unknown parameter
        krabi = bool(names & KRABI_PARAMS)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if (path, method) in PUBLIC:
                if (path, method) == ("/t/{token}", "GET"):
                    for filled in fill_paths(path, world.values):
                        for who, client in people.items():
                            page = client.get(filled)
                            if page.status_code != 200 or shows_receive_form(page.text):
                                problems.append(f"GET {filled} as {who}: {page.status_code}, the public page "
                                                "expected without a ลงรับ form")
                            if shown := [m for m in world.markers if m in page.text]:
                                problems.append(f"GET {filled} as {who}: shows Krabi's {shown}")
                    if diff := changed(base, after := snapshot(web, world)):
                        problems.append(f"GET {path} as a foreign person changed: {diff}")
                        base = after
                walked.append(f"{method} {path} (public: {PUBLIC[(path, method)]})")
                continue
            for filled in fill_paths(path, world.values):
                forms = [None] if method == "GET" else [{}, plausible_form(routes[(path, endpoint)], world)]
                for who, client in people.items():
                    for form in forms:
                        response = request(client, method, filled, form)
                        status = response.status_code
                        what = f"{method} {filled} ({endpoint}) as {who}" + (f" with {form}" if form else "")
                        if status >= 500:
                            problems.append(f"{what}: {status} (a server error)")
                        elif status == 403 and "(CSRF)" in response.text:
                            problems.append(f"{what}: refused for CSRF, not for authority (the walk's fault)")
                        elif krabi:
                            allowed = {403, 404} | ({422} if form == {} else set())
                            if status not in allowed:
                                problems.append(f"{what}: {status}, expected 403 or 404 for Krabi's thing "
                                                f"(shows: {page_text(response)[:300]!r})")
                        elif method == "GET" and status == 200 and path in OWN_VIEWS:
                            own_pages.setdefault(path, set()).add(roles[who])
                        text = page_text(response)
                        if status < 500 and (shown := [m for m in world.markers if m in text]):
                            problems.append(f"{what}: {status} shows Krabi's {shown}")
                after = snapshot(web, world)
                if diff := changed(base, after):
                    problems.append(f"{method} {filled} ({endpoint}) as a foreign person changed: {diff}")
                    base = after
            walked.append(f"{method} {path}")
    for path, wanted in OWN_VIEWS.items():
        if any(p == path for p, _, _ in table):
            missing = wanted - own_pages.get(path, set())
            if missing:
                problems.append(f"GET {path}: the foreign office's {sorted(missing)} did not get their own page (200)")
    print("\n".join(["walked:"] + walked))
    assert not problems, "\n".join(problems)


def test_every_route_without_a_session_goes_to_login(web) -> None:
    from saraban.faces.web.app import route_table

    world = build_krabi(web)
    anonymous = web.client()
    anonymous.csrf = re.search(r'name="csrf" value="([^"]+)"', anonymous.get("/login").text)[1]
    routes = api_routes(web.app)
    problems: list[str] = []
    base = snapshot(web, world)
    for path, methods, endpoint in sorted(route_table(web.app)):
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            for filled in fill_paths(path, world.values):
                if (path, method) in PUBLIC:
                    if (path, method) == ("/t/{token}", "GET"):
                        page = anonymous.get(filled)
                        if page.status_code != 200 or shows_receive_form(page.text):
                            problems.append(f"GET {filled} without a session: {page.status_code}, the public page "
                                            "expected without a ลงรับ form")
                    continue
                for form in ([None] if method == "GET" else [{}, plausible_form(routes[(path, endpoint)], world)]):
                    response = request(anonymous, method, filled, form)
                    status, location = response.status_code, response.headers.get("location", "")
                    what = f"{method} {filled} ({endpoint}) without a session"
                    if method == "GET" and not (status == 303 and location.startswith("/login")):
                        problems.append(f"{what}: {status} {location}, expected 303 to /login")
                    elif method != "GET" and status not in (401, 403):
                        problems.append(f"{what}: {status}, expected 401 or 403")
                    elif status == 403 and "(CSRF)" in response.text:
                        problems.append(f"{what}: refused for CSRF, not for want of a login (the walk's fault)")
                    if shown := [m for m in world.markers if m in page_text(response)]:
                        problems.append(f"{what}: shows Krabi's {shown}")
            if diff := changed(base, after := snapshot(web, world)):
                problems.append(f"{method} {path} without a session changed: {diff}")
                base = after
    assert not problems, "\n".join(problems)
