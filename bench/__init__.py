"""The mailsuite benchmark harness: mailsuite side by side with Dovecot and pymap.

Run it with ``./dev bench [--quick]`` (or ``python -m bench.run``); see
``bench/README.md``. Nothing here is imported by ``mailsuite`` or by its tests
except ``tests/bench``, which checks the harness's own client and seeding.
"""
