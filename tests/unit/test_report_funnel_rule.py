"""When the form's drop-off counter counts a question (bot.services.funnel.first_sight)."""

from __future__ import annotations

from bot.services.funnel import first_sight
from conversations.draft import Draft


def draft(current: str | None, answers: dict[str, object], **more: object) -> Draft:
    return Draft.model_validate(
        {"programme": "hiv", "language": "en", "current": current, "answers": answers, **more}
    )


def test_first_sight_rules() -> None:
    assert first_sight(None, draft("start", {}))  # the first screen after consent
    at_name = draft("name", {}, trail=["start"])
    assert first_sight(draft("start", {}), at_name)
    assert not first_sight(at_name, at_name)  # shown again (a re-ask)
    at_route = draft("contact_route", {"name": "x"}, trail=["start", "name"])
    assert first_sight(at_name, at_route)
    back_to_name = draft("name", {"name": "x"}, trail=["start"])
    assert not first_sight(at_route, back_to_name)  # an answered question
    again = draft("contact_route", {"name": "y"}, trail=["start", "name"])
    assert not first_sight(back_to_name, again)  # after Back, then on again
    from_review = draft("phone", {"name": "x", "contact_route": "phone"}, from_review=True)
    stored = draft("contact_route", {"name": "x", "contact_route": "chat"}, from_review=True)
    assert first_sight(stored, from_review)  # newly shown by a changed answer from the review
    assert not first_sight(at_name, draft(None, {"name": "x"}, phase="review"))
    other = Draft.model_validate({"programme": "diabetes", "language": "en", "current": "name"})
    assert first_sight(at_name, other)
