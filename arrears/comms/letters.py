"""Letters as PDF: one A4 letter (or more pages) per recipient, typeset for Chinese.

`letters_pdf` lays out each letter itself — a header with the creditor, the address block
where a window envelope (DL, ISO 269 / DIN 676 position) shows it, the reference block,
the title, the body and the closing, and a page footer ("第 n 页 / 共 m 页") — and writes it with
fpdf2. Chinese lines are broken between any two characters, Latin words and numbers stay
whole, and the punctuation rules of Chinese typesetting (GB/T 15834) hold: no line starts
with a closing mark such as ，。、）」 and none ends with an opening mark such as （「“ —
the character before is pushed to the next line with it. Full lines are justified.

The font. Chinese needs a CJK font that is really embedded in the PDF (a printer or a
viewer without it would print empty boxes). The project's set-up installs Debian's
`fonts-noto-cjk` (`.ci/run`, `make fonts`); `ARREARS_LETTER_FONT` names another file. Noto
CJK ships as a collection of OpenType faces with CFF outlines; fpdf2 could embed those, but
as a CID-keyed CFF font with its own CMap, which several text extractors and printer
RIPs read badly. So each PDF gets a subset of the face with just the characters its
letters use, converted to TrueType outlines with fontTools (about half a second), and that
is embedded as an ordinary Identity-H TrueType font: text extracts and prints everywhere.

Language. A letter speaks the debtor's language, the language of its template
(`Message.language`), whatever the language of the person who prints it: its fixed texts —
the addressee line, the reference block, the closing, the footer, the default title — come
from `LETTER_LABELS`, a small table keyed by language, not from gettext. Chinese (zh-hans) is
the default; an English letter prints English labels, an English date and block paragraphs
(no first-line indent). One batch may mix both: Noto CJK has the Latin glyphs too.

Masking (H10): the reference block shows the account's last 4 characters only, and as a
last safeguard every run of 12 or more digits in any text of the letter (a card, account
or ID number that slipped into a template) is printed as ``****`` and its last 4.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import tempfile
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from fontTools import subset as font_subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable
from fpdf import FPDF

logger = logging.getLogger(__name__)

FONT_SETTING = "ARREARS_LETTER_FONT"
FONT_PACKAGE = "fonts-noto-cjk"

# Where the usual CJK fonts live (Debian/Ubuntu first: the project's set-up installs
# fonts-noto-cjk; then other distributions' paths and other free CJK fonts).
DEFAULT_FONT_FILES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class LetterFontError(RuntimeError):
    """No usable CJK font, or a letter uses characters the font does not have."""


# --- the fixed texts, per language ----------------------------------------------------------

# The values of comms.models.Language (this module does not import models).
ZH_HANS = "zh-hans"
EN = "en"
DEFAULT_LANGUAGE = ZH_HANS

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclasses.dataclass(frozen=True, slots=True)
class LetterLabels:
    """What the layout prints around a letter's own text, in one language."""

    addressee: str  # the bold line under the address: {name}
    date: str  # {year} {month} {day} {month_name}
    date_label: str
    reference_label: str
    account_last4_label: str
    hotline_label: str
    field: str  # a line of the reference block: {label} {value}
    hotline_sentence: str  # the closing's first line: {hotline}
    reference: str  # in the header and the footer: {reference}
    page: str  # the footer: {number} {total}
    default_title: str  # when the template has no subject
    batch_title: str  # the PDF's title when it holds several letters
    guarantor: str  # the addressee when a guarantor's address has no name
    pdf_language: str  # the PDF's /Lang
    indent_em: float  # first-line indent of the body's paragraphs


