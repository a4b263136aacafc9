"""What a spec says about the pages attached after its letter (``attachments:``), checked like the rest.

```yaml
attachments:
  - kind: reply_form            # แบบตอบรับ
    title: แบบตอบรับการเข้าร่วมประชุม   # default แบบตอบรับ
    choices: [เข้าร่วมประชุม, ไม่เข้าร่วมประชุม]   # optional: ( ) boxes to tick
    fields: [ชื่อหน่วยงาน, ชื่อผู้เข้าร่วม, ตำแหน่ง, โทรศัพท์]   # default: DEFAULT_REPLY_FIELDS
    instructions: [กรุณาส่งแบบตอบรับภายในวันที่ ๑๕ เมษายน ๒๕๖๗ ...]   # default: return it to the owner
  - kind: recipients            # บัญชีรายชื่อผู้รับ
    units: [จังหวัดกระบี่, จังหวัดลำพูน]   # when issued through the chain: its recipients, if left out
```
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Entry = Annotated[str, Field(min_length=1)]
ATTACHMENT_KINDS = ("reply_form", "recipients")
DEFAULT_TITLES = {"reply_form": "แบบตอบรับ", "recipients": "บัญชีรายชื่อผู้รับ"}
DEFAULT_REPLY_FIELDS = ("ชื่อหน่วยงาน", "ชื่อผู้เข้าร่วม", "ตำแหน่ง", "โทรศัพท์", "ไปรษณีย์อิเล็กทรอนิกส์")
_REPLY_ONLY = ("fields", "choices", "instructions")


class Attachment(BaseModel):
    """One attached page (or more, when the list is long): a reply form or a list of recipients."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    kind: Literal["reply_form", "recipients"]
    title: str | None = None
    fields: list[Entry] = []
    choices: list[Entry] = []
    instructions: list[Entry] = []
    units: list[Entry] = []

    @model_validator(mode="after")
    def _parts_of_kind(self) -> Attachment:
        if self.kind == "reply_form" and self.units:
            raise ValueError("แบบตอบรับไม่มีรายชื่อหน่วยงาน ใช้ 'kind: recipients' / a reply form lists no units: "
                             "'units' belongs to 'kind: recipients'")
        if self.kind == "recipients":
            given = [key for key in _REPLY_ONLY if getattr(self, key)]
            if given:
                raise ValueError(f"บัญชีรายชื่อผู้รับไม่มี {', '.join(given)} (มีเฉพาะในแบบตอบรับ) / a recipients list has "
                                 f"no {', '.join(given)} (those belong to 'kind: reply_form')")
            twice = sorted({u for u in self.units if self.units.count(u) > 1})
            if twice:
                raise ValueError(f"หน่วยงานซ้ำในรายชื่อ: {', '.join(twice)} / listed more than once: {', '.join(twice)}")
        return self

    @property
    def page_title(self) -> str:
        return self.title or DEFAULT_TITLES[self.kind]
