"""PTB's requests on aiohttp (bot/telegram/aiohttp_request.py), against the emulator."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.delivery.port import OnWire, sending
from bot.telegram.aiohttp_request import AiohttpRequest
from sandbox.emulator import BotApiEmulator


async def test_messages_files_updates_and_errors_go_through() -> None:
    async with BotApiEmulator() as emu:
        person = emu.user(1001, "Alice")
        await person.send("hi")
        request = AiohttpRequest(connection_pool_size=4)
        async with Bot(emu.token, base_url=emu.api_url, request=request) as bot:
            updates = await bot.get_updates(timeout=0)
            assert [u.message.text for u in updates if u.message] == ["hi"]
            sent = await bot.send_message(1001, "<b>Hello</b> &amp; welcome", parse_mode="HTML")
            assert sent.text == "Hello & welcome"
            document = await bot.send_document(1001, b"a,b\n1,2\n", filename="my.csv")
            assert document.document is not None
            assert document.document.file_name == "my.csv"
            with pytest.raises(BadRequest):
                await bot.send_message(424242, "nobody")
        assert person.bot_messages[0].content == "Hello & welcome"
        stored = emu.world.files[document.document.file_id]
        assert stored.data == b"a,b\n1,2\n"


async def test_the_on_wire_hook_runs_once_before_the_first_request_leaves() -> None:
    async with BotApiEmulator() as emu:
        await emu.user(1001, "Alice").send("hi")
        seen: list[int] = []

        async def hook() -> None:
            seen.append(len(emu.requests_for("sendMessage")))

        request = AiohttpRequest()
        async with Bot(emu.token, base_url=emu.api_url, request=request) as bot:
            wire = OnWire(hook)
            with sending(wire):
                await bot.send_message(1001, "one")
                await bot.send_message(1001, "two")
            await bot.send_message(1001, "no hook here")
        assert wire.ran
        assert seen == [0]  # once, and before the first sendMessage reached the emulator


async def test_a_held_request_times_out_and_a_dead_server_is_a_network_error() -> None:
    async with BotApiEmulator() as emu:
        await emu.user(1001, "Alice").send("hi")
        request = AiohttpRequest(read_timeout=0.2)
        async with Bot(emu.token, base_url=emu.api_url, request=request) as bot:
            emu.fail_next("sendMessage", kind="timeout", hold=1.0)
            with pytest.raises(TimedOut):
                await bot.send_message(1001, "held")
            url = emu.api_url
    request = AiohttpRequest(connect_timeout=0.5)
    bot = Bot("123456:TEST-token", base_url=url, request=request)
    with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
        await bot.initialize()  # getMe, to an emulator that has stopped
    await request.shutdown()
