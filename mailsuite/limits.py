"""Every size and time limit in one place, with its unit in the name.

Defaults only: the config may override those it exposes.
"""

from __future__ import annotations

from typing import Final

# IMAP wire
IMAP_MAX_LINE_BYTES: Final = 64 * 1024  # longer: BAD, line discarded
IMAP_HARD_MAX_LINE_BYTES: Final = 1024 * 1024  # longer: BYE, connection closed
IMAP_MAX_LITERAL_BYTES: Final = 50 * 1024 * 1024
IMAP_APPEND_MEMORY_BYTES: Final = 1024 * 1024  # larger APPEND literals go to a spool file
IMAP_MAX_PAREN_DEPTH: Final = 16
IMAP_MAX_BAD_COMMANDS: Final = 10
IMAP_MAX_PREAUTH_COMMANDS: Final = 20
IMAP_PREAUTH_TIMEOUT_S: Final = 60.0
IMAP_IDLE_TIMEOUT_S: Final = 30 * 60.0  # RFC 3501 5.4: at least 30 minutes

# POP3 wire
POP3_MAX_LINE_BYTES: Final = 512  # RFC 2449: 255 octets of arguments; be lenient
POP3_TIMEOUT_S: Final = 10 * 60.0  # RFC 1939: at least 10 minutes
# RFC 5034 section 4: SASL responses are not bound by the 255-octet command limit.
POP3_MAX_SASL_LINE_BYTES: Final = 16 * 1024
POP3_MAX_BAD_COMMANDS: Final = 10  # then the connection is closed
POP3_RETR_CHUNK_BYTES: Final = 64 * 1024  # read size when streaming RETR/TOP
POP3_MAX_PIPELINED_LINES: Final = 100  # queued commands before reading is paused

# LMTP
LMTP_MAX_LINE_BYTES: Final = 4096
LMTP_MAX_MESSAGE_BYTES: Final = 100 * 1024 * 1024
LMTP_MAX_RECIPIENTS: Final = 1000
LMTP_SPOOL_MEMORY_BYTES: Final = 1024 * 1024  # beyond this, spool to disk

# Auth
AUTH_FAIL_DELAY_S: Final = 2.0
AUTH_FAIL_DELAY_MAX_S: Final = 15.0
AUTH_CACHE_TTL_S: Final = 300.0
AUTH_CACHE_NEGATIVE_TTL_S: Final = 30.0
AUTH_CACHE_MAX_ENTRIES: Final = 10_000

# Messages (MIME parsing; Dovecot's defaults, which also bound the work per message)
MESSAGE_MAX_MIME_DEPTH: Final = 100  # nested multipart/message levels opened
MESSAGE_MAX_MIME_PARTS: Final = 10_000  # MIME parts parsed per message
