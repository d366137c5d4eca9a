"""`peerdoor cards`: the QR code on the PNG decodes to the source's link (read back the way a
phone camera would, with zxing-cpp); the PDF has the printed sizes; texts in English and Swedish
come from the catalog and say nothing that outs the holder; bad options are one line, exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from fpdf import FPDF
from PIL import Image

from bot.errors import SetupError
from bot.i18n import load_catalog
from bot.ops import cards
from conversations.cards import CardText, card_text, revealing_words
from tests.unit.test_cli import one_line_exit_2, peerdoor
from tests.unit.test_example_config import CONFIG_PATH, REVEALING

LINK = "https://t.me/SideBySideExampleBot?start=hiv-kent"
MM_PER_PT = 25.4 / 72


def decoded(png: Path) -> list[str]:
    image = Image.open(png)
    return [
        b.text for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode
    ]


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(round(float(w) * MM_PER_PT, 1), round(float(h) * MM_PER_PT, 1)) for w, h in boxes]


def lines_of(size: cards.Size, text: CardText) -> list[str]:
    """The lines the PDF sets, from the same layout it draws (measured with the PDF's font)."""
    pdf = FPDF(unit="mm")
    pdf.add_font("DejaVu", "", cards.REGULAR)
    pdf.add_font("DejaVu", "B", cards.BOLD)

    def measure(words: str, pt: float, bold: bool) -> float:
        pdf.set_font("DejaVu", "B" if bold else "", pt)
        return float(pdf.get_string_width(words))

    boxes, _ = cards.layout(size, text, measure)
    return [line for box in boxes for line in box.lines]


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_card_and_the_leaflet_carry_the_right_link(tmp_path: Path, language: str) -> None:
    out = tmp_path / "cards"
    result = peerdoor(
        tmp_path,
        "cards",
        "--programme",
        "hiv",
        "--source",
        "kent",
        "--language",
        language,
        "--out",
        str(out),
        PEERDOOR_CONFIG=str(CONFIG_PATH),
    )
    assert result.returncode == 0, result.stderr
    _ = load_catalog().translator(language)
    for size, (width, height) in cards.SIZES.items():
        png = out / f"hiv-kent-{language}-{size}.png"
        pdf = (out / f"hiv-kent-{language}-{size}.pdf").read_bytes()
        assert decoded(png) == [LINK], f"{size}: the QR code must open the source's link"
        with Image.open(png) as image:
            assert image.size == (round(width / 25.4 * 300), round(height / 25.4 * 300))
            assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)
        assert pdf.startswith(b"%PDF-")
        assert page_sizes_mm(pdf) == [(width, height)]
        assert b"/FontFile2" in pdf and b"DejaVuSans" in pdf  # the font is embedded
        text = card_text("SideBySideExampleBot", "hiv", "kent", _)
        shown = " ".join(lines_of(size, text))
        assert " ".join(text.title.split()) in shown
        assert " ".join(text.invitation.split()) in shown
        assert text.link in shown.replace(" ", "")
        if language == "sv":
            assert "Någon att prata med" in shown
        assert (
            str(png) in result.stdout
            and str(out / f"hiv-kent-{language}-{size}.pdf") in result.stdout
        )
    # the example's programme id is "hiv": the operator is warned that the link shows it
    assert "warning:" in result.stderr and "contains hiv" in result.stderr


def test_the_texts_are_discreet_in_every_language() -> None:
    catalog = load_catalog()
    for language in ("en", "sv"):
        text = card_text("SideBySideExampleBot", "p1", "kent", catalog.translator(language))
        words = " ".join((text.title, text.invitation, text.how)).lower()
        assert not [w for w in REVEALING if w in words], (language, words)
        if language == "sv":
            assert text.title == "Någon att prata med"
            assert (
                text.invitation != card_text("X", "p", None, catalog.translator("en")).invitation
            )
    for language in ("en", "sv"):  # a professionals' source: its card speaks to them
        pro = card_text("SideBySideBot", "p1", "gps", catalog.translator(language), True)
        words = " ".join((pro.title, pro.invitation, pro.how)).lower()
        assert not [w for w in REVEALING if w in words], (language, words)
        assert pro.title != card_text("X", "p1", "gps", catalog.translator(language)).title
        assert pro.link.endswith("?start=p1-gps")
    assert revealing_words("hiv-kent") == ["hiv"]
    assert revealing_words("p1-kent") == []
    assert "diabet" in revealing_words("diabetes-web")
    assert "clinic" in revealing_words("p1-kent_clinic")


