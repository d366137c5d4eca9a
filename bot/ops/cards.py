"""`peerdoor cards`: a printable business card (85 x 55 mm) and A6 leaflet (105 x 148 mm) for one
source of a programme, each as a vector PDF (for the printer) and a 300 dpi PNG (for a screen, a
web page or a quick check).

On each: a QR code of the source's link (segno; the quiet zone of four modules is inside the
drawn square, so the cut edge never eats it), the link as text, and the card's discreet texts
from the catalog (conversations/cards.py). Both files of a size come from one layout in
millimetres, so the PDF and the PNG show the same thing. The font is DejaVu Sans, which
matplotlib (already a dependency, for the report) ships: it has the letters of every language we
translate (å, ä, ö...), which the PDF core fonts and Pillow's built-in font do not all have. It is
embedded in the PDF. Nothing here talks to Telegram or opens the database: only the config and
the catalog are read.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib
import segno
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from bot.errors import SetupError
from conversations.cards import CardText, card_text, revealing_words
from conversations.forms import BotUsername, Programme, ServiceConfig
from conversations.i18n import Catalog

DPI = 300
PT_MM = 25.4 / 72  # one typographic point in millimetres
QUIET_MODULES = 4  # the QR standard's quiet zone
LINE = 1.25  # line height, times the font size
INK = (0x1F, 0x2A, 0x33)

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"

Size = Literal["card", "leaflet"]
SIZES: dict[Size, tuple[float, float]] = {"card": (85.0, 55.0), "leaflet": (105.0, 148.0)}

#: How wide a text is, in mm: (text, size in points, bold) -> width.
Measure = Callable[[str, float, bool], float]


@dataclass(frozen=True)
class TextBox:
    x: float  # mm from the left
    y: float  # mm from the top, of the first line's top
    size: float  # points
    bold: bool
    lines: tuple[str, ...]
    centre_width: float | None = None  # centre each line in this width from x


@dataclass(frozen=True)
class QrBox:
    x: float
    y: float
    side: float  # mm, quiet zone included


@dataclass(frozen=True)
class Made:
    size: Size
    pdf: Path
    png: Path


def wrap(text: str, width: float, size: float, bold: bool, measure: Measure) -> list[str]:
    """Words into lines no wider than ``width`` mm; a word longer than a line (a link) is cut
    between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if measure(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and measure(current + char, size, bold) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


def fitted(text: str, width: float, largest: float, smallest: float, measure: Measure) -> float:
    """The largest font size (in half points) at which ``text`` fits on one line, or smallest."""
    size = largest
    while size > smallest and measure(text, size, False) > width:
        size -= 0.5
    return size


def _height(box: TextBox) -> float:
    return len(box.lines) * box.size * PT_MM * LINE


def layout(size: Size, text: CardText, measure: Measure) -> tuple[list[TextBox], QrBox]:
    """Where everything goes on a card or leaflet, in mm. Texts that would run into the link
    (a long translation) are set smaller, step by step."""
    for scale in (1.0, 0.92, 0.85, 0.78, 0.72, 0.66):
        boxes, qr = _layout(size, text, measure, scale)
        *words, link = boxes
        if all(_bottom(box) <= link.y - 1.0 for box in words) and _bottom(link) <= SIZES[size][1]:
            return boxes, qr
    raise SetupError(f"the card's texts do not fit on the {size}: shorten the translation")


def _bottom(box: TextBox) -> float:
    return box.y + _height(box)


def _layout(
    size: Size, text: CardText, measure: Measure, scale: float
) -> tuple[list[TextBox], QrBox]:
    width, height = SIZES[size]
    boxes: list[TextBox] = []
    if size == "card":  # landscape: the code on the left, the words on the right, link below
        qr = QrBox(3.0, 3.0, 40.0)
        x = qr.x + qr.side + 1.5
        column = width - x - 4.0
        y = 6.0
        for words, pt, bold in ((text.title, 10.5, True), (text.invitation, 7.0, False),
                                (text.how, 6.0, False)):  # fmt: skip
            pt *= scale
            box = TextBox(x, y, pt, bold, tuple(wrap(words, column, pt, bold, measure)))
            boxes.append(box)
            y += _height(box) + 1.8
        pt = fitted(text.link, width - 8.0, 7.0, 5.0, measure)
        link_lines = tuple(wrap(text.link, width - 8.0, pt, False, measure))
        link_y = height - 4.0 - len(link_lines) * pt * PT_MM * LINE
        boxes.append(TextBox(4.0, link_y, pt, False, link_lines, centre_width=width - 8.0))
        return boxes, qr
    margin = 10.0  # A6, portrait: title, invitation, the code in the middle, how, link
    column = width - 2 * margin
    y = margin
    for words, pt, bold in ((text.title, 20.0, True), (text.invitation, 12.0, False)):
        pt *= scale
        box = TextBox(margin, y, pt, bold, tuple(wrap(words, column, pt, bold, measure)), column)
        boxes.append(box)
        y += _height(box) + 4.0
    side = 64.0
    qr = QrBox((width - side) / 2, y, side)
    y += side + 3.0
    pt = 10.0 * scale
    how = TextBox(margin, y, pt, False, tuple(wrap(text.how, column, pt, False, measure)), column)
    boxes.append(how)
    pt = fitted(text.link, column, 10.0, 6.0, measure)
    link_lines = tuple(wrap(text.link, column, pt, False, measure))
    link_y = height - margin - len(link_lines) * pt * PT_MM * LINE
    boxes.append(TextBox(margin, link_y, pt, False, link_lines, centre_width=column))
    return boxes, qr


def _modules(link: str) -> list[list[bool]]:
    qr = segno.make(link, error="m", micro=False)
    return [[bool(v) for v in row] for row in qr.matrix_iter(border=QUIET_MODULES)]


# -- PDF (vector) -------------------------------------------------------------------------------


def render_pdf(size: Size, text: CardText) -> bytes:
    width, height = SIZES[size]
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_margins(0, 0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_title(text.title)
    pdf.set_creator("peerdoor")
    pdf.add_font("DejaVu", "", REGULAR)
    pdf.add_font("DejaVu", "B", BOLD)
    pdf.add_page()

    def measure(words: str, pt: float, bold: bool) -> float:
        pdf.set_font("DejaVu", "B" if bold else "", pt)
        return float(pdf.get_string_width(words))

    boxes, qr = layout(size, text, measure)
    pdf.set_text_color(*INK)
    for box in boxes:
        pdf.set_font("DejaVu", "B" if box.bold else "", box.size)
        line_height = box.size * PT_MM * LINE
        for i, line in enumerate(box.lines):
            x = box.x
            if box.centre_width is not None:
                x += (box.centre_width - pdf.get_string_width(line)) / 2
            pdf.set_xy(x, box.y + i * line_height)
            pdf.cell(h=line_height, text=line)
    modules = _modules(text.link)
    unit = qr.side / len(modules)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(qr.x + start * unit, qr.y + r * unit, (c - start) * unit, unit, style="F")
    return bytes(pdf.output())


# -- PNG (300 dpi) ------------------------------------------------------------------------------


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _font(pt: float, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size=max(pt * PT_MM / 25.4 * DPI, 1))


def render_png(size: Size, text: CardText) -> bytes:
    width, height = SIZES[size]
    image = Image.new("RGB", (_px(width), _px(height)), "white")
    draw = ImageDraw.Draw(image)

    def measure(words: str, pt: float, bold: bool) -> float:
        return float(draw.textlength(words, font=_font(pt, bold))) / DPI * 25.4

    boxes, qr = layout(size, text, measure)
    for box in boxes:
        font = _font(box.size, box.bold)
        line_height = box.size * PT_MM * LINE
        for i, line in enumerate(box.lines):
            x = box.x
            if box.centre_width is not None:
                x += (box.centre_width - measure(line, box.size, box.bold)) / 2
            draw.text(
                (_px(x), _px(box.y + i * line_height)),
                line,
                font=font,
                fill=INK,
            )
    modules = _modules(text.link)
    unit = qr.side / len(modules)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                left, top = _px(qr.x + c * unit), _px(qr.y + r * unit)
                right, bottom = _px(qr.x + (c + 1) * unit), _px(qr.y + (r + 1) * unit)
                draw.rectangle((left, top, right - 1, bottom - 1), fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


# -- the command --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardRequest:
    programme: Programme
    source_id: str
    language: str
    bot_username: str


def check_request(
    config: ServiceConfig,
    catalog: Catalog,
    programme_id: str,
    source_id: str,
    language: str | None,
    bot: str | None,
) -> CardRequest:
    """The options, checked; a SetupError naming the problem and the fix otherwise."""
    programme = config.programme(programme_id)
    if programme is None:
        ids = ", ".join(p.id for p in config.programmes)
        raise SetupError(f"no programme {programme_id!r} in the config: use one of {ids}")
    if programme.source(source_id) is None and not _professionals_link(programme, source_id):
        known = ", ".join(
            [s.id for s in programme.sources]
            + [n for n in programme.questionnaires if _professionals_link(programme, n)]
        )
        hint = f"use one of {known}" if known else "add it under [[programmes.sources]]"
        raise SetupError(f"programme {programme.id!r} has no source {source_id!r}: {hint}")
    language = language or programme.default_language
    if language not in programme.languages:
        raise SetupError(
            f"--language {language!r}: programme {programme.id!r} is in "
            f"{', '.join(programme.languages)}"
        )
    if language not in catalog.languages:
        raise SetupError(
            f"--language {language!r}: the card's texts are not translated into it yet "
            f"(translated: {', '.join(catalog.languages)})"
        )
    username = (bot or config.bot.username or "").removeprefix("@")
    if not username:
        raise SetupError(
            'no bot username: add  username = "YourBot"  under [bot] in the config, '
            "or give --bot YourBot"
        )
    from pydantic import TypeAdapter, ValidationError

    try:
        TypeAdapter(BotUsername).validate_python(username)
    except ValidationError:
        raise SetupError(
            f"--bot {username!r} is not a Telegram username (5-32 letters, digits or _, "
            "from @BotFather)"
        ) from None
    return CardRequest(programme, source_id, language, username)


def _professionals_link(programme: Programme, name: str) -> bool:
    """``name`` is the professionals' questionnaire opened by ``?start=<programme>-<name>``
    (for example ``refer``): its card is a professionals' card, like a professional source's."""
    found = programme.questionnaire(name)
    return found is not None and found.link and found.purpose == "professional"


def _source_kind(request: CardRequest) -> str | None:
    if _professionals_link(request.programme, request.source_id):
        return "professional"
    source = request.programme.source(request.source_id)
    return source.kind if source is not None else None


def make_cards(request: CardRequest, catalog: Catalog, out: Path) -> tuple[list[Made], list[str]]:
    """Write the card and the leaflet (PDF and PNG each) into ``out``; returns the files made and
    warnings (a link that could out the holder)."""
    text = card_text(
        request.bot_username,
        request.programme.id,
        request.source_id,
        catalog.translator(request.language),
        for_professionals=_source_kind(request) == "professional",
    )
    warnings = []
    revealing = revealing_words(text.link.split("?start=", 1)[1])
    if revealing:
        warnings.append(
            f"the link on the card, {text.link}, contains {', '.join(revealing)!s}: anyone who "
            "sees the card can read it. A neutral programme or source id (for example 'p1-kent') "
            "keeps the holder's secret; ids are best chosen before people use the links."
        )
    if out.exists() and not out.is_dir():
        raise SetupError(f"--out {out} is a file: give a folder")
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{request.programme.id}-{request.source_id}-{request.language}"
    made: list[Made] = []
    sizes: tuple[Size, ...] = ("card", "leaflet")
    for size in sizes:
        pdf, png = out / f"{stem}-{size}.pdf", out / f"{stem}-{size}.png"
        pdf.write_bytes(render_pdf(size, text))
        png.write_bytes(render_png(size, text))
        made.append(Made(size, pdf, png))
    return made, warnings
