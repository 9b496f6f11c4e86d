"""The login/proxy front end (issue 9): everything before login, then proxy or hand over.

Sans-IO, no Twisted: ``routing`` (passdb fields, consistent hashing),
``proxyproto`` (HAProxy PROXY v2), ``backend_login`` (logging in to a backend
as the client). Twisted: ``relay`` (bytes both ways with backpressure),
``connector`` (connect, TLS, PROXY header, login, timeouts), ``handoff`` (the
shared config and the proxy plan), ``frontend`` (the connection's stages),
``pop3_frontend`` and ``imap_frontend`` (the pre-login dialogues), and
``proxy_listener`` (the backend side of PROXY v2). ``mailsuite.service.login``
builds the listeners; docs/scaling.md tells admins how to deploy it.
"""
