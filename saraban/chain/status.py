"""Where a circular is: per level and per unit, sent, received (number, time), forwarded (which letter),
and who is still missing — following each forwarding letter down the chain."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from saraban.chain.cancellations import Cancellation, cancellation_of
from saraban.chain.emailing import STATUS_TH as MAIL_TH
from saraban.chain.emailing import MailState, mail_states
from saraban.chain.expectations import Owed, expected_to_forward, owes
from saraban.directory.levels import LEVEL_NAMES
from saraban.kernel.clock import iso, moment_text
from saraban.records.db import Database
from saraban.records.models import Delivery, Letter, Unit
from thai_text import register_number, to_thai_digits


@dataclass
class Node:
    """One delivery: a unit that was sent the letter, and what it did with it."""

    unit_key: str
    unit_name: str
    level: str
    letter_ref: str  # the letter it was sent
    sent_at: datetime
    received_at: datetime | None
    receipt: str | None  # "2567/1649"
    forwarded_ref: str | None
    forwarded_letter_id: int | None
    children: list[Node] = field(default_factory=list)
    expected_to_forward: bool = False  # the chain's rule (saraban.chain.expectations), as letter_status read it
    mail: MailState | None = None  # its copy's e-mail, when the letter was delivered by e-mail (chain.emailing)

    @property
    def state(self) -> str:
        if self.forwarded_ref:
            return "forwarded"
        return "received" if self.received_at else "sent"

    @property
    def owes(self) -> Owed | None:
        """What the unit still owes: "receipt", "forward" (it has units below it), or None when done."""
        return owes(received=self.received_at is not None, forwarded=self.forwarded_ref is not None,
                    expected_to_forward=self.expected_to_forward)


@dataclass
class LetterStatus:
    letter_id: int
    ref: str
    sender: str
    subject: str
    recipients: list[Node]
    cancelled: Cancellation | None = None  # the letter was cancelled (ยกเลิก): when, by whom, why

    def nodes(self) -> list[Node]:
        out, stack = [], list(reversed(self.recipients))
        while stack:
            node = stack.pop()
            out.append(node)
            stack += reversed(node.children)
        return out

    def by_level(self) -> dict[str, dict[str, int]]:
        """Per level: how many were sent, received, forwarded, and are missing (not received)."""
        counts: dict[str, Counter] = {}
        for n in self.nodes():
            c = counts.setdefault(n.level, Counter())
            c["sent"] += 1
            c["received"] += n.received_at is not None
            c["forwarded"] += n.forwarded_ref is not None
            c["missing"] += n.received_at is None
        return {level: dict(c) for level, c in counts.items()}

    def missing(self) -> list[Node]:
        """The units whose part is not done (saraban.chain.expectations): not received yet, or received
        and not carried on although they have units below them in the chain."""
        return [n for n in self.nodes() if n.owes is not None]


def letter_status(db: Database, letter_id: int) -> LetterStatus:
    """The whole tree below one letter, a few queries per level however many units it reached; whether
    each unit is expected to forward comes with its delivery, in the same query."""
    with db.transaction() as s:
        root = s.get(Letter, letter_id)
        sender = s.get(Unit, root.unit_id)
        letters = {root.id: root}
        frontier = [root.id]
        nodes_by_letter: dict[int, list[Node]] = {}
        while frontier:
            rows = s.execute(select(Delivery, Unit, expected_to_forward(Unit)).join(Unit, Unit.id == Delivery.unit_id)
                             .where(Delivery.letter_id.in_(frontier)).order_by(Unit.key)).all()
            forwarded_ids = [d.forwarded_letter_id for d, _, _ in rows if d.forwarded_letter_id]
            for x in s.scalars(select(Letter).where(Letter.id.in_(forwarded_ids))) if forwarded_ids else []:
                letters[x.id] = x
            mails = mail_states(s, [d.id for d, _, _ in rows])
            for d, u, forwards in rows:
                node = Node(u.key, u.name, u.level, letters[d.letter_id].ref_text, d.sent_at, d.received_at,
                            f"{d.receipt_year}/{d.receipt_number}" if d.receipt_number else None,
                            letters[d.forwarded_letter_id].ref_text if d.forwarded_letter_id else None,
                            d.forwarded_letter_id, expected_to_forward=bool(forwards), mail=mails.get(d.id))
                nodes_by_letter.setdefault(d.letter_id, []).append(node)
            frontier = forwarded_ids
        for nodes in nodes_by_letter.values():
            for node in nodes:
                if node.forwarded_letter_id:
                    node.children = nodes_by_letter.get(node.forwarded_letter_id, [])
        return LetterStatus(root.id, root.ref_text, sender.printed_sender, root.subject,
                            nodes_by_letter.get(root.id, []), cancellation_of(s, root.id))


STATE_TH = {"sent": "ส่งแล้ว ยังไม่ลงรับ", "received": "ลงรับแล้ว", "forwarded": "ลงรับและส่งต่อแล้ว"}
PROBLEM_TH = {"mail.refused": "(อีเมลถูกปฏิเสธ)", "mail.failed": "(ส่งอีเมลไม่สำเร็จ)"}


def why_missing(node: Node) -> str:
    return "ยังไม่ลงรับ / not received" if node.owes == "receipt" else \
        "ลงรับแล้ว ยังไม่ส่งต่อ / received, not forwarded"


def as_dict(status: LetterStatus) -> dict[str, Any]:
    def node(n: Node) -> dict[str, Any]:
        return {"unit": n.unit_key, "name": n.unit_name, "level": n.level, "state": n.state,
                "sent_at": iso(n.sent_at), "received_at": iso(n.received_at) if n.received_at else None,
                "receipt": n.receipt, "forwarded_by": n.forwarded_ref, "owes": n.owes,
                "mail": {"status": n.mail.status, "label": n.mail.label, "address": n.mail.address,
                         "error": n.mail.error} if n.mail else None,
                "children": [node(c) for c in n.children]}

    cancelled = status.cancelled
    return {"letter": status.letter_id, "ref": status.ref, "sender": status.sender, "subject": status.subject,
            "cancelled": {"at": iso(cancelled.at), "by": cancelled.actor, "reason": cancelled.reason,
                          "line": cancelled.number} if cancelled else None,
            "levels": status.by_level(), "missing": [n.unit_key for n in status.missing()],
            "recipients": [node(n) for n in status.recipients]}


def receipt_text(receipt: str, digits: str = "thai") -> str:
    """A node's receipt (``"2567/1649"``) as clerks write it, number then B.E. year: ``๑๖๔๙/๒๕๖๗``."""
    year, _, number = receipt.partition("/")
    return register_number(int(number), int(year), digits)


