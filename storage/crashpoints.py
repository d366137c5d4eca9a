"""Test-only crash points: where the crash tests kill the bot, so that each kill is known to
have hit work in flight.

``PEERDOOR_CRASH_AT=<point>`` (or ``<point>:<n>``, the n-th time) makes the process write
``crash_point.hit point=<point>`` to stderr and exit at once with status ``CRASH_STATUS``
(``os._exit``: no clean-up, no flush of anything else, as a SIGKILL would). Unset (always, in
production) ``reached`` is a dictionary lookup and nothing else. The points:

- ``intake.submitted``: a form's referral and its outbox rows are committed; the reference is
  not yet shown and the delivery worker not yet woken (between commit and send).
- ``delivery.sent``: an outbox row went out to Telegram and is not yet marked sent (with
  ``:2``, the second row of a batch, after the first was sent and marked).
- ``erasure.committed``: a unit of work that erased someone (``/delete``) committed; their
  erasure secret is still marked ``erasing``, not yet destroyed.
- ``rotation.rewrapped``: ``rotate-key`` re-wrapped the database under the new key (its
  commit is durable) and has not yet renamed ``<key file>.next`` over the key file.
"""

from __future__ import annotations

import os
import sys

CRASH_STATUS = 86
ENV = "PEERDOOR_CRASH_AT"

_point, _, _nth = os.environ.get(ENV, "").partition(":")
_left = {_point: int(_nth or 1)} if _point else {}


def reached(point: str) -> None:
    """Exit here if PEERDOOR_CRASH_AT names this point (and this is its n-th time)."""
    if point not in _left:
        return
    _left[point] -= 1
    if _left[point] > 0:
        return
    sys.stderr.write(f"crash_point.hit point={point}\n")
    sys.stderr.flush()
    os._exit(CRASH_STATUS)
