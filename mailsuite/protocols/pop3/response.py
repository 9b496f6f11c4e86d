"""What the session answers to one line, and what the server does after sending it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailsuite.protocols.pop3.stream import MessageStream
from mailsuite.protocols.pop3.wire import Continue, MultiLine, Status

__all__ = ["Response", "err", "ok"]


@dataclass(frozen=True)
class Response:
    """A reply, plus the actions the server takes once it is written."""

    reply: Status | MultiLine | Continue
    stream: MessageStream | None = None  # RETR/TOP body, streamed after ``reply``
    on_streamed: Callable[[], None] | None = None  # call on the reactor when fully sent
    start_tls: bool = False  # STLS: begin TLS right after the reply
    close: bool = False  # close the connection after the reply


def err(text: str, code: str | None = None) -> Response:
    return Response(Status(False, text, code))


def ok(text: str) -> Response:
    return Response(Status(True, text))