def cancelled_text(cancelled: Cancellation, digits: str = "thai") -> str:
    """``ยกเลิกแล้ว เมื่อ ๒๙ มี.ค. ๒๕๖๗ ๑๐.๓๐ น. (…): reason / cancelled on …``."""
    when = moment_text(cancelled.at, digits)
    return (f"ยกเลิกแล้ว เมื่อ {when} โดย {cancelled.actor}: {cancelled.reason} / cancelled on {when} by "
            f"{cancelled.actor}: {cancelled.reason}")


def as_text(status: LetterStatus, *, max_children: int = 20) -> str:
    """A tree for the terminal: each unit with its state; long lists are cut with a count."""
    lines = [f"ที่ {status.ref}  {status.sender}", f"เรื่อง {status.subject}"]
    if status.cancelled:
        lines.append(cancelled_text(status.cancelled))
    lines.append("")
    lines.append(f"  {'ระดับ / level':<40} {'ส่ง':>6} {'ลงรับ':>6} {'ส่งต่อ':>6} {'ยังไม่ลงรับ':>6}")
    for level, c in status.by_level().items():
        name = f"{LEVEL_NAMES.get(level, level)} ({level})"
        lines.append(f"  {name:<40} {c['sent']:>6} {c['received']:>6} {c['forwarded']:>6} {c['missing']:>6}")
    lines.append("")

    def walk(nodes: list[Node], depth: int) -> None:
        # Those that carried the letter on first: their branches are what the reader follows.
        nodes = sorted(nodes, key=lambda n: (not n.children, n.unit_key))
        for i, n in enumerate(nodes):
            if i == max_children:
                lines.append(f"{'  ' * depth}… {len(nodes) - i} more")
                break
            receipt = f" เลขรับ {receipt_text(n.receipt)} {moment_text(n.received_at)}" if n.receipt else ""
            onward = f" → ที่ {n.forwarded_ref}" if n.forwarded_ref else ""
            mail = f" [อีเมล: {n.mail.label}]" if n.mail else ""
            lines.append(f"{'  ' * depth}- {n.unit_name} [{n.unit_key}] {STATE_TH[n.state]}{receipt}{onward}{mail}")
            walk(n.children, depth + 1)

    walk(status.recipients, 1)
    lines += mail_lines(status, max_children)
    missing = status.missing()
    lines.append("")
    lines.append(f"ยังไม่ครบ / still missing: {len(missing)}")
    lines += [f"  - {n.unit_name} [{n.unit_key}]: {why_missing(n)}" for n in missing[:max_children]]
    if len(missing) > max_children:
        lines.append(f"  … {len(missing) - max_children} more")
    return "\n".join(lines)


