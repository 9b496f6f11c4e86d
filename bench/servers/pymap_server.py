"""pymap (PyPI) with its maildir backend, run privately on a loopback port.

pymap is an IMAP server only: POP3 and LMTP workloads are skipped for it, and
the IDLE workload delivers its one message with IMAP APPEND from another
connection instead of LMTP (said in the results' notes).
"""

from __future__ import annotations

import os
import shutil
import sys

from bench.seed import Manifest, clone_mail
from bench.servers.base import Server

__all__ = ["Pymap"]


class Pymap(Server):
    name = "pymap"
    offers = ("imap",)
    not_offered_reason = "pymap has no POP3 or LMTP service"

    def _exe(self) -> str:
        return os.path.join(os.path.dirname(sys.executable), "pymap")

    def unavailable(self) -> str | None:
        if not os.path.exists(self._exe()):
            return "pymap not installed (pip install '.[bench]'; ./dev bench does it)"
        return None

    def prepare(self, template_root: str, manifest: Manifest) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        clone_mail(template_root, self.mail_dir)
        # The maildir backend keeps users in pymap-etc-passwd (home = Maildir path
        # relative to the base dir) and passwords in pymap-etc-shadow. Cleartext
        # passwords (passlib "plaintext") so that no server pays for hashing.
        with open(os.path.join(self.dir, "pymap-etc-passwd"), "w") as f:
            for user in manifest.passwords:
                f.write(f"{user}:::::mail/{user}:\r\n")  # name:pw:uid:gid:gecos:home:shell
        with open(os.path.join(self.dir, "pymap-etc-shadow"), "w") as f:
            for user, password in manifest.passwords.items():
                f.write(f"{user}:{password}:::::::\r\n")
        with open(os.path.join(self.dir, "passlib.cfg"), "w") as f:
            f.write("[passlib]\nschemes = plaintext\n")

    def command(self) -> list[str]:
        return [
            self._exe(),
            "--no-service",
            "admin",
            "--no-service",
            "managesieve",
            "--no-service",
            "swim",
            "--passlib-cfg",
            os.path.join(self.dir, "passlib.cfg"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports["imap"]),
            "maildir",
            self.dir,
        ]
