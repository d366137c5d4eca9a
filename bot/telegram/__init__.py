"""The Telegram adapter: PTB wiring, handlers, rendering screens into messages.

The only code in peerdoor that imports `telegram`.
"""