LETTER_LABELS: dict[str, LetterLabels] = {
    ZH_HANS: LetterLabels(
        addressee="{name}  收",
        date="{year}年{month}月{day}日",
        date_label="日期",
        reference_label="编号",
        account_last4_label="账户尾号",
        hotline_label="客服热线",
        field="{label}：{value}",
        hotline_sentence="如有疑问，请致电客服热线 {hotline}。",
        reference="编号 {reference}",
        page="第 {number} 页 / 共 {total} 页",
        default_title="催收通知函",
        batch_title="催收信函",
        guarantor="担保人",
        pdf_language="zh-CN",
        indent_em=2.0,
    ),
    # Block style, as English business letters are set: no indent, a blank line between paragraphs.
    EN: LetterLabels(
        addressee="To: {name}",
        date="{day} {month_name} {year}",
        date_label="Date",
        reference_label="Reference",
        account_last4_label="Account ending",
        hotline_label="Hotline",
        field="{label}: {value}",
        hotline_sentence="If you have any questions, please call our hotline {hotline}.",
        reference="Reference {reference}",
        page="Page {number} of {total}",
        default_title="Notice of overdue payment",
        batch_title="Collection letters",
        guarantor="Guarantor",
        pdf_language="en",
        indent_em=0.0,
    ),
}


@dataclasses.dataclass(frozen=True, slots=True)
class LetterContent:
    """Everything printed on one letter; numbers are already masked (`account_last4`)."""

    recipient_name: str
    # The postal address as on file; a 6-digit postcode in it is printed on its own line.
    address: str
    creditor_name: str
    date: dt.date
    title: str
    # Paragraphs are separated by line breaks; a line that starts with a full-width space
    # or ends with a colon (the salutation) is not indented.
    body: str
    # Our reference for the letter (e.g. the outbox id), printed in the header and footer.
    reference: str
    # The last 4 characters of the account number, never more (H10).
    account_last4: str
    hotline: str
    # The debtor's language (the template's): it chooses the fixed texts (LETTER_LABELS).
    language: str = DEFAULT_LANGUAGE

    def __post_init__(self) -> None:
        if len(self.account_last4) > 4:
            raise ValueError("account_last4 must hold at most the last 4 characters (H10)")
        if self.language not in LETTER_LABELS:
            raise ValueError(f"no letter labels for language {self.language!r}")

    @property
    def labels(self) -> LetterLabels:
        return LETTER_LABELS[self.language]

    def texts(self) -> tuple[str, ...]:
        return (
            self.recipient_name,
            self.address,
            self.creditor_name,
            self.title,
            self.body,
            self.reference,
            self.account_last4,
            self.hotline,
        )


# --- masking and addresses ------------------------------------------------------------------

# 12 or more digits, possibly grouped by single spaces or dashes, an ID number's final X
# included: longer than any phone number, as long as any card, account or ID number.
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d(?:[ \-]?\d){10,}[ \-]?[0-9Xx](?![0-9A-Za-z])")


def mask_long_numbers(text: str) -> str:
    """``6222 0212 3456 7890`` → ``****7890``; shorter numbers (phones, amounts) are kept."""

    def masked(match: re.Match[str]) -> str:
        digits = re.sub(r"[ \-]", "", match.group(0))
        return "****" + digits[-4:]

    return _LONG_NUMBER.sub(masked, text)


_POSTCODE_LABELLED = re.compile(r"[(（]?\s*邮(?:政)?编(?:码)?\s*[:：]?\s*(\d{6})\s*[)）]?")
_POSTCODE_ALONE = re.compile(r"(?:^|(?<=\s))(\d{6})(?=\s|$)")


def split_postcode(address: str) -> tuple[str, str]:
    """(postcode, address without it); the postcode is "" when the address has none.

    Recognised: ``邮编：100022`` (or 邮政编码) anywhere, or six digits standing alone at the
    start or end. A house number such as ``88号`` is never taken for one.
    """
    text = address.strip()
    match = _POSTCODE_LABELLED.search(text)
    if match is None:
        match = _POSTCODE_ALONE.search(text)
        if match is not None and match.start() != 0 and match.end() != len(text):
            match = None
    if match is None:
        return "", text
    rest = (text[: match.start()] + " " + text[match.end() :]).strip(" ,，;；")
    return match.group(1), re.sub(r"\s{2,}", " ", rest)


# --- the font -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class LetterFont:
    path: Path
    # The face in a collection (.ttc/.otc): the Simplified Chinese one when there is one.
    face: int
    family: str


