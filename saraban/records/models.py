"""The tables: organisation units, registers, letters, deliveries, events.

Registers are append-only: an entry is never updated or deleted; a cancellation is an entry of its own
(``RegisterEntry.cancels_id``) and an event. Every time is aware Thai time (:class:`ThaiTime`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saraban.records.types import ThaiTime


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """An office: ministry, department, division, provincial office, district office, local administration."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable id used in CLI and imports
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str | None] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # The name printed as the office that sends its letters out (ชื่อส่วนราชการที่ส่งหนังสือออก), e.g.
    # จังหวัดกระบี่ for the provincial office; defaults to ``name``.
    sender_name: Mapped[str | None] = mapped_column(String(255))
    letter_code: Mapped[str | None] = mapped_column(String(40))  # e.g. "มท 0820.2", "กบ 0023.6"
    letter_code_certain: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(Text)
    province_code: Mapped[str | None] = mapped_column(String(2), index=True)
    area_code: Mapped[str | None] = mapped_column(String(8))  # official geocode (district 4, subdistrict 6)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def printed_sender(self) -> str:
        return self.sender_name or self.name


class RegisterCounter(Base):
    """The last number taken in one series of one unit's register in one B.E. calendar year."""

    __tablename__ = "register_counters"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True)  # send | circular | receive
    last_number: Mapped[int] = mapped_column(Integer, default=0)


# The receive lines that count as a delivery's receipt (a cancellation line carries no delivery_id).
RECEIPT_LINE = text("series = 'receive' AND delivery_id IS NOT NULL AND cancels_id IS NULL")
# The cancellation lines (migration 0011): whether a letter was cancelled is asked at every hop of a cascade.
CANCELLATION_LINE = text("cancels_id IS NOT NULL")


class RegisterEntry(Base):
    """One line of a send register (ทะเบียนหนังสือส่ง) or receive register (ทะเบียนหนังสือรับ)."""

    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "series", "number", name="uq_register_number"),
        # Exactly once (migration 0004): one live receive line per delivery, one cancellation per line.
        Index("uq_register_receipt", "delivery_id", unique=True, sqlite_where=RECEIPT_LINE,
              postgresql_where=RECEIPT_LINE),
        Index("uq_register_cancels", "cancels_id", unique=True),
        Index("ix_register_cancelled_letter", "letter_id", sqlite_where=CANCELLATION_LINE,
              postgresql_where=CANCELLATION_LINE),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)  # B.E.
    series: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(ThaiTime)
    ref_text: Mapped[str] = mapped_column(String(80))  # ที่ (our number when sending; sender's when receiving)
    letter_date: Mapped[date] = mapped_column(Date)  # ลงวันที่
    from_text: Mapped[str] = mapped_column(Text)  # จาก
    to_text: Mapped[str] = mapped_column(Text)  # ถึง
    subject: Mapped[str] = mapped_column(Text)  # เรื่อง
    action: Mapped[str | None] = mapped_column(Text)  # การปฏิบัติ
    note: Mapped[str | None] = mapped_column(Text)  # หมายเหตุ
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    cancels_id: Mapped[int | None] = mapped_column(ForeignKey("register_entries.id"))
    actor: Mapped[str] = mapped_column(String(120), default="saraban")


class Letter(Base):
    """A letter a unit sends: one send-register entry, one reference number, many deliveries."""

    __tablename__ = "letters"
    __table_args__ = (
        # Exactly once (migration 0004): one letter per sender and spec; one letter forwarding a delivery.
        Index("uq_letter_spec", "unit_id", "spec_hash", unique=True),
        Index("uq_letter_forwards", "forwards_delivery_id", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    circular: Mapped[bool] = mapped_column(Boolean, default=False)
    ref_text: Mapped[str] = mapped_column(String(80))  # Arabic digits, e.g. "มท 0820.2/ว 1144"
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    letter_date: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64))
    # Keys in the file store (saraban.records.file_store), e.g. "letters/dla-2569-w7/letter.docx" (migration 0010).
    docx_key: Mapped[str | None] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(ThaiTime)
    # The delivery this letter carries on (a forward), mirrored by Delivery.forwarded_letter_id. No foreign key:
    # letters and deliveries would reference each other; the unique index is what matters.
    forwards_delivery_id: Mapped[int | None] = mapped_column(Integer)


