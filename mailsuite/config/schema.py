"""The typed settings tree that ``etc/mailsuite.toml`` is loaded into.

Every section is a frozen dataclass; field defaults are the embedded defaults
that let the example config run as is. ``config.load`` checks every key and
type against these classes, so adding a key here is all it takes to accept it.
Relative paths are resolved against the directory the server runs in (the
directory holding ``etc/`` for the example config).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AuthSettings",
    "ImapSettings",
    "LmtpSettings",
    "LogSettings",
    "MailSettings",
    "PassdbSettings",
    "Pop3Settings",
    "ProxySettings",
    "QuotaSettings",
    "ServerSettings",
    "Settings",
    "SieveSettings",
    "TlsSettings",
    "UserdbSettings",
]


@dataclass(frozen=True)
class ServerSettings:
    hostname: str = "localhost"
    state_dir: str = "var/state"  # locks, pid, penalty and vacation state
    # Sessions from these networks may use plaintext auth without TLS.
    # Loopback is always trusted for this; add e.g. "10.0.0.0/8" to allow more.
    plaintext_auth_networks: list[str] = field(default_factory=list)
    disable_plaintext_auth: bool = True
    # Threads for blocking disk and database work (the reactor never waits on them).
    # Few is faster: every runnable thread competes for the GIL, so with many busy
    # clients each command costs more CPU at 16 threads than at 4 (bench/imap_cycle.py
    # --pool). Raise it where disk or database waits dominate (NFS, spinning disks, a
    # remote SQL passdb), since a waiting thread serves nobody else meanwhile.
    thread_pool_size: int = 4
    # Server processes sharing the listening sockets (see docs/scaling.md). 1: one
    # process serves everything; N > 1: a master process binds every listener and
    # supervises N worker processes that accept on them (about one per CPU core).
    workers: int = 1


@dataclass(frozen=True)
class TlsSettings:
    cert: str = "var/tls/cert.pem"  # made self-signed on first start when missing
    key: str = "var/tls/key.pem"
    ca: str = ""  # CA bundle for client certificates (SASL EXTERNAL); empty: none
    min_version: str = "TLSv1.2"


@dataclass(frozen=True)
class MailSettings:
    # %u user, %n local part, %d domain, %h home
    location: str = "var/mail/%u"
    # Folders made on first access, with their SPECIAL-USE attribute (RFC 6154).
    special_use: dict[str, str] = field(
        default_factory=lambda: {
            "Drafts": "\\Drafts",
            "Sent": "\\Sent",
            "Trash": "\\Trash",
            "Junk": "\\Junk",
            "Archive": "\\Archive",
        }
    )
    fsync: bool = True  # never turn off in production: an OK must mean "on disk"
    # Dovecot-compatible POP3 UIDL format (%u UID, %v UIDVALIDITY, %08X hex padding).
    pop3_uidl_format: str = "%08Xu%08Xv"


@dataclass(frozen=True)
class ImapSettings:
    listen: list[str] = field(default_factory=lambda: ["127.0.0.1:1143"])
    tls_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:1993"])
    max_line_bytes: int = 64 * 1024
    max_literal_bytes: int = 50 * 1024 * 1024
    idle_timeout_s: float = 30 * 60.0
    preauth_timeout_s: float = 60.0
    # An APPEND message larger than this is written, as it arrives, to a private
    # nameless file under [server] state_dir/imap-spool instead of memory.
    append_memory_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Pop3Settings:
    listen: list[str] = field(default_factory=lambda: ["127.0.0.1:1110"])
    tls_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:1995"])
    retr_marks_seen: bool = True
    timeout_s: float = 10 * 60.0


@dataclass(frozen=True)
class LmtpSettings:
    listen: list[str] = field(default_factory=lambda: ["127.0.0.1:2424"])
    socket: str = "var/lmtp.sock"
    max_message_bytes: int = 100 * 1024 * 1024
    max_recipients: int = 1000
    recipient_delimiter: str = "+"
    # Deliver user+detail into the folder "detail" when it exists.
    detail_as_folder: bool = False
    # How an over-quota recipient is answered: temporary 452 4.2.2 or permanent 552 5.2.2.
    quota_full_tempfail: bool = False
    vrfy: bool = False  # VRFY answered 252 when true; disabled (502) otherwise
    # When user@domain is not in the userdb, look up the bare local part "user"
    # (single-domain sites whose userdb holds bare names).
    domain_fallback: bool = True
    max_line_bytes: int = 4096  # longer command lines get 500 5.5.2
    timeout_s: float = 5 * 60.0  # RFC 5321 4.5.3.2.7: at least 5 minutes idle
    socket_mode: int = 0o660  # permissions of the Unix socket (the MTA's group needs rw)
    # Threads storing copies (their own pool: a delivery mostly waits on fsync, and a
    # 10-recipient message keeps 10 of them busy without queueing IMAP's small calls).
    delivery_threads: int = 8
    # Seconds a user found at RCPT is remembered (no userdb lookup for the next RCPT to
    # them); a user removed from the userdb is still accepted that long. 0: always look up.
    user_cache_s: float = 2.0


@dataclass(frozen=True)
class ProxySettings:
    enabled: bool = False
    imap_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:2143"])
    imap_tls_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:2993"])
    pop3_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:2110"])
    pop3_tls_listen: list[str] = field(default_factory=lambda: ["127.0.0.1:2995"])
    backends: list[str] = field(default_factory=list)  # backend hosts for consistent hashing
    trusted_networks: list[str] = field(default_factory=list)
    # Ports and security for hashed routes (passdb "port"/"ssl"/"starttls" override them).
    backend_imap_port: int = 143
    backend_pop3_port: int = 110
    backend_tls: str = "none"  # none | starttls | ssl
    backend_tls_verify: bool = True  # false: accept any certificate (Dovecot's any-cert)
    connect_timeout_s: float = 10.0  # a backend that does not answer: temporary failure
    login_timeout_s: float = 30.0  # connect + backend login, whole
    ttl: int = 5  # hops before a proxy loop is assumed (Dovecot's proxy_ttl)
    # Log in to backends as "user<separator>master_user" with this password
    # (needed for CRAM-MD5/SCRAM clients, whose password the front end never sees).
    master_user: str = ""
    master_password: str = ""
    send_proxy_protocol: bool = False  # open backend connections with a PROXY v2 header
    # Backend side: listeners for front ends only; each connection from
    # trusted_networks must start with a PROXY v2 header carrying the client's address.
    haproxy_imap_listen: list[str] = field(default_factory=list)
    haproxy_pop3_listen: list[str] = field(default_factory=list)
    # How this node appears in `backends` (host names or addresses): users the
    # ring gives to this node are served here instead of proxied to ourselves.
    local_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PassdbSettings:
    driver: str = "passwd-file"  # passwd-file | sqlite | pgsql | static
    path: str = ""  # passwd-file, sqlite
    dsn: str = ""  # pgsql: libpq connection string
    password_query: str = ""  # sqlite, pgsql; %u user, %n local part, %d domain
    default_password_scheme: str = "CRYPT"
    password: str = ""  # static
    master: bool = False  # a master-user passdb: "user*master" logs in as user
    default_fields: dict[str, str] = field(default_factory=dict)
    override_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UserdbSettings:
    driver: str = "passwd-file"  # passwd-file | sqlite | pgsql | static
    path: str = ""
    dsn: str = ""
    user_query: str = ""
    iterate_query: str = ""
    default_fields: dict[str, str] = field(default_factory=dict)
    override_fields: dict[str, str] = field(default_factory=dict)
    # static: accept every user name (else a user exists only if a passdb knows it).
    allow_all_users: bool = False


@dataclass(frozen=True)
class AuthSettings:
    mechanisms: list[str] = field(
        default_factory=lambda: [
            "PLAIN",
            "LOGIN",
            "CRAM-MD5",
            "SCRAM-SHA-1",
            "SCRAM-SHA-256",
        ]
    )
    cache_size: int = 10_000
    cache_ttl_s: float = 300.0
    cache_negative_ttl_s: float = 30.0
    failure_delay_s: float = 2.0
    failure_delay_max_s: float = 15.0
    max_connections_per_user_ip: int = 10
    master_user_separator: str = "*"
    username_format: str = "%u"  # %Lu lowercases
    # Slow hashes (Argon2, crypt, PBKDF2) verified at once; 0: one per CPU. Keeps the
    # thread pool free for mail work while a login storm runs (Dovecot's auth workers).
    hash_workers: int = 0


@dataclass(frozen=True)
class SieveSettings:
    enabled: bool = True
    script: str = "%h/.dovecot.sieve"  # per-user script; %h home, %u user
    before: str = ""  # global script run before the user's
    after: str = ""  # global script run after the user's
    relay: str = "127.0.0.1:25"  # SMTP relay for redirect and vacation
    max_redirects: int = 4  # distinct redirect targets per message; more is a runtime error
    max_actions: int = 32  # actions one run may collect (Dovecot's sieve_max_actions)
    vacation_min_days: int = 1
    vacation_max_days: int = 90


@dataclass(frozen=True)
class QuotaSettings:
    storage_bytes: int = 0  # 0: no limit; a userdb "quota_rule" overrides
    messages: int = 0


@dataclass(frozen=True)
class LogSettings:
    path: str = "-"  # "-" logs to stderr (twistd's log), else a file
    level: str = "info"
    debug_protocol: bool = False  # log protocol lines (never passwords)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    pop3: Pop3Settings = field(default_factory=Pop3Settings)
    lmtp: LmtpSettings = field(default_factory=LmtpSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    passdb: list[PassdbSettings] = field(
        default_factory=lambda: [PassdbSettings(driver="passwd-file", path="etc/users")]
    )
    userdb: list[UserdbSettings] = field(
        default_factory=lambda: [UserdbSettings(driver="passwd-file", path="etc/users")]
    )
    auth: AuthSettings = field(default_factory=AuthSettings)
    sieve: SieveSettings = field(default_factory=SieveSettings)
    quota: QuotaSettings = field(default_factory=QuotaSettings)
    log: LogSettings = field(default_factory=LogSettings)
    # Directory that relative paths in this config are resolved against.
    base_dir: str = "."
