#!/bin/sh
# Bring the gettext catalogs up to date with the English source (bot/i18n/en/*.toml):
# the template (bot/i18n/messages.pot) is extracted again, and every language's PO gains
# the new texts as untranslated and the changed ones as fuzzy, for a translator to fill
# in. (No --previous: Babel reads a multi-line previous msgid back as comments.)
# See docs/translating.md.
set -e
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-$(command -v .venv/bin/pybabel || command -v pybabel)}
"$PYBABEL" -q extract -F babel.cfg -o bot/i18n/messages.pot --sort-by-file \
    --project Holdfast --version 0.1.0 --copyright-holder "Holdfast contributors" \
    --msgid-bugs-address "https://github.com/holdfast/holdfast/issues" . >/dev/null
PY=${PYTHON:-$(command -v .venv/bin/python || command -v python3)}
for po in bot/i18n/*/LC_MESSAGES/holdfast.po; do
    [ -f "$po" ] || continue
    # pybabel update drops header fields it does not know (X-Review-Status): keep them.
    extra=$(grep '^"X-' "$po" || true)
    "$PYBABEL" -q update -i bot/i18n/messages.pot -o "$po" -l "$(echo "$po" | cut -d/ -f3)" \
        -D holdfast >/dev/null
    if [ -n "$extra" ]; then
        EXTRA="$extra" "$PY" - "$po" <<'PYEOF'
import os, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
missing = [x for x in os.environ["EXTRA"].splitlines() if x not in text]
if missing:
    text = text.replace('"Generated-By:', "\n".join(missing) + '\n"Generated-By:', 1)
    open(path, "w", encoding="utf-8").write(text)
PYEOF
    fi
done
echo "Catalogs updated. Untranslated or fuzzy entries per language:"
"$PY" -m bot.i18n.status -q || true
