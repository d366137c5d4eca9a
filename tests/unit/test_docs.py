"""The documentation site tells the truth about the code.

- Command output shown in the docs (docs/snippets/*.txt, included by the pages) is what the
  command prints today. After changing a command, refresh them with
  `PEERDOOR_WRITE_DOCS=1 .venv/bin/python -m pytest -q tests/unit/test_docs.py` and commit.
- The configuration reference (generated at build time by docs/hooks/reference.py) lists every
  key of the config, every PEERDOOR_* setting, and refuses a key nobody described.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from bot.ops.cli import example_config

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "docs" / "snippets"
WRITE = os.environ.get("PEERDOOR_WRITE_DOCS") == "1"


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference", ROOT / "docs/hooks/reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = load_hook()


# -- command output shown on the pages ----------------------------------------------------------


def peerdoor(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEERDOOR_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.ops.cli", *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "100"},  # argparse wraps help to the terminal's width
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def matches_snippet(name: str, output: str) -> None:
    path = SNIPPETS / name
    if WRITE:
        path.write_text(output, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with PEERDOOR_WRITE_DOCS=1 to write it"
    assert path.read_text(encoding="utf-8") == output, (
        f"the docs show output of an older command ({path.relative_to(ROOT)}): refresh with "
        "PEERDOOR_WRITE_DOCS=1 .venv/bin/python -m pytest -q tests/unit/test_docs.py"
    )
    included = [
        page for page in (ROOT / "docs").rglob("*.md") if f'--8<-- "{name}"' in page.read_text()
    ]
    assert included, f"no page includes {name}: remove it or show it"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("peerdoor-help.txt", ["--help"]),
        ("peerdoor-report-help.txt", ["report", "--help"]),
        ("peerdoor-export-help.txt", ["export", "--help"]),
        ("peerdoor-invite-help.txt", ["invite", "--help"]),
        ("peerdoor-revoke-help.txt", ["revoke", "--help"]),
        ("peerdoor-cards-help.txt", ["cards", "--help"]),
    ],
)
def test_help_shown_in_the_docs_is_current(tmp_path: Path, name: str, args: list[str]) -> None:
    result = peerdoor(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    matches_snippet(name, result.stdout)


def test_init_check_config_and_purge_shown_in_the_docs_are_current(tmp_path: Path) -> None:
    init = peerdoor(tmp_path, "init")
    assert init.returncode == 0, init.stderr
    matches_snippet("peerdoor-init.txt", init.stdout)

    check = peerdoor(tmp_path, "check-config")
    assert check.returncode == 0, check.stderr
    matches_snippet("peerdoor-check-config.txt", check.stdout)

    config = tmp_path / "peerdoor.toml"
    config.write_text(example_config().replace('kind = "single"', 'kind = "choice"', 1))
    broken = peerdoor(tmp_path, "check-config")
    assert broken.returncode == 2
    assert broken.stdout == ""
    assert "kind" in broken.stderr
    matches_snippet("peerdoor-check-config-error.txt", broken.stderr)

    config.write_text(example_config())
    purge = peerdoor(tmp_path, "purge")
    assert purge.returncode == 0, purge.stderr
    matches_snippet("peerdoor-purge.txt", purge.stdout)


# -- the generated configuration reference ------------------------------------------------------


def example_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    """Every key path of the example config; per-language text tables count as one key."""
    keys: set[str] = set()
    for name, value in table.items():
        path = f"{prefix}.{name}" if prefix else name
        if prefix.endswith(".questionnaires"):  # a table of named tables: its keys count
            path = prefix + reference.NAMED
        else:
            keys.add(path)
        rows = value if isinstance(value, list) else [value]
        for row in rows:
            if isinstance(row, dict) and not all(re.fullmatch(r"[a-z]{2}", k) for k in row):
                keys |= example_keys(row, path)
    return keys


def rendered_keys() -> set[str]:
    """The key paths as the rendered page shows them: each section's rows under its heading."""
    text = reference.config_reference()
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    rows: dict[str, set[str]] = {}
    same_as: dict[str, str] = {}
    for section in sections:
        heading, _, body = section.partition("\n")
        name = "" if heading == "Top level" else heading.strip("`[]")
        rows[name] = set(re.findall(r"^\| `([a-z_]+)` \|", body, flags=re.M))
        same = re.search(r"The same keys as \[`\[*([a-z_.<>]+)\]*`\]", body)
        if same:
            same_as[name] = same.group(1)
    keys: set[str] = set()
    for name, found in rows.items():
        source = same_as.get(name, name)
        for key in rows[source] | found:
            keys.add(f"{name}.{key}" if name else key)
    # a section that repeats another's keys also repeats the tables under it
    for name, source in same_as.items():
        for key in list(keys):
            if key.startswith(source + "."):
                keys.add(name + key[len(source) :])
    return keys


def test_reference_lists_every_key_of_the_example_config() -> None:
    example = example_keys(tomllib.loads(example_config()))
    assert len(example) > 40, "the example config should exercise most keys"
    assert example <= reference.config_keys()
    assert example <= rendered_keys(), sorted(example - rendered_keys())


def test_reference_renders_every_key_of_every_model() -> None:
    every = reference.config_keys()
    assert every == rendered_keys(), sorted(every ^ rendered_keys())


def test_reference_lists_every_setting_the_product_reads() -> None:
    table = reference.settings_reference()
    for name in reference.product_variables():
        assert f"| `{name}` |" in table
    assert "PEERDOOR_SECRETS_DIR" in reference.product_variables()


def test_a_setting_missing_from_the_page_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "EXTRA_SETTINGS", {})
    with pytest.raises(ValueError, match="PEERDOOR_SECRETS_DIR"):
        reference.settings_reference()


def test_an_undescribed_key_stops_the_build() -> None:
    class Sample(BaseModel):
        said: int = 1

    info = Sample.model_fields["said"]
    with pytest.raises(ValueError, match=r"Sample\.said has no description"):
        reference._documented(Sample, "said", info)


def test_every_description_in_the_hook_names_a_key_that_needs_it() -> None:
    assert reference.stale_descriptions() == []


def test_a_stale_description_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(reference.DESCRIPTIONS, "Programme.gone", "a key that left")
    monkeypatch.setitem(reference.DESCRIPTIONS, "Option.under_age", "described twice")
    assert reference.stale_descriptions() == ["Option.under_age", "Programme.gone"]


# -- the README -----------------------------------------------------------------------------------


def test_readme_is_short_and_ci_runs_its_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= 6 * 1024
    commands = re.findall(r"```sh\n(.+?)\n```", readme, flags=re.S)
    tests = [c for c in commands if "pytest" in c]
    assert len(tests) == 1, tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests[0] in ci, "the README's test command must be a line of .ci/run, verbatim"
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" not in target:
            assert (ROOT / target).exists(), f"the README links to {target}, which is missing"