class Delivery(Base):
    """One letter to one unit: sent, opened (tracking link), received (receipt number), forwarded."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("letter_id", "unit_id", name="uq_delivery"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(ThaiTime)
    opened_at: Mapped[datetime | None] = mapped_column(ThaiTime)
    received_at: Mapped[datetime | None] = mapped_column(ThaiTime)
    receipt_year: Mapped[int | None] = mapped_column(Integer)
    receipt_number: Mapped[int | None] = mapped_column(Integer)
    received_by: Mapped[str | None] = mapped_column(String(120))
    docx_key: Mapped[str | None] = mapped_column(Text)  # keys in the file store, as Letter's
    pdf_key: Mapped[str | None] = mapped_column(Text)
    stamped_pdf_key: Mapped[str | None] = mapped_column(Text)
    # The recipient's own letter that carried this one on (a province's circular forwarding the department's).
    forwarded_letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"), unique=True)


class Mailing(Base):
    """The e-mail carrying one delivery's copy (its PDF, named by the reference number) to the unit's address:
    claimed by one run (``sending``), then ``sent``, ``refused``, ``failed`` or ``no-address`` — one row per
    delivery, so a copy goes once however many runs or workers deliver (saraban.chain.emailing)."""

    __tablename__ = "mailings"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | refused | failed | no-address
    address: Mapped[str | None] = mapped_column(String(255))  # the address last tried (None: the unit had none)
    claim: Mapped[str | None] = mapped_column(String(32))  # the run that holds it while ``sending``
    claimed_at: Mapped[datetime | None] = mapped_column(ThaiTime)
    mailed_at: Mapped[datetime | None] = mapped_column(ThaiTime)  # accepted by the mail server
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends tried (each may retry inside send_mail)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))


class Event(Base):
    """The append-only audit trail: who did what, when, for which office, and what it changed.

    ``actor`` is the person (the operating-system user on the CLI; an account on the web), ``office_id`` the
    unit on whose behalf they acted (the sender issuing, the unit receiving or forwarding), ``unit_id`` the
    unit the event is about (the same, or e.g. the unit whose directory entry was changed). ``before`` and
    ``after`` hold the changed fields of a change; ``via`` where the act came from (cli | flow | web |
    core) and ``address`` the web client's address."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_letter", "letter_id"), Index("ix_events_at", "at", "id"),
                      Index("ix_events_unit", "unit_id"), Index("ix_events_office", "office_id"),
                      Index("ix_events_actor", "actor"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(ThaiTime)
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(48))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    data: Mapped[dict | None] = mapped_column(JSON)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", name="fk_events_office"))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    via: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(255))


class Programme(Base):
    """A yearly programme local administrations apply to (field-examples §2), defined in YAML."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)  # B.E. year of the programme (ประจำปี ๒๕๖๕)
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column(ThaiTime)
    closes_at: Mapped[datetime] = mapped_column(ThaiTime)
    definition: Mapped[dict] = mapped_column(JSON)  # the YAML as given: eligibility, structure, invitation
    invitation_letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    created_at: Mapped[datetime] = mapped_column(ThaiTime)


class Application(Base):
    """One unit's application to one programme; a second application is an update (revision + 1)."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("programme_id", "unit_id", name="uq_application"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    contact: Mapped[dict] = mapped_column(JSON)
    scores: Mapped[dict | None] = mapped_column(JSON)  # indicator → score (self-assessment)
    provisional_level: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(ThaiTime)
    updated_at: Mapped[datetime] = mapped_column(ThaiTime)
    ack_letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))


