"""Consent per purpose: recorded with the notice version, changeable, shown again on change."""

from __future__ import annotations

from pathlib import Path

from conversations.preferences import Preferences
from sandbox.emulator import BotApiEmulator
from tests.e2e.harness import (
    CHOICES_KEY,
    EXAMPLE_CONFIG,
    HIV_PLAN,
    REFERENCE,
    BotFiles,
    consent,
    fill_form,
    in_process,
)


async def preferences_of(files: BotFiles, telegram_id: int) -> Preferences:
    store = await files.open_store()
    try:
        async with store.unit() as uow:
            person = await uow.people.find(telegram_id)
            assert person is not None
            return Preferences.from_bytes(await uow.people.settings(person))
    finally:
        await store.close()


async def test_consents_are_recorded_changed_and_asked_again(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    config = tmp_path / "peerdoor.toml"
    config.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    files = BotFiles(tmp_path, config_path=config)
    programme = files.config().programme("hiv")
    assert programme is not None
    gil = emulator.user(5901, "Gil")
    async with in_process(files, emulator):
        await consent(gil)
        plan = {**HIV_PLAN, CHOICES_KEY: ["A short feedback survey"]}
        await fill_form(gil, programme, plan)
        await gil.press("Send my form")
        await gil.wait_for(lambda m: REFERENCE.search(m.text) is not None)
        await gil.send("/privacy")
        settings = await gil.wait_for(lambda m: m.text.startswith("Your choices"))
        assert "☑ A short feedback survey at the end" in settings.button_texts
        assert "☐ Short check-in messages while I wait" in settings.button_texts
        await gil.press("A short feedback survey", contains=True)  # withdraw feedback consent
        await emulator.wait_until(
            lambda: "☐ A short feedback survey at the end" in settings.button_texts,
            what="feedback unticked",
        )
    prefs = await preferences_of(files, 5901)
    assert prefs.agreed("referral")
    assert not prefs.agreed("feedback")
    assert prefs.consents["feedback"].version == "1"
    assert not prefs.agreed("checkins")

    # the service changes its privacy notice: the person sees it again on their next visit
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("min_age = 18", 'min_age = 18\nprivacy_version = "2"', 1), encoding="utf-8"
    )
    async with in_process(files, emulator):
        await gil.send("/start")
        again = await gil.wait_for(lambda m: m.text.startswith("Something has changed"))
        assert "not end-to-end encrypted" in again.text
        await gil.press("Yes, I agree")
        await gil.wait_for(lambda m: "Send /start to carry on" in m.text)
        await gil.send("/start")
        await gil.wait_for(lambda m: "We have your form" in m.text)
    prefs = await preferences_of(files, 5901)
    assert prefs.consents["referral"].version == "2"
