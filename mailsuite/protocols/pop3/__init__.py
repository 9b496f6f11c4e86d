"""POP3 (RFC 1939) with CAPA, TOP, UIDL, SASL, STLS, RESP-CODES and PIPELINING; see docs/pop3.md."""
