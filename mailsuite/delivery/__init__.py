"""One recipient's delivery, shared by LMTP and ``mailsuite deliver``: spool the body,
run Sieve, store copies durably, and report a :class:`~.result.DeliveryResult`."""

from __future__ import annotations

__all__: list[str] = []
