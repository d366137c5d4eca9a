"""Match suggestions: reading the referrer's wishes and ranking supporters, with reasons."""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.config_file import load_config
from conversations.matching import Candidate, Profile, Wish, rank, suggest, wish, words

EXAMPLE = load_config(Path(__file__).resolve().parents[2] / "bot" / "example_config.toml")
HIV = EXAMPLE.programme("hiv")
assert HIV is not None


def codes(found: list[object]) -> list[tuple[str, bool]]:
    return [(r.code, r.good) for r in found]  # type: ignore[attr-defined]


def test_wish_reads_the_tagged_questions_and_ignores_no_preference() -> None:
    answers = {
        "supporter_gender": "no_preference",
        "languages": ["sv", "en"],
        "availability": ["weekends"],
        "setting": "either",
        "area": "Malmö",
        "interests": "Cooking, and long walks",
    }
    got = wish(HIV, answers)  # type: ignore[arg-type]
    assert got == Wish(None, ("sv", "en"), ("weekends",), None, "Malmö", "Cooking, and long walks")
    assert wish(HIV, {"supporter_gender": "woman", "setting": "in_person"}).gender == "woman"
    assert wish(HIV, {}) == Wish()


def test_each_fit_and_misfit_has_a_reason() -> None:
    wanted = Wish("woman", ("sv",), ("weekends", "weekday_eve"), "in_person", "Malmö", "cooking")
    fits = Profile(
        name="Ria",
        gender="woman",
        languages=["sv", "en"],
        availability=["weekends"],
        setting=["in_person"],
        area="malmö",
        interests="Cooking and football",
        capacity=2,
    )
    good = suggest(wanted, Candidate("r", fits, live=1))
    assert codes(good.reasons) == [
        ("gender", True),
        ("languages", True),
        ("setting", True),
        ("availability", True),
        ("area", True),
        ("interests", True),
        ("room", True),
    ]
    assert good.free == 1
    bad = suggest(wanted, Candidate("m", Profile(gender="man", capacity=1), live=1))
    assert ("gender", False) in codes(bad.reasons) and ("languages", False) in codes(bad.reasons)
    assert ("room", False) in codes(bad.reasons)
    assert bad.score < 0 < good.score


def test_room_first_then_not_declined_then_fit() -> None:
    wanted = Wish(languages=("en",))
    speaks = Profile(name="A", languages=["en"])
    full = Candidate("full", speaks.model_copy(update={"capacity": 1}), live=1)
    declined = Candidate("declined", speaks, live=0, declined_before=True)
    poor = Candidate("poor", Profile(name="B", languages=["fr"]), live=0)
    best = Candidate("best", speaks, live=0)
    order = [s.person_id for s in rank(wanted, [full, declined, poor, best])]
    assert order == ["best", "poor", "declined", "full"]


def test_interest_words_are_letters_of_four_or_more() -> None:
    assert words("Art, music & COOKING! 2024") == {"music", "cooking"}


profiles = st.builds(
    Profile,
    name=st.text(max_size=5),
    gender=st.sampled_from([None, "woman", "man"]),
    languages=st.lists(st.sampled_from(["en", "sv", "fr"]), unique=True),
    setting=st.lists(st.sampled_from(["online", "in_person"]), unique=True),
    capacity=st.integers(0, 3),
)


@given(st.lists(st.tuples(profiles, st.integers(0, 4), st.booleans()), max_size=8))
def test_rank_is_a_complete_order_with_room_first(people: list[tuple[Profile, int, bool]]) -> None:
    candidates = [Candidate(str(i), p, live, d) for i, (p, live, d) in enumerate(people)]
    ranked = rank(Wish("woman", ("en",), (), "online"), candidates)
    assert sorted(s.person_id for s in ranked) == sorted(c.person_id for c in candidates)
    rooms = [s.has_room for s in ranked]
    assert rooms == sorted(rooms, reverse=True)
    for s in ranked:
        assert s.reasons[-1 - s.declined_before].code == "room"
