"""User-facing text of the command line, in nynorsk (default), bokmål or English.

The language comes from `SAKSPOST_LANGUAGE` (nn, nb, en) or the `--lang` option.
"""

from __future__ import annotations

from services.common.language import Language, in_language, language_of_the_command_line

_TEXTS: dict[str, dict[Language, str]] = {
    "nats_running": {
        "nn": "NATS JetStream køyrer på {url}",
        "nb": "NATS JetStream kjører på {url}",
        "en": "NATS JetStream running at {url}",
    },
    "credentials": {
        "nn": "innlogging til NATS for kvar identitet: {folder}/<identitet>.env (admin, operator, "
        "integrator og éi per teneste). Ein integrator koplar til slik: "
        "`set -a; . {folder}/integrator.env; set +a; sakspost tail` - eller med eigen klient som "
        "brukaren integrator med svarprefikset _INBOX_integrator",
        "nb": "innlogging til NATS for hver identitet: {folder}/<identitet>.env (admin, operator, "
        "integrator og én per tjeneste). En integrator kobler til slik: "
        "`set -a; . {folder}/integrator.env; set +a; sakspost tail` - eller med egen klient som "
        "brukeren integrator med svarprefikset _INBOX_integrator",
        "en": "NATS logins for every identity: {folder}/<identity>.env (admin, operator, "
        "integrator and one per service). An integrator connects like this: "
        "`set -a; . {folder}/integrator.env; set +a; sakspost tail` - or with its own client as "
        "user integrator with the reply inbox prefix _INBOX_integrator",
    },
    "started": {
        "nn": "starta {name} (pid {pid}, port {port})",
        "nb": "startet {name} (pid {pid}, port {port})",
        "en": "started {name} (pid {pid}, port {port})",
    },
    "ready": {"nn": "{name} er klar", "nb": "{name} er klar", "en": "{name} is ready"},
    "not_ready": {
        "nn": "ikkje klar etter {seconds} s: {names} (sjå loggane i {logs})",
        "nb": "ikke klar etter {seconds} s: {names} (se loggene i {logs})",
        "en": "not ready after {seconds} s: {names} (see the logs in {logs})",
    },
    "restarting": {
        "nn": "{name} stoppa (kode {code}); startar på nytt",
        "nb": "{name} stoppet (kode {code}); starter på nytt",
        "en": "{name} stopped (code {code}); restarting",
    },
    "gave_up": {
        "nn": "{name} stoppa {count} gonger; sjå {log}",
        "nb": "{name} stoppet {count} ganger; se {log}",
        "en": "{name} stopped {count} times; see {log}",
    },
    "stopping": {"nn": "stoppar {name}", "nb": "stopper {name}", "en": "stopping {name}"},
    "killing": {
        "nn": "{name} svara ikkje på SIGTERM; avsluttar han",
        "nb": "{name} svarte ikke på SIGTERM; avslutter den",
        "en": "{name} ignored SIGTERM; killing it",
    },
    "nats_stopped": {"nn": "NATS stoppa", "nb": "NATS stoppet", "en": "NATS stopped"},
    "stack_up": {
        "nn": "Sakspost køyrer. Ctrl-C stoppar alt.",
        "nb": "Sakspost kjører. Ctrl-C stopper alt.",
        "en": "Sakspost is running. Ctrl-C stops everything.",
    },
    "demo_delivering": {
        "nn": "demo: leverer {count} e-postar frå {source} ({how})",
        "nb": "demo: leverer {count} e-poster fra {source} ({how})",
        "en": "demo: delivering {count} mails from {source} ({how})",
    },
    "stopped_all": {
        "nn": "alt er stoppa",
        "nb": "alt er stoppet",
        "en": "everything is stopped",
    },
    "injected": {
        "nn": "{file} → {subject} (sak {case_id})",
        "nb": "{file} → {subject} (sak {case_id})",
        "en": "{file} → {subject} (case {case_id})",
    },
    "injected_duplicate": {
        "nn": "{file}: kjend frå før (sak {case_id}); ingen ny hending",
        "nb": "{file}: kjent fra før (sak {case_id}); ingen ny hendelse",
        "en": "{file}: already known (case {case_id}); no new event",
    },
    "schemas_written": {
        "nn": "skreiv {count} filer",
        "nb": "skrev {count} filer",
        "en": "wrote {count} files",
    },
    "schemas_stale": {
        "nn": "desse filene er ikkje oppdaterte (køyr `sakspost schemas export`): {files}",
        "nb": "disse filene er ikke oppdatert (kjør `sakspost schemas export`): {files}",
        "en": "these files are stale (run `sakspost schemas export`): {files}",
    },
    "schemas_current": {
        "nn": "skjema og AsyncAPI-dokument er oppdaterte",
        "nb": "skjema og AsyncAPI-dokumenter er oppdatert",
        "en": "schemas and AsyncAPI documents are current",
    },
    "all_ready": {"nn": "alt er klart", "nb": "alt er klart", "en": "all ready"},
    "some_not_ready": {
        "nn": "ikkje alt er klart",
        "nb": "ikke alt er klart",
        "en": "not everything is ready",
    },
}


def text(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)
