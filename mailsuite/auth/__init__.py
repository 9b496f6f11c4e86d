"""Authentication: one twisted.cred Portal over Dovecot-style passdb and userdb chains.

Entry point: :func:`mailsuite.auth.factory.build_auth_service`; the contract the
protocols use is :mod:`mailsuite.auth.interfaces`. See ``docs/auth.md``.
"""
