"""Plain facts for reports, read from columns that are not sealed. No decryption here."""

from __future__ import annotations

from collections.abc import Collection

import aiosqlite


class StatsRepo:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def last_actions(self, actions: Collection[str]) -> dict[str, str]:
        """Reference -> the latest of ``actions`` recorded for it in the audit trail.

        The audit trail keeps a referral's outcome (``status:matched`` ...) after the status
        column has moved on to ``closed``; this reads it back without opening anything.
        """
        if not actions:
            return {}
        marks = ", ".join("?" * len(actions))
        rows = await self._conn.execute_fetchall(
            "SELECT reference, action FROM audit_log"  # noqa: S608 - placeholders only
            f" WHERE reference IS NOT NULL AND action IN ({marks}) ORDER BY seq",
            tuple(actions),
        )
        return {str(reference): str(action) for reference, action in rows}
