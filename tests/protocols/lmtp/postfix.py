"""A private Postfix instance on loopback that delivers ``example.org`` over LMTP.

Made for the end-to-end test: its own config directory, queue and log, an
SMTP listener on a free 127.0.0.1 port, no chroot, and
``virtual_transport = lmtp:...`` pointing at the server under test. Needs
root (Postfix's master runs as root and drops to the ``postfix`` user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PrivatePostfix", "postfix_available"]

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

# Services our instance needs; the chroot column is "n" so no files are copied into a jail.
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_available() -> bool:
    return os.geteuid() == 0 and os.path.exists(POSTFIX)


class PrivatePostfix:
    """Write the config, start, stop and read the log of one private Postfix.

    Args:
        smtp_port: where Postfix accepts SMTP (127.0.0.1).
        lmtp_target: Postfix's next hop, e.g. ``inet:127.0.0.1:2424`` or ``unix:/path``.
        domain: the virtual mailbox domain delivered over LMTP.
    """

    def __init__(self, smtp_port: int, lmtp_target: str, domain: str = "example.org") -> None:
        # Not under pytest's 0700 tmp dir: Postfix daemons run as the postfix user.
        self.dir = Path(tempfile.mkdtemp(prefix="mailsuite-postfix-"))
        os.chmod(self.dir, 0o755)
        self.conf = self.dir / "etc"
        self.conf.mkdir()
        self.log = self.dir / "maillog"
        main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.dir / "queue"),
            "data_directory": str(self.dir / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "mx.test.invalid",
            "mydomain": "test.invalid",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relayhost": "",
            "smtp_dns_support_level": "disabled",
            "lmtp_dns_support_level": "disabled",
            "virtual_mailbox_domains": domain,
            "virtual_transport": f"lmtp:{lmtp_target}",
            "maillog_file": str(self.log),
            "maillog_file_prefixes": str(self.dir),
            "syslog_name": "postfix-mailsuite-test",
            "smtputf8_enable": "no",
            "biff": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        }
        (self.conf / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main_cf.items()))
        (self.conf / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{smtp_port}"))
        for sub in ("queue", "data"):
            (self.dir / sub).mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        # "check" creates the queue directories with the right owners first.
        self._postfix("check")
        proc = self._postfix("start")
        if proc.returncode != 0:
            raise RuntimeError(
                f"postfix start failed: {proc.stdout}{proc.stderr}\n{self.log_text()}"
            )

    def stop(self) -> None:
        self._postfix("stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
