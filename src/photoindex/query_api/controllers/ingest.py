"""Put photos into the library: upload into the watched inbox, or ask for a folder to be rescanned now."""

from __future__ import annotations

import os
from dataclasses import dataclass

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody

from photoindex.errors import ErrorCode
from photoindex.indexer.discovery import within
from photoindex.library import Rejected, check_request_path
from photoindex.query_api.problems import problem_docs
from photoindex.query_api.schemas.ingest import RefusedFile, SavedFile, ScanAccepted, ScanRequest, UploadResult
from photoindex.query_api.services import ApiServices


@dataclass
class _UploadOperation(Operation):
    """The upload body is read as a stream (never buffered), so its shape is described by hand."""

    def __post_init__(self) -> None:
        files = Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING, format="binary"))  # type: ignore[arg-type]
        self.request_body = RequestBody(
            required=True,
            description="any number of file parts (the field name does not matter); other fields are ignored",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.OBJECT, properties={"files": files})
                )
            },
        )


class IngestController(Controller):
    path = "/ingest"
    tags = ("ingest",)

    @post(
        "/upload",
        status_code=201,
        operation_class=_UploadOperation,
        responses=problem_docs(400, 401, 413, 415),
        summary="Upload photos into the inbox folder",
    )
    async def upload(
        self, services: NamedDependency[ApiServices], request: Request[object, object, State]
    ) -> UploadResult:
        """Each file is streamed to disk under a safe name; the watcher indexes it like a dropped file."""
        content_type, options = request.content_type
        boundary = options.get("boundary")
        if content_type != "multipart/form-data" or not boundary:
            raise Rejected("expected a multipart/form-data body", reason="unsupported")
        outcome = await services.inbox.receive(request.stream(), boundary)
        return UploadResult(
            inbox=str(services.inbox.folder),
            saved=[SavedFile(s.name, s.path, s.size, s.format) for s in outcome.saved],
            refused=[RefusedFile(r.name, r.reason, r.code) for r in outcome.refused],
        )

    @post("/scan", status_code=202, responses=problem_docs(400, 401, 403, 404, 503), summary="Rescan a folder now")
    async def scan(self, services: NamedDependency[ApiServices], data: JSONBody[ScanRequest]) -> ScanAccepted:
        """The folder must be a watched folder, a folder inside one, or the inbox."""
        folder = os.path.realpath(check_request_path(data.folder))
        allowed = (*services.folders.folders, str(services.inbox.folder))
        if not any(within(folder, root) for root in allowed):
            raise Rejected(
                f"{data.folder} is not inside a watched folder", reason="forbidden", code=ErrorCode.PERMISSION
            )
        if not os.path.isdir(folder):
            raise Rejected(f"{data.folder} is not a folder", reason="invalid", code=ErrorCode.NOT_FOUND)
        await services.rescan(folder)
        return ScanAccepted(folder=folder, queued=True)


__all__ = ["IngestController"]
