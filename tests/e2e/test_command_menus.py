"""The command menus per role, as the real bot publishes them to the emulator: everyone's menu
(with /talk), a coordinator's own (the casework commands), a supporter's own once they joined
in the bot (refreshed by the menus job, without a restart), and the default back for a chat
whose role was taken away."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.emulator import BotApiEmulator
from tests.e2e.coordination import CORA, write_config
from tests.e2e.harness import BotFiles, in_process
from tests.e2e.test_supporters_match import SAM, join

COORDINATOR_COMMANDS = {
    "talk", "feedback", "assess", "applicants", "invite", "newreferral", "persondata", "erase",
}  # fmt: skip


def menu(emulator: BotApiEmulator, chat: int | None = None, language: str = "") -> list[str]:
    scope = {"type": "default"} if chat is None else {"type": "chat", "chat_id": chat}
    key = (json.dumps(scope, sort_keys=True), language)
    return [c["command"] for c in emulator.world.bot.commands.get(key, [])]


async def test_each_role_sees_its_commands_in_the_menu(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    files = BotFiles(tmp_path, config_path=write_config(tmp_path))
    sam = emulator.user(SAM, "Sam")
    cora = emulator.user(CORA, "Cora")
    async with in_process(files, emulator) as runtime:
        everyone = menu(emulator)
        assert "talk" in everyone and "start" in everyone
        assert not ({"newreferral", "erase", "persondata", "assess"} & set(everyone))
        assert "talk" in menu(emulator, language="sv")
        assert set(menu(emulator, CORA)) >= COORDINATOR_COMMANDS
        assert menu(emulator, SAM) == []  # not a supporter yet

        await cora.send("/start")
        await join(sam, runtime)
        assert await runtime.menus.refresh() == 1  # what the menus job runs
        mine = menu(emulator, SAM)
        assert {"talk", "sessions", "profile"} <= set(mine)
        assert not ({"newreferral", "erase", "applicants"} & set(mine))
        assert await runtime.menus.refresh() == 0  # nothing changed: nothing sent again

        async with runtime.store.unit() as uow:  # the role taken away
            person = await uow.people.find(SAM)
            assert person is not None
            assert await uow.roles.revoke(person, "supporter", "hiv")
        assert await runtime.menus.refresh() == 1
        assert menu(emulator, SAM) == []  # the default menu again
