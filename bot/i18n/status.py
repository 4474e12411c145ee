"""What is left to translate: `python -m bot.i18n.status [-q] [LANG ...]`.

For each language, the English keys whose translation is missing, empty or fuzzy
(an English text changed since it was translated), as `tests/unit/test_catalogs.py`
counts them (`-q`: only the counts). Exit status 1 when anything is left.
"""

from __future__ import annotations

import sys

from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, english, languages, po_path


def left_to_translate(lang: str) -> tuple[list[str], list[str]]:
    """(keys with no translation, keys whose translation is fuzzy) in `lang`."""
    path = po_path(lang)
    if not path.is_file():
        return sorted(english()), []
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    missing, fuzzy = [], []
    for key, source in english().items():
        entry = catalog.get(source[0] if isinstance(source, tuple) else source, context=key)
        strings = entry.string if entry is not None else ""
        complete = all(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is not None and complete and entry.fuzzy:
            fuzzy.append(key)
        elif entry is None or not complete:
            missing.append(key)
    return missing, fuzzy


def main(argv: list[str]) -> int:
    """Print the delta per language; 1 if any language has one."""
    quiet = "-q" in argv
    argv = [arg for arg in argv if arg != "-q"]
    left = 0
    for lang in argv or [code for code in languages() if code != "en"]:
        missing, fuzzy = left_to_translate(lang)
        left += len(missing) + len(fuzzy)
        print(f"{lang}: {len(english()) - len(missing) - len(fuzzy)}/{len(english())} translated,"
              f" {len(missing)} untranslated, {len(fuzzy)} fuzzy")
        if quiet:
            continue
        for key in missing:
            print(f"  untranslated  {key}")
        for key in fuzzy:
            print(f"  fuzzy         {key}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
