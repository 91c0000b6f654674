"""The built frontend, read from the package's `static/` folder once and kept in memory."""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ("Asset", "Assets")

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_HASHED_NAME = re.compile(r"\.[a-f0-9]{8,}\.\w+$")
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


class Asset:
    """One file of the built frontend: its bytes and the headers it is served with."""

    __slots__ = ("body", "cache_control", "content_type")

    def __init__(self, name: str, body: bytes) -> None:
        self.body = body
        suffix = name[name.rfind(".") :] if "." in name else ""
        self.content_type = _CONTENT_TYPES.get(suffix.lower(), "application/octet-stream")
        # Vite puts a content hash in every built file's name: such a file never changes.
        self.cache_control = "public, max-age=31536000, immutable" if _HASHED_NAME.search(name) else None


class Assets:
    """The built frontend: `index.html` and `assets/*` under one folder, each read on first use.

    Args:
        root: The folder (a `pathlib.Path` or a package resource); by default the one this
            package ships in `queuert_dashboard/static`.
    """

    def __init__(self, root: Traversable | None = None) -> None:
        self._root = root if root is not None else resources.files("queuert_dashboard").joinpath("static")
        self._index: str | None = None
        self._files: dict[str, Asset] = {}

    def index(self) -> str | None:
        """The text of `index.html`, or `None` when the frontend was not built."""
        if self._index is None:
            page = self._root.joinpath("index.html")
            if not page.is_file():
                return None
            self._index = page.read_text(encoding="utf-8")
        return self._index

    def index_with_base(self, prefix: str) -> str | None:
        """`index.html` with `<base href="{prefix}/" />` right after its `<head>`."""
        page = self.index()
        if page is None:
            return None
        base = f'<base href="{html.escape(prefix, quote=True)}/" />'
        match = _HEAD.search(page)
        if match is None:
            return base + page
        return page[: match.end()] + base + page[match.end() :]

    def asset(self, path: str) -> Asset | None:
        """The file `assets/{path}`, or `None` when there is none (or the path leaves the folder)."""
        cached = self._files.get(path)
        if cached is not None:
            return cached
        parts = path.split("/")
        if not path or any(part in ("", ".", "..") or "\\" in part for part in parts):
            return None
        node = self._root.joinpath("assets", *parts)
        if not node.is_file():
            return None  # misses are not cached: a flood of unknown names must not grow memory
        found = self._files[path] = Asset(parts[-1], node.read_bytes())
        return found