class Reminder(Base):
    """One reminder (ทวงถาม) to one late unit, for one reason and one step: made exactly once."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("kind", "about", "unit_id", "step", name="uq_reminder"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # receipt | deadline
    about: Mapped[str] = mapped_column(String(64))  # "delivery:<id>" or "programme:<id>"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the late unit
    addressee_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # it, or its parent office
    step: Mapped[str] = mapped_column(String(16))  # e.g. "after-7d", "before-3d"
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    mail_status: Mapped[str | None] = mapped_column(String(16))  # sent | refused | failed | no-address
    created_at: Mapped[datetime] = mapped_column(ThaiTime)
    mailed_at: Mapped[datetime | None] = mapped_column(ThaiTime)


class DataFolder(Base):
    """The database's own id (one row), also written in the output folder's manifest (out/saraban.json):
    the two know each other (saraban.records.data_folder)."""

    __tablename__ = "data_folder"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)


class User(Base):
    """A person who works in the web face: one office, one role (saraban.accounts.roles).

    ``session_version`` is carried in the signed session cookie: disabling the account or resetting its
    password raises it, which ends every session of that person at once (on every worker)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # clerk | head | staff | admin
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last success
    locked_until: Mapped[datetime | None] = mapped_column(ThaiTime)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(ThaiTime)
    password_changed_at: Mapped[datetime] = mapped_column(ThaiTime)


class LoginFailure(Base):
    """One failed login, by client address: the throttle counts them across every worker."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_address", "address", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(ThaiTime)
    address: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))


class Draft(Base):
    """A letter written on the web before it is numbered: a draft of the office, approved by its head,
    then issued (``letter_id``) exactly once."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    spec: Mapped[dict] = mapped_column(JSON)  # the letter spec's fields as the form gave them
    to_text: Mapped[str] = mapped_column(Text)  # recipients: unit keys or a selector, as on the CLI
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | submitted | approved | issued
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(ThaiTime)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(ThaiTime)
    updated_at: Mapped[datetime] = mapped_column(ThaiTime)


class Assignment(Base):
    """A received letter given to a member of staff (เจ้าหน้าที่) of the office to read and act on."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("delivery_id", "user_id", name="uq_assignment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(ThaiTime)


class EvidenceFile(Base):
    """A file a unit attached to its application for one indicator (PDF, image, docx), checked by content.

    ``file_key`` names it in the output folder (relative: no absolute path in the database); a removed file
    keeps its row (``removed_at``) so the application's history stays whole."""

    __tablename__ = "evidence_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(Text)  # as the unit named it, cleaned
    content_type: Mapped[str] = mapped_column(String(80))  # what the content is, not what it claimed
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_key: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(ThaiTime)
    removed_at: Mapped[datetime | None] = mapped_column(ThaiTime)


class ProgrammeAssessor(Base):
    """An assessor (ผู้ประเมิน, of the owner's office) appointed to one programme: they see and score only it."""

    __tablename__ = "programme_assessors"
    __table_args__ = (UniqueConstraint("programme_id", "user_id", name="uq_programme_assessor"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    appointed_by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(ThaiTime)


class Assessment(Base):
    """An assessor's score of one indicator of one application, with a comment; a new score replaces it
    (the event keeps the previous one)."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("application_id", "indicator", name="uq_assessment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(ThaiTime)


class Result(Base):
    """An application's final result as announced: the weighted percentage, the award level reached (None:
    below the lowest) and the result letter sent to the unit."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    percent: Mapped[float] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(64))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    decided_at: Mapped[datetime] = mapped_column(ThaiTime)


class Announcement(Base):
    """A programme's announcement of results (ประกาศ): made once."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), unique=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    docx_key: Mapped[str | None] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(Text)
    announced_by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(ThaiTime)


class IssuedFile(Base):
    """The content hash of a PDF saraban issued (a letter's, a copy's, a stamped copy's): what /verify compares
    an uploaded file with."""

    __tablename__ = "issued_files"
    # One row per file: delivery_id is empty for a letter's own PDF, and NULLs never clash in a unique
    # constraint, so the index takes 0 for it.
    __table_args__ = (Index("uq_issued_file", "sha256", "letter_id", func.coalesce(text("delivery_id"), 0), "kind",
                            unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    kind: Mapped[str] = mapped_column(String(16))  # letter | copy | stamped | announcement
    at: Mapped[datetime] = mapped_column(ThaiTime)
