"""Message catalogues: Indonesian is the source language; English lives in
``webapp/translations/en/LC_MESSAGES/messages.po`` and is compiled with Babel into the instance
folder when the app starts (and again whenever the ``.po`` file is newer)."""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def compile_catalogs(target: Path) -> Path:
    """Compile every ``.po`` under ``webapp/translations`` into ``target``; return ``target``."""
    for po in SOURCE.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        # A temporary file of its own: every worker of a server compiles at its start, at the
        # same moment after an upgrade, and a shared name let one worker move away the file
        # another was about to rename (that worker failed to boot, and the server stopped).
        fd, name = tempfile.mkstemp(dir=mo.parent, prefix=f".{mo.stem}.", suffix=".tmp")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            tmp.replace(mo)
        finally:
            tmp.unlink(missing_ok=True)
    return target


@functools.lru_cache(maxsize=None)
def messages(lang: str) -> dict[str, str]:
    """The translated messages of ``lang`` (msgid -> msgstr; untranslated ones left out);
    empty for Indonesian, the source language, and for a language without a catalogue."""
    po = SOURCE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return {}
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}


def gettext_for(lang: str) -> Callable[[str], str]:
    """``gettext`` of ``lang`` outside a request (the command line): a message missing from the
    catalogue stays Indonesian."""
    table = messages(lang)
    return lambda message: table.get(message) or message
