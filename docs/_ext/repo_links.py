"""MkDocs hook: a link from a page to a file of the repository outside docs/ becomes a code span.

Such a link (``[benchmarks/README.md](../benchmarks/README.md)``) works on a code host but is no page of
the site, so MkDocs would report it as broken. When the file exists in the repository the link is
written as its text plus the repository path in a code span; when it does not, the link is left alone
and the strict build fails on it, as on any other broken link.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# [text](target) with a relative target (no scheme, no leading / or #), an optional title after it
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]\n]+)\]\((?P<target>(?![a-zA-Z][\w+.-]*:|/|#)[^)\s]+)\)")
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1", re.MULTILINE | re.DOTALL)


def _rewrite(text: str, page_dir: Path, docs_dir: Path, repo: Path) -> str:
    def one(m: re.Match[str]) -> str:
        target = m["target"].split("#", 1)[0]
        path = (page_dir / target).resolve()
        if path.is_relative_to(docs_dir) or not path.is_relative_to(repo) or not path.exists():
            return m[0]  # a page (MkDocs checks it), or broken: MkDocs reports it
        rel = path.relative_to(repo).as_posix()
        label = m["text"].strip("`")
        return f"`{rel}`" if label == rel else f"{m['text']} (`{rel}`)"

    return _LINK.sub(one, text)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Rewrite repository links outside fenced code blocks."""
    docs_dir = Path(config["docs_dir"]).resolve()
    repo = Path(config["config_file_path"]).resolve().parent
    page_dir = (docs_dir / page.file.src_path).parent
    out, pos = [], 0
    for fence in _FENCE.finditer(markdown):
        out.append(_rewrite(markdown[pos : fence.start()], page_dir, docs_dir, repo))
        out.append(fence[0])
        pos = fence.end()
    out.append(_rewrite(markdown[pos:], page_dir, docs_dir, repo))
    return "".join(out)