def test_a_long_username_and_source_still_decode(tmp_path: Path) -> None:
    catalog = load_catalog()
    text = card_text("A" * 28 + "_bot", "p" * 24, "s" * 24, catalog.translator("en"))
    for size in cards.SIZES:
        png = tmp_path / f"{size}.png"
        png.write_bytes(cards.render_png(size, text))  # type: ignore[arg-type]
        assert decoded(png) == [text.link]
        assert "".join(lines_of(size, text)).endswith("p" * 24 + "-" + "s" * 24)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--programme", "nope", "--source", "kent"], ["no programme 'nope'", "hiv, diabetes"]),
        (["--programme", "hiv", "--source", "nope"], ["no source 'nope'", "kent, community, web"]),
        (
            ["--programme", "diabetes", "--source", "web"],
            ["no source 'web'", "[[programmes.sources]]"],
        ),
        (
            ["--programme", "hiv", "--source", "kent", "--language", "fr"],
            ["--language 'fr'", "en, sv"],
        ),
        (["--programme", "hiv", "--source", "kent", "--bot", "no way"], ["--bot 'no way'"]),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    result = peerdoor(
        tmp_path, "cards", *args, "--out", str(tmp_path / "o"), PEERDOOR_CONFIG=str(CONFIG_PATH)
    )
    one_line_exit_2(result, *words)
    assert not (tmp_path / "o").exists()


def test_without_a_username_it_says_where_to_put_one(tmp_path: Path) -> None:
    config = tmp_path / "peerdoor.toml"
    config.write_text(
        CONFIG_PATH.read_text(encoding="utf-8").replace('username = "SideBySideExampleBot"\n', ""),
        encoding="utf-8",
    )
    result = peerdoor(
        tmp_path, "cards", "--programme", "hiv", "--source", "kent", PEERDOOR_CONFIG=str(config)
    )
    one_line_exit_2(result, "no bot username", "[bot]", "--bot")
    made = peerdoor(
        tmp_path,
        "cards",
        "--programme",
        "hiv",
        "--source",
        "web",
        "--bot",
        "@OtherPeerBot",
        "--out",
        str(tmp_path / "o"),
        PEERDOOR_CONFIG=str(config),
    )
    assert made.returncode == 0, made.stderr
    assert decoded(tmp_path / "o" / "hiv-web-en-card.png") == [
        "https://t.me/OtherPeerBot?start=hiv-web"
    ]


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    taken = tmp_path / "file"
    taken.write_text("x")
    result = peerdoor(
        tmp_path, "cards", "--programme", "hiv", "--source", "kent", "--out", str(taken),
        PEERDOOR_CONFIG=str(CONFIG_PATH),
    )  # fmt: skip
    line = one_line_exit_2(result, "is a file")
    assert "warning" not in line
    assert taken.read_text() == "x"


def test_the_font_has_every_letter_of_every_translation() -> None:
    """Each character of the card's texts, in every translated language, is in the font (the PDF
    core fonts and Pillow's built-in font have no å, ä, ö...)."""
    catalog = load_catalog()
    for path in (cards.REGULAR, cards.BOLD):
        have = set(TTFont(path)["cmap"].getBestCmap())
        for language in catalog.languages:
            text = card_text("SideBySideBot", "p1", "kent", catalog.translator(language))
            letters = set(text.title + text.invitation + text.how + text.link)
            missing = sorted(c for c in letters if ord(c) not in have)
            assert not missing, (path.name, language, missing)


def test_a_long_translation_is_set_smaller_or_refused() -> None:
    words = "Prata i lugn och ro med någon som har varit där du är. " * 3
    longer = CardText("Någon att prata med", words, words, "https://t.me/SideBySideBot?start=p1-x")
    for size in cards.SIZES:
        lines = lines_of(size, longer)  # type: ignore[arg-type]
        assert "".join(lines).replace(" ", "").count("Pratailugn") == 6
    far_too_long = CardText("x", words * 6, words * 6, "https://t.me/SideBySideBot?start=p1-x")
    with pytest.raises(SetupError, match="do not fit on the card"):
        lines_of("card", far_too_long)


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_professionals_link_gets_its_own_card(tmp_path: Path, language: str) -> None:
    """`--source refer`: the professionals' questionnaire's own link (not a source) is printed
    with the professionals' wording, as discreet as every card."""
    out = tmp_path / "cards"
    result = peerdoor(
        tmp_path,
        "cards",
        "--programme",
        "hiv",
        "--source",
        "refer",
        "--language",
        language,
        "--out",
        str(out),
        PEERDOOR_CONFIG=str(CONFIG_PATH),
    )
    assert result.returncode == 0, result.stderr
    _ = load_catalog().translator(language)
    text = card_text("SideBySideExampleBot", "hiv", "refer", _, for_professionals=True)
    assert text.title == _("Refer someone to peer support")
    for size in cards.SIZES:
        png = out / f"hiv-refer-{language}-{size}.png"
        assert decoded(png) == ["https://t.me/SideBySideExampleBot?start=hiv-refer"]
        shown = " ".join(lines_of(size, text))
        assert " ".join(text.title.split()) in shown
        words = (text.title + " " + text.invitation).lower()
        assert not [w for w in REVEALING if w in words], (language, words)


def test_a_questionnaire_that_is_not_for_professionals_has_no_card(tmp_path: Path) -> None:
    result = peerdoor(
        tmp_path,
        "cards",
        "--programme",
        "hiv",
        "--source",
        "volunteer",
        "--out",
        str(tmp_path / "o"),
        PEERDOOR_CONFIG=str(CONFIG_PATH),
    )
    one_line_exit_2(result, "has no source 'volunteer'", "refer")
    assert not (tmp_path / "o").exists()
