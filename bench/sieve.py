"""The Sieve script every server runs in the ``lmtp_sieve`` workload, and its setup.

One realistic per-user script, identical for every server (mailsuite's
Sieve-lite and Dovecot's Pigeonhole): a few header tests, a ``fileinto`` into
an existing folder for mailing-list mail, an imap4flags ``addflag`` and an
explicit ``keep`` for the rest. Each server names the user's script
``SIEVE_DIR/<user>.sieve``; the directory is empty except while the
``lmtp_sieve`` workload runs, so the plain ``lmtp`` workload measures delivery
with the Sieve engine loaded but no script to run.
"""

from __future__ import annotations

import os

from bench.seed import Manifest, _make_maildir

__all__ = [
    "LIST_FOLDER",
    "LIST_ID",
    "SIEVE_FOLDERS",
    "SIEVE_SCRIPT",
    "add_sieve_folders",
    "prepare_sieve",
    "folder_count",
    "install_scripts",
    "remove_scripts",
]

LIST_ID = "announce.bench.test"
LIST_FOLDER = "Lists"
SIEVE_FOLDERS = (LIST_FOLDER, "Junk")  # made in every sink user's Maildir before start

SIEVE_SCRIPT = f"""\
# bench: a typical user's filter (RFC 5228, RFC 5232 imap4flags)
require ["fileinto", "imap4flags"];

if header :contains "List-Id" "<{LIST_ID}>" {{
    fileinto "{LIST_FOLDER}";
    stop;
}}
if anyof (header :is "X-Spam-Flag" "YES",
          header :contains "Subject" "***SPAM***") {{
    fileinto "Junk";
    stop;
}}
if allof (address :domain :is "from" "bench.test",
          header :matches "Subject" "delivery *") {{
    addflag "\\\\Flagged";
}}
keep;
"""


def add_sieve_folders(mail_root: str, users: list[str]) -> None:
    """Create the script's target folders (Maildir++ ``.Name``) for ``users``."""
    for user in users:
        for name in SIEVE_FOLDERS:
            _make_maildir(os.path.join(mail_root, user, f".{name}"), folder=True)


def prepare_sieve(sieve_dir: str, mail_root: str, manifest: Manifest) -> None:
    """An empty script directory, and the script's folders for every sink user."""
    os.makedirs(sieve_dir, mode=0o755, exist_ok=True)
    remove_scripts(sieve_dir)
    add_sieve_folders(mail_root, [u for u in manifest.passwords if u.startswith("sink")])


def install_scripts(sieve_dir: str, users: list[str]) -> None:
    """Give each user the script (``SIEVE_DIR/<user>.sieve``)."""
    for user in users:
        path = os.path.join(sieve_dir, f"{user}.sieve")
        with open(path + ".tmp", "w") as f:
            f.write(SIEVE_SCRIPT)
        os.chmod(path + ".tmp", 0o644)
        os.replace(path + ".tmp", path)


def remove_scripts(sieve_dir: str) -> None:
    """Remove every script and compiled form, so later deliveries run none."""
    for name in os.listdir(sieve_dir):
        os.remove(os.path.join(sieve_dir, name))


def folder_count(mail_root: str, user: str, folder: str) -> int:
    """Messages in ``user``'s ``folder`` (files in its ``new/`` and ``cur/``)."""
    base = os.path.join(mail_root, user, f".{folder}")
    return sum(len(os.listdir(os.path.join(base, sub))) for sub in ("new", "cur"))
