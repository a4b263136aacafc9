"""Issue 11, the review's findings: each test failed before its fix (SQLite and PostgreSQL, the ``web`` fixture)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from saraban.records.models import EvidenceFile, IssuedFile
from tests.test_web_apply import KEY, PATONG, TOWN, applied, counts, evidence_files, small_pdf, small_png, upload
from tests.web import web_world  # noqa: F401  (the web fixture)


def test_a_refused_upload_keeps_the_copy_token_and_lands_at_the_evidence_section(web):
    """The unit came from its copy's QR (``?t=``): a refused file shows the page again with the message in the
    evidence section (the form's address ends in ``#evidence``, so the browser lands there) and every link and
    form still carries the token; an accepted or removed file leads back to the page with it."""
    world = web.programme()
    token, clerk = world.tokens[TOWN], web.client("town.clerk")
    a = applied(web, world, clerk)
    page = clerk.get(f"/apply/{KEY}?t={token}").text
    assert f'action="/applications/{a.id}/evidence?t={token}#evidence"' in page

    before = counts(web)
    refused = clerk.http.post(f"/applications/{a.id}/evidence?t={token}", data={"csrf": clerk.csrf, "indicator": "1.1"},
                              files={"file": ("รายงาน.pdf", "ไม่ใช่ PDF".encode(), "application/pdf")})
    assert refused.status_code == 422
    assert 'id="evidence-error"' in refused.text and "ตามเนื้อหาของไฟล์" in refused.text
    assert f'action="/apply/{KEY}?t={token}"' in refused.text  # the application's form keeps the copy
    assert f'action="/applications/{a.id}/evidence?t={token}#evidence"' in refused.text
    assert counts(web) == before and evidence_files(web) == []

    ok = clerk.http.post(f"/applications/{a.id}/evidence?t={token}", data={"csrf": clerk.csrf, "indicator": "1.1"},
                         files={"file": ("ภาพ.png", small_png(), "image/png")})
    assert ok.status_code == 303
    with web.db.reading() as s:
        evidence_id = s.scalar(select(EvidenceFile.id))
    assert ok.headers["location"] == f"/apply/{KEY}?t={token}#evidence-{evidence_id}"
    removed = clerk.post(f"/applications/{a.id}/evidence/{evidence_id}/remove?t={token}")
    assert removed.status_code == 303 and removed.headers["location"] == f"/apply/{KEY}?t={token}#evidence"

    # another unit's copy is not the town's: not found, nothing stored
    other = clerk.http.post(f"/applications/{a.id}/evidence?t={world.tokens[PATONG]}",
                            data={"csrf": clerk.csrf, "indicator": "1.1"},
                            files={"file": ("x.pdf", small_pdf(), "application/pdf")})
    assert other.status_code == 404
    with web.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.removed_at.is_(None))) == 0


def test_an_assessor_not_appointed_the_owners_clerk_and_the_unit_reach_no_owner_act(web):
    """(A probe of the review: it held before.) 404/403 for every page and act not theirs; scores off the scale."""
    world = web.programme()
    clerk = web.client("town.clerk")
    a = applied(web, world, clerk)
    assert upload(clerk, a.id, "x.pdf", small_pdf(), "application/pdf").status_code == 303
    with web.db.reading() as s:
        eid = s.scalar(select(EvidenceFile.id))
    other = web.client("deqp.assessor2")
    for path in (f"/programmes/{KEY}", f"/programmes/{KEY}/report.xlsx", f"/programmes/{KEY}/results",
                 f"/programmes/{KEY}/assessors", f"/programmes/{KEY}/applications/{a.id}",
                 f"/programmes/{KEY}/announcement.pdf", f"/applications/{a.id}/evidence/{eid}",
                 f"/applications/{a.id}/acknowledgement.pdf", f"/apply/{KEY}?t={world.tokens[TOWN]}"):
        assert other.get(path).status_code == 404, path
    assert KEY not in other.get("/programmes").text
    for who in ("deqp.clerk", "deqp.assessor"):
        c = web.client(who)
        assert c.post(f"/programmes/{KEY}/announce").status_code in (403, 404), who
        assert c.post(f"/programmes/{KEY}/assessors", {"username": "deqp.assessor2"}).status_code in (403, 404)
    for path in (f"/programmes/{KEY}", f"/programmes/{KEY}/results", f"/programmes/{KEY}/applications/{a.id}"):
        assert clerk.get(path).status_code == 404, path
    sc = web.client("deqp.assessor").post(f"/programmes/{KEY}/applications/{a.id}/scores",
                                          {"score.1.1": "nan", "score.1.2": "1e309", "score.1.3": "-1"})
    assert sc.status_code == 422, sc.text


def test_a_letters_pdf_recorded_at_once_by_two_makers_is_one_row_for_verify(web):
    """Two makers of the same PDF record its hash at the same moment (threads, PostgreSQL): one row; the unique
    constraint does not hold it (its delivery is NULL)."""
    from saraban.chain.verification import issued_row, record_issued

    world = web.programme()
    letter_id = world.invitation.letter_id
    row = issued_row(b"%PDF-same", letter_id, None, "letter")
    barrier = threading.Barrier(2)

    def go():
        with web.db.transaction() as s:
            barrier.wait()
            record_issued(s, [dict(row)])
            time.sleep(0.3)  # the other waits, then finds the row

    threads = [threading.Thread(target=go) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with web.db.reading() as s:
        n = s.scalar(select(func.count()).select_from(IssuedFile).where(IssuedFile.sha256 == row["sha256"]))
    assert n == 1


def test_a_file_refused_for_too_many_files_is_not_left_in_the_folder(web):
    from PIL import Image

    from saraban.programmes.evidence import MAX_FILES_PER_INDICATOR, EvidenceError, add_evidence

    world = web.programme()
    a = applied(web, world)

    def png(n: int) -> bytes:
        import io

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (n, 0, 0)).save(buffer, "PNG")
        return buffer.getvalue()

    for n in range(MAX_FILES_PER_INDICATOR):
        add_evidence(web.db, web.settings, a.id, "1.1", f"{n}.png", png(n), actor="town.clerk")
    kept = evidence_files(web)
    try:
        add_evidence(web.db, web.settings, a.id, "1.1", "one-more.png", png(200), actor="town.clerk")
    except EvidenceError as e:
        assert "ครบ" in str(e)
    else:
        raise AssertionError("an eleventh file was taken")
    assert evidence_files(web) == kept  # nothing stored
    assert not add_evidence(web.db, web.settings, a.id, "1.1", "again.png", png(0), actor="town.clerk").new


def test_an_evidence_key_leading_out_of_the_output_folder_is_not_found(web):
    """A row whose file_key leads elsewhere (``..``, an absolute path: never written so, but the database is not
    the file system's guard) answers 404, not the file and not a server error."""
    from sqlalchemy import update

    world = web.programme()
    clerk = web.client("town.clerk")
    a = applied(web, world, clerk)
    assert upload(clerk, a.id, "x.pdf", small_pdf(), "application/pdf").status_code == 303
    outside = web.settings.output_dir.parent / "outside.pdf"
    outside.write_bytes(small_pdf())
    with web.db.reading() as s:
        eid = s.scalar(select(EvidenceFile.id))
    for key in ("../outside.pdf", str(outside), "applications/../../outside.pdf"):
        with web.db.transaction() as s:
            s.execute(update(EvidenceFile).where(EvidenceFile.id == eid).values(file_key=key))
        got = clerk.get(f"/applications/{a.id}/evidence/{eid}")
        assert got.status_code == 404 and got.content != outside.read_bytes(), key
