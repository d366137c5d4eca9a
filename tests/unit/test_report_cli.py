"""`peerdoor report` and `peerdoor export` as the operator runs them (a real process)."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from bot.ops.cli import main
from bot.ops.keys import encode_key
from storage import KeyRing, Store
from tests.unit.report_seed import CANARY, EXAMPLE_CONFIG, seed
from tests.unit.test_cli import peerdoor


async def test_report_and_export_commands(tmp_path: Path) -> None:
    key = KeyRing.generate()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    await seed(data / "peerdoor.db", key)
    env = {
        "PEERDOOR_CONFIG": str(EXAMPLE_CONFIG),
        "PEERDOOR_DATA_DIR": str(data),
        "PEERDOOR_MASTER_KEY": encode_key(key),
    }

    made = peerdoor(tmp_path, "report", "--out", "out", "--since", "2025-03-03", **env)
    assert made.returncode == 0, made.stderr
    assert "wrote the report for hiv, diabetes" in made.stdout
    assert "Counts only" in made.stdout
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 11 and "report.html" in names  # 5 charts per programme + the page
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert CANARY.encode() not in path.read_bytes()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<tr id="hiv-total"><th>Referrals sent</th><td class="n">16</td></tr>' in page
    assert '<tr id="hiv-urgent"><th>Marked urgent (crisis words)</th><td class="n">&lt;5' in page

    exported = peerdoor(tmp_path, "export", "--format", "json", "--programme", "hiv", **env)
    assert exported.returncode == 0, exported.stderr
    assert "personal health data" in exported.stdout
    files = list(tmp_path.glob("peerdoor-export-*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    records = json.loads(files[0].read_text(encoding="utf-8"))
    assert len(records) == 17 and {r["programme"] for r in records} == {"hiv"}
    assert all(CANARY in r["answers"]["name"] for r in records)

    store = await Store.open(data / "peerdoor.db", KeyRing(key))
    try:
        async with store.unit() as uow:
            actions = [(e.action, e.detail) for e in await uow.audit.entries(limit=3)]
        assert (await store.verify_audit()).ok
    finally:
        await store.close()
    assert actions[-2:] == [
        ("report", "programmes=2 referrals=17"),
        ("export:json", "referrals=17"),
    ]


def test_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process, to keep the test quick (the happy path above runs real processes)."""
    key = KeyRing.generate()
    (tmp_path / "data").mkdir(mode=0o700)
    asyncio.run(seed(tmp_path / "data" / "peerdoor.db", key))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEERDOOR_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("PEERDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDOOR_MASTER_KEY", encode_key(key))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("mine")
    (tmp_path / "taken.json").write_text("mine")
    for argv, words in (
        (["report", "--out", "out"], "already exists"),
        (["export", "--format", "csv", "--programme", "nope"], "no programme 'nope'"),
        (["export", "--format", "json", "--out", "taken.json"], "already exists"),
    ):
        assert main(argv) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and words in error, error
    assert (tmp_path / "out" / "report.html").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html"]
    assert (tmp_path / "taken.json").read_text() == "mine"
    monkeypatch.setenv("PEERDOOR_DATA_DIR", str(tmp_path / "nothing"))
    assert main(["report"]) == 2
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()
