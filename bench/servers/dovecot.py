"""Dovecot 2.3 from Debian, run privately: its own config, base_dir and state_dir.

Never touches the system service or ``/etc/dovecot``: ``dovecot -F -c`` runs a
separate master on a private config. Two configurations:

- ``dovecot-defaults``: the built-in defaults Debian ships (one login process
  per connection, one imap/pop3 process per session, no auth cache);
- ``dovecot-tuned``: as production sites run it (login processes reused with
  ``service_count = 0``, imap/pop3 processes reused with ``service_count = 1000``
  and ``process_min_avail = 2``, auth cache on). This is the one to beat.

Both raise ``mail_max_userip_connections`` (default 10), which otherwise caps
the IDLE workload at 10 connections per user; that limit is policy, not speed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import time

from bench.seed import Manifest, clone_mail
from bench.servers.base import Server, ServerStartError
from bench.sieve import prepare_sieve

__all__ = ["DOVECOT", "DovecotDefaults", "DovecotTuned"]

DOVECOT = "/usr/sbin/dovecot"
SIEVE_PLUGIN = "/usr/lib/dovecot/modules/lib90_sieve_plugin.so"  # Debian dovecot-sieve
_PROTOCOL_BINARIES = {
    "imap": "/usr/lib/dovecot/imap",
    "pop3": "/usr/lib/dovecot/pop3",
    "lmtp": "/usr/lib/dovecot/lmtp",
}

_TUNING = """
service imap-login {
  service_count = 0
}
service pop3-login {
  service_count = 0
}
service imap {
  service_count = 1000
  process_min_avail = 2
  # One imap process per IDLE connection: the default cap of 100 processes
  # (default_process_limit) would drop the IDLE workload's 1,000 connections.
  process_limit = 5000
}
service pop3 {
  service_count = 1000
  process_min_avail = 2
}
service auth {
  client_limit = 10000  # Dovecot asks for at least the sum of the process limits
}
auth_cache_size = 10M
"""


class _Dovecot(Server):
    tuned = False

    def unavailable(self) -> str | None:
        missing = [p for p in [DOVECOT, *_PROTOCOL_BINARIES.values()] if not os.path.exists(p)]
        if missing:
            return (
                f"Dovecot not installed ({', '.join(missing)} missing); "
                "./dev bench installs dovecot-core, -imapd, -pop3d, -lmtpd as root"
            )
        return None

    def _accounts(self) -> tuple[str, str, int, int]:
        """(internal user, login user, mail uid, mail gid) for this process's privileges."""
        if os.getuid() != 0:
            me = pwd.getpwuid(os.getuid())
            return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
        # As root Dovecot drops privileges: the Debian package's own accounts for
        # its internal and login processes, "nobody" for the mail (UID 0 may not own mail).
        internal = "dovecot" if _exists("dovecot") else "nobody"
        login = "dovenull" if _exists("dovenull") else "nobody"
        nobody = pwd.getpwnam("nobody")
        return internal, login, nobody.pw_uid, nobody.pw_gid

    def prepare(self, template_root: str, manifest: Manifest) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.dir)), mode=0o755, exist_ok=True)
        if os.getuid() == 0:
            # Dovecot's auth and mail processes run unprivileged: they must reach the dir.
            up = os.path.dirname(os.path.abspath(self.dir))
            while up != "/":
                if not os.stat(up).st_mode & 0o001:
                    raise ServerStartError(
                        f"{self.name}: {up} is not searchable by other users (mode "
                        f"{os.stat(up).st_mode & 0o777:o}); Dovecot's unprivileged processes "
                        "could not read the passwd file or mail: use another --workdir"
                    )
                up = os.path.dirname(up)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        clone_mail(template_root, self.mail_dir)
        sieve_dir = os.path.join(self.dir, "sieve")
        prepare_sieve(sieve_dir, self.mail_dir, manifest)
        # Without Pigeonhole the lmtp_sieve workload is skipped, never run without a script.
        self.sieve_dir = sieve_dir if os.path.exists(SIEVE_PLUGIN) else None
        internal, login, uid, gid = self._accounts()
        # Directories must be writable by the mail uid; the hard-linked files
        # (shared with the other servers' copies) keep their owner and mode 0644.
        for dirpath, _dirs, _files in os.walk(self.mail_dir):
            os.chown(dirpath, uid, gid)
        # Pigeonhole writes each compiled script (.svbin) next to its source.
        os.chown(sieve_dir, uid, gid)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            for user, password in manifest.passwords.items():
                home = os.path.join(self.mail_dir, user)
                f.write(f"{user}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755, exist_ok=True)
        chroot = "" if os.getuid() != 0 else None
        conf = f"""# mailsuite bench: private Dovecot ({self.name}); never the system instance.
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = msbench-{self.name}
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
log_path = {self.dir}/dovecot.log
mail_location = maildir:~
mail_max_userip_connections = 100000
protocol imap {{
  mail_max_userip_connections = 100000
}}
protocol pop3 {{
  mail_max_userip_connections = 100000
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.ports["imap"]}
  }}
  inet_listener imaps {{
    port = 0
  }}
{"  chroot =" if chroot is not None else ""}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = 0
  }}
{"  chroot =" if chroot is not None else ""}
}}
{self._sieve_conf(sieve_dir)}service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.ports["lmtp"]}
  }}
}}
"""
        if self.tuned:
            conf += _TUNING
        with open(os.path.join(self.dir, "dovecot.conf"), "w") as f:
            f.write(conf)

    def _sieve_conf(self, sieve_dir: str) -> str:
        if self.sieve_dir is None:
            return ""
        # Pigeonhole (Debian dovecot-sieve): the same per-user script path as mailsuite's;
        # a missing file means no script (implicit keep).
        return f"""protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = {sieve_dir}/%n.sieve
}}
"""

    def command(self) -> list[str]:
        return [DOVECOT, "-F", "-c", os.path.join(self.dir, "dovecot.conf")]

    def extra_settle(self) -> None:
        if self.tuned:
            time.sleep(1.0)  # let process_min_avail pre-fork its imap/pop3 processes

    def log_tail(self, lines: int = 15) -> str:
        own = super().log_tail(lines)
        try:
            with open(os.path.join(self.dir, "dovecot.log"), "rb") as f:
                return own + b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return own


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


class DovecotDefaults(_Dovecot):
    name = "dovecot-defaults"


class DovecotTuned(_Dovecot):
    name = "dovecot-tuned"
    tuned = True
