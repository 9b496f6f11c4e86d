"""``mailsuite pw``: make (or test) a password hash, like ``doveadm pw``.

mailsuite pw -s SHA512-CRYPT            # asks for the password twice
mailsuite pw -s ARGON2ID -p secret      # prints {ARGON2ID}$argon2id$...
mailsuite pw -t '{SSHA256}...' -p secret  # checks a hash: exit 0 when it matches
"""

from __future__ import annotations

import argparse
import getpass
import sys

from mailsuite.auth import schemes

__all__ = ["register"]

DEFAULT_SCHEME = "SHA512-CRYPT"  # slow, salted, readable by every crypt(3)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pw", help="make a password hash for a passwd-file or SQL passdb")
    p.add_argument("-s", "--scheme", default=DEFAULT_SCHEME, help="scheme (default: %(default)s)")
    p.add_argument("-p", "--password", help="the password (asked for when not given)")
    p.add_argument("-u", "--user", default="", help="user name (DIGEST-MD5 hashes it in)")
    p.add_argument("-r", "--rounds", type=int, default=0, help="cost/rounds (scheme default: 0)")
    p.add_argument("-t", "--test", metavar="HASH", help="check PASSWORD against HASH instead")
    p.add_argument("-l", "--list", action="store_true", help="list the known schemes")
    p.set_defaults(func=run)


def _read_password(confirm: bool) -> str | None:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Enter new password: " if confirm else "Enter password to verify: ")
    if confirm and getpass.getpass("Retype new password: ") != first:
        print("mailsuite pw: passwords don't match", file=sys.stderr)
        return None
    return first


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(" ".join(sorted(schemes.SCHEMES)))
        return 0
    password = args.password
    if password is None:
        password = _read_password(confirm=args.test is None)
        if password is None:
            return 1
    if not password and args.test is None:
        print("mailsuite pw: empty password", file=sys.stderr)
        return 1
    if args.test is not None:
        try:
            stored = schemes.parse_stored(args.test, args.scheme.upper())
        except schemes.UnknownScheme as e:
            print(f"mailsuite pw: {e}", file=sys.stderr)
            return 1
        if schemes.verify(stored, password, args.user):
            print(f"{{{stored.scheme}}} (verified)")
            return 0
        print(f"mailsuite pw: {{{stored.scheme}}}: password mismatch", file=sys.stderr)
        return 1
    try:
        print(schemes.generate(args.scheme, password, args.user, rounds=args.rounds))
    except schemes.UnknownScheme as e:
        print(f"mailsuite pw: {e} (see mailsuite pw -l)", file=sys.stderr)
        return 1
    return 0
