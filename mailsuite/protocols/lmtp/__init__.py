"""LMTP (RFC 2033): ``wire`` (sans-IO framing and replies), ``commands``, ``session``
(the state machine), ``backend`` (userdb lookup and delivery), ``relay`` (outgoing
mail) and ``server`` (the Twisted protocol)."""

from __future__ import annotations

__all__: list[str] = []
