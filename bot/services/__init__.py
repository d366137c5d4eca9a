"""Use cases: load, ask conversations/ to decide, commit, hand effects on.

No `telegram` here: these are tested against a real store without Telegram.
"""
