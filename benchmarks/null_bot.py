"""The "null bot": raw aiohttp long polling, one sendMessage per update, no framework.

It proves the harness is not the bottleneck: whatever rate the harness reports for a real bot,
it must sustain several times that for this one in the same run. A text is sent back as it
came, with one button; a press is answered (answerCallbackQuery, not awaited before the reply)
and followed by one message with the button again, like `echo_bot`.

    PEERDOOR_TELEGRAM_TOKEN=... PEERDOOR_TELEGRAM_API_URL=http://127.0.0.1:PORT \\
        python -m benchmarks.null_bot
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import aiohttp

READY = "null.started"
BUTTON = json.dumps({"inline_keyboard": [[{"text": "Echo", "callback_data": "echo"}]]})


async def call(session: aiohttp.ClientSession, url: str, method: str, **params: Any) -> Any:
    async with session.post(f"{url}/{method}", json=params) as response:
        body = await response.json()
    return body.get("result")


async def answer(session: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> None:
    message = update.get("message")
    if message is not None and "text" in message:
        await call(
            session,
            url,
            "sendMessage",
            chat_id=message["chat"]["id"],
            text=message["text"],
            reply_markup=BUTTON,
        )
        return
    query = update.get("callback_query")
    if query is not None:
        acked = asyncio.create_task(
            call(session, url, "answerCallbackQuery", callback_query_id=query["id"])
        )
        await call(
            session,
            url,
            "sendMessage",
            chat_id=query["message"]["chat"]["id"],
            text=f"pressed {query.get('data')}",
            reply_markup=BUTTON,
        )
        await acked


async def main() -> None:
    api = os.environ["PEERDOOR_TELEGRAM_API_URL"]
    url = f"{api}/bot{os.environ['PEERDOOR_TELEGRAM_TOKEN']}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        await call(session, url, "getMe")
        print(READY, file=sys.stderr, flush=True)
        offset = 0
        while not stop.is_set():
            poll = asyncio.create_task(call(session, url, "getUpdates", offset=offset, timeout=10))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not poll.done():
                poll.cancel()
                break
            stopped.cancel()
            for update in poll.result() or []:
                offset = max(offset, update["update_id"] + 1)
                task = asyncio.create_task(answer(session, url, update))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    try:  # the null bot must not be the slow side: on uvloop when it is installed
        import uvloop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
