"""`peerdoor sandbox` in a real headless browser: a whole intake, a claim and a deferral; the
first screens in Swedish; a supporter's profile and a hand-over.

The sandbox runs as `peerdoor sandbox --port 0` would for an operator. Debian's chromium is
driven through Playwright (its driver comes with the Python package; no browser download).
Every step is photographed, and the photographs are checked: real PNGs, the page's size, and
each chat pane showing something rather than nothing.

The same run takes the screenshots the documentation's guides show (one chat pane at a time,
plus the whole sandbox). They are always taken and checked; they are copied into
docs/assets/screenshots/ only when PEERDOOR_WRITE_DOCS=1, so that an ordinary test run never
changes files in the repository (PNG bytes differ from run to run).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import struct
import sys
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright

from bot.config_file import load_config
from conversations.forms import Programme
from conversations.screens import question_text
from tests.e2e.harness import EXAMPLE_CONFIG, HIV_PLAN, REFERENCE, SKIP

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("PEERDOOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
PANES = {
    "referrer": "Referrer (private chat)",
    "group": "Coordinators' group",
    "coordinator": "Coordinator (private chat)",
    "supporter": "Supporter (private chat)",
}
WAIT_MS = 15_000
ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "assets" / "screenshots"
#: Every screenshot a docs page shows, and the pane it shows (None: the whole page).
DOCS_PICTURES = {
    "sandbox": None,
    "referrer-privacy": "referrer",
    "referrer-question": "referrer",
    "referrer-review": "referrer",
    "referrer-reference": "referrer",
    "referrer-deferred": "referrer",
    "group-new-referral": "group",
    "coordinator-referral": "coordinator",
    "coordinator-defer": "coordinator",
    "supporter-welcome": "supporter",
    "referrer-sv-privacy": "referrer",
    "referrer-sv-question": "referrer",
    "supporter-profile": "supporter",
    "coordinator-match": "coordinator",
    "supporter-offer": "supporter",
}
SWEDISH_PICTURES = {"referrer-sv-privacy", "referrer-sv-question"}
HAND_OVER_PICTURES = {"supporter-profile", "coordinator-match", "supporter-offer"}


# -- the sandbox, as an operator starts it ------------------------------------------------------


@dataclass
class RunningSandbox:
    process: asyncio.subprocess.Process
    url: str
    output: list[str]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERDOOR_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.ops.cli",
        "sandbox",
        "--port",
        "0",
        cwd=tmp_path,  # no peerdoor.toml here: the example config
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output: list[str] = []
    url = None
    try:
        async with asyncio.timeout(30):
            while url is None:
                line = (await process.stdout.readline()).decode()
                if not line:
                    raise AssertionError("peerdoor sandbox stopped:\n" + "".join(output))
                output.append(line)
                found = re.search(
                    r"Sandbox running: open (http://127\.0\.0\.1:\d+) \(Ctrl\+C", line
                )
                url = found.group(1) if found else None
        yield RunningSandbox(process, url, output)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # Ctrl+C
            rest, _ = await asyncio.wait_for(process.communicate(), 20)
            output.append(rest.decode())
    assert process.returncode == 0, "".join(output)
    assert "Sandbox stopped" in "".join(output)
    assert "Traceback" not in "".join(output), "".join(output)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"chromium is not installed ({CHROMIUM} is missing): run "
            "`apt-get install -y chromium` (Debian; .ci/run does this), or set "
            "PEERDOOR_CHROMIUM to a Chromium or Chrome binary"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


# -- reading and using the page -----------------------------------------------------------------


class Pane:
    def __init__(self, page: Page, key: str) -> None:
        self.page, self.key = page, key
        self.root = page.locator(f"#pane-{key}")

    def message(self, message_id: int) -> Locator:
        return self.root.locator(f"li[data-message-id='{message_id}']")

    async def prompt_after(self, after: int, shown: str = "") -> int:
        """The id of the newest bot message with buttons, once it is a new screen: newer than
        `after`, or `after` itself edited away from the text `shown` (a press answered by the
        next screen in the pressed message's place)."""
        handle = await self.page.wait_for_function(
            """([key, after, shown]) => {
                const items = [...document.querySelectorAll(`#pane-${key} li[data-from=bot]`)]
                  .filter((li) => li.querySelector('.keyboard button'));
                const last = items[items.length - 1];
                if (!last) return null;
                const id = Number(last.dataset.messageId);
                const text = last.querySelector('.text')?.textContent || '';
                return id > after || (id === after && text !== shown) ? id : null;
            }""",
            arg=[self.key, after, shown],
            timeout=WAIT_MS,
        )
        return int(await handle.json_value())

    async def text_of(self, message_id: int) -> str:
        text = self.message(message_id).locator(".text")
        if not await text.count():
            return ""
        return await text.text_content() or ""

    async def labels(self, message_id: int) -> list[str]:
        return await self.message(message_id).locator(".keyboard button").all_text_contents()

    async def press(self, message_id: int, label: str, contains: bool = False) -> None:
        buttons = self.message(message_id).locator(".keyboard button")
        if contains:
            await buttons.filter(has_text=label).first.click()
        else:
            await buttons.get_by_text(label, exact=True).click()

    async def type(self, text: str) -> None:
        box = self.root.locator("form.composer input")
        await box.fill(text)
        await box.press("Enter")
        await self.page.wait_for_function(
            "(key) => document.querySelector(`#input-${key}`).value === ''",
            arg=self.key,
            timeout=WAIT_MS,
        )

    async def wait_button(self, label: str, after: int = 0) -> int:
        """The id of the newest message newer than `after` with a button containing `label`."""
        handle = await self.page.wait_for_function(
            """([key, label, after]) => {
                const items = [...document.querySelectorAll(`#pane-${key} li`)].filter((li) =>
                  Number(li.dataset.messageId) > after
                  && [...li.querySelectorAll('.keyboard button')]
                       .some((b) => b.textContent.includes(label)));
                return items.length ? Number(items[items.length - 1].dataset.messageId) : null;
            }""",
            arg=[self.key, label, after],
            timeout=WAIT_MS,
        )
        return int(await handle.json_value())

    async def wait_text(self, pattern: str, button: str | None = None) -> int:
        """The id of the newest message whose text contains `pattern` (and has `button`)."""
        handle = await self.page.wait_for_function(
            """([key, pattern, button]) => {
                const items = [...document.querySelectorAll(`#pane-${key} li`)].filter((li) =>
                  (li.querySelector('.text')?.textContent || '').includes(pattern)
                  && (!button || [...li.querySelectorAll('.keyboard button')]
                                   .some((b) => b.textContent === button)));
                return items.length ? Number(items[items.length - 1].dataset.messageId) : null;
            }""",
            arg=[self.key, pattern, button],
            timeout=WAIT_MS,
        )
        return int(await handle.json_value())


class Photographer:
    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder = page, folder
        self.shots: list[Path] = []
        self.for_docs_taken: list[str] = []

    async def shot(self, name: str) -> Path:
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        await self.page.screenshot(path=str(path))
        self.shots.append(path)
        return path

    async def for_docs(self, name: str) -> Path:
        """A picture for the docs: the pane DOCS_PICTURES names, or the whole sandbox."""
        pane = DOCS_PICTURES[name]
        path = self.folder / "docs" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        if pane is None:
            await self.page.screenshot(path=str(path))
        else:
            await self.page.locator(f"#pane-{pane}").screenshot(path=str(path))
        if os.environ.get("PEERDOOR_WRITE_DOCS") == "1":
            shutil.copyfile(path, DOCS_SHOTS / path.name)
        self.for_docs_taken.append(name)
        return path


def asked(programme: Programme, text: str) -> str | None:
    hits = [q for q in programme.form if question_text(programme, q, "en") in text]
    best = max(hits, key=lambda q: len(question_text(programme, q, "en")), default=None)
    return best.id if best is not None else None


async def fill_in(
    referrer: Pane,
    programme: Programme,
    after: int,
    shown: str,
    first_choice: Callable[[], Awaitable[object]] | None = None,
) -> int:
    """Answer the HIV form as HIV_PLAN says, by clicking and typing; returns the review's id.

    `after` is the message pressed last and `shown` its text before the press (the answer may
    come in its place).
    `first_choice` is called when the first single-choice question is on screen.
    """
    questions = {q.id: q for q in programme.form}
    for _ in range(len(programme.form) + 3):
        prompt = await referrer.prompt_after(after, shown)
        text, labels = await referrer.text_of(prompt), await referrer.labels(prompt)
        if "Send my form" in labels:
            return prompt
        question_id = asked(programme, text)
        if question_id is None:
            assert text.startswith("A few choices"), f"not a question: {text!r} {labels}"
            await referrer.press(prompt, "Done")
            after, shown = prompt, text
            continue
        question = questions[question_id]
        value = HIV_PLAN.get(question_id, SKIP if not question.required else None)
        if question.kind == "info":
            await referrer.press(prompt, "Continue")
        elif value is SKIP:
            skip = "Prefer not to say" if question.skip_label == "prefer_not" else "Skip"
            await referrer.press(prompt, skip)
        elif question.kind == "multi":
            assert isinstance(value, list)
            for label in value:
                await referrer.press(prompt, label, contains=True)
                await referrer.page.wait_for_function(
                    """([key, id, label]) => [...document.querySelectorAll(
                        `#pane-${key} li[data-message-id='${id}'] .keyboard button`)]
                        .some((b) => b.textContent.includes(label)
                                     && b.textContent.startsWith('☑'))""",
                    arg=[referrer.key, prompt, label],
                    timeout=WAIT_MS,
                )
            await referrer.press(prompt, "Done")
        elif question.kind in ("single", "yesno"):
            if question.kind == "single" and first_choice is not None:
                assert text.startswith("Question "), text
                await first_choice()
                first_choice = None
            await referrer.press(prompt, str(value))
        else:
            assert value is not None, f"HIV_PLAN has no answer for {question_id}"
            await referrer.type(str(value))
        after, shown = prompt, text
    raise AssertionError("the review never came")


# -- checking the photographs -------------------------------------------------------------------


@dataclass
class Png:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    def region_colours(self, x: int, y: int, width: int, height: int) -> int:
        """How many different colours a rectangle holds (1 for a blank one)."""
        seen: set[bytes] = set()
        c = self.channels
        for row in self.rows[y : y + height]:
            line = row[x * c : (x + width) * c]
            seen.update(line[i : i + c] for i in range(0, len(line), c * 2))
        return len(seen)


def read_png(path: Path) -> Png:
    """A small, strict PNG reader: signature, chunk CRCs, IHDR, and the pixels (8-bit RGB(A))."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    position, idat, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path.name}: bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    assert header is not None, f"{path.name}: no IHDR"
    width, height, depth, colour_type, _, _, interlace = header
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), header
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    assert len(raw) == height * (stride + 1), f"{path.name}: wrong amount of pixel data"
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        unfilter(kind, line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return Png(width, height, channels, rows)


def unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        return
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            line[i] = (line[i] + best) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter {kind}")


def check_shot(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"]), (path.name, width, height)
    assert 20_000 < len(data) < 5_000_000, f"{path.name}: {len(data)} bytes"


def check_docs_picture(path: Path, whole_page: bool) -> None:
    """Taken, a real PNG, not blank; and the page that shows it has it in docs/."""
    assert path.exists(), f"{path.name} was not taken"
    picture = read_png(path)
    if whole_page:
        assert (picture.width, picture.height) == (VIEWPORT["width"], VIEWPORT["height"])
    else:
        assert 200 < picture.width < VIEWPORT["width"] and picture.height > 200, path.name
    colours = picture.region_colours(0, 0, picture.width, picture.height)
    assert colours > 30, f"{path.name} looks blank ({colours} colours)"
    assert (DOCS_SHOTS / path.name).exists(), (
        f"docs/assets/screenshots/{path.name} is missing: run this test with PEERDOOR_WRITE_DOCS=1"
    )
    pages = (ROOT / "docs").rglob("*.md")
    assert any(f"screenshots/{path.name}" in page.read_text() for page in pages), (
        f"no docs page shows {path.name}: show it, or stop taking it"
    )


# -- the test -------------------------------------------------------------------------------------


async def test_intake_claim_and_deferral_in_the_browser(
    sandbox: RunningSandbox, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport=VIEWPORT)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    camera = Photographer(page, tmp_path)
    programme = load_config(EXAMPLE_CONFIG).programme("hiv")
    assert programme is not None

    await page.goto(sandbox.url)
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    for key, title in PANES.items():
        heading = page.locator(f"#pane-{key} h2")
        assert await heading.text_content() == title
    assert "Nothing is kept" in (await page.locator("header").text_content() or "")
    await camera.shot("empty")

    referrer, group = Pane(page, "referrer"), Pane(page, "group")
    coordinator, supporter = Pane(page, "coordinator"), Pane(page, "supporter")

    # Intake: /start typed in the text box, consent and every question by clicking and typing.
    await referrer.type("/start hiv")
    notice = await referrer.wait_text("Do you agree", button="Yes, I agree")
    bold = referrer.message(notice).locator(".text strong").first
    assert await bold.text_content() == "Before we start"  # entities rendered, not HTML
    await camera.shot("privacy-notice")
    await camera.for_docs("referrer-privacy")
    shown = await referrer.text_of(notice)
    await referrer.press(notice, "Yes, I agree")
    review = await fill_in(
        referrer,
        programme,
        notice,
        shown,
        first_choice=lambda: camera.for_docs("referrer-question"),
    )
    review_text = await referrer.text_of(review)
    assert review_text.startswith("Please check your answers")
    assert "Brighton" in review_text
    await camera.shot("review")
    await camera.for_docs("referrer-review")
    await referrer.press(review, "Send my form")
    sent = await referrer.wait_text("Your reference is")
    found = REFERENCE.search(await referrer.text_of(sent))
    assert found is not None
    reference = found.group(0)
    await referrer.wait_text("If you need help now")
    await camera.shot("reference")
    await camera.for_docs("referrer-reference")

    # The group sees the reference only; the coordinator claims it there.
    posted = await group.wait_text(reference, button="Claim")
    posted_text = await group.text_of(posted)
    assert "Robin" not in posted_text
    assert "Brighton" not in posted_text
    await camera.for_docs("group-new-referral")
    await group.press(posted, "Claim")
    await group.wait_text("claimed by Cora")
    assert await group.message(posted).locator(".keyboard button").count() == 0  # edited
    details = await coordinator.wait_text(f"Referral {reference}", button="Contacted")
    assert "Lawson Unit" in await coordinator.text_of(details)
    assert "forwarding and saving blocked" in (
        await coordinator.message(details).locator(".meta").text_content() or ""
    )
    await referrer.wait_text("picked up your form")
    await camera.shot("claimed")
    await camera.for_docs("sandbox")
    await camera.for_docs("coordinator-referral")

    # Work it in private: Contacted, then Defer with a signposting resource.
    await coordinator.press(details, "Contacted")
    await coordinator.wait_text(f"{reference} is now contacted")
    holder = await coordinator.wait_text(reference, button="Defer")
    await coordinator.press(holder, "Defer")
    choose = await coordinator.wait_text("which services", button="Send and defer")
    await coordinator.press(choose, "Talking therapy", contains=True)
    await page.wait_for_function(
        """(id) => [...document.querySelectorAll(
            `#pane-coordinator li[data-message-id='${id}'] .keyboard button`)]
            .some((b) => b.textContent.includes('☑ Talking therapy'))""",
        arg=choose,
        timeout=WAIT_MS,
    )
    await camera.shot("defer-choices")
    await camera.for_docs("coordinator-defer")
    await coordinator.press(choose, "Send and defer")
    deferred = await referrer.wait_text("not a no")
    deferred_text = await referrer.text_of(deferred)
    assert "Talking therapy" in deferred_text
    assert "NHS Talking Therapies" in deferred_text
    await coordinator.wait_text(f"{reference} is now deferred")
    await camera.for_docs("referrer-deferred")

    # The supporter's pane works too, and text from anyone is shown as text, never as HTML.
    await supporter.root.locator(".suggestions button").first.click()
    await supporter.wait_text("You are now a peer supporter")
    await camera.for_docs("supporter-welcome")
    await supporter.type("<img src=x onerror=alert(1)> <b>not bold</b>")
    mine = supporter.root.locator("li[data-from=person] .text").last
    assert await mine.text_content() == "<img src=x onerror=alert(1)> <b>not bold</b>"
    assert await page.locator("#panes img, #panes b").count() == 0
    final = await camera.shot("deferred")

    assert not problems, problems
    assert len(camera.shots) == 7
    for shot in camera.shots:
        check_shot(shot)
    others = SWEDISH_PICTURES | HAND_OVER_PICTURES
    assert sorted(camera.for_docs_taken) == sorted(set(DOCS_PICTURES) - others)
    for name in camera.for_docs_taken:
        check_docs_picture(camera.folder / "docs" / f"{name}.png", DOCS_PICTURES[name] is None)
    picture = read_png(final)
    for key in PANES:
        box = await page.locator(f"#pane-{key} .messages").bounding_box()
        assert box is not None
        x, y = int(box["x"]) + 4, int(box["y"]) + 4
        colours = picture.region_colours(x, y, int(box["width"]) - 8, int(box["height"]) - 8)
        assert colours > 30, f"the {key} pane looks blank in {final.name} ({colours} colours)"
    await page.close()


async def test_the_referrer_screens_in_swedish(
    sandbox: RunningSandbox, browser: Browser, tmp_path: Path
) -> None:
    """The privacy notice in Swedish (chosen on its language button) and a question after it."""
    page = await browser.new_page(viewport=VIEWPORT)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    camera = Photographer(page, tmp_path)
    await page.goto(sandbox.url)
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    referrer = Pane(page, "referrer")

    await referrer.type("/start hiv")
    notice = await referrer.wait_text("Do you agree", button="Svenska")
    await referrer.press(notice, "Svenska")
    swedish = await referrer.wait_text("Innan vi börjar", button="Ja, jag går med på det")
    assert "English" in await referrer.labels(swedish)
    await camera.for_docs("referrer-sv-privacy")
    await referrer.press(swedish, "Ja, jag går med på det")
    ready = await referrer.wait_text("Bra att veta", button="Fortsätt")
    await referrer.press(ready, "Fortsätt")
    await referrer.wait_text("Fråga 1 av")
    await referrer.type("Robin")
    question = await referrer.wait_text("Fråga 2 av")
    assert "Tryck på ett svar." in await referrer.text_of(question)
    assert "Tillbaka" in " ".join(await referrer.labels(question))
    await camera.for_docs("referrer-sv-question")

    assert not problems, problems
    assert sorted(camera.for_docs_taken) == sorted(SWEDISH_PICTURES)
    for name in camera.for_docs_taken:
        check_docs_picture(camera.folder / "docs" / f"{name}.png", whole_page=False)
    await page.close()


async def tick(supporter: Pane, field: str, label: str) -> None:
    """On the supporter's profile: open a choice field, tick `label`, Done."""
    shown = await supporter.wait_text("Your supporter profile", button=field)
    await supporter.press(shown, field)
    await supporter.wait_button(f"☐ {label}", after=shown - 1)
    await supporter.press(shown, f"☐ {label}")
    await supporter.wait_button(f"☑ {label}", after=shown - 1)
    await supporter.press(shown, "Done")


async def test_a_supporter_profile_and_hand_over_in_the_browser(
    sandbox: RunningSandbox, browser: Browser, tmp_path: Path
) -> None:
    """A supporter fills in their profile; a coordinator matches a referral to them (Match, the
    first suggestion, Send); the supporter gets the hand-over and says yes."""
    page = await browser.new_page(viewport=VIEWPORT)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    camera = Photographer(page, tmp_path)
    programme = load_config(EXAMPLE_CONFIG).programme("hiv")
    assert programme is not None
    await page.goto(sandbox.url)
    await page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    referrer, group = Pane(page, "referrer"), Pane(page, "group")
    coordinator, supporter = Pane(page, "coordinator"), Pane(page, "supporter")

    # The supporter joins and fills in what matching reads.
    await supporter.root.locator(".suggestions button").first.click()
    await supporter.wait_text("You are now a peer supporter")
    welcome = await supporter.wait_text("tell coordinators", button="My profile")
    await supporter.press(welcome, "My profile")
    await tick(supporter, "Languages", "English")
    await tick(supporter, "Meet", "Online")
    await tick(supporter, "Free", "Weekday evenings")
    shown = await supporter.wait_text("Your supporter profile", button="Interests")
    await supporter.press(shown, "Interests")
    await supporter.wait_text("things you enjoy")
    await supporter.type("Walking")
    mine = await supporter.wait_text("Walking", button="Pause new people")
    assert "Weekday evenings" in await supporter.text_of(mine)
    await camera.for_docs("supporter-profile")

    # A referral, claimed and contacted.
    await referrer.type("/start hiv")
    notice = await referrer.wait_text("Do you agree", button="Yes, I agree")
    shown = await referrer.text_of(notice)
    await referrer.press(notice, "Yes, I agree")
    review = await fill_in(referrer, programme, notice, shown)
    await referrer.press(review, "Send my form")
    found = REFERENCE.search(await referrer.text_of(await referrer.wait_text("Your reference")))
    assert found is not None
    reference = found.group(0)
    await group.press(await group.wait_text(reference, button="Claim"), "Claim")
    details = await coordinator.wait_text(f"Referral {reference}", button="Contacted")
    await coordinator.press(details, "Contacted")
    await coordinator.wait_text(f"{reference} is now contacted")

    # Match: the supporter is the first suggestion, with the reasons in a line.
    holder = await coordinator.wait_text(reference, button="Match")
    await coordinator.press(holder, "Match")
    suggestions = await coordinator.wait_text("best fit first", button="1. Sam")
    assert "Weekday evenings" in await coordinator.text_of(suggestions)
    await camera.for_docs("coordinator-match")
    await coordinator.press(suggestions, "1. Sam")
    share = await coordinator.wait_button("Send to Sam", after=suggestions - 1)
    await coordinator.press(share, "Send to Sam", contains=True)

    # The supporter is asked, sees only what was shared, and says yes.
    offer = await supporter.wait_text("can you support this person", button="Yes, I can")
    offer_text = await supporter.text_of(offer)
    assert reference in offer_text
    assert "Lawson Unit" not in offer_text  # the answers used to verify are never shared
    await camera.for_docs("supporter-offer")
    await supporter.press(offer, "Yes, I can")
    await coordinator.wait_text(f"Sam said yes to {reference}")

    assert not problems, problems
    assert sorted(camera.for_docs_taken) == sorted(HAND_OVER_PICTURES)
    for name in camera.for_docs_taken:
        check_docs_picture(camera.folder / "docs" / f"{name}.png", whole_page=False)
    await page.close()
