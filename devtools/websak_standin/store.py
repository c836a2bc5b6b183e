"""The stand-in's archive: cases, journalposts, contacts, documents and files on disk.

State is one JSON file (`state.json`, replaced atomically after every change) and one file per
stored upload (`files/<filId>`, written before the state that refers to it), so a stand-in killed
at any moment restarts with a consistent archive. Records are kept in the shapes of ACOS's OpenAPI
document (`Sak`, `Journalpost`, `Kontakt`, `Dokument`), so the routes return them as they are.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.websak.config import WebSakPlacement

Record = dict[str, Any]

_FIRST_IDS = {"journalpost": 200001, "kontakt": 300001, "dokument": 400001, "fil": 500001}


class Refused(Exception):
    """The request is not acceptable (the routes answer 400); the message says why."""


class NotFound(Exception):
    """No such case, journalpost or file (the routes answer 404)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    fil_id: int
    filename: str
    content_type: str
    sha256: str
    path: Path


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Store:
    def __init__(self, data_dir: Path, placement: WebSakPlacement) -> None:
        self._dir = data_dir
        self._files = data_dir / "files"
        self._files.mkdir(parents=True, exist_ok=True)
        self._state_file = data_dir / "state.json"
        if self._state_file.exists():
            self._state: Record = json.loads(self._state_file.read_text(encoding="utf-8"))
        else:
            self._state = _seed(placement)
            self._save()

    # --- reads -----------------------------------------------------------------------------

    def sak(self, sak_id: int) -> Record:
        sak = self._state["saker"].get(str(sak_id))
        if sak is None:
            raise NotFound(f"no case {sak_id}")
        return dict(sak)

    def journalpost(self, jp_id: int) -> Record:
        record = self._state["journalposter"].get(str(jp_id))
        if record is None:
            raise NotFound(f"no journalpost {jp_id}")
        return _public(record)

    def journalposts_in(self, sak_id: int) -> list[Record]:
        self.sak(sak_id)
        return [
            _public(record)
            for record in self._state["journalposter"].values()
            if record["sakId"] == sak_id
        ]

    def contacts(self, jp_id: int) -> list[Record]:
        self.journalpost(jp_id)
        return [_public(k) for k in self._state["kontakter"].values() if k["_jp"] == jp_id]

    def documents(self, jp_id: int) -> list[Record]:
        self.journalpost(jp_id)
        return [dict(d) for d in self._state["dokumenter"].values() if d["parentJp"] == jp_id]

    def stored_file(self, fil_id: int) -> StoredFile:
        meta = self._state["filer"].get(str(fil_id))
        if meta is None:
            raise NotFound(f"no file {fil_id}")
        return StoredFile(
            fil_id=fil_id,
            filename=meta["filename"],
            content_type=meta["contentType"],
            sha256=meta["sha256"],
            path=self._files / str(fil_id),
        )

    def dump(self) -> Record:
        """Everything, for the `/_standin/state` extension."""
        return copy.deepcopy(self._state)

    # --- writes ----------------------------------------------------------------------------

    def create_journalpost(self, sak_id: int, mal_jp_id: int, tittel: str | None) -> int:
        sak = self.sak(sak_id)
        template = self._state["maler"].get(str(mal_jp_id))
        if template is None:
            raise Refused(f"Invalid MalJpId {mal_jp_id}")
        if sak["avsluttetDato"] is not None:
            raise Refused(f"Case {sak_id} is closed")
        if not tittel or not tittel.strip():
            raise Refused("Tittel is required")
        jp_id = self._next_id("journalpost")
        number = 1 + sum(1 for r in self._state["journalposter"].values() if r["sakId"] == sak_id)
        self._state["journalposter"][str(jp_id)] = {
            "id": jp_id,
            "visningId": f"{sak['visningId']}-{number}",
            "sakId": sak_id,
            "sakVisningId": sak["visningId"],
            "tittel1": tittel,
            "tittel2": template["tittel2"],
            "_malJpId": mal_jp_id,
            "_journalposttype": template["journalposttype"],
            "_screening": sak["screening"],
            "_opprettet": _now(),
        }
        self._save()
        return jp_id

    def add_contact(self, jp_id: int, info: Record, er_kopi_mottaker: bool) -> Record:
        self.journalpost(jp_id)
        if not info.get("navn") and not info.get("epost"):
            raise Refused("A contact needs navn or epost")
        kontakt_id = self._next_id("kontakt")
        kontakt: Record = {
            "id": kontakt_id,
            "navn": info.get("navn"),
            "gidKode": None,
            "kode": None,
            "telefon": info.get("telefon"),
            "epost": info.get("epost"),
            "adresse1": info.get("adresse1"),
            "adresse2": info.get("adresse2"),
            "adresse3": info.get("adresse3"),
            "adresse4": info.get("adresse4"),
            "postnr": info.get("postnr"),
            "poststed": None,
            "land": info.get("landId"),
            "offentligNummer": info.get("offentligNummer"),
            "attention": info.get("attention"),
            "referanse": info.get("referanse"),
            "erPerson": bool(info.get("erPerson")),
            "erKopiMottaker": er_kopi_mottaker,
        }
        self._state["kontakter"][str(kontakt_id)] = {**kontakt, "_jp": jp_id}
        self._save()
        return kontakt

    def add_document(
        self, jp_id: int, filename: str, content_type: str, content: bytes, *, main: bool
    ) -> int:
        journalpost = self._state["journalposter"].get(str(jp_id))
        if journalpost is None:
            raise NotFound(f"no journalpost {jp_id}")
        existing = self.documents(jp_id)
        if main and any(d["dokumentType"] == "Hoveddokument" for d in existing):
            raise Refused(f"Journalpost {jp_id} already has a main document")
        fil_id = self._next_id("fil")
        path = self._files / str(fil_id)
        _write_atomically(path, content)
        sha256 = hashlib.sha256(content).hexdigest()
        self._state["filer"][str(fil_id)] = {
            "filename": filename,
            "contentType": content_type,
            "sha256": sha256,
            "size": len(content),
        }
        dokument_id = self._next_id("dokument")
        kind = "Hoveddokument" if main else "Vedlegg"
        stamp = _now()
        self._state["dokumenter"][str(dokument_id)] = {
            "parentJp": jp_id,
            "id": dokument_id,
            "aktivDokVersjonId": dokument_id,
            "aktivFilId": fil_id,
            "navn": filename,
            "dokumentType": kind,
            "versjoner": [
                {
                    "navn": filename,
                    "id": dokument_id,
                    "parentJp": jp_id,
                    "versjon": 1,
                    "variant": "P",
                    "opprettet": stamp,
                    "endret": stamp,
                    "erAktiv": True,
                    "dokumentType": kind,
                    "dokumentKode": None,
                    "filNavn": filename,
                    "filId": fil_id,
                    "filtype": Path(filename).suffix.lstrip(".").lower() or None,
                    "size": str(len(content)),
                }
            ],
            "graderingKode": journalpost["_screening"],
            "kanLeggeTilNyVersjon": True,
        }
        self._save()
        return dokument_id

    # --- internals -------------------------------------------------------------------------

    def _next_id(self, kind: str) -> int:
        value: int = self._state["next_ids"][kind]
        self._state["next_ids"][kind] = value + 1
        return value

    def _save(self) -> None:
        _write_atomically(
            self._state_file, json.dumps(self._state, ensure_ascii=False, indent=1).encode("utf-8")
        )


