"""One tolerant grammar for check-in answers, as a person in a hurry types them.

Pure: the words come in as a `Vocab` (built by the handler from every catalog's
`answer.*_words`, so English typed in a Thai chat still works), and whether a word
is the person's duress word comes in as a predicate (the handler checks the hash).

What a message is, in this order:

1. **SOS** — an SOS word or phrase anywhere (`SOS!!`, `sos!`, `Sos.`, `s.o.s`,
   `sos they took me`, `they took me, sos`, `help me`, 🆘). A false alarm is
   better than a missed SOS. The rest of the text is the SOS message.
2. **HELP** — only "help" words (`help`, `HELP?!`): the person may be asking for
   help or asking how the bot works. Neither is ignored and neither alerts anyone:
   while a check-in waits for an answer, the handler asks "Do you need help now?
   Send SOS." with an SOS button (and points to /help); otherwise it answers with
   the command list, as `/help` does. (`help me`, `I need help` are SOS.)
3. **OK** — the message starts with an OK: any mix, in any order, of an OK word or
   phrase (`ok`, `OK!`, `Ok.`, `👍`, `✅`, `I'm ok`, `i am ok`, `safe`, `all good`…),
   a score (`4`), the PIN (4-8 digits) and the duress word; whatever follows is
   the note (`ok 4 home now`). The duress word alone, or with the PIN and a score,
   is an OK too (that is how the defender was told to use it). The PIN is taken
   from anywhere in the message, never kept in the note.
   A score outside 1-5 (`ok 6`, `ok 0`) does **not** count: NOT_COUNTED.
4. **NOT_COUNTED** — looks like an answer but is not one (`I'm not ok`, `not
   safe`, `is it ok if…`): the reply says first that it did not count, and what
   to type.
5. **NONE** — not an answer; the caller goes on (a command, or "I did not
   understand").

The duress word anywhere as a separate word (any case, any punctuation around it)
sets `duress`, whatever the kind; it never appears in a note or SOS message. The
reply shown must be the one for the same message without it: the grammar reads the
message exactly as if the word were not there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from bot.core.text import ascii_digits

#: Emoji read as words (after skin tones and variation selectors are dropped).
OK_EMOJI = frozenset({"👍", "✅", "👌", "☑"})
SOS_EMOJI = frozenset({"🆘"})
_EMOJI = OK_EMOJI | SOS_EMOJI
#: Skin-tone modifiers, variation selectors and the zero-width joiner: ignored.
_IGNORED = frozenset({"\ufe0e", "\ufe0f", "\u200d"} | {chr(c) for c in range(0x1F3FB, 0x1F400)})
#: A duress word is one word of this many letters (see /duress).
DURESS_MIN, DURESS_MAX = 4, 40
#: A score is 1-5; a number of up to this many digits is read as a score attempt.
SCORE_MIN, SCORE_MAX, SCORE_DIGITS = 1, 5, 3
#: Numbers this long (or longer) are PIN attempts, never scores.
PIN_DIGITS = 4


class Kind(Enum):
    """What a message is, as an answer."""

    OK = "ok"
    SOS = "sos"
    HELP = "help"
    NOT_COUNTED = "not_counted"
    NONE = "none"


@dataclass(frozen=True)
class Answer:
    """A message read as an answer.

    `note` is the OK's note or the SOS message (secrets removed, "" if none), `pin`
    the PIN-shaped number typed (ASCII digits) if any, `refusal` the catalog key
    that says why a NOT_COUNTED answer did not count.
    """

    kind: Kind
    score: int | None = None
    note: str = ""
    pin: str | None = None
    duress: bool = False
    refusal: str | None = None


@dataclass(frozen=True)
class Vocab:
    """The words of every language the bot speaks, as normalised word tuples."""

    ok: frozenset[tuple[str, ...]]
    sos: frozenset[tuple[str, ...]]
    help: frozenset[tuple[str, ...]]

    @property
    def single_words(self) -> frozenset[str]:
        """Every one-word phrase: these can never be a duress word."""
        return frozenset(p[0] for p in self.ok | self.sos | self.help if len(p) == 1)


def vocab(ok: Iterable[str], sos: Iterable[str], help_: Iterable[str]) -> Vocab:
    """A `Vocab` from catalog values: phrases separated by `|` (`ok|okay|i'm ok`)."""

    def phrases(values: Iterable[str]) -> frozenset[tuple[str, ...]]:
        found = set()
        for value in values:
            for phrase in value.split("|"):
                keys = tuple(w.key for w in words(phrase))
                if keys:
                    found.add(keys)
        return frozenset(found)

    return Vocab(ok=phrases([*ok, *OK_EMOJI]), sos=phrases([*sos, *SOS_EMOJI]), help=phrases(help_))


@dataclass(frozen=True)
class Word:
    """One word of a message: as typed (`raw`) and as compared (`key`)."""

    raw: str
    key: str


def word_key(text: str) -> str:
    """How a word is compared: NFKC, casefolded, any digits as ASCII, no punctuation.

    Punctuation and symbols are dropped: `OK!` → `ok`, `I'm` → `im`, `s.o.s` → `sos`.
    """
    normal = ascii_digits(unicodedata.normalize("NFKC", text), every_script=True).casefold()
    return "".join(
        ch for ch in normal if ch not in _IGNORED and unicodedata.category(ch)[0] not in "PSZC"
    )


def words(text: str) -> list[Word]:
    """The words of `text`; an emoji we read is a word of its own (`ok👍` is two)."""
    found: list[Word] = []
    for token in text.split():
        piece = ""
        for ch in token:
            if ch in _IGNORED:
                continue
            if ch in _EMOJI:
                if piece:
                    found.append(Word(piece, word_key(piece)))
                    piece = ""
                found.append(Word(ch, ch))
            else:
                piece += ch
        if piece and word_key(piece):
            found.append(Word(piece, word_key(piece)))
    return found


def _is_number(key: str) -> bool:
    return key.isascii() and key.isdigit()


def duress_candidates(text: str) -> list[str]:
    """The words of `text` that could be a duress word (to check against its hash).

    Answer words ("safe", "okay") are candidates too: /duress refuses them, but a
    word chosen before a translator added it to a catalog must still be found.
    """
    seen: list[str] = []
    for w in words(text):
        if could_be_duress(w.key) and w.key not in seen:
            seen.append(w.key)
    return seen


def could_be_duress(key: str) -> bool:
    """A duress word is 4-40 characters, with no digit."""
    return DURESS_MIN <= len(key) <= DURESS_MAX and not any(ch.isdigit() for ch in key)


def _match(keys: list[str], at: int, phrases: frozenset[tuple[str, ...]]) -> int:
    """The length of the longest phrase starting at `at` (0 if none)."""
    best = 0
    for phrase in phrases:
        n = len(phrase)
        if n > best and tuple(keys[at : at + n]) == phrase:
            best = n
    return best


def _find(keys: list[str], phrases: frozenset[tuple[str, ...]]) -> tuple[int, int] | None:
    for at in range(len(keys)):
        n = _match(keys, at, phrases)
        if n:
            return at, n
    return None


def read(text: str, vocab_: Vocab, is_duress: Callable[[str], bool] = lambda _: False) -> Answer:
    """Read `text` (a leading `/` is ignored) as an answer; see the module doc."""
    every = words(text.strip().removeprefix("/"))
    duress = any(could_be_duress(w.key) and is_duress(w.key) for w in every)
    pin = next((w for w in every if _is_number(w.key) and len(w.key) >= PIN_DIGITS), None)
    # The message as if the duress word and the PIN were not there.
    rest = [w for w in every if w is not pin and not (could_be_duress(w.key) and is_duress(w.key))]
    keys = [w.key for w in rest]
    pin_digits = pin.key if pin is not None else None

    def note(skip: set[int]) -> str:
        return " ".join(w.raw for i, w in enumerate(rest) if i not in skip).strip()

    sos = _find(keys, vocab_.sos)
    if sos is not None:
        at, n = sos
        return Answer(Kind.SOS, note=note(set(range(at, at + n))), pin=pin_digits, duress=duress)
    if keys and _covered(keys, vocab_.help):
        return Answer(Kind.HELP, pin=pin_digits, duress=duress)
    # The head: OK phrases and one score, in any order, before the note.
    at, said_ok, score_key = 0, False, None
    while at < len(keys):
        n = _match(keys, at, vocab_.ok)
        if n:
            said_ok, at = True, at + n
        elif score_key is None and _is_number(keys[at]) and len(keys[at]) < PIN_DIGITS:
            score_key, at = keys[at], at + 1
        else:
            break
    bare = at == len(keys) == 0 or (at == len(keys) and score_key is not None)
    if said_ok or ((duress or pin is not None) and bare):
        rest_note = note(set(range(at)))
        if score_key is not None and not SCORE_MIN <= int(score_key) <= SCORE_MAX:
            return Answer(Kind.NOT_COUNTED, pin=pin_digits, duress=duress, refusal="ok.bad_score")
        score = int(score_key) if score_key is not None else None
        return Answer(Kind.OK, score=score, note=rest_note, pin=pin_digits, duress=duress)
    if _find(keys, vocab_.ok) is not None:
        return Answer(Kind.NOT_COUNTED, pin=pin_digits, duress=duress, refusal="answer.not_counted")
    return Answer(Kind.NONE, pin=pin_digits, duress=duress)


def _covered(keys: list[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """True if `keys` is nothing but these phrases, one after another."""
    at = 0
    while at < len(keys):
        n = _match(keys, at, phrases)
        if not n:
            return False
        at += n
    return True


def is_sos(text: str, vocab_: Vocab) -> bool:
    """True if `text` raises an SOS (used to let a long SOS through the length limit)."""
    return _find([w.key for w in words(text)], vocab_.sos) is not None
