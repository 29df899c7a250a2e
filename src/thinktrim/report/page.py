"""One self-contained HTML file: the page's CSS and scripts inline, its data as JSON, and the bulky parts (chain
texts, drill-downs) as gzip+base64 blobs the page decodes only when they are shown.

A page with 10,000 chains thus parses a few kilobytes of JSON on open, not 10,000 DOM trees.

Maths is typeset by KaTeX, vendored unmodified under assets/katex/ (its minified JS and CSS, woff2 fonts and
MIT licence, from the npm package; see NOTICE), so `pip install` needs no npm. The page inlines the script and
the CSS, with each font as a data: URL, so it still fetches nothing.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import IO, Any

# each uses those before it
SCRIPTS = ("katex/katex.min.js", "ui.js", "math.js", "charts.js", "eval.js", "training.js", "report.js")
CHUNK_BYTES = 384 * 1024  # raw JSON per blob: small enough to decode in a few ms, large enough to compress well


def script_json(obj: Any) -> str:
    """JSON safe inside a <script> element: no `<` can close it or open a comment."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def pack(obj: Any) -> str:
    """gzip + base64 of the JSON (mtime 0: the same data gives the same page)."""
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def chunked(records: Iterable[dict[str, Any]], limit: int = CHUNK_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Consecutive records grouped into lists of about `limit` bytes of JSON (at least one record each)."""
    group: list[dict[str, Any]] = []
    size = 0
    for rec in records:
        n = len(json.dumps(rec, ensure_ascii=False))
        if group and size + n > limit:
            yield group
            group, size = [], 0
        group.append(rec)
        size += n
    if group:
        yield group


def asset(name: str) -> str:
    return (resources.files("thinktrim.report") / "assets" / name).read_text(encoding="utf-8")


def katex_css() -> str:
    """KaTeX's CSS with each font face reduced to its woff2 file, inlined as a data: URL (every browser that runs
    the page's DecompressionStream reads woff2; the woff and ttf copies would only add weight)."""
    fonts = resources.files("thinktrim.report") / "assets" / "katex" / "fonts"

    def inline(m: re.Match[str]) -> str:
        data = base64.b64encode((fonts / m.group(1)).read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    css, n = re.subn(r"src:url\(fonts/([\w-]+\.woff2)\) format\(\"woff2\"\)(?:,url\([^)]*\) format\(\"[a-z]+\"\))*",
                     inline, asset("katex/katex.min.css"))
    if n == 0 or "url(fonts/" in css:  # a KaTeX update changed the CSS: fail the build, never ship a fetching page
        raise RuntimeError("assets/katex/katex.min.css: font rules not in the expected form")
    return css


def write_page(out: IO[str], title: str, data: dict[str, Any], blobs: Iterable[tuple[str, str]]) -> None:
    """Write the page: head with CSS, the data, the blobs (id, base64), then the scripts that use them."""
    out.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
              f'<meta name="viewport" content="width=device-width, initial-scale=1">'
              f'<meta name="generator" content="thinktrim">'
              f"<title>{html.escape(title)}</title>\n<style>\n{katex_css()}\n{asset('report.css')}</style></head>\n<body>\n"
              f'<header class="top"><h1>{html.escape(title)}</h1><div class="sub">{html.escape(data["subtitle"])}'
              f'</div></header>\n<nav class="sections"></nav>\n<main></main>\n'
              f'<script id="tt-data" type="application/json">{script_json(data)}</script>\n')
    for blob_id, b64 in blobs:
        out.write(f'<script id="{blob_id}" type="application/gzip-base64">{b64}</script>\n')
    for script in SCRIPTS:
        out.write(f"<script>\n{asset(script)}</script>\n")
    out.write("</body></html>\n")
