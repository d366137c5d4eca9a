"""`peerdoor sandbox`: the real bot against a built-in Telegram emulator, with a web chat."""
