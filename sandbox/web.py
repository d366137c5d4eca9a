"""The sandbox's web page: four chats side by side, on 127.0.0.1 only.

The page polls `/api/state` (a long poll: it answers when something changed, or after a while)
and sends what a person does to `/api/send` and `/api/press`. Messages go to the page as plain
text with Telegram's entities; the page builds the DOM from them and never parses HTML.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.errors import SetupError

from .emulator import ScriptedGroup, ScriptedUser, StoredMessage
from .emulator.world import World

STATIC = Path(__file__).resolve().parent / "static"
LONG_POLL = 20.0
MAX_TEXT = 4096
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Pane:
    """One chat on the page: whose eyes, which chat, and commands to offer."""

    key: str
    title: str
    person: ScriptedUser
    group: ScriptedGroup | None
    suggestions: list[str]

    @property
    def chat_view(self) -> ScriptedGroup | ScriptedUser:
        return self.group if self.group is not None else self.person


def message_json(pane: Pane, message: StoredMessage) -> dict[str, Any]:
    buttons = [
        [
            {"label": b.text, "url": b.data if _is_url_button(message, r, c) else None}
            for c, b in enumerate(row)
        ]
        for r, row in enumerate(message.buttons)
    ]
    body: dict[str, Any] = {
        "id": message.message_id,
        "fromBot": message.from_bot,
        "sender": message.sender.first_name,
        "time": time.strftime("%H:%M", time.localtime(message.date)),
        "text": message.content,
        "entities": message.entities if message.text is not None else message.caption_entities,
        "buttons": buttons,
        "edited": message.edit_date is not None,
        "protected": message.protect_content,
    }
    if message.document is not None:
        body["document"] = {
            "name": message.document.filename or "file",
            "size": len(message.document.data),
            "href": f"/api/file/{pane.key}/{message.message_id}",
        }
    media = [kind for kind in ("sticker", "photo", "location", "contact") if kind in message.extra]
    if media:
        body["media"] = media[0]
    return body


def _is_url_button(message: StoredMessage, row: int, column: int) -> bool:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return "url" in rows[row][column] and "callback_data" not in rows[row][column]


def pane_json(pane: Pane) -> dict[str, Any]:
    view = pane.chat_view
    notices = [
        {"id": p.query_id, "text": p.answer.text, "alert": p.answer.show_alert}
        for p in pane.person.presses
        if p.message.chat is view.chat and p.answer is not None and p.answer.text
    ]
    return {
        "messages": [message_json(pane, m) for m in view.messages],
        "notices": notices[-3:],
    }


class SandboxPage:
    """The aiohttp server for the page and its small JSON API."""

    def __init__(
        self,
        world: World,
        panes: list[Pane],
        hints: dict[str, str],
        config_label: str,
        port: int = 8080,
    ) -> None:
        self.world = world
        self.panes = {p.key: p for p in panes}
        self.hints = hints
        self.config_label = config_label
        self.port = port
        self.stopping = asyncio.Event()
        self.app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        self.app.router.add_get("/", self._index)
        self.app.router.add_get("/sandbox.js", self._static("sandbox.js", "text/javascript"))
        self.app.router.add_get("/sandbox.css", self._static("sandbox.css", "text/css"))
        self.app.router.add_get("/favicon.ico", self._no_icon)
        self.app.router.add_get("/api/info", self._info)
        self.app.router.add_get("/api/state", self._state)
        self.app.router.add_post("/api/send", self._send)
        self.app.router.add_post("/api/press", self._press)
        self.app.router.add_get("/api/file/{pane}/{message}", self._file)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise SetupError(
                f"cannot listen on 127.0.0.1:{self.port} ({exc.strerror}): another program "
                f"uses it; try peerdoor sandbox --port {self.port + 1}"
            ) from exc
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.stopping.set()
        self.world.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- guard: this machine's browser only ---------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # The Host check keeps other sites out through DNS rebinding; a JSON body on POST
        # needs a CORS preflight, which this server never grants, so no other page can post.
        if request.host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise web.HTTPMisdirectedRequest(text="the sandbox answers on 127.0.0.1 only")
        if request.method == "POST" and request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="send JSON")
        response: web.StreamResponse = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    # -- the page ----------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html"})

    def _static(self, name: str, content_type: str) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(STATIC / name, headers={"Content-Type": content_type})

        return serve

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "config": self.config_label,
                "panes": [
                    {
                        "key": p.key,
                        "title": p.title,
                        "hint": self.hints.get(p.key, ""),
                        "suggestions": p.suggestions,
                        "sender": p.person.profile.first_name,
                    }
                    for p in self.panes.values()
                ],
            }
        )

    def snapshot(self) -> tuple[str, dict[str, Any]]:
        panes = {key: pane_json(pane) for key, pane in self.panes.items()}
        tag = hashlib.sha256(json.dumps(panes, sort_keys=True).encode()).hexdigest()[:16]
        return tag, {"tag": tag, "panes": panes}

    async def _state(self, request: web.Request) -> web.Response:
        """Answers at once if the page is behind, else when something changes (or 20 s)."""
        since = request.query.get("since", "")
        deadline = time.monotonic() + LONG_POLL
        while True:
            tag, body = self.snapshot()
            remaining = deadline - time.monotonic()
            if tag != since or remaining <= 0 or self.stopping.is_set():
                return web.json_response(body)
            await self.world.wait_changed(min(remaining, 1.0))

    # -- what a person does ------------------------------------------------------------------

    async def _body(self, request: web.Request) -> tuple[Pane, dict[str, Any]]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="not JSON") from None
        if not isinstance(body, dict) or body.get("pane") not in self.panes:
            raise web.HTTPBadRequest(text="which pane?")
        return self.panes[body["pane"]], body

    async def _send(self, request: web.Request) -> web.Response:
        pane, body = await self._body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise web.HTTPBadRequest(text="nothing to send")
        if len(text) > MAX_TEXT:
            raise web.HTTPBadRequest(text=f"at most {MAX_TEXT} characters, as in Telegram")
        if pane.group is not None:
            sent = await pane.person.send_in(pane.group, text)
        else:
            sent = await pane.person.send(text)
        return web.json_response({"ok": True, "id": sent.message_id})

    async def _press(self, request: web.Request) -> web.Response:
        pane, body = await self._body(request)
        try:
            message_id, row, column = int(body["message"]), int(body["row"]), int(body["column"])
        except (KeyError, TypeError, ValueError):
            raise web.HTTPBadRequest(text="message, row and column are numbers") from None
        message = self.world.find_message(pane.chat_view.chat, message_id)
        if message is None:
            raise web.HTTPGone(text="that message is gone")
        buttons = message.buttons
        if not (0 <= row < len(buttons) and 0 <= column < len(buttons[row])):
            raise web.HTTPConflict(text="that button is gone")
        data = buttons[row][column].data
        if data is None or _is_url_button(message, row, column):
            raise web.HTTPBadRequest(text="not a callback button")
        press = await pane.person.press_data(data, chat=pane.group, message=message_id)
        return web.json_response({"ok": True, "query": press.query_id})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        pane = self.panes.get(request.match_info["pane"])
        if pane is None or not request.match_info["message"].isdigit():
            raise web.HTTPNotFound()
        message = self.world.find_message(pane.chat_view.chat, int(request.match_info["message"]))
        if message is None or message.document is None:
            raise web.HTTPNotFound()
        document = message.document
        name = "".join(c for c in (document.filename or "file") if c.isalnum() or c in "._-")
        return web.Response(
            body=document.data,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name or "file"}"'},
        )
