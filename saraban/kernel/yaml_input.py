"""YAML as users write it: safe, dates kept as text for Thai date parsing, a key written twice refused."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

TIMESTAMP = "tag:yaml.org,2002:timestamp"


class DuplicateKey(yaml.YAMLError):
    pass


class TextDatesLoader(yaml.SafeLoader):
    """Safe YAML, but dates stay text and a key written twice is refused.

    Dates go to parse_thai_date, whose messages are clear (PyYAML's own resolver crashes on
    2024-02-30); with a key written twice PyYAML silently keeps the last one.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

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
                raise DuplicateKey(f"the key '{key}' is written twice, on lines {lines[key]} and {line}; "
                                    "keep one")
            lines[key] = line
        return super().construct_mapping(node, deep=deep)
