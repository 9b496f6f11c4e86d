"""The IMAP4rev1 server: ``wire`` (sans-IO bytes <-> tokens, responses), ``commands`` (typed
command objects), ``selected`` (mailbox snapshots -> untagged updates); the session and the
Twisted protocol build on them."""
