"""The cached ENVELOPE/BODYSTRUCTURE micro benchmark runs and reports every figure."""

from __future__ import annotations

from bench import fetch_render


def test_corpus_is_the_seeded_mix() -> None:
    """The corpus is deterministic and holds multipart messages as well as plain ones."""
    first = fetch_render.corpus(30)
    assert first == fetch_render.corpus(30)
    assert any(b"multipart/" in m for m in first) and any(b"multipart/" not in m for m in first)


def test_measure_reports_every_figure() -> None:
    """A tiny run gives positive per-message figures for both cache forms and the handler."""
    figures = fetch_render.measure(20, rounds=1)
    for key in ("decode_json", "decode_blob", "render", "json_path", "blob_path", "fetch_lines"):
        assert figures[key] > 0, key
    assert figures["blob_bytes"] < figures["json_bytes"]
