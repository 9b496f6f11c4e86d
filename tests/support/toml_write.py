"""A tiny TOML writer for the configs tests generate (tomllib only reads)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as TOML")


def dumps(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, body in doc.items():
        if isinstance(body, list) and body and all(isinstance(t, dict) for t in body):
            for table in body:
                lines.append(f"[[{section}]]")
                lines.extend(f"{k} = {_value(v)}" for k, v in table.items())
                lines.append("")
        elif isinstance(body, dict):
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {_value(v)}" for k, v in body.items())
            lines.append("")
        else:
            raise TypeError(f"top-level {section!r} must be a table or array of tables")
    return "\n".join(lines)
