"""The HTTP side: `{url}/bot{token}/{method}` and `{url}/file/bot{token}/{path}` on aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import web

from . import errors
from .bot_api import find_method
from .errors import ApiError
from .faults import Call, Fault, FaultPlan
from .params import Params, UploadedFile
from .state import RecordedRequest
from .world import World


async def read_params(request: web.Request) -> Params:
    """Parameters from the query string and a JSON, form or multipart body."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                values.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = UploadedFile(value.filename, value.content_type, data)
                else:
                    values[key] = value
    return Params(values, files)


def _reply(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(payload, ensure_ascii=False),
        content_type="application/json",
    )


def _error(err: ApiError) -> web.Response:
    return _reply(err.payload(), err.code)


class ApiServer:
    """Turns HTTP requests into Bot API calls on the `World`, with faults and long polling."""

    def __init__(self, world: World, faults: FaultPlan, token: str | None) -> None:
        self.world = world
        self.faults = faults
        self.token = token
        self.closing = asyncio.Event()
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self._poll_generation = 0
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self.handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self.handle_file)

    def _token_ok(self, token: str) -> bool:
        return self.token is None or token == self.token

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.match_info["token"]):
            return _error(ApiError(401, errors.UNAUTHORIZED))
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        document = self.world.files.get(file_id)
        if document is None:
            return _error(ApiError(404, errors.NOT_FOUND))
        return web.Response(body=document.data)

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await read_params(request)
        record = RecordedRequest(method, params.plain(), at=self.world.clock.now())
        self.world.requests.append(record)
        polling = method.lower() == "getupdates"
        if not polling:
            self.in_flight += 1
        try:
            response = await self._answer(request, method, params, record)
        finally:
            if not polling:
                self.in_flight -= 1
                self.last_activity = time.monotonic()
        record.status = response.status
        self.world.notify()
        return response

    async def _answer(
        self, request: web.Request, method: str, params: Params, record: RecordedRequest
    ) -> web.StreamResponse:
        if not self._token_ok(request.match_info["token"]):
            return self._failed(record, ApiError(401, errors.UNAUTHORIZED))
        handler = find_method(method)
        if handler is None and method.lower() != "getupdates":
            return self._failed(record, ApiError(404, errors.NOT_FOUND))
        fault = self.faults.take(Call(method, record.params))
        if fault is not None:
            return await self._inject(request, fault, method, params, record)
        try:
            if handler is None:
                result = await self._get_updates(params)
            else:
                result = handler(self.world, params)
        except ApiError as err:
            if err.code == 429 and err.retry_after is not None:
                chat = Call(method, record.params).chat_id
                self.world.record_rate_limit(
                    method, chat, err.retry_after, injected=False, limit=err.limit
                )
            return self._failed(record, err)
        return _reply({"ok": True, "result": result})

    def _failed(self, record: RecordedRequest, err: ApiError) -> web.Response:
        record.description = err.description
        return _error(err)

    async def _inject(
        self, request: web.Request, fault: Fault, method: str, params: Params, rec: RecordedRequest
    ) -> web.StreamResponse:
        rec.fault = fault.kind
        if fault.deliver:
            handler = find_method(method)
            if handler is not None:
                with contextlib.suppress(ApiError):
                    handler(self.world, params)
        if fault.kind in ("timeout", "drop"):
            if fault.kind == "timeout":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), fault.hold)
            if request.transport is not None:
                request.transport.abort()
            rec.description = f"connection {'held and ' if fault.kind == 'timeout' else ''}closed"
            return web.Response(status=499)
        err = fault.error()
        if err.code == 429 and err.retry_after is not None:
            chat = Call(method, rec.params).chat_id
            self.world.record_rate_limit(method, chat, err.retry_after, injected=True)
        return self._failed(rec, err)

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        """Long polling: answer at once if updates are ready, else wait up to `timeout`."""
        world = self.world
        if world.bot.webhook:
            raise ApiError(409, errors.CONFLICT_WEBHOOK_ACTIVE)
        offset = params.get_int("offset", 0) or 0
        limit = min(max(params.get_int("limit", 100) or 100, 1), 100)
        timeout = max(params.get_float("timeout", 0.0) or 0.0, 0.0)
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            world.updates.allowed_updates = list(allowed)
        world.updates.confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, errors.CONFLICT_OTHER_GETUPDATES)
            remaining = deadline - time.monotonic()
            if world.updates.has_ready() or remaining <= 0 or self.closing.is_set():
                return world.updates.take(limit)
            await world.wait_changed(remaining)
