"""Letters as PDF: the text extracts (Chinese included), numbers are masked, the CJK font is
really embedded, and the glyphs are really drawn (rendered to pixels with PDFium)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import unicodedata
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest

from arrears.comms import letters as letters_module
from arrears.comms.letters import (
    LetterContent,
    LetterFontError,
    break_lines,
    font_missing_characters,
    letter_font,
    letters_pdf,
    mask_long_numbers,
    split_postcode,
)

FULL_ID = "110105198803141237"
FULL_CARD = "6222 0212 3456 7890"
BODY = (
    "尊敬的张伟先生/女士：\n"
    "您好！您在示范银行办理的现金贷（账户尾号7890）已逾期15天，逾期金额为人民币1,234.56元。"
    "我行已通过电话、短信等方式多次提醒您按时还款，但截至目前仍未收到您的还款。\n"
    f"请您在收到本函之日起7个工作日内，通过银行柜面、网上银行或官方App等正规渠道归还上述欠款。"
    f"模板误用的证件号{FULL_ID}和卡号{FULL_CARD}不会打印出来。\n"
    "按时还款有助于维护您的个人信用记录。"
)


def _letter(**changes: object) -> LetterContent:
    base = LetterContent(
        recipient_name="张伟",
        address="北京市朝阳区建国路88号现代城A座1201室 邮编：100022",
        creditor_name="示范银行",
        date=dt.date(2026, 11, 23),
        title="逾期还款提醒函",
        body=BODY,
        reference="XH00000123",
        account_last4="7890",
        hotline="400-000-0000",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    """Two letters: a one-page one, and one long enough for three pages."""
    long_body = "\n".join([BODY] * 12)
    return letters_pdf(
        [_letter(), _letter(recipient_name="李娜", reference="XH00000124", body=long_body)],
        font=letter_font(""),
    )


def _page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_text_extracts_with_chinese_and_masked_numbers(pdf_bytes: bytes) -> None:
    texts = _page_texts(pdf_bytes)
    first = texts[0]
    assert "示范银行" in first
    assert "逾期还款提醒函" in first
    assert "张伟" in first and "收" in first
    assert "账户尾号：7890" in first
    assert "编号：XH00000123" in first
    assert "客服热线：400-000-0000" in first
    assert "您好！您在示范银行办理的现金贷（账户尾号7890）已逾期15天" in first.replace("\n", "")
    assert "第 1 页 / 共 1 页" in first
    # The numbers a template should never have printed appear masked, last 4 only.
    everything = "".join(texts).replace("\n", "").replace(" ", "")
    assert FULL_ID not in everything
    assert "6222021234567890" not in everything
    assert "02123456" not in everything
    assert "证件号****1237" in everything
    assert "卡号****7890" in everything


def test_each_letter_starts_on_its_own_page_and_counts_its_pages(pdf_bytes: bytes) -> None:
    texts = _page_texts(pdf_bytes)
    assert len(texts) == 4  # 1 + 3
    assert "第 1 页 / 共 1 页" in texts[0]
    assert "李娜" in texts[1] and "第 1 页 / 共 3 页" in texts[1]
    assert "第 2 页 / 共 3 页" in texts[2]
    assert "第 3 页 / 共 3 页" in texts[3]
    # Every page of the long letter carries its reference; only the first has the address.
    assert all("XH00000124" in text for text in texts[1:])
    assert "建国路" in texts[1] and "建国路" not in texts[2]
    # The closing (creditor and date, right-aligned) ends the letter.
    assert "如有疑问，请致电客服热线 400-000-0000。\n示范银行\n2026年11月23日\n第 3 页 / 共 3 页" in texts[3]


def test_the_cjk_font_is_embedded_as_a_truetype_subset(pdf_bytes: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert len(fonts) == 2  # regular and bold
    for reference in fonts.values():
        font = reference.get_object()
        assert font["/Subtype"] == "/Type0"
        assert font["/Encoding"] == "/Identity-H"
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2"
        descriptor = descendant["/FontDescriptor"].get_object()
        # Embedded (FontFile2 holds the TrueType program), as a subset (ABCDEF+Name).
        assert "/FontFile2" in descriptor
        assert len(descriptor["/FontFile2"].get_object().get_data()) > 1000
        assert font["/BaseFont"][7] == "+"
        assert "NotoSansCJK" in str(font["/BaseFont"])
        assert "/ToUnicode" in font


def test_every_character_of_the_letter_is_in_the_font() -> None:
    font = letter_font("")
    assert font.family == "Noto Sans CJK SC"
    letter = letters_module._masked(_letter())
    assert font_missing_characters(font, letter.texts()) == []


def _ink(image: object, box: tuple[float, float, float, float]) -> tuple[int, bytes]:
    """Dark pixels in the box, and the box's pixels (for comparing glyphs)."""
    crop = image.crop(box).convert("L")  # type: ignore[attr-defined]
    pixels = crop.tobytes()
    return sum(1 for value in pixels if value < 128), pixels


