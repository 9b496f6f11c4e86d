"""The "variables" extension (RFC 5229): templates, the variable store, modifiers.

With ``require "variables"`` a string such as ``"lists.${1}"`` is compiled into
a :class:`Template` and expanded when the command runs. ``${name}`` names a
variable set by ``set`` (names are case-insensitive), ``${0}`` to ``${31}`` the
match variables of the last successful ``:matches`` (RFC 5229 3.2). Text that
is not a valid reference (``${}``, ``${1a}``) stays as written; a reference to
a namespace (``${env.x}``) is a compile error, as no namespace is supported.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Final

from mailsuite.sieve.match import Comparator, Matcher, MatchType

__all__ = [
    "DynamicMatcher",
    "MAX_MATCH_VARIABLES",
    "MAX_VALUE_CHARS",
    "MAX_VARIABLES",
    "MODIFIERS",
    "NamespaceError",
    "Template",
    "Text",
    "Variables",
    "apply_modifiers",
    "parse_template",
    "valid_name",
]

# Pigeonhole's defaults (sieve_variables_max_scope_size, ..._max_variable_size).
MAX_VARIABLES: Final = 255
MAX_VALUE_CHARS: Final = 4000
MAX_MATCH_VARIABLES: Final = 32  # ${0}..${31}, as Pigeonhole (RFC 5229 3.2: at least ${9})

# RFC 5229 3: variable-ref = "${" [namespace] variable-name "}";
# namespace = identifier "." *sub-namespace; variable-name = num-variable / identifier
_REF: Final = re.compile(r"\$\{((?:[A-Za-z_][A-Za-z0-9_]*\.)*)([0-9]+|[A-Za-z_][A-Za-z0-9_]*)\}")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# RFC 5229 4.1: modifier -> precedence; higher precedence applies first, and
# two modifiers of one precedence cannot be combined.
MODIFIERS: Final = {
    "lower": 40,
    "upper": 40,
    "lowerfirst": 30,
    "upperfirst": 30,
    "quotewildcard": 20,
    "length": 10,
}


class NamespaceError(ValueError):
    """A reference names a namespace this implementation does not have."""


@dataclass(frozen=True, slots=True)
class Template:
    """A string with variable references: literal parts and lower-cased names."""

    parts: tuple[str | tuple[str], ...]  # a 1-tuple holds a variable name

    def expand(self, variables: Variables) -> str:
        out = [p if isinstance(p, str) else variables.get(p[0]) for p in self.parts]
        # RFC 5229 3: the expansion is done once; what it yields is not re-read.
        return "".join(out)


Text = str | Template


def parse_template(value: str) -> Text:
    """Compile one string: a Template when it holds references, else the string itself.

    Raises:
        NamespaceError: a reference uses a namespace.
    """
    if "${" not in value:
        return value
    parts: list[str | tuple[str]] = []
    pos = 0
    for m in _REF.finditer(value):
        if m.group(1):
            raise NamespaceError(f"unknown variable namespace in {m.group(0)!r}")
        parts.append(value[pos : m.start()])
        name = m.group(2)
        parts.append((str(int(name)) if name.isdigit() else name.lower(),))
        pos = m.end()
    if not parts:
        return value
    parts.append(value[pos:])
    return Template(tuple(p for p in parts if p != ""))


def valid_name(name: str) -> bool:
    """True for a name ``set`` may assign (an identifier; RFC 5229 4)."""
    return _IDENTIFIER.fullmatch(name) is not None


def apply_modifiers(value: str, modifiers: tuple[str, ...]) -> str:
    """Apply ``set`` modifiers in precedence order (RFC 5229 4.1)."""
    for mod in sorted(modifiers, key=lambda m: -MODIFIERS[m]):
        if mod == "lower":
            value = value.lower()
        elif mod == "upper":
            value = value.upper()
        elif mod == "lowerfirst":
            value = value[:1].lower() + value[1:]
        elif mod == "upperfirst":
            value = value[:1].upper() + value[1:]
        elif mod == "quotewildcard":
            value = re.sub(r"([*?\\])", r"\\\1", value)
        elif mod == "length":
            value = str(len(value))
    return value


@dataclass(slots=True)
class Variables:
    """One run's variables and match variables."""

    named: dict[str, str] = field(default_factory=dict)
    matches: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        if name.isdigit():
            i = int(name)
            return self.matches[i] if i < len(self.matches) else ""
        return self.named.get(name, "")

    def set(self, name: str, value: str) -> bool:
        """Assign; False when the run already holds the most variables allowed."""
        key = name.lower()
        if key not in self.named and len(self.named) >= MAX_VARIABLES:
            return False
        self.named[key] = value[:MAX_VALUE_CHARS]
        return True

    def expand(self, text: Text) -> str:
        return text if isinstance(text, str) else text.expand(self)


@dataclass(frozen=True, slots=True)
class DynamicMatcher:
    """A matcher whose keys hold variables: the real Matcher is built when a test runs."""

    comparator: Comparator
    match_type: MatchType
    keys: tuple[Text, ...]
    relation: str = ""

    def resolve(self, variables: Variables) -> Matcher:
        keys = tuple(variables.expand(k) for k in self.keys)
        return _matcher(self.comparator, self.match_type, keys, self.relation)


@functools.lru_cache(maxsize=1024)
def _matcher(
    comparator: Comparator, match_type: MatchType, keys: tuple[str, ...], rel: str
) -> Matcher:
    # Expanded keys repeat from message to message; compiling globs once pays.
    return Matcher(comparator, match_type, keys, rel)
