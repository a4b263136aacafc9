"""Files of the file store as downloads: the local file itself when the store is a folder on this machine,
else its bytes read from the store (letters and copies are small)."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from fastapi.responses import FileResponse, Response

from saraban.kernel.settings import Settings
from saraban.records.file_store import file_store, is_legacy_path


def stored_file(settings: Settings, key: str, *, filename: str | None = None,
                media_type: str | None = None) -> Response:
    """The file kept under ``key`` (the caller checked it exists), offered as ``filename`` when given."""
    store = file_store(settings)
    if store.is_local or is_legacy_path(key):
        return FileResponse(store.path(key), filename=filename, media_type=media_type)
    media_type = media_type or mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    headers = {}
    if filename:  # as Starlette's FileResponse says it: RFC 5987 for a name that is not plain ASCII
        quoted = quote(filename)
        headers["Content-Disposition"] = (f"attachment; filename*=utf-8''{quoted}" if quoted != filename
                                          else f'attachment; filename="{filename}"')
    return Response(store.read_bytes(key), media_type=media_type, headers=headers)


__all__ = ["stored_file"]
