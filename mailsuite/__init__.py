"""mailsuite: IMAP, POP3 and LMTP on Twisted with a self-healing Maildir store."""

__version__ = "0.1.0"
