"""Issue 12 §6: a circular's copies delivered by e-mail, exactly once, failures in the status.

A real SMTP server (aiosmtpd) on loopback receives the messages; the attachment is read back with pypdf
(the copy's reference number, its file name the reference number); the tracking link is requested through
the real app; a refused address shows in ``saraban status`` with a Thai label; a second run sends nothing;
two threads delivering at once send each copy once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import re
import threading
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from saraban.chain.emailing import EmailingError, email_copies
from saraban.chain.status import as_text, letter_status, mail_problems, mail_problems_text
from saraban.directory.imports import update_unit
from saraban.notify.mail import send_mail
from saraban.records.models import Delivery, Event, Mailing, Unit
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.stored import local
from tests.test_mail import Store, free_port, smtp_server
from tests.web import web_world  # noqa: F401  (the web fixture)
from thai_text import to_thai_digits

BASE = "https://saraban.example.go.th"
LINK = re.compile(r"https?://[^\s<>\"')]+")
ADDRESSES = {"prov.81": "krabi@example.org", "prov.83": "nobody@phuket.example.org"}  # nobody@: refused


@pytest.fixture
def smtp():
    store = Store()
    with smtp_server(store) as port:
        yield store, port


def mail_settings(settings, port: int):
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port, base_url=BASE,
                               mail_from="saraban@dla.example.go.th")


def set_addresses(db, addresses: dict[str, str | None]) -> None:
    with db.transaction() as s:
        for key, address in addresses.items():
            update_unit(s, key, email=address)


def no_wait(settings, mail, **kw):
    """send_mail without the back-off sleeps (a server that is down is tried once)."""
    return send_mail(settings, mail, attempts=1, sleep=lambda _: None, **kw)


def test_copies_go_by_email_once_with_the_pdf_and_the_link_and_a_refusal_shows(web, smtp):
    store, port = smtp
    settings = mail_settings(web.settings, port)
    set_addresses(web.db, ADDRESSES)
    issued = web.circular(to="prov.81,prov.83")

    run = email_copies(web.db, settings, issued.letter_id, actor="dept.clerk")
    assert sorted((r.unit_key, r.status) for r in run.results) == [("prov.81", "sent"), ("prov.83", "refused")]
    (message,) = store.messages()
    assert message["To"] == "krabi@example.org"
    thai_ref = to_thai_digits(issued.ref)
    assert thai_ref in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "เรียน สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่" in body and f"ที่ {thai_ref}" in body

    # the attachment: the copy's PDF, named by the reference number, with that number on the page
    (pdf,) = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == issued.ref.replace("/", "-") + ".pdf"
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert re.sub(r"\s", "", thai_ref) in re.sub(r"\s", "", text)
    with web.db.reading() as s:
        copy = s.scalar(select(Delivery).join(Unit, Unit.id == Delivery.unit_id)
                        .where(Delivery.letter_id == issued.letter_id, Unit.key == "prov.81"))
    with open(local(settings, copy.pdf_key), "rb") as f:
        assert pdf.get_content() == f.read()  # the addressee's own copy (its tracking QR), not the file copy

    # the tracking link resolves through the app: the copy's page, with the ลงรับ button for its clerk
    (link,) = [u for u in LINK.findall(body) if "/t/" in u]
    assert link == f"{BASE}/t/{copy.token}"
    page = web.client("krabi.clerk").get(urlsplit(link).path)
    assert page.status_code == 200 and "ลงรับ" in page.text

    # the refusal is in the letter's status, with a Thai label
    status = letter_status(web.db, issued.letter_id)
    tree = as_text(status)
    assert "ที่อยู่อีเมลถูกปฏิเสธ" in tree and "ส่งทางอีเมลแล้ว" in tree
    problems = mail_problems(web.db, status)
    assert [(p["unit"], p["kind"]) for p in problems] == [("prov.83", "mail.refused")]
    assert "550 5.1.1 no such user" in mail_problems_text(problems)

    # again: nothing new (the sent one is done, the refused address was not corrected)
    again = email_copies(web.db, settings, issued.letter_id, actor="dept.clerk")
    assert again.results == [] and len(store.envelopes) == 1
    assert again.totals == {"sent": 1, "refused": 1}

    # the address corrected in the directory: that copy goes, the problem is resolved
    set_addresses(web.db, {"prov.83": "phuket@example.org"})
    fixed = email_copies(web.db, settings, issued.letter_id, actor="dept.clerk")
    assert [(r.unit_key, r.status) for r in fixed.results] == [("prov.83", "sent")]
    assert [m["To"] for m in store.messages()] == ["krabi@example.org", "phuket@example.org"]
    assert all(p["resolved"] for p in mail_problems(web.db, letter_status(web.db, issued.letter_id)))


def test_no_mail_server_no_address_and_a_server_down(db, settings):
    from saraban.chain.circulars import issue_circular
    from saraban.kernel.clock import today

    set_addresses(db, {"prov.81": "krabi@example.org", "prov.83": None})
    issued = issue_circular(db, settings, circular_spec(date=today()), sender_key="dla.env.2", to="prov.81,prov.83",
                            files=False)
    with pytest.raises(EmailingError, match="SARABAN_SMTP_HOST"):
        email_copies(db, settings, issued.letter_id)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Mailing)) == 0  # nothing marked

    down = mail_settings(settings, free_port())  # nothing listens there
    run = email_copies(db, down, issued.letter_id, send=no_wait)
    assert sorted((r.unit_key, r.status) for r in run.results) == [("prov.81", "failed"), ("prov.83", "no-address")]
    tree = as_text(letter_status(db, issued.letter_id))
    assert "ส่งอีเมลไม่สำเร็จ" in tree and "ไม่มีที่อยู่อีเมลในทำเนียบ" in tree

    store = Store()
    with smtp_server(store) as port:  # the server is back: the failed copy goes, the one without address waits
        up = mail_settings(settings, port)
        retried = email_copies(db, up, issued.letter_id, send=no_wait)
        assert [(r.unit_key, r.status) for r in retried.results] == [("prov.81", "sent")]
        assert email_copies(db, up, issued.letter_id).results == []
    assert len(store.envelopes) == 1


def test_two_workers_at_once_send_each_copy_once(db, settings, monkeypatch):
    from saraban.chain import emailing
    from saraban.chain.circulars import issue_circular, make_files
    from saraban.kernel.clock import today

    monkeypatch.setattr(emailing, "CLAIM_CHUNK", 1)  # the two interleave copy by copy
    keys = ["prov.81", "prov.82", "prov.83", "prov.84", "prov.80", "prov.86"]
    set_addresses(db, {k: f"{k.replace('.', '-')}@example.org" for k in keys})
    issued = issue_circular(db, settings, circular_spec(date=today()), sender_key="dla.env.2", to=",".join(keys),
                            files=False)
    make_files(db, settings, [issued.letter_id], pdf=True)
    store = Store()
    with smtp_server(store) as port:
        mail = mail_settings(settings, port)
        start, runs, errors = threading.Barrier(2), [], []

        def worker() -> None:
            try:
                start.wait(timeout=30)
                runs.append(email_copies(db, mail, issued.letter_id, actor="worker"))
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors, errors
    sent_to = sorted(a for e in store.envelopes for a in e.rcpt_tos)
    assert sent_to == sorted(f"{k.replace('.', '-')}@example.org" for k in keys)  # each copy once
    assert sum(len(r.results) for r in runs) == len(keys)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "letter.mailed")) == len(keys)
        assert set(s.scalars(select(Mailing.status))) == {"sent"}


def test_the_command_line_issues_and_forwards_with_email(tmp_path, monkeypatch):
    import json

    import yaml
    from typer.testing import CliRunner

    from saraban.faces.cli.app import app
    from saraban.kernel.clock import today
    from tests.conftest import example_dict

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = today().isoformat()
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    issue = ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2", "--to", "prov.81,prov.83", "--email"]

    refused = runner.invoke(app, issue)  # no mail server: refused before anything is numbered
    assert refused.exit_code == 2 and "SARABAN_SMTP_HOST" in refused.output and "ไม่มีการส่ง" in refused.output
    assert runner.invoke(app, ["status", "1"]).exit_code == 2  # no letter 1

    assert runner.invoke(app, ["directory", "set", "prov.81", "--email", "krabi@example.org"]).exit_code == 0
    store = Store()
    with smtp_server(store) as port:
        monkeypatch.setenv("SARABAN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SARABAN_SMTP_PORT", str(port))
        secret = dict(spec, secrecy="ลับที่สุด")
        (tmp_path / "s.yaml").write_text(yaml.safe_dump(secret, allow_unicode=True), encoding="utf-8")
        refused = runner.invoke(app, [*issue[:2], str(tmp_path / "s.yaml"), *issue[3:]])
        assert refused.exit_code == 2 and "ลับที่สุด" in refused.output and "ไม่มีการออกเลข" in refused.output
        assert runner.invoke(app, ["status", "1"]).exit_code == 2  # still nothing numbered
        issued = runner.invoke(app, issue)
        assert issued.exit_code == 0, issued.output
        assert "ส่งทางอีเมลแล้ว ๑" in issued.output and "ไม่มีที่อยู่อีเมลในทำเนียบ ๑" in issued.output
        text = runner.invoke(app, ["status", "1"]).output
        assert "[prov.81] ส่งแล้ว ยังไม่ลงรับ [อีเมล: ส่งทางอีเมลแล้ว]" in text
        assert "[prov.83] ไม่มีที่อยู่อีเมลในทำเนียบ" in text  # the failure listed, with its Thai label
        data = json.loads(runner.invoke(app, ["status", "1", "--json"]).output)
        assert {r["unit"]: r["mail"]["status"] for r in data["recipients"]} == {"prov.81": "sent",
                                                                              "prov.83": "no-address"}
        again = runner.invoke(app, ["circular", "email", "1"])  # nothing to send: the address is still missing
        assert again.exit_code == 0 and "ส่งทางอีเมลครั้งนี้: ไม่มี" in again.output

        assert runner.invoke(app, ["directory", "set", "amphoe.8101", "--email", "mueang@example.org"]).exit_code == 0
        assert runner.invoke(app, ["receive", "1", "--unit", "prov.81"]).exit_code == 0
        fwd = runner.invoke(app, ["circular", "forward", "1", "--unit", "prov.81", "--to", "amphoe.8101", "--email"])
        assert fwd.exit_code == 0 and "ส่งทางอีเมลแล้ว ๑" in fwd.output, fwd.output
    assert [a for e in store.envelopes for a in e.rcpt_tos] == ["krabi@example.org", "mueang@example.org"]
    (_, forwarded) = store.messages()
    assert forwarded["Subject"].startswith("หนังสือ ที่ กบ ๐๐๒๓.๖/ว ๑")
    assert [a.get_filename() for a in forwarded.iter_attachments()] == ["กบ 0023.6-ว 1.pdf"]


def test_the_web_forward_form_emails_the_copies(web, smtp):
    from saraban.chain.circulars import receive
    from saraban.faces.web.app import create_app
    from saraban.faces.web.jobs import wait_for_files
    from tests.web import WebWorld

    store, port = smtp
    issued = web.circular(to="prov.81")
    receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    set_addresses(web.db, {"amphoe.8101": "mueang@example.org", "amphoe.8102": "nobody@example.org"})
    with web.db.reading() as s:
        delivery_id = s.scalar(select(Delivery.id).where(Delivery.letter_id == issued.letter_id))
    form = {"unit": ["amphoe.8101", "amphoe.8102", "amphoe.8103"], "subject": "ส่งต่อคู่มือ",
            "body": ["ด้วยจังหวัดกระบี่ได้รับแจ้งจากกรมส่งเสริมการปกครองท้องถิ่น"], "email": "1"}

    # no mail server: said beside the box, nothing numbered
    page = web.client("krabi.clerk").post(f"/deliveries/{delivery_id}/forward", form)
    assert page.status_code == 422 and 'id="email-error"' in page.text and "SARABAN_SMTP_HOST" in page.text
    with web.db.reading() as s:
        assert s.get(Delivery, delivery_id).forwarded_letter_id is None

    # the app's own address stays (a form is accepted only from it); only the mail server is set
    served = dataclasses.replace(web.settings, smtp_host="127.0.0.1", smtp_port=port)
    mailing = WebWorld(web.db, served, create_app(served, web.db))
    clerk = mailing.client("krabi.clerk")
    assert 'name="email" value="1"' in clerk.get(f"/deliveries/{delivery_id}/forward").text
    done = clerk.post(f"/deliveries/{delivery_id}/forward", form)
    assert done.status_code == 303, done.text
    letter_id = int(re.fullmatch(r"/letters/(\d+)/progress", done.headers["location"])[1])
    wait_for_files(letter_id)
    assert [a for e in store.envelopes for a in e.rcpt_tos] == ["mueang@example.org"]
    progress = clerk.get(f"/letters/{letter_id}/progress").text
    assert 'id="mail-progress"' in progress and "ส่งทางอีเมลแล้ว ๑" in progress and "ที่อยู่อีเมลถูกปฏิเสธ ๑" in progress

    follow = clerk.get(f"/follow/{letter_id}").text  # each copy's e-mail, the failures with their Thai label
    for label in ("ส่งทางอีเมลแล้ว", "ที่อยู่อีเมลถูกปฏิเสธ", "ไม่มีที่อยู่อีเมลในทำเนียบ", "ส่งอีเมลฉบับที่ยังไม่สำเร็จอีกครั้ง"):
        assert label in follow
    again = clerk.post(f"/follow/{letter_id}/email")  # the button: nothing new goes
    assert again.status_code == 200 and "ไม่มีฉบับที่ต้องส่ง" in again.text
    assert len(store.envelopes) == 1