def test_page_one_renders_the_chinese_glyphs(pdf_bytes: bytes, tmp_path: Path) -> None:
    """Render page 1 to PNG and look where PDFium says each title character is: every one
    has ink, and they all differ — missing glyphs would print the same empty box."""
    scale = 4.0
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        page = document[0]
        image = page.render(scale=scale).to_pil()
        image.save(tmp_path / "letter-page-1.png")
        assert (tmp_path / "letter-page-1.png").stat().st_size > 10_000
        height = page.get_height()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        start = text.index("逾期还款提醒函")
        crops = []
        for index in range(start, start + len("逾期还款提醒函")):
            left, bottom, right, top = textpage.get_charbox(index)
            box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
            assert box[2] - box[0] > 10 and box[3] - box[1] > 10  # a real, full-width glyph
            dark, pixels = _ink(image, box)
            area = (box[2] - box[0]) * (box[3] - box[1])
            assert dark > area * 0.05, f"no ink for {text[index]!r}"
            crops.append(pixels)
        assert len(set(crops)) == len("逾期还款提醒函")  # 7 different glyphs, no .notdef boxes
        # And the page is not blank around the body either: the first body line has ink.
        body_start = text.index("您好")
        left, bottom, _, top = textpage.get_charbox(body_start)
        _, _, right, _ = textpage.get_charbox(body_start + 10)
        dark, _ = _ink(
            image, (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
        )
        assert dark > 500
    finally:
        document.close()


# --- the letter's language -----------------------------------------------------------------

EN_BODY = (
    "Dear Mr Zhang,\n\n"
    "As of 24 November 2026, your cash loan account with Demo Bank (ending 7890) is 15 days past "
    "due, with 1,234.56 yuan overdue. Please pay the overdue amount within 7 working days of "
    "receiving this letter, through our branches or online banking.\n\n"
    "If you have already paid, please disregard this letter."
)
CHINESE_LABELS = ("收", "日期", "编号", "账户尾号", "客服热线", "年", "月", "页", "如有疑问", "催收")


def _english_letter(**changes: object) -> LetterContent:
    english = {
        "creditor_name": "Demo Bank",
        "date": dt.date(2026, 11, 24),
        "title": "Notice of overdue payment",
        "body": EN_BODY,
        "reference": "XH00000125",
        "language": "en",
    }
    return _letter(**(english | changes))


@pytest.fixture(scope="module")
def mixed_pdf() -> bytes:
    """A batch of three: Chinese, English, Chinese."""
    return letters_pdf(
        [_letter(), _english_letter(), _letter(recipient_name="李娜", reference="XH00000126")],
        font=letter_font(""),
    )


def _cjk(text: str) -> set[str]:
    return {ch for ch in text if unicodedata.east_asian_width(ch) in ("W", "F")}


def test_an_english_letter_prints_english_labels_and_no_chinese_ones() -> None:
    data = letters_pdf([_english_letter()], font=letter_font(""))
    [page] = _page_texts(data)
    for line in (
        "To: 张伟",
        "Date: 24 November 2026",
        "Reference: XH00000125",
        "Account ending: 7890",
        "Hotline: 400-000-0000",
        "Notice of overdue payment",
        "If you have any questions, please call our hotline 400-000-0000.\nDemo Bank\n24 November 2026",
        "Page 1 of 1",
        "Reference XH00000125",
    ):
        assert line in page
    assert page.startswith("Demo Bank Reference XH00000125\n")  # the header
    assert page.endswith("Page 1 of 1Reference XH00000125")  # the footer
    assert "Dear Mr Zhang," in page
    for label in CHINESE_LABELS:
        assert label not in page
    # The only Chinese left is the debtor's name and address, as on file.
    assert _cjk(page) <= set("张伟北京市朝阳区建国路号现代城座室")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == "Notice of overdue payment"
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_english_dates_and_page_lines() -> None:
    letter = _english_letter(date=dt.date(2027, 3, 5))
    assert letters_module._date_text(letter) == "5 March 2027"
    assert letters_module._page_line(letter, 2, 3) == "Page 2 of 3"
    assert letters_module._date_text(_letter(date=dt.date(2027, 3, 5))) == "2027年3月5日"


def _left_of(data: bytes, phrase: str) -> float:
    """Where `phrase` starts on page 1, in mm from the page's left edge."""
    document = pdfium.PdfDocument(data)
    try:
        textpage = document[0].get_textpage()
        left, _, _, _ = textpage.get_charbox(textpage.get_text_range().index(phrase))
        return left * letters_module.PT
    finally:
        document.close()


def test_english_paragraphs_are_block_style_and_chinese_ones_indented(mixed_pdf: bytes) -> None:
    margin, em = letters_module.MARGIN_LEFT, letters_module.BODY_SIZE * letters_module.PT
    english = letters_pdf([_english_letter()], font=letter_font(""))
    for phrase in ("Dear Mr Zhang", "As of 24", "If you have already", "If you have any"):
        assert _left_of(english, phrase) == pytest.approx(margin, abs=0.6)
    chinese = letters_pdf([_letter()], font=letter_font(""))
    assert _left_of(chinese, "尊敬的") == pytest.approx(margin, abs=0.6)  # the salutation
    for phrase in ("您好", "如有疑问"):
        assert _left_of(chinese, phrase) == pytest.approx(margin + 2 * em, abs=0.6)


def test_a_mixed_batch_prints_each_letter_in_its_own_language(mixed_pdf: bytes) -> None:
    texts = _page_texts(mixed_pdf)
    assert len(texts) == 3
    for page, reference in ((texts[0], "XH00000123"), (texts[2], "XH00000126")):
        assert f"编号：{reference}" in page
        assert "日期：2026年11月23日" in page
        assert "账户尾号：7890" in page
        assert "客服热线：400-000-0000" in page
        assert "如有疑问，请致电客服热线 400-000-0000。" in page
        assert "第 1 页 / 共 1 页" in page
        assert f"编号 {reference}" in page
        assert "Page" not in page and "Reference" not in page and "Hotline" not in page
    assert "张伟  收" in texts[0] and "李娜  收" in texts[2]
    english = texts[1]
    assert "To: 张伟" in english
    assert "Date: 24 November 2026" in english
    assert "Page 1 of 1" in english
    for label in CHINESE_LABELS:
        assert label not in english
    # A mixed batch is described in the default language.
    reader = pypdf.PdfReader(io.BytesIO(mixed_pdf))
    assert reader.metadata is not None and reader.metadata.title == "催收信函"
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"


def _embedded_characters(data: bytes) -> dict[str, set[str]]:
    """The characters each embedded subset (by style) has a glyph for."""
    from fontTools.ttLib import TTFont

    fonts = pypdf.PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]
    found: dict[str, set[str]] = {}
    for reference in fonts.values():
        font = reference.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        program = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        style = "bold" if "Bold" in str(font["/BaseFont"]) else "regular"
        found[style] = {chr(code) for code in program.getBestCmap()}
    return found


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_font_check_and_the_subset_cover_every_fixed_text(language: str) -> None:
    """The glyph check and the subset are built from the same texts as those drawn: every
    character of the fixed texts is in the font, and every printed character in the subset."""
    letter = letters_module._masked(_letter(language=language))
    font = letter_font("")
    fixed = (
        letters_module._addressee_line(letter),
        *letters_module._reference_fields(letter),
        letters_module._hotline_sentence(letter),
        letters_module._reference_line(letter),
        letters_module._page_line(letter, 12, 34),
        letters_module._date_text(letter),
    )
    assert font_missing_characters(font, fixed) == []
    regular = "".join(letters_module._regular_texts(letter))
    assert all(ch in regular for text in fixed if text != fixed[0] for ch in text)
    assert all(ch in letters_module._bold_texts(letter) for ch in fixed[0])


