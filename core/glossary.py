"""The course's terms in Korean and English, from content/glossary.toml (the one source)."""
import functools
import tomllib

from core.words import CONTENT_DIR

GLOSSARY_FILE = CONTENT_DIR / "glossary.toml"


@functools.cache
def terms() -> tuple[dict, ...]:
    """Every term: ko, en, page, meaning_ko, meaning_en."""
    return tuple(tomllib.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))["term"])


def search(query: str, limit: int = 200) -> list[dict]:
    """The terms whose words or meaning (either language) contain `query`, case-insensitively."""
    needle = query.strip().lower()[:limit]
    return [term for term in terms()
            if not needle or any(needle in term[k].lower() for k in ("ko", "en", "meaning_ko", "meaning_en"))]