def _public(record: Record) -> Record:
    """The record without the stand-in's own bookkeeping (keys starting with `_`)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _seed(placement: WebSakPlacement) -> Record:
    """The reception cases and journalpost templates the placement file names."""
    year = datetime.now(UTC).year % 100
    saker: Record = {}
    for key, cases in placement.departments.items():
        title = cases.title or f"Postmottak e-post – {key}"
        for sak_id, screened in ((cases.reception_case, False), (cases.screened_case, True)):
            saker[str(sak_id)] = {
                "id": sak_id,
                "sakstype": "Mottak",
                "tittel1": title + (" (skjerma)" if screened else ""),
                "tittel2": None,
                "visningId": f"{year:02d}/{sak_id}",
                "visningTittel": title,
                "screening": placement.screening_code if screened else None,
                "avsluttetDato": None,
            }
    maler = {
        str(mal_id): {"tittel2": None, "journalposttype": "I", "navn": "Innkomen e-post"}
        for mal_id in sorted(placement.template_ids())
    } | {
        str(mal_id): {"tittel2": None, "journalposttype": "U", "navn": "Utgåande e-post"}
        for mal_id in sorted(placement.outgoing_template_ids())
    }
    return {
        "next_ids": dict(_FIRST_IDS),
        "saker": saker,
        "maler": maler,
        "journalposter": {},
        "kontakter": {},
        "dokumenter": {},
        "filer": {},
    }