def mail_lines(status: LetterStatus, max_listed: int = 20) -> list[str]:
    """The copies delivered by e-mail: how many per state, and each one that did not go (Thai label, why)."""
    mailed = [n for n in status.nodes() if n.mail]
    if not mailed:
        return []
    counts = Counter(n.mail.status for n in mailed)
    lines = ["", "ส่งทางอีเมล / by e-mail: " + " · ".join(f"{MAIL_TH.get(k, k)} {to_thai_digits(v)}"
                                                        for k, v in sorted(counts.items()))]
    problems = [n for n in mailed if n.mail.problem]
    lines += [f"  - {n.unit_name} [{n.unit_key}] {n.mail.label}: {n.mail.error or n.mail.address or ''}".rstrip(": ")
              for n in problems[:max_listed]]
    if len(problems) > max_listed:
        lines.append(f"  … {len(problems) - max_listed} more")
    return lines


def mail_problems(db: Database, status: LetterStatus) -> list[dict[str, Any]]:
    """E-mails to the units of this tree that were refused or failed (bounces are never silent). One that a
    later send (same purpose, same unit and letter) delivered stays listed, as resolved (``resolved_at``):
    the trail keeps that it failed once; the text shows it on one short line."""
    from saraban.notify.mail import PROBLEM_KINDS, resolutions
    from saraban.records.models import Event

    keys = sorted({n.unit_key for n in status.nodes()})
    problems: list[dict[str, Any]] = []
    with db.transaction() as s:
        for start in range(0, len(keys), 1000):
            rows = s.execute(select(Event, Unit).join(Unit, Unit.id == Event.unit_id).where(
                Event.kind.in_(PROBLEM_KINDS), Unit.key.in_(keys[start:start + 1000])).order_by(Event.id)).all()
            resolved = resolutions(s, [e for e, _ in rows])
            problems += [{"unit": u.key, "name": u.name, "kind": e.kind, "at": iso(e.at),
                          "subject": (e.data or {}).get("subject"), "error": (e.data or {}).get("error"),
                          "refused": (e.data or {}).get("refused"), "resolved": e.id in resolved,
                          "resolved_at": iso(resolved[e.id].at) if e.id in resolved else None} for e, u in rows]
    return problems


def mail_problems_text(problems: list[dict[str, Any]]) -> str:
    if not problems:
        return ""
    open_ = [p for p in problems if not p.get("resolved")]
    lines = [f"ปัญหาการส่งอีเมล / e-mail problems: {len(open_)}"] if open_ else []
    for p in open_:
        why = "; ".join([*([p["error"]] if p["error"] else []),
                         *(f"{to}: {reply}" for to, reply in (p["refused"] or {}).items())])
        label = PROBLEM_TH.get(p["kind"], "")
        lines.append(f"  - {p['name']} [{p['unit']}] {p['kind']} {label} "
                     f"{moment_text(datetime.fromisoformat(p['at']))}: {why}")
    if resolved := [p for p in problems if p.get("resolved")]:
        lines.append(f"ส่งไม่สำเร็จแต่ส่งซ้ำสำเร็จแล้ว / e-mail problems resolved by a later send: {len(resolved)}")
        lines += [f"  - {p['name']} [{p['unit']}] {moment_text(datetime.fromisoformat(p['at']))} → ส่งสำเร็จ / "
                  f"delivered {moment_text(datetime.fromisoformat(p['resolved_at']))}" for p in resolved]
    return "\n".join(lines)