def test_every_printed_character_of_a_mixed_batch_is_in_the_embedded_subset(mixed_pdf: bytes) -> None:
    subsets = _embedded_characters(mixed_pdf)
    printed = {ch for text in _page_texts(mixed_pdf) for ch in text if letters_module._inked(ch)}
    assert printed <= subsets["regular"] | subsets["bold"]
    assert (
        set("Page of Reference Date Account ending Hotline November".replace(" ", "")) <= subsets["regular"]
    )
    assert set("To:") <= subsets["bold"]
    assert set("第页共编号日期账户尾号客服热线如有疑问请致电年月日") <= subsets["regular"]


def test_an_english_page_renders_its_latin_glyphs(tmp_path: Path) -> None:
    """As for Chinese: render the English page to PNG and look at the label and the date in
    the reference block — every letter has ink and different letters differ (a missing glyph
    would print the same empty box for each)."""
    scale = 4.0
    document = pdfium.PdfDocument(letters_pdf([_english_letter()], font=letter_font("")))
    try:
        page = document[0]
        image = page.render(scale=scale).to_pil()
        image.save(tmp_path / "letter-en-page-1.png")
        assert (tmp_path / "letter-en-page-1.png").stat().st_size > 10_000
        height = page.get_height()
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        for phrase in ("Account ending", "24 November 2026", "Page 1 of 1"):
            start = text.index(phrase)
            glyphs: dict[str, set[bytes]] = {}
            for index in range(start, start + len(phrase)):
                if text[index] == " ":
                    continue
                left, bottom, right, top = textpage.get_charbox(index)
                box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
                assert box[2] - box[0] > 2 and box[3] - box[1] > 2
                dark, pixels = _ink(image, box)
                assert dark > 0, f"no ink for {text[index]!r} in {phrase!r}"
                glyphs.setdefault(text[index], set()).add(pixels)
            # No two different characters drew the same pixels.
            drawn = [pixels for each in glyphs.values() for pixels in each]
            assert len(set(drawn)) == len(drawn)
    finally:
        document.close()


