"""Every relative link in README.md and docs/ points at a file that exists and, where it
names a heading (`#anchor`), at a heading that exists: the study history lives in
docs/models/ and docs/speed.md, linked from the README, and a renamed heading or moved
file must not leave a dead link behind."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.

    >>> anchor("Fine-tuning on WikiANN")
    'fine-tuning-on-wikiann'
    >>> anchor("MBR's cost")
    'mbrs-cost'
    """
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for line in page.read_text().splitlines()
            if line.startswith("#")}


def test_relative_links_and_anchors_resolve():
    dead = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):          # http:, https:, mailto:
                continue
            file, _, name = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                dead.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif name and path.suffix == ".md" and name not in anchors(path):
                dead.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert len(PAGES) > 5 and not dead, dead
