"""A Markdown page rendered as one self-contained HTML file: its figures embedded, so it opens alone and offline."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "img{max-width:100%;border:1px solid #ddd}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
    "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}"
)


def page(title: str, markdown_text: str, base: Path, css: str = "") -> str:
    """The page: ``markdown_text`` rendered, each PNG or SVG it shows (a path under ``base``) embedded."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["fenced_code", "tables"], output_format="html")
    root = base.resolve()

    def embed(m: re.Match) -> str:
        path = (base / m.group(1)).resolve()
        kind = {".png": "image/png", ".svg": "image/svg+xml"}.get(path.suffix)
        if kind is None or not path.is_file() or not path.is_relative_to(root):  # only the page's own figures
            return m.group(0)
        return f"src='data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}'"

    body = re.sub(r'src="([^"\\:]+)"', embed, body)
    return "\n".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{CSS}{css}</style></head><body>",
            body,
            "</body></html>",
        ]
    )