def letter_font(configured: str | None = None) -> LetterFont:
    """The regular CJK font for letters: `ARREARS_LETTER_FONT` or the first default found.

    Raises LetterFontError naming the setting and the package to install.
    """
    if configured is None:
        from django.conf import settings

        configured = str(getattr(settings, FONT_SETTING, "") or "")
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise LetterFontError(
                f"{FONT_SETTING}={configured}: no such font file. Point it at a CJK font "
                f"(.ttc/.otf/.ttf) or unset it to use {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})."
            )
        return _font_at(path)
    for candidate in DEFAULT_FONT_FILES:
        path = Path(candidate)
        if path.is_file():
            return _font_at(path)
    raise LetterFontError(
        f"No CJK font for letters: install Debian's {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}; "
        f"`make fonts` does it) or set {FONT_SETTING} to a font file with Chinese glyphs."
    )


@lru_cache(maxsize=16)
def _font_at_cached(path: str, mtime: float) -> LetterFont:
    faces: list[TTFont]
    if path.lower().endswith((".ttc", ".otc")):
        faces = list(TTCollection(path, lazy=True).fonts)
    else:
        faces = [TTFont(path, lazy=True)]
    chosen = 0
    for index, face in enumerate(faces):
        family = str(face["name"].getDebugName(1) or "")
        if family.endswith(" SC") or " SC " in family or "Hans" in family:
            chosen = index
            break
    face = faces[chosen]
    family = str(face["name"].getDebugName(1) or Path(path).stem)
    cmap = face.getBestCmap() or {}
    if ord("中") not in cmap or ord("债") not in cmap:
        raise LetterFontError(
            f"{path} ({family}) has no Chinese glyphs: set {FONT_SETTING} to a CJK font "
            f"or install {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})."
        )
    return LetterFont(path=Path(path), face=chosen, family=family)


def _font_at(path: Path) -> LetterFont:
    return _font_at_cached(str(path), path.stat().st_mtime)


def _bold_sibling(font: LetterFont) -> LetterFont | None:
    """Noto's Bold file beside the Regular one, when installed."""
    name = font.path.name
    if "Regular" not in name:
        return None
    bold = font.path.with_name(name.replace("Regular", "Bold"))
    if not bold.is_file():
        return None
    try:
        return _font_at(bold)
    except LetterFontError:
        return None


@lru_cache(maxsize=16)
def _cmap(path: str, face: int, mtime: float) -> frozenset[int]:
    font = TTFont(path, fontNumber=face, lazy=True)
    return frozenset((font.getBestCmap() or {}).keys())


def font_missing_characters(font: LetterFont, texts: Iterable[str]) -> list[str]:
    """The printable characters of `texts` that the font has no glyph for (sorted)."""
    cmap = _cmap(str(font.path), font.face, font.path.stat().st_mtime)
    return sorted({ch for text in texts for ch in text if _inked(ch) and ord(ch) not in cmap})


def _inked(char: str) -> bool:
    """A character that prints something (not a space, line break or format control)."""
    return not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf")


_UNUSED_TABLES = ("VORG", "vhea", "vmtx", "GSUB", "GPOS", "BASE", "JSTF", "MATH")


def _truetype_subset(font: LetterFont, characters: str, target: Path) -> None:
    """Write a TrueType-outlined subset of the font with just these characters."""
    ttfont = TTFont(str(font.path), fontNumber=font.face, lazy=True)
    # Horizontal text without shaping uses neither vertical metrics nor layout tables; they
    # go before subsetting, which would otherwise decompile them (most of its time).
    for tag in _UNUSED_TABLES:
        if tag in ttfont:
            del ttfont[tag]
    options = font_subset.Options()
    options.notdef_outline = True
    options.desubroutinize = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += list(_UNUSED_TABLES)
    options.layout_features = []
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(ttfont)
    if "CFF " in ttfont:
        _cff_to_truetype(ttfont)
    ttfont.save(str(target))


