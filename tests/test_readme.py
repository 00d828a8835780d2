"""README.ko.md keeps step with README.md: the same sections and the same figures in its tables."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(k(?![A-Za-z])|만|천)?")
SCALE = {"k": 1_000, "천": 1_000, "만": 10_000}  # "60k" in English is "6만" in Korean


def _lines(name: str) -> list[str]:
    """The file's lines outside fenced code blocks (a `# comment` in a shell block is no heading)."""
    kept, fenced = [], False
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return kept


def _heading_levels(name: str) -> list[int]:
    return [len(m.group(1)) for line in _lines(name) if (m := re.match(r"(#{1,6}) ", line))]


def _table_figures(name: str) -> set[float]:
    """Every number in the file's tables, as a value: 1,125 -> 1125, 60k and 6만 -> 60000."""
    figures = set()
    for line in _lines(name):
        if line.startswith("|"):
            for number, unit in NUMBER.findall(line):
                figures.add(round(float(number.replace(",", "")) * SCALE.get(unit, 1), 6))
    return figures


def test_the_korean_readme_has_the_same_sections():
    english, korean = _heading_levels("README.md"), _heading_levels("README.ko.md")
    assert korean == english, "README.ko.md's headings (by level) differ from README.md's"


def test_the_korean_readme_has_the_same_figures_in_its_tables():
    english, korean = _table_figures("README.md"), _table_figures("README.ko.md")
    assert sorted(english - korean) == [], "figures in README.md's tables missing from README.ko.md's"
    assert sorted(korean - english) == [], "figures in README.ko.md's tables that README.md's do not have"


def test_both_readmes_give_the_set_up_command_with_the_fonts():
    for name in ("README.md", "README.ko.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji haproxy" in text, name
