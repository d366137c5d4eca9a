"""Telegram handlers: parse the update, call one flow method, send the reply."""
