"""X's v2 media upload as the stand-in plays it: simple upload, chunked initialize/append/finalize with
a processing state for GIFs, status polling, alt text (``/2/media/metadata``), and the web page's own
upload calls; media ids expire after ``Limits.media_expiry_s``.

Multipart bodies are parsed here by hand (Starlette's form parser needs python-multipart, not pinned).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xbot_pipeline.sandbox.api_routes import _auth, _problem, _unauthorized
from xbot_pipeline.sandbox.behaviour import Sandbox
from xbot_pipeline.sandbox.state import Account

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
MAX_BYTES = {"image/gif": 15 * 1024 * 1024}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT = 1000


def parse_multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """The named fields of a multipart/form-data body (files and plain values alike, as bytes)."""
    boundary = ""
    for piece in content_type.split(";"):
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("no multipart boundary")
    fields: dict[str, bytes] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition"):
                for item in line.split(";"):
                    key, _, value = item.strip().partition("=")
                    if key == "name":
                        fields[value.strip('"')] = data
    return fields


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _bad(detail: str) -> JSONResponse:
    return _problem(400, "Invalid Request", detail, {}, errors=[{"message": detail}])


def _media_json(sandbox: Sandbox, media: dict[str, Any]) -> dict[str, Any]:
    now = sandbox.now()
    data: dict[str, Any] = {
        "id": media["id"],
        "media_key": f"3_{media['id']}",
        "size": media["total_bytes"],
        "expires_after_secs": max(0, int((media["expires_at"] - now).total_seconds())),
    }
    if media["state"] == "pending":
        left = (media["ready_at"] - now).total_seconds() if media["ready_at"] else 0
        data["processing_info"] = {
            "state": "in_progress" if left < sandbox.limits.gif_processing_s / 2 else "pending",
            "check_after_secs": max(1, math.ceil(left)),
            "progress_percent": 50,
        }
    elif media["state"] == "failed":
        data["processing_info"] = {
            "state": "failed",
            "progress_percent": 100,
            "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported GIF"},
        }
    elif media["mime"] == "image/gif":
        data["processing_info"] = {"state": "succeeded", "progress_percent": 100}
    return data


def _simple(sandbox: Sandbox, account: Account, data: bytes, declared: str | None) -> Response:
    mime = _sniff(data)
    if mime is None or (declared and declared not in IMAGE_TYPES):
        return _bad("media type unrecognized.")
    if len(data) > MAX_BYTES.get(mime, MAX_IMAGE_BYTES):
        return _bad("File size exceeds the limit.")
    media = sandbox.state.new_media(account, mime, len(data), sandbox.limits.media_expiry_s, data)
    return JSONResponse({"data": _media_json(sandbox, media)})


def _set_alt(sandbox: Sandbox, account: Account, media_id: str, alt: Any) -> Response:
    media = sandbox.state.media(media_id)
    if media is None or media["user_id"] != account.user_id:
        return _bad(f"media id {media_id} is unknown")
    if not isinstance(alt, str) or len(alt) > MAX_ALT:
        return _bad(f"alt text must be text of at most {MAX_ALT} characters")
    sandbox.state.set_alt_text(media_id, alt)
    return JSONResponse({"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}})


def make_media_routes(sandbox: Sandbox) -> list[Route]:
    state = sandbox.state

    async def simple_upload(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        try:
            fields = parse_multipart(await request.body(), request.headers.get("content-type", ""))
        except ValueError:
            return _bad("the body must be multipart/form-data")
        if "media" not in fields:
            return _bad("the media field is missing")
        if state.take_fault(("upload_failure",), account):
            return _problem(500, "Internal Server Error", "Internal Server Error", {})
        declared = fields.get("media_type", b"").decode() or None
        return _simple(sandbox, account, fields["media"], declared)

    async def status(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        media = state.media_status(request.query_params.get("media_id", ""))
        if media is None or media["user_id"] != account.user_id:
            return _bad("media id is unknown")
        return JSONResponse({"data": _media_json(sandbox, media)})

    async def initialize(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        try:
            body = json.loads(await request.body() or b"{}")
            total, mime = int(body["total_bytes"]), str(body["media_type"])
        except (ValueError, KeyError, TypeError):
            return _bad("total_bytes and media_type are required")
        if mime not in IMAGE_TYPES:
            return _bad("media type unrecognized.")
        if not 0 < total <= MAX_BYTES.get(mime, MAX_IMAGE_BYTES):
            return _bad("File size exceeds the limit.")
        media = state.new_media(account, mime, total, sandbox.limits.media_expiry_s)
        return JSONResponse({"data": _media_json(sandbox, media)})

    async def append(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        media = state.media(request.path_params["media_id"])
        if media is None or media["user_id"] != account.user_id or media["state"] != "uploading":
            return _bad("media id is unknown or not waiting for chunks")
        try:
            fields = parse_multipart(await request.body(), request.headers.get("content-type", ""))
            segment = int(fields["segment_index"])
            chunk = fields["media"]
        except (ValueError, KeyError):
            return _bad("segment_index and media are required")
        if state.take_fault(("upload_chunk_failure",), account):
            return _problem(500, "Internal Server Error", "Internal Server Error", {})
        state.append_chunk(media["id"], segment, chunk)
        return JSONResponse({"data": {"expires_at": int(media["expires_at"].timestamp())}})

    async def finalize(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        media = state.media(request.path_params["media_id"])
        if media is None or media["user_id"] != account.user_id:
            return _bad("media id is unknown")
        fail = state.take_fault(("processing_failure",), account) is not None
        processing = sandbox.limits.gif_processing_s if media["mime"] == "image/gif" else 0.0
        done = state.finalize_media(media["id"], processing, fail)
        if isinstance(done, str):
            return _bad(done)
        if _sniff(done["data"] or b"") != done["mime"]:
            return _bad("media type unrecognized.")
        return JSONResponse({"data": _media_json(sandbox, done)})

    async def metadata(request: Request) -> Response:
        account = _auth(sandbox, request)
        if account is None:
            return _unauthorized()
        try:
            body = json.loads(await request.body() or b"{}")
            media_id = str(body["id"])
            alt = body["metadata"]["alt_text"]["text"]
        except (ValueError, KeyError, TypeError):
            return _bad("id and metadata.alt_text.text are required")
        return _set_alt(sandbox, account, media_id, alt)

    # -- the web page's calls (cookie session + csrf header, raw body) ---------------------------------
    def web_account(request: Request) -> Account | None:
        found = state.session_account(request.cookies.get("auth_token"))
        if found is None or request.headers.get("x-csrf-token") != found[1]:
            return None
        return found[0]

    async def web_upload(request: Request) -> Response:
        account = web_account(request)
        if account is None:
            return _unauthorized()
        answer = _simple(sandbox, account, await request.body(), None)
        if answer.status_code != 200:
            return answer
        data = json.loads(bytes(answer.body))["data"]
        return JSONResponse({"media_id_string": data["id"], "expires_after_secs": data["expires_after_secs"]})

    async def web_metadata(request: Request) -> Response:
        account = web_account(request)
        if account is None:
            return _unauthorized()
        try:
            body = json.loads(await request.body() or b"{}")
            media_id, alt = str(body["media_id"]), body["alt_text"]["text"]
        except (ValueError, KeyError, TypeError):
            return _bad("media_id and alt_text.text are required")
        return _set_alt(sandbox, account, media_id, alt)

    async def media_file(request: Request) -> Response:
        media = state.media(request.path_params["media_id"])
        if media is None or media["data"] is None:
            return Response(status_code=404)
        return Response(media["data"], media_type=media["mime"])

    return [
        Route("/2/media/upload", simple_upload, methods=["POST"]),
        Route("/2/media/upload", status, methods=["GET"]),
        Route("/2/media/upload/initialize", initialize, methods=["POST"]),
        Route("/2/media/upload/{media_id}/append", append, methods=["POST"]),
        Route("/2/media/upload/{media_id}/finalize", finalize, methods=["POST"]),
        Route("/2/media/metadata", metadata, methods=["POST"]),
        Route("/i/media/upload", web_upload, methods=["POST"]),
        Route("/i/media/metadata", web_metadata, methods=["POST"]),
        Route("/media/{media_id}", media_file, methods=["GET"]),
    ]
