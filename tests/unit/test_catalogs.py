"""The gettext catalogs: complete, faithful to the English placeholders, within limits.

English is the source (bot/i18n/en/*.toml). Each other language is a PO file that
must hold a current, non-fuzzy translation of every English text: a key added or an
English text changed shows up here (and in the PO as untranslated or fuzzy after
`tools/update_catalogs.sh`) until a translator has looked at it.
"""

from __future__ import annotations

import io
import re
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.core.text import MAX_NAME, MAX_NOTE
from bot.core.wellbeing import Feeling
from bot.i18n import (
    NATIVE_NAMES,
    compile_po,
    english,
    languages,
    po_path,
    t,
    tn,
    translations,
)

ROOT = Path(__file__).resolve().parents[2]
#: The languages Holdfast promises (issue 15).
EXPECTED = ("th", "km", "lo", "my", "ne")
#: Telegram: a message is at most 4096 characters; a button label should stay short.
MESSAGE_LIMIT = 4096
LABEL_LIMIT = 40
#: A long value for each kind of placeholder (what the code can put there at most).
LONG_VALUES = {
    "name": "N" * MAX_NAME, "note": "n" * MAX_NOTE, "message": "m" * 1000,
    "spec": "mon,tue,wed,thu,fri,sat,sun 08:00,12:00,18:00",
    "tz": "America/Argentina/ComodRivadavia",
}  # fmt: skip
REVIEW = "machine-drafted, not reviewed by a native speaker"


def present() -> tuple[str, ...]:
    """The translated languages whose catalog exists."""
    return tuple(code for code in languages() if code != "en")


@cache
def po(lang: str) -> Catalog:
    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain="holdfast")


def fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def forms(source: str | tuple[str, str]) -> tuple[str, ...]:
    return source if isinstance(source, tuple) else (source,)


def long_fill(text: str) -> str:
    return text.format_map({name: LONG_VALUES.get(name, "x" * 64) for name in fields(text)})


def test_every_promised_language_has_a_catalog() -> None:
    assert set(present()) == set(EXPECTED)


def test_languages_are_listed_by_their_own_names() -> None:
    assert languages()[-1] == "en"
    assert all(NATIVE_NAMES[code] for code in languages())


def test_the_template_is_current() -> None:
    """messages.pot holds exactly the English source (run tools/update_catalogs.sh)."""
    extracted = {
        (context, msgid if isinstance(msgid, str) else tuple(msgid))
        for _f, _l, msgid, _c, context in extract_from_dir(
            str(ROOT), method_map=[("bot/i18n/en/*.toml", "bot.i18n.extract.extract_toml")]
        )
    }
    with (ROOT / "bot/i18n/messages.pot").open("rb") as handle:
        template = read_po(handle)
    held = {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in template if m.id}
    assert extracted == {(k, v) for k, v in english().items()}
    assert held == extracted, "run tools/update_catalogs.sh"


@pytest.mark.parametrize("lang", present())
def test_every_english_text_is_translated(lang: str) -> None:
    catalog = po(lang)
    missing = []
    for key, source in english().items():
        entry = catalog.get(source[0] if isinstance(source, tuple) else source, context=key)
        strings = forms(entry.string) if entry is not None else ("",)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(key)
    assert not missing, (
        f"{lang}: {len(missing)} untranslated or fuzzy: {missing[:20]} (run "
        "tools/update_catalogs.sh, then translate them: docs/translating.md)"
    )


@pytest.mark.parametrize("lang", present())
def test_placeholders_are_the_english_ones(lang: str) -> None:
    wrong = []
    for message in list(po(lang))[1:]:
        english_fields = sorted({f for text in forms(message.id) for f in fields(text)})
        for text in forms(message.string):
            if text and sorted(set(fields(text))) != english_fields:
                wrong.append((message.context, fields(text), english_fields))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("lang", present())
def test_the_catalog_says_it_was_not_reviewed(lang: str) -> None:
    text = po_path(lang).read_text(encoding="utf-8")
    assert REVIEW in po(lang).header_comment
    assert f'"X-Review-Status: {REVIEW}\\n"' in text or "reviewed by" in po(lang).header_comment


@pytest.mark.parametrize("lang", present())
def test_plural_forms_are_cldr(lang: str) -> None:
    catalog = po(lang)
    assert catalog.num_plurals == get_plural(lang).num_plurals
    assert catalog.plural_expr == get_plural(lang).plural_expr
    for message in catalog:
        if message.pluralizable and any(message.string):
            assert len(message.string) == catalog.num_plurals, message.context


@pytest.mark.parametrize("lang", ("en", *present()))
def test_no_message_is_longer_than_telegram_allows(lang: str) -> None:
    compiled = translations(lang)
    too_long = []
    for key, source in english().items():
        if isinstance(source, tuple):
            texts = [compiled.npgettext(key, *source, n) for n in (1, 2, 5)]
        else:
            texts = [compiled.pgettext(key, source)]
        if any(len(long_fill(text)) > MESSAGE_LIMIT for text in texts):
            too_long.append(key)
    assert not too_long


#: Button keys the code builds in an f-string, and what they expand to.
TEMPLATES = {
    "ok.score{n}": {f"ok.score{n}" for n in range(1, 6)},
    "feel.{f.value}": {f"feel.{f.value}" for f in Feeling},
}


