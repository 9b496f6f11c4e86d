# No __init__.py in this directory: twisted/plugins is a namespace shared with Twisted.
from twisted.application.service import ServiceMaker

mailsuite = ServiceMaker(
    "mailsuite",
    "mailsuite.service.tap",
    "IMAP, POP3 and LMTP mail server on a self-healing Maildir store",
    "mailsuite",
)
