"""The `Archive` port on ACOS WebSak+'s Integration API.

Contract: `devtools/websak_standin/contract/websak-integration-api.openapi.json` (ACOS,
`info.version` v1).

A journalpost is made from a template (`journalpost/ny` takes only `sakId`, `malJpId`, `tittel`), so
the filing marker travels in the title and is found again in `sak/{id}/journalposter`, as the
title's last word exactly (`markers.holds_marker`). The sender carries the marker in `referanse`.
Documents are told apart by file name.

Errors: no answer, a timeout, 408, 429 or 5xx are transient; any other 4xx is a refusal
(permanent). A 401 renews a client-credentials token once and repeats the call: WebSak did not act
on a request it did not authenticate, so repeating it is safe.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from schemas.vocab import DocumentRole
from services.common.httpspans import OPERATION_EXTENSION, instrument
from services.common.metrics import NO_ANSWER, WEBSAK_REQUESTS
from services.websak.archive import (
    Contact,
    Document,
    FiledJournalpost,
    IncompleteJournalpostError,
    JournalpostRef,
    PermanentArchiveError,
    StoredDocument,
    TransientArchiveError,
)
from services.websak.config import Placement, WebSakConnection
from services.websak.markers import holds_marker
from services.websak.tokens import ClientCredentialsToken, StaticToken, TokenSource

log = structlog.get_logger(__name__)

API = "/api/integration"
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def _case_number(case_ref: str) -> int:
    if not case_ref.isdigit():
        raise PermanentArchiveError(f"WebSak case ids are numbers, not {case_ref!r}")
    return int(case_ref)


class AcosWebSakArchive:
    def __init__(
        self, client: httpx.AsyncClient, tokens: TokenSource, *, system: str = "acos-websak"
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._system = system

    @classmethod
    def from_connection(
        cls, connection: WebSakConnection, *, system: str = "acos-websak"
    ) -> AcosWebSakArchive:
        client = instrument(
            httpx.AsyncClient(base_url=connection.base_url, timeout=connection.timeout_s)
        )
        tokens: TokenSource
        if connection.token_url is not None:
            # WebSakConnection's validator guarantees both when a token endpoint is set.
            assert connection.client_id is not None
            assert connection.client_secret is not None
            tokens = ClientCredentialsToken(
                client,
                connection.token_url,
                connection.client_id,
                connection.client_secret.get_secret_value(),
                connection.scope,
            )
        else:
            assert connection.token is not None
            tokens = StaticToken(connection.token.get_secret_value())
        return cls(client, tokens, system=system)

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def system(self) -> str:
        return self._system

    # --- the port --------------------------------------------------------------------------

    async def find_journalpost(self, case_ref: str, marker: str) -> JournalpostRef | None:
        sak_id = _case_number(case_ref)
        listed = await self._json("GET", f"/sak/{sak_id}/journalposter", "list_journalposts")
        for entry in _list_of_objects(listed, "list_journalposts"):
            titles = (entry.get("tittel1") or "", entry.get("tittel2") or "")
            if any(holds_marker(title, marker) for title in titles):
                return JournalpostRef(str(entry["id"]), case_ref, titles[0])
        return None

    async def create_journalpost(self, placement: Placement, title: str) -> JournalpostRef:
        if placement.template_ref is None or not placement.template_ref.isdigit():
            raise PermanentArchiveError("WebSak journalposts need a numeric template (malJpId)")
        body = {
            "sakId": _case_number(placement.case_ref),
            "malJpId": int(placement.template_ref),
            "tittel": title,
        }
        created = await self._json("POST", "/journalpost/ny", "create_journalpost", json=body)
        if not isinstance(created, int):
            raise PermanentArchiveError(
                "journalpost/ny did not answer with an id", operation="create_journalpost"
            )
        log.info("websak_journalpost_created", journalpost_id=created, sak_id=body["sakId"])
        return JournalpostRef(str(created), placement.case_ref, title)

    async def contacts(self, journalpost: JournalpostRef) -> list[Contact]:
        listed = await self._json(
            "GET", f"/journalpost/{journalpost.journalpost_id}/mottakere", "list_contacts"
        )
        return [
            Contact(
                name=entry.get("navn"), address=entry.get("epost"), reference=entry.get("referanse")
            )
            for entry in _list_of_objects(listed, "list_contacts")
        ]

    async def add_sender(self, journalpost: JournalpostRef, sender: Contact) -> None:
        body = {
            "kontaktInformasjon": {
                "navn": sender.name or sender.address,
                "epost": sender.address,
                "referanse": sender.reference,
            },
            "erKopiMottaker": False,
        }
        await self._json(
            "POST",
            f"/journalpost/{journalpost.journalpost_id}/avsmottakere",
            "add_sender",
            json=body,
        )

    async def documents(self, journalpost: JournalpostRef) -> list[StoredDocument]:
        listed = await self._json(
            "GET", f"/journalpost/{journalpost.journalpost_id}/dokumenter", "list_documents"
        )
        return [_stored_document(entry) for entry in _list_of_objects(listed, "list_documents")]

    async def upload(self, journalpost: JournalpostRef, document: Document) -> StoredDocument:
        main = document.role is DocumentRole.MAIN
        route = "nytthoveddokument" if main else "nyttvedlegg"
        files = {"file": (document.filename, document.content, document.media_type)}
        created = await self._json(
            "POST",
            f"/journalpost/{journalpost.journalpost_id}/dokument/{route}",
            "upload",
            files=files,
        )
        if not isinstance(created, int):
            raise PermanentArchiveError(f"{route} did not answer with an id", operation="upload")
        log.info(
            "websak_document_uploaded",
            journalpost_id=journalpost.journalpost_id,
            document_id=created,
            role=document.role.value,
            size=len(document.content),
        )
        return StoredDocument(str(created), document.filename, main)

    async def finish(
        self, journalpost: JournalpostRef, expected: tuple[Document, ...]
    ) -> FiledJournalpost:
        stored = await self.documents(journalpost)
        missing = {d.filename for d in expected} - {s.filename for s in stored}
        if missing:
            raise IncompleteJournalpostError(
                f"journalpost {journalpost.journalpost_id} lacks {len(missing)} document(s)",
                operation="finish",
            )
        entry = await self._json(
            "GET", f"/journalpost/{journalpost.journalpost_id}", "read_journalpost"
        )
        if not isinstance(entry, dict):
            raise PermanentArchiveError("journalpost is not an object", operation="finish")
        return FiledJournalpost(
            archive_system=self._system,
            journalpost_id=journalpost.journalpost_id,
            # visningId is the registry number people quote ("26/1051-3"); WebSak sets it on
            # creation, the id stands in only if an installation leaves it empty.
            registry_number=entry.get("visningId") or journalpost.journalpost_id,
            case_ref=str(entry.get("sakId", journalpost.case_ref)),
            documents=expected,
        )

    # --- HTTP ------------------------------------------------------------------------------

    async def _json(self, method: str, path: str, operation: str, **request: Any) -> Any:
        response = await self._send(method, path, operation, **request)
        try:
            return response.json()
        except ValueError as error:
            raise PermanentArchiveError(
                "WebSak answered with something that is not JSON",
                status=response.status_code,
                operation=operation,
            ) from error

    async def _send(self, method: str, path: str, operation: str, **request: Any) -> httpx.Response:
        renewed = False
        while True:
            token = await self._tokens.token()
            try:
                response = await self._client.request(
                    method,
                    API + path,
                    headers={"Authorization": f"Bearer {token}"},
                    extensions={OPERATION_EXTENSION: f"WebSak {operation}"},
                    **request,
                )
            except httpx.HTTPError as error:
                WEBSAK_REQUESTS.labels(operation, NO_ANSWER).inc()
                log.warning("websak_unreachable", operation=operation, error=type(error).__name__)
                raise TransientArchiveError(
                    f"WebSak unreachable ({type(error).__name__})", operation=operation
                ) from error
            WEBSAK_REQUESTS.labels(operation, str(response.status_code)).inc()
            if response.status_code == 401 and self._tokens.renewable and not renewed:
                self._tokens.invalidate()
                renewed = True
                continue
            break
        status = response.status_code
        if status < 400:
            return response
        log.warning("websak_error", operation=operation, status=status)
        if status >= 500 or status in _TRANSIENT_STATUSES:
            raise TransientArchiveError(
                f"WebSak failed ({status})", status=status, operation=operation
            )
        raise PermanentArchiveError(
            f"WebSak refused {operation} ({status}): {_reason(response)}",
            status=status,
            operation=operation,
        )


def _reason(response: httpx.Response) -> str:
    """WebSak's short refusal text, which names a field or an id, never mail content."""
    return (
        response.text[:200] if response.headers.get("content-type", "").startswith("text/") else ""
    )


def _list_of_objects(value: Any, operation: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PermanentArchiveError("WebSak answered with an unexpected shape", operation=operation)
    return value


def _stored_document(entry: dict[str, Any]) -> StoredDocument:
    versions = entry.get("versjoner") or []
    active = next((v for v in versions if v.get("erAktiv")), versions[0] if versions else {})
    filename = active.get("filNavn") or entry.get("navn") or ""
    return StoredDocument(str(entry["id"]), filename, entry.get("dokumentType") == "Hoveddokument")
