"""ScriptCache: compile once, recompile when the file changes, remember broken scripts."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from mailsuite.sieve import Keep, SieveError
from mailsuite.sieve.cache import ScriptCache
from mailsuite.sieve.interp import evaluate
from tests.sieve.support import context


def write(path: Path, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)


def test_missing_file_is_none(tmp_path: Path) -> None:
    """A user without a script gets None (the caller keeps)."""
    assert ScriptCache().get(str(tmp_path / "none.sieve")) is None


def test_compiles_once_while_unchanged(tmp_path: Path) -> None:
    """Repeated gets of an unchanged file return the same compiled script."""
    path = tmp_path / "a.sieve"
    write(path, "keep;")
    cache = ScriptCache()
    first = cache.get(str(path))
    assert first is not None and cache.get(str(path)) is first
    assert cache.compiles == 1
    assert evaluate(first, context()) == [Keep()]


def test_in_place_edit_with_same_size_and_mtime_is_seen(tmp_path: Path) -> None:
    """Rewriting the file in place is noticed even when size and mtime are made equal."""
    path = tmp_path / "a.sieve"
    write(path, "keep;   ")
    cache = ScriptCache()
    old = cache.get(str(path))
    st = os.stat(path)
    with open(path, "r+b") as f:  # same inode, same size
        f.write(b"discard;")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    new = cache.get(str(path))
    assert new is not old and cache.compiles == 2


def test_replace_by_rename_is_seen(tmp_path: Path) -> None:
    """An editor's write-and-rename (new inode) is picked up."""
    path = tmp_path / "a.sieve"
    write(path, "keep;")
    cache = ScriptCache()
    old = cache.get(str(path))
    tmp = tmp_path / "a.sieve.tmp"
    write(tmp, "keep;")
    os.replace(tmp, path)
    assert cache.get(str(path)) is not old


def test_deleted_file_becomes_none(tmp_path: Path) -> None:
    """Removing the script turns filtering off at the next delivery."""
    path = tmp_path / "a.sieve"
    write(path, "keep;")
    cache = ScriptCache()
    assert cache.get(str(path)) is not None
    path.unlink()
    assert cache.get(str(path)) is None


def test_broken_script_raises_and_is_remembered(tmp_path: Path) -> None:
    """A broken script raises SieveError with path and line, compiled only once."""
    path = tmp_path / "bad.sieve"
    write(path, "keep;\nfrobnicate;\n")
    cache = ScriptCache()
    for _ in range(3):
        with pytest.raises(SieveError) as info:
            cache.get(str(path))
        assert str(info.value) == f"{path}:2: unknown command 'frobnicate'"
    assert cache.compiles == 1
    write(path, "keep;\n")
    assert cache.get(str(path)) is not None


def test_invalid_utf8_is_an_error_with_line(tmp_path: Path) -> None:
    """Scripts are UTF-8 (RFC 5228 1); bad bytes are reported with their line."""
    path = tmp_path / "bad.sieve"
    write(path, b"keep;\n# caf\xe9\n")
    with pytest.raises(SieveError, match="not valid UTF-8") as info:
        ScriptCache().get(str(path))
    assert info.value.line == 2


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    """A BOM written by some editors does not break the script."""
    path = tmp_path / "bom.sieve"
    write(path, b"\xef\xbb\xbfkeep;")
    assert ScriptCache().get(str(path)) is not None


def test_directory_is_an_error(tmp_path: Path) -> None:
    """A directory where the script should be is reported, not crashed on."""
    with pytest.raises(SieveError, match="directory"):
        ScriptCache().get(str(tmp_path))


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    """A script the server may not read raises SieveError naming the path."""
    path = tmp_path / "secret.sieve"
    write(path, "keep;")
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(SieveError, match="cannot read") as info:
            ScriptCache().get(str(path))
        assert str(path) in str(info.value)
        return
    # Root reads every file: check as an unprivileged user in a child process (CI
    # runs as root), in a directory that user can reach (pytest's are root-only).
    shared = Path(tempfile.mkdtemp(prefix="sieve-unreadable-", dir="/var/tmp"))
    shared.chmod(0o755)
    path = shared / "secret.sieve"
    write(path, "keep;")
    path.chmod(0)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 3
        try:
            os.setgid(65534)
            os.setuid(65534)
            ScriptCache().get(str(path))
            code = 1  # read it anyway
        except SieveError as e:
            code = 0 if "cannot read" in str(e) and str(path) in str(e) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(shared)
    assert os.waitstatus_to_exitcode(status) == 0


def test_cache_is_bounded(tmp_path: Path) -> None:
    """Beyond max_entries the least recently used script is dropped and later recompiled."""
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.sieve"
        write(p, "keep;")
        paths.append(str(p))
    cache = ScriptCache(max_entries=2)
    for p in paths:
        cache.get(p)
    assert cache.compiles == 3
    cache.get(paths[2])
    assert cache.compiles == 3
    cache.get(paths[0])
    assert cache.compiles == 4


def test_concurrent_gets(tmp_path: Path) -> None:
    """Many threads asking at once all get a working script."""
    path = tmp_path / "a.sieve"
    write(path, 'require "fileinto"; if true { fileinto "x"; }')
    cache = ScriptCache()
    results: list[object] = []

    def worker() -> None:
        for _ in range(50):
            results.append(cache.get(str(path)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and all(r is not None for r in results)
    assert cache.compiles <= 8
