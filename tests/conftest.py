from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_server


@pytest.fixture
def mailserver(tmp_path: Path) -> Iterator[RunningServer]:
    """A real mailsuite server (twistd subprocess) on free loopback ports."""
    with start_server(tmp_path) as server:
        yield server
