"""YAML as users write it: safe, dates kept as text for Thai date parsing, a key written twice refused.

YAML files come from clerks and from outside: anchors and aliases (``&a`` / ``*a``, the "billion laughs"
that expand a few lines into gigabytes) and nesting deeper than :data:`MAX_DEPTH` are refused while the
file is read, before anything is built, so a hostile file costs milliseconds, not memory.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

TIMESTAMP = "tag:yaml.org,2002:timestamp"
MAX_DEPTH = 32  # a letter, a programme or a directory row nests a few levels; more is not a clerk's file


class RefusedYaml(yaml.YAMLError):
    """YAML that is well-formed but refused; its message is for people as it is; ``line``: where (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class DuplicateKey(RefusedYaml):
    pass


class UnsafeYaml(RefusedYaml):
    """An anchor, an alias or nesting too deep: refused before anything is built."""


class TextDatesLoader(yaml.SafeLoader):
    """Safe YAML, but dates stay text and a key written twice is refused.

    Dates go to parse_thai_date, whose messages are clear (PyYAML's own resolver crashes on
    2024-02-30); with a key written twice PyYAML silently keeps the last one.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise UnsafeYaml(f"บรรทัด {line}: ไม่รับการอ้างค่าซ้ำด้วย & และ * ให้เขียนค่าเต็ม / line {line}: anchors "
                             "and aliases (&name, *name) are not accepted; write the value out", line)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise UnsafeYaml(f"บรรทัด {line}: ซ้อนกันลึกเกิน {MAX_DEPTH} ชั้น / "
                                 f"line {line}: nested more than {MAX_DEPTH} levels deep", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # PyYAML refuses it itself
            line = key_node.start_mark.line + 1
            if key in lines:
                raise DuplicateKey(f"คีย์ '{key}' เขียนซ้ำที่บรรทัด {lines[key]} และ {line} ให้เหลือไว้หนึ่งที่ / "
                                   f"the key '{key}' is written twice, on lines {lines[key]} and {line}; keep one",
                                   line)
            lines[key] = line
        return super().construct_mapping(node, deep=deep)


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's error as a problem for people: an unquoted ``: `` inside a value (the most common slip
    in a clerk's file) says how to write it; anything else keeps PyYAML's own words.

    >>> try:
    ...     yaml.load("subject: ขอเชิญประชุม: ด่วน\\n", Loader=TextDatesLoader)
    ... except yaml.YAMLError as e:
    ...     print(yaml_problem(e))  # doctest: +ELLIPSIS
    บรรทัด 1: ... / line 1: 'subject: ขอเชิญประชุม: ด่วน' has a ': ' inside its value, ...
    """
    mark = getattr(error, "problem_mark", None)
    if getattr(error, "problem", None) == "mapping values are not allowed here" and mark is not None:
        line = mark.line + 1
        typed = (mark.buffer or "").splitlines()[mark.line].strip() if mark.buffer else ""
        return (f"บรรทัด {line}: '{typed}' มี ': ' ในค่า ให้ครอบค่านั้นด้วยเครื่องหมายคำพูด \"...\" หรือเขียน '|' แล้ว"
                f"ขึ้นบรรทัดใหม่ย่อหน้าเข้าไป / line {line}: '{typed}' has a ': ' inside its value, which YAML "
                "cannot read: put the value in quotes \"...\", or write '|' and the text on the next line, indented")
    return f"not valid YAML (YAML ไม่ถูกต้อง): {error}"