def button_keys() -> set[str]:
    """Every catalog key the code puts on a button (`Choice(t("key"), …)`)."""
    pattern = re.compile(r"Choice\(\s*(?:ctx\.)?t\(\s*(f?)\"([^\"]+)\"")
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for is_f, raw in pattern.findall(path.read_text(encoding="utf-8")):
            if is_f:
                assert raw in TEMPLATES, f"{path}: add the button key {raw!r} to TEMPLATES"
                found |= TEMPLATES[raw]
            else:
                found.add(raw)
    assert found <= english().keys()
    return found


def test_buttons_are_found() -> None:
    assert {"alert.ack_button", "prompt.safe", "ok.score1"} <= button_keys()


@pytest.mark.parametrize("lang", ("en", *present()))
def test_button_labels_are_short(lang: str) -> None:
    long = {key: t(key, lang) for key in button_keys() if len(t(key, lang)) > LABEL_LIMIT}
    assert not long


@pytest.mark.parametrize("lang", ("en", *present()))
def test_answer_words_are_lowercase_phrases(lang: str) -> None:
    for key in ("answer.ok_words", "answer.sos_words"):
        if key not in english():
            continue
        phrases = t(key, lang).split("|")
        assert all(p.strip() and p == p.strip() and p == p.lower() for p in phrases), key


FALLBACK_PO = """
msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgctxt "a"
msgid "Hello"
msgstr "Namaste"

#, fuzzy
msgctxt "b"
msgid "Bye"
msgstr "Stale"

msgctxt "c"
msgid "Empty"
msgstr ""

msgctxt "d"
msgid "{n} person"
msgid_plural "{n} people"
msgstr[0] "{n} jana"
msgstr[1] ""
"""


def test_a_missing_empty_or_fuzzy_translation_falls_back_to_english() -> None:
    compiled = compile_po(io.BytesIO(FALLBACK_PO.encode()), "ne")
    assert compiled.pgettext("a", "Hello") == "Namaste"
    assert compiled.pgettext("b", "Bye") == "Bye"
    assert compiled.pgettext("c", "Empty") == "Empty"
    assert compiled.npgettext("d", "{n} person", "{n} people", 3) == "{n} people"
    assert compiled.pgettext("a", "Hello again") == "Hello again"  # English changed
    english_text = english()["start.welcome"]
    assert t("start.welcome", "xx") == english_text


def test_a_translation_with_wrong_placeholders_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.i18n as i18n

    source = english()["tz.set"]
    assert isinstance(source, str)
    broken = f"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"

msgctxt "tz.set"
msgid "{source}"
msgstr "{{zone}} set"
"""
    compiled = compile_po(io.BytesIO(broken.encode()), "ne")
    monkeypatch.setattr(i18n, "translations", lambda lang: compiled)
    assert t("tz.set", "ne", tz="Asia/Kathmandu") == source.format(tz="Asia/Kathmandu")


def test_a_po_round_trips_through_babel() -> None:
    """What `pybabel update` writes, the runtime reads (header included)."""
    from babel.messages.pofile import write_po

    for lang in present():
        out = io.BytesIO()
        write_po(out, po(lang), width=0)
        assert REVIEW.encode() in out.getvalue()


def test_a_count_picks_the_plural_form() -> None:
    assert "1 person." in t("sos.sent", "en", count=1)
    assert "2 people." in t("sos.sent", "en", count=2)
    assert tn("sos.sent", 1, "en") == t("sos.sent", "en", count=1)
    assert "{" not in tn("group.checkin_off", 5, "ne", id=3)


COMMAND = re.compile(r"(?<![\w/])/[a-z][a-z0-9_]*")


@pytest.mark.parametrize("lang", present())
def test_commands_stay_the_ascii_ones_in_every_translation(lang: str) -> None:
    """A `/command` in the English is in the translation, untranslated; none is added."""
    compiled = translations(lang)
    wrong = []
    for key, source in english().items():
        if isinstance(source, tuple):
            texts = [compiled.npgettext(key, *source, n) for n in (1, 2, 5)]
        else:
            texts = [compiled.pgettext(key, source)]
        commands = set(COMMAND.findall(" ".join(forms(source))))
        wrong += [key for text in texts if set(COMMAND.findall(text)) != commands]
    assert not wrong


@pytest.mark.parametrize("lang", present())
def test_no_previous_text_debris_in_the_catalog(lang: str) -> None:
    """Babel reads a multi-line `#| msgid` back as comments; none may pile up."""
    debris = [m.context for m in po(lang) if any(c.startswith("|") for c in m.user_comments)]
    assert not debris


QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»")


def quoted(text: str) -> list[str]:
    return [next(g for g in groups if g) for groups in QUOTED.findall(text)]


@pytest.mark.parametrize("lang", present())
def test_a_button_named_in_a_message_is_named_as_its_label_reads(lang: str) -> None:
    """`tap "I'm on it"`: in every language the quoted name starts the button's label."""
    buttons = {key: t(key, "en") for key in button_keys()}
    wrong = []
    for key, source in english().items():
        if isinstance(source, tuple):
            continue
        for name in quoted(source):
            named = [b for b, label in buttons.items() if label.startswith(name)]
            if not named:
                continue
            labels = [t(b, lang) for b in named]
            if not any(label.startswith(q) for q in quoted(t(key, lang)) for label in labels):
                wrong.append((key, name))
    assert not wrong