def _cff_to_truetype(ttfont: TTFont) -> None:
    """Replace CFF (cubic) outlines by TrueType (quadratic) ones, in place."""
    glyph_order = ttfont.getGlyphOrder()
    glyph_set = ttfont.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        # Error tolerance of one font unit (1/1000 em): invisible at any print size.
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    ttfont["loca"] = newTable("loca")
    glyf = ttfont["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del ttfont["CFF "]
    if "VORG" in ttfont:
        del ttfont["VORG"]
    glyf.compile(ttfont)
    hmtx = ttfont["hmtx"]
    for name in glyph_order:
        advance, _ = hmtx[name]
        hmtx[name] = (advance, getattr(glyf[name], "xMin", 0))
    maxp = ttfont["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attribute in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attribute, 0)
    post = ttfont["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    ttfont["head"].glyphDataFormat = 0
    ttfont.sfntVersion = "\x00\x01\x00\x00"


# --- line breaking --------------------------------------------------------------------------

# GB/T 15834 / JIS X 4051 style: characters that may not start a line, and may not end one.
NO_LINE_START = frozenset("，。、；：？！）】》」』〉〕〗〙”’…—·%‰℃,.;:?!)]}>、・ー～")
NO_LINE_END = frozenset("（【《「『〈〔〖〘“‘([{<")
# Latin letters, digits and what belongs inside a word or number stay together.
_WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z.,:/@_\-+%#&*'’]*")


def _units(text: str) -> list[str]:
    """The text cut into unbreakable pieces: a Latin word or number, a space, or one character."""
    units: list[str] = []
    position = 0
    while position < len(text):
        match = _WORD.match(text, position)
        if match is not None:
            word = match.group(0)
            # A trailing full stop or comma belongs to the text, not the number.
            while len(word) > 1 and word[-1] in ".,:":
                word = word[:-1]
            units.append(word)
            position += len(word)
        else:
            units.append(text[position])
            position += 1
    return units


def break_lines(
    text: str, width: float, measure: Callable[[str], float], first_indent: float = 0.0
) -> list[str]:
    """Break one paragraph into lines no wider than `width` (`measure(s)` gives a width);
    the first line is `first_indent` narrower.

    Closing punctuation is never first on a line and opening punctuation never last: the
    last piece of the line moves down with it (push-out). A Latin word wider than a whole
    line is cut by character.
    """
    pending = deque(_units(text))
    lines: list[list[str]] = [[]]
    current = 0.0  # the width of the last line so far
    while pending:
        unit = pending.popleft()
        line = lines[-1]
        if unit == " " and not line:
            continue  # no space at the start of a line
        limit = width - (first_indent if len(lines) == 1 else 0.0)
        unit_width = measure(unit)
        if current + unit_width <= limit + 1e-6:
            line.append(unit)
            current += unit_width
            continue
        if not line:
            if len(unit) > 1:
                pending.extendleft(reversed(unit))  # wider than a line: cut by character
            else:
                line.append(unit)
                current += unit_width
            continue
        carried: list[str] = []
        if unit in NO_LINE_START:
            # Push the character before down too (and any closing marks before it).
            while len(line) > 1 and line[-1] != " ":
                carried.insert(0, line.pop())
                if carried[0] not in NO_LINE_START:
                    break
        while len(line) > 1 and line[-1] in NO_LINE_END:
            carried.insert(0, line.pop())
        while line and line[-1] == " ":
            line.pop()
        lines.append(carried)
        current = sum(measure(piece) for piece in carried)
        if unit != " ":
            pending.appendleft(unit)
    texts = ["".join(line).rstrip() for line in lines]
    return [text for text in texts if text] or [""]


# --- layout ---------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4, mm
MARGIN_LEFT, MARGIN_RIGHT = 25.0, 20.0
TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
# The address window of a DL window envelope (20 mm from the left, 45 mm from the top,
# 90 × 45 mm); the block sits inside it with a few millimetres to spare.
WINDOW_X, WINDOW_Y, WINDOW_W, WINDOW_H = 22.0, 48.0, 85.0, 38.0
BODY_SIZE = 11.0  # pt
BODY_LEADING = 7.0  # mm between baselines: Chinese letters are set loose
BODY_TOP_FIRST = 112.0  # mm: below the address block and the title
BODY_TOP_NEXT = 36.0
BODY_BOTTOM = 268.0
FOOTER_Y = 284.0
PT = 25.4 / 72  # mm per point


@dataclasses.dataclass(frozen=True, slots=True)
class _Line:
    text: str
    x: float
    justify_to: float  # 0 = do not justify; else the width to fill
    gap_after: float = 0.0


def _paragraph_lines(pdf: FPDF, body: str, *, indent_em: float = 2.0) -> list[_Line]:
    em = BODY_SIZE * PT
    lines: list[_Line] = []
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    paragraphs = [p.strip(" ") for p in text.split("\n")]
    for index, paragraph in enumerate(paragraphs):
        if not paragraph:
            if lines:
                lines[-1] = dataclasses.replace(lines[-1], gap_after=lines[-1].gap_after + BODY_LEADING / 2)
            continue
        salutation = index == 0 and paragraph.endswith((":", "："))
        indent = 0.0 if salutation or paragraph.startswith("\u3000") else indent_em * em
        broken = break_lines(paragraph, TEXT_WIDTH, pdf.get_string_width, first_indent=indent)
        for number, text in enumerate(broken):
            last = number == len(broken) - 1
            x = MARGIN_LEFT + (indent if number == 0 else 0.0)
            width = TEXT_WIDTH - (indent if number == 0 else 0.0)
            lines.append(_Line(text=text, x=x, justify_to=0.0 if last else width))
    return lines


def _paginate(lines: list[_Line]) -> list[list[tuple[float, _Line]]]:
    """The body lines per page with their baselines."""
    pages: list[list[tuple[float, _Line]]] = [[]]
    y = BODY_TOP_FIRST
    for line in lines:
        if y > BODY_BOTTOM:
            pages.append([])
            y = BODY_TOP_NEXT
        pages[-1].append((y, line))
        y += BODY_LEADING + line.gap_after
    return pages


def _closing_fits(page: list[tuple[float, _Line]], first_page: bool) -> bool:
    last_y = page[-1][0] if page else (BODY_TOP_FIRST if first_page else BODY_TOP_NEXT) - BODY_LEADING
    return last_y + BODY_LEADING * 4 <= BODY_BOTTOM + BODY_LEADING


class _LetterPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_auto_page_break(auto=False)
        self.set_margins(MARGIN_LEFT, 15.0, MARGIN_RIGHT)
        self.c_margin = 0


def letters_pdf(letters: Sequence[LetterContent], *, font: LetterFont | None = None) -> bytes:
    """One PDF with every letter, each starting on a new A4 page.

    Raises LetterFontError when there is no CJK font or a letter uses a character the font
    lacks (it would print as an empty box): check with `font_missing_characters` first.
    """
    if not letters:
        raise ValueError("no letters to print")
    font = font or letter_font()
    bold = _bold_sibling(font) or font
    masked = [_masked(letter) for letter in letters]
    regular_text = "".join(text for letter in masked for text in _regular_texts(letter))
    bold_text = "".join(_bold_texts(letter) for letter in masked)
    missing = font_missing_characters(font, [regular_text]) + font_missing_characters(bold, [bold_text])
    if missing:
        raise LetterFontError(
            f"the letter font {font.family} has no glyph for {''.join(sorted(set(missing)))!r}: "
            f"set {FONT_SETTING} to a font that has them"
        )

    # A mixed batch is described in the default language.
    languages = {letter.language for letter in masked}
    labels = LETTER_LABELS[languages.pop() if len(languages) == 1 else DEFAULT_LANGUAGE]
    pdf = _LetterPDF()
    pdf.set_title(labels.batch_title if len(masked) > 1 else masked[0].title)
    pdf.set_creator("Arrears")
    pdf.set_lang(labels.pdf_language)
    with tempfile.TemporaryDirectory(prefix="arrears-letter-font-") as folder:
        regular_file = Path(folder) / "letter-regular.ttf"
        bold_file = Path(folder) / "letter-bold.ttf"
        _truetype_subset(font, _charset(regular_text), regular_file)
        _truetype_subset(bold, _charset(bold_text), bold_file)
        pdf.add_font("letter", "", str(regular_file))
        pdf.add_font("letter", "B", str(bold_file))
        for letter in masked:
            _draw_letter(pdf, letter)
        return bytes(pdf.output())


def _masked(letter: LetterContent) -> LetterContent:
    return dataclasses.replace(
        letter,
        recipient_name=mask_long_numbers(letter.recipient_name),
        title=mask_long_numbers(letter.title),
        body=mask_long_numbers(letter.body),
        reference=mask_long_numbers(letter.reference),
    )


def _regular_texts(letter: LetterContent) -> tuple[str, ...]:
    """Every text set in the regular face: the letter's own and the fixed ones, formatted as
    they are drawn (the page line with every digit, as the page count is not known yet)."""
    return (
        *letter.texts(),
        *_reference_fields(letter),
        _hotline_sentence(letter),
        _reference_line(letter),
        _page_line(letter, "0123456789", ""),
        _date_text(letter),
        "0123456789",
    )


def _bold_texts(letter: LetterContent) -> str:
    return letter.creditor_name + letter.title + _addressee_line(letter)


def _charset(text: str) -> str:
    return "".join(sorted({ch for ch in text if _inked(ch)} | {" ", "\u3000"}))


# The fixed texts, drawn and subset from these same functions.


def _date_text(letter: LetterContent) -> str:
    day = letter.date
    return letter.labels.date.format(
        year=day.year, month=day.month, day=day.day, month_name=_MONTHS_EN[day.month - 1]
    )


def _addressee_line(letter: LetterContent) -> str:
    return letter.labels.addressee.format(name=letter.recipient_name)


def _reference_fields(letter: LetterContent) -> tuple[str, ...]:
    labels = letter.labels
    return tuple(
        labels.field.format(label=label, value=value)
        for label, value in (
            (labels.date_label, _date_text(letter)),
            (labels.reference_label, letter.reference),
            (labels.account_last4_label, letter.account_last4),
            (labels.hotline_label, letter.hotline),
        )
    )


def _hotline_sentence(letter: LetterContent) -> str:
    return letter.labels.hotline_sentence.format(hotline=letter.hotline)


def _reference_line(letter: LetterContent) -> str:
    return letter.labels.reference.format(reference=letter.reference)


def _page_line(letter: LetterContent, number: int | str, total: int | str) -> str:
    return letter.labels.page.format(number=number, total=total)


def _draw_letter(pdf: FPDF, letter: LetterContent) -> None:
    pdf.set_font("letter", "", BODY_SIZE)
    body_lines = _paragraph_lines(pdf, letter.body, indent_em=letter.labels.indent_em)
    pages = _paginate(body_lines)
    closing_on_new_page = not _closing_fits(pages[-1], first_page=len(pages) == 1)
    total = len(pages) + (1 if closing_on_new_page else 0)
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        _draw_header(pdf, letter)
        if number == 1:
            _draw_address(pdf, letter)
            _draw_reference_block(pdf, letter)
            _draw_title(pdf, letter)
        _draw_body(pdf, page)
        if number == len(pages) and not closing_on_new_page:
            last_y = page[-1][0] if page else BODY_TOP_FIRST - BODY_LEADING
            _draw_closing(pdf, letter, last_y + BODY_LEADING * 1.5)
        _draw_footer(pdf, letter, number, total)
    if closing_on_new_page:
        pdf.add_page()
        _draw_header(pdf, letter)
        _draw_closing(pdf, letter, BODY_TOP_NEXT)
        _draw_footer(pdf, letter, total, total)


def _draw_header(pdf: FPDF, letter: LetterContent) -> None:
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("letter", "B", 14)
    pdf.text(MARGIN_LEFT, 20.0, letter.creditor_name)
    pdf.set_font("letter", "", 8.5)
    reference = _reference_line(letter)
    pdf.text(PAGE_WIDTH - MARGIN_RIGHT - pdf.get_string_width(reference), 20.0, reference)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.4)
    pdf.line(MARGIN_LEFT, 23.5, PAGE_WIDTH - MARGIN_RIGHT, 23.5)


def _draw_address(pdf: FPDF, letter: LetterContent) -> None:
    postcode, address = split_postcode(letter.address)
    x, y = WINDOW_X + 3.0, WINDOW_Y + 6.0
    if postcode:
        # The postcode in boxes, as on a Chinese envelope.
        pdf.set_font("letter", "", 11)
        pdf.set_line_width(0.2)
        for index, digit in enumerate(postcode):
            box_x = x + index * 6.0
            pdf.rect(box_x, y - 4.6, 5.2, 6.0)
            pdf.text(box_x + (5.2 - pdf.get_string_width(digit)) / 2, y, digit)
        y += 8.0
    # A long address is set smaller to stay inside the window; no part of it is ever dropped.
    for size, leading in ((10.5, 5.2), (9.0, 4.4), (8.0, 3.8)):
        pdf.set_font("letter", "", size)
        lines = break_lines(address, WINDOW_W - 6.0, pdf.get_string_width)
        if len(lines) * leading <= 3 * 5.2 + 0.01:
            break
    for line in lines:
        pdf.text(x, y, line)
        y += leading
    y += 3.0
    pdf.set_font("letter", "B", 13)
    pdf.text(x, y, _addressee_line(letter))


def _draw_reference_block(pdf: FPDF, letter: LetterContent) -> None:
    x = 125.0
    y = WINDOW_Y + 6.0
    pdf.set_font("letter", "", 9.5)
    for line in _reference_fields(letter):
        pdf.text(x, y, line)
        y += 5.5


def _draw_title(pdf: FPDF, letter: LetterContent) -> None:
    pdf.set_font("letter", "B", 16)
    width = pdf.get_string_width(letter.title)
    pdf.text(MARGIN_LEFT + (TEXT_WIDTH - width) / 2, 100.0, letter.title)


def _draw_body(pdf: FPDF, page: list[tuple[float, _Line]]) -> None:
    pdf.set_font("letter", "", BODY_SIZE)
    for y, line in page:
        spacing = 0.0
        if line.justify_to and len(line.text) > 1:
            slack = line.justify_to - pdf.get_string_width(line.text)
            # Only small gaps are spread: a line cut short by a long word stays ragged.
            if 0 < slack < BODY_SIZE * PT * 2:
                spacing = slack / (len(line.text) - 1)
        # fpdf2 writes the spacing as the PDF's Tc, in points.
        pdf.set_char_spacing(spacing / PT if spacing else 0)
        pdf.text(line.x, y, line.text)
    pdf.set_char_spacing(0)


def _draw_closing(pdf: FPDF, letter: LetterContent, y: float) -> None:
    pdf.set_font("letter", "", BODY_SIZE)
    indent = letter.labels.indent_em * BODY_SIZE * PT
    pdf.text(MARGIN_LEFT + indent, y, _hotline_sentence(letter))
    right = PAGE_WIDTH - MARGIN_RIGHT
    y += BODY_LEADING * 1.5
    pdf.text(right - pdf.get_string_width(letter.creditor_name), y, letter.creditor_name)
    date = _date_text(letter)
    pdf.text(right - pdf.get_string_width(date), y + BODY_LEADING, date)


def _draw_footer(pdf: FPDF, letter: LetterContent, number: int, total: int) -> None:
    pdf.set_font("letter", "", 8.5)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN_LEFT, FOOTER_Y - 5.0, PAGE_WIDTH - MARGIN_RIGHT, FOOTER_Y - 5.0)
    page_text = _page_line(letter, number, total)
    pdf.text((PAGE_WIDTH - pdf.get_string_width(page_text)) / 2, FOOTER_Y, page_text)
    pdf.text(MARGIN_LEFT, FOOTER_Y, _reference_line(letter))
