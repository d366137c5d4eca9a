"""What a new operator meets first: every command says what it does, takes --config when it
reads the config, and `check-config` stops where `run` would."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.ops.cli import example_config, main, parser
from tests.unit.test_cli import one_line_exit_2, peerdoor

TOKEN = {"PEERDOOR_TELEGRAM_TOKEN": "123456:AAE-secret-token_xyz"}


def commands() -> dict[str, argparse.ArgumentParser]:
    found = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_says_what_it_does(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    about = text.split("\n\n")[1]  # after the usage, before the options
    assert not about.lstrip().startswith(("options:", "positional arguments:")), text
    assert len(about.split()) >= 12, f"`peerdoor {name} --help` says too little: {text}"


def test_config_works_on_every_command_that_reads_it(tmp_path: Path) -> None:
    """No peerdoor.toml here: each command must read the file --config names."""
    elsewhere = tmp_path / "conf" / "service.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(example_config())
    checked = peerdoor(tmp_path, "check-config", "--config", str(elsewhere))
    assert checked.returncode == 0, checked.stderr
    assert f"{elsewhere} is valid" in checked.stdout
    missing = str(tmp_path / "nowhere.toml")
    for args in (
        ("run",),
        ("start",),
        ("purge",),
        ("invite", "coordinator", "--programme", "hiv"),
        ("revoke", "supporter", "123", "--programme", "hiv"),
        ("report",),
        ("export", "--format", "csv"),
    ):
        one_line_exit_2(peerdoor(tmp_path, *args, "--config", missing, **TOKEN), missing)
    made = tmp_path / "new" / "mine.toml"
    made.parent.mkdir()
    assert peerdoor(tmp_path, "init", "--config", str(made)).returncode == 0
    assert made.read_text() == example_config()
    assert not (tmp_path / "peerdoor.toml").exists()


def test_init_names_the_command_the_readme_names(tmp_path: Path) -> None:
    result = peerdoor(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "next: peerdoor check-config, then peerdoor start"


def test_check_config_stops_where_run_would_on_a_missing_key_file(tmp_path: Path) -> None:
    (tmp_path / "peerdoor.toml").write_text(example_config())
    named = {"PEERDOOR_KEY_FILE": str(tmp_path / "keys" / "peerdoor.key")}
    run = one_line_exit_2(peerdoor(tmp_path, "run", **named, **TOKEN), "does not exist")
    assert one_line_exit_2(peerdoor(tmp_path, "check-config", **named, **TOKEN)) == run
    assert one_line_exit_2(peerdoor(tmp_path, "check-config", **named)) == run
    # With a token, `start` would run the bot: the default key file must be there too.
    run = one_line_exit_2(peerdoor(tmp_path, "run", **TOKEN), "peerdoor.key", "peerdoor init")
    assert one_line_exit_2(peerdoor(tmp_path, "check-config", **TOKEN)) == run
    # A fresh checkout (no token, no key named): the key is only noted, `init` makes it.
    fresh = peerdoor(tmp_path, "check-config")
    assert fresh.returncode == 0, fresh.stderr
    assert "master key: none yet" in fresh.stdout
