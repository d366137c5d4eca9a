"""The sandbox without a browser: which config it uses, `peerdoor start`, the page's JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config_file import load_config
from bot.ops import cli
from sandbox.sandbox import COORDINATOR_ID, GROUP_ID, Sandbox, choose_config, sandbox_config
from tests.e2e.harness import EXAMPLE_CONFIG


def test_config_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert choose_config(None).path.resolve() == EXAMPLE_CONFIG.resolve()
    assert "example" in choose_config(None).label
    (tmp_path / "peerdoor.toml").write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert choose_config(None).path == Path("peerdoor.toml")
    assert choose_config(None, "/srv/ours.toml").path == Path("/srv/ours.toml")
    assert choose_config(Path("x.toml"), "/srv/ours.toml").path == Path("x.toml")


def test_sandbox_config_fills_in_the_team_and_never_writes(tmp_path: Path) -> None:
    ours = tmp_path / "ours.toml"
    ours.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    before = ours.read_bytes()
    config = sandbox_config(load_config(ours))
    for programme in config.programmes:
        assert programme.coordinators == [COORDINATOR_ID]
        assert programme.coordinator_chat == GROUP_ID
    assert ours.read_bytes() == before
    assert [p.form for p in config.programmes] == [p.form for p in load_config(ours).programmes]


def test_start_without_a_token_says_how_and_opens_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PEERDOOR_TELEGRAM_TOKEN", raising=False)
    opened: list[tuple[int, Path | None]] = []
    monkeypatch.setattr(cli, "cmd_sandbox", lambda port, config: opened.append((port, config)))
    assert cli.main(["start"]) == 0
    assert opened == [(8080, None)]
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "@BotFather" in out[0]
    assert "sandbox" in out[0]


def test_start_with_a_token_runs_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDOOR_TELEGRAM_TOKEN", "123:ABC")
    ran: list[object] = []
    monkeypatch.setattr(cli, "cmd_run", lambda settings: ran.append(settings))
    monkeypatch.setattr(cli, "cmd_sandbox", lambda *a: pytest.fail("no sandbox with a token"))
    assert cli.main(["start"]) == 0
    assert len(ran) == 1


@pytest.fixture
async def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEERDOOR_CONFIG", raising=False)
    async with Sandbox(port=0) as sandbox:
        yield sandbox


async def test_page_api(box: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        page = await http.get(box.url)
        assert page.status == 200
        assert "Content-Security-Policy" in page.headers
        assert "Nothing is kept" in await page.text()
        info = await (await http.get(f"{box.url}/api/info")).json()
        assert [p["title"] for p in info["panes"]] == [
            "Referrer (private chat)",
            "Coordinators' group",
            "Coordinator (private chat)",
            "Supporter (private chat)",
        ]
        # Other sites cannot post (no JSON without CORS) nor reach it by another name.
        form = await http.post(f"{box.url}/api/send", data={"pane": "referrer", "text": "x"})
        assert form.status == 415
        renamed = await http.get(f"{box.url}/api/info", headers={"Host": "evil.example:80"})
        assert renamed.status == 421
        gone = await http.post(
            f"{box.url}/api/press", json={"pane": "referrer", "message": 99, "row": 0, "column": 0}
        )
        assert gone.status == 410

        sent = await http.post(f"{box.url}/api/send", json={"pane": "referrer", "text": "/start"})
        assert sent.status == 200
        state = await (await http.get(f"{box.url}/api/state")).json()
        tag = state["tag"]
        for _ in range(50):  # the long poll answers as soon as the bot replies
            state = await (await http.get(f"{box.url}/api/state?since={tag}")).json()
            buttons = [m for m in state["panes"]["referrer"]["messages"] if m["buttons"]]
            if buttons:
                break
            tag = state["tag"]
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the bot never answered /start")
        first = state["panes"]["referrer"]["messages"][0]
        assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
        assert not first["fromBot"]
        press = await http.post(
            f"{box.url}/api/press",
            json={"pane": "referrer", "message": buttons[-1]["id"], "row": 9, "column": 0},
        )
        assert press.status == 409