def test_a_language_without_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="'fr'"):
        _letter(language="fr")


def test_the_labels_cover_every_template_language() -> None:
    from arrears.comms.models import Language

    assert set(letters_module.LETTER_LABELS) == set(Language.values)


def test_a_character_the_font_lacks_is_refused_not_printed_as_a_box() -> None:
    with pytest.raises(LetterFontError) as error:
        letters_pdf([_letter(recipient_name="张伟😀")], font=letter_font(""))
    assert "😀" in str(error.value)
    assert "ARREARS_LETTER_FONT" in str(error.value)


def test_the_account_reference_never_holds_more_than_the_last_4() -> None:
    with pytest.raises(ValueError, match="H10"):
        _letter(account_last4="34567890")


def test_a_missing_font_file_names_the_setting_and_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LetterFontError) as error:
        letter_font("/nonexistent/font.ttc")
    assert "ARREARS_LETTER_FONT=/nonexistent/font.ttc" in str(error.value)
    assert "apt-get install fonts-noto-cjk" in str(error.value)

    monkeypatch.setattr(letters_module, "DEFAULT_FONT_FILES", ("/nonexistent/a.ttc", "/nonexistent/b.ttf"))
    with pytest.raises(LetterFontError) as error:
        letter_font("")
    assert "fonts-noto-cjk" in str(error.value)
    assert "ARREARS_LETTER_FONT" in str(error.value)


