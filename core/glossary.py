"""The course's terms in Korean and English, from content/glossary.toml (the one source)."""
import functools
import tomllib

from core.words import CONTENT_DIR

GLOSSARY_FILE = CONTENT_DIR / "glossary.toml"


@functools.cache
def _read() -> dict:
    return tomllib.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))


def terms() -> tuple[dict, ...]:
    """Every term: ko, en, page, meaning_ko, meaning_en (and the variants to avoid, see wording)."""
    return tuple(_read()["term"])


def wording() -> tuple[dict, ...]:
    """How the Korean pages write each idea: every term, then the [[usage]] entries that are not
    course terms (the app's name, a page's 절, 20%). Each has `ko`, `en` and the variants the
    Korean content must not use: `avoid` (words, any letter case) and `avoid_re` (patterns)."""
    return tuple(_read()["term"]) + tuple(_read().get("usage", ()))


def search(query: str, limit: int = 200) -> list[dict]:
    """The terms whose words or meaning (either language) contain `query`, case-insensitively."""
    needle = query.strip().lower()[:limit]
    return [term for term in terms()
            if not needle or any(needle in term[k].lower() for k in ("ko", "en", "meaning_ko", "meaning_en"))]
