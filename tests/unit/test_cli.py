"""The `peerdoor` command: setup problems are one line naming the fix, with exit status 2."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ops.cli import example_config
from bot.ops.keys import encode_key
from storage import KeyRing


def peerdoor(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEERDOOR_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.ops.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result.stderr}"
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_init_writes_config_and_private_key_once(tmp_path: Path) -> None:
    first = peerdoor(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    key = tmp_path / "peerdoor.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "peerdoor.toml").read_text() == example_config()
    before = key.read_bytes()
    (tmp_path / "peerdoor.toml").write_text("# mine\n" + example_config())
    again = peerdoor(tmp_path, "init")
    assert again.returncode == 0
    assert key.read_bytes() == before, "init never replaces a key"
    assert (tmp_path / "peerdoor.toml").read_text().startswith("# mine")
    assert "kept" in again.stdout


def test_run_without_token_says_how_to_get_one(tmp_path: Path) -> None:
    line = one_line_exit_2(peerdoor(tmp_path, "run"), "PEERDOOR_TELEGRAM_TOKEN", "@BotFather")
    assert "/newbot" in line


def test_run_without_config_or_key(tmp_path: Path) -> None:
    token = {"PEERDOOR_TELEGRAM_TOKEN": "123:abc"}
    one_line_exit_2(peerdoor(tmp_path, "run", **token), "peerdoor.toml", "peerdoor init")
    (tmp_path / "peerdoor.toml").write_text(example_config())
    one_line_exit_2(peerdoor(tmp_path, "run", **token), "master key", "peerdoor init")


def test_bad_key_and_loose_key_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "peerdoor.toml").write_text(example_config())
    env = {"PEERDOOR_TELEGRAM_TOKEN": "123:abc"}
    one_line_exit_2(
        peerdoor(tmp_path, "run", **env, PEERDOOR_MASTER_KEY="short"),
        "PEERDOOR_MASTER_KEY",
        "not a valid master key",
    )
    key = tmp_path / "peerdoor.key"
    key.write_text(encode_key(KeyRing.generate()))
    key.chmod(0o644)
    one_line_exit_2(peerdoor(tmp_path, "run", **env), "chmod 600")


def test_unwritable_data_dir(tmp_path: Path) -> None:
    (tmp_path / "peerdoor.toml").write_text(example_config())
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    result = peerdoor(
        tmp_path,
        "run",
        PEERDOOR_TELEGRAM_TOKEN="123:abc",
        PEERDOOR_DATA_DIR=str(blocker / "data"),
        PEERDOOR_MASTER_KEY=encode_key(KeyRing.generate()),
    )
    one_line_exit_2(result, "data directory", "PEERDOOR_DATA_DIR")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace('kind = "yesno"', 'kind = "maybe"', 1), "kind: Input should be"),
        (
            lambda t: t.replace('timezone = "Europe/London"', 'timezone = "Mars/Base"', 1),
            "unknown time zone",
        ),
        (lambda t: t.replace("[[programmes]]", "[[programmes]\n", 1), "not valid TOML"),
        (lambda t: t.replace("min_age = 18", 'min_age = "adult"', 1), "min_age"),
    ],
)
def test_check_config_points_at_the_problem(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "peerdoor.toml").write_text(mutate(example_config()))
    line = one_line_exit_2(peerdoor(tmp_path, "check-config"), "peerdoor.toml", expected)
    if "TOML" not in expected:
        assert ", line " in line, line


def test_check_config_accepts_the_example(tmp_path: Path) -> None:
    (tmp_path / "peerdoor.toml").write_text(example_config())
    result = peerdoor(tmp_path, "check-config")
    assert result.returncode == 0, result.stderr
    assert "hiv: 22 questions" in result.stdout
    assert "  sources: t.me/SideBySideExampleBot?start=hiv-kent, " in result.stdout


def test_settle_heap_leaves_the_collector_nothing_of_start_up_to_walk() -> None:
    """`peerdoor run` freezes what start-up loaded: a full collection walked all of it and held
    the event loop 30-65 ms (benchmarks/README.md, "Collector pauses"). Counted here, not timed,
    in a fresh interpreter that has loaded the bot as `peerdoor run` does."""
    code = (
        "import gc, bot.telegram.app, bot.ops.cli as cli\n"
        "before = len(gc.get_objects())\n"
        "cli.settle_heap()\n"
        "print(before, len(gc.get_objects()), gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, walked, frozen = map(int, done.stdout.split())
    assert before > 50_000, before  # what the collector walked before
    assert walked < 1_000, walked  # what a full pass walks now
    assert frozen > 0.9 * before, (frozen, before)