def _latin_only_font(path: Path) -> Path:
    """A tiny TrueType font with the letters A and B only."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def box() -> object:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 700))
        pen.lineTo((500, 700))
        pen.lineTo((500, 0))
        pen.closePath()
        return pen.glyph()

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A", "B"])
    builder.setupCharacterMap({ord("A"): "A", ord("B"): "B"})
    builder.setupGlyf({".notdef": box(), "A": box(), "B": box()})
    builder.setupHorizontalMetrics({name: (600, 100) for name in (".notdef", "A", "B")})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Latin Only", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


def test_a_font_without_chinese_is_refused(tmp_path: Path) -> None:
    latin = _latin_only_font(tmp_path / "latin-only.ttf")
    with pytest.raises(LetterFontError, match="Latin Only\\) has no Chinese glyphs"):
        letter_font(str(latin))


def test_the_setting_chooses_the_font(settings: object) -> None:
    serif = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
    settings.ARREARS_LETTER_FONT = str(serif)  # type: ignore[attr-defined]
    font = letter_font()
    assert font.path == serif
    assert font.family == "Noto Serif CJK SC"


# --- line breaking (a fixed-width measure: a Chinese character is 1, a Latin one 0.5) ---------


def _width(text: str) -> float:
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def test_chinese_breaks_between_any_two_characters() -> None:
    assert break_lines("一二三四五六七八九十", 4, _width) == ["一二三四", "五六七八", "九十"]


def test_closing_punctuation_never_starts_a_line() -> None:
    lines = break_lines("一二三四，五六七八。九十", 4, _width)
    assert lines == ["一二三", "四，五六", "七八。九", "十"]
    assert not any(line[0] in "，。" for line in lines)
    # Two closing marks in a row go down with the character before them.
    assert break_lines("一二三四。”五", 4, _width) == ["一二三", "四。”五"]


def test_opening_punctuation_never_ends_a_line() -> None:
    assert break_lines("一二三（四五）六", 4, _width) == ["一二三", "（四五）", "六"]
    assert break_lines("一二三“四五”", 4, _width) == ["一二三", "“四五”"]


def test_latin_words_and_numbers_stay_whole() -> None:
    lines = break_lines("还款1,234.56元请用App还款", 4, _width)
    assert "1,234.56" in "".join(lines)
    assert any("1,234.56" in line for line in lines)
    assert break_lines("pay by phone now", 4, _width) == ["pay by", "phone", "now"]


def test_a_word_longer_than_the_line_is_cut() -> None:
    assert break_lines("abcdefghijkl", 3, _width) == ["abcdef", "ghijkl"]


def test_the_first_line_is_indented() -> None:
    assert break_lines("一二三四五六", 4, _width, first_indent=2) == ["一二", "三四五六"]


# --- masking and postcodes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"证件号{FULL_ID}", "证件号****1237"),
        ("证件号11010519880314123X。", "证件号****123X。"),
        ("卡号 6222 0212 3456 7890 到期", "卡号 ****7890 到期"),
        ("账号6222-0212-3456-7890", "账号****7890"),
        ("请致电 13812345678 或 400-000-0000", "请致电 13812345678 或 400-000-0000"),
        ("逾期金额 12,345.67 元，尾号7890", "逾期金额 12,345.67 元，尾号7890"),
        ("2026年11月23日", "2026年11月23日"),
    ],
)
def test_long_numbers_are_masked_to_their_last_4(text: str, expected: str) -> None:
    assert mask_long_numbers(text) == expected


@pytest.mark.parametrize(
    ("address", "postcode", "rest"),
    [
        ("北京市朝阳区建国路88号 邮编：100022", "100022", "北京市朝阳区建国路88号"),
        ("上海市浦东新区世纪大道100号（邮政编码200120）", "200120", "上海市浦东新区世纪大道100号"),
        ("100022 北京市朝阳区建国路88号", "100022", "北京市朝阳区建国路88号"),
        ("北京市朝阳区建国路88号 100022", "100022", "北京市朝阳区建国路88号"),
        ("北京市朝阳区建国路888888号", "", "北京市朝阳区建国路888888号"),
        ("广州市天河区体育西路1号", "", "广州市天河区体育西路1号"),
    ],
)
def test_the_postcode_is_found_when_there_is_one(address: str, postcode: str, rest: str) -> None:
    assert split_postcode(address) == (postcode, rest)


def test_a_long_address_is_set_smaller_and_printed_whole() -> None:
    address = (
        "内蒙古自治区呼和浩特市赛罕区大学东街与丰州路交叉口东南角某某小区二期十八号楼三单元"
        "一千二百零一室（靠近东门快递柜，工作日请投递至物业服务中心前台代收） 邮编：010020"
    )
    page = _page_texts(letters_pdf([_letter(address=address)], font=letter_font("")))[0]
    assert "\n0 1 0 0 2 0\n" in page  # the postcode in its boxes, leading zero kept
    block = page[page.index("0 1 0 0 2 0") + len("0 1 0 0 2 0") : page.index("张伟  收")]
    assert block.replace("\n", "") == address.removesuffix(" 邮编：010020")
    assert block.count("\n") == 4  # three lines at 9 pt instead of four at 10.5, none dropped
