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
    "demo_overview": {
        "nn": "demo: oversikta er på {url}; logg inn ved å velje ein tilsett på innloggingssida "
        "til Graph-emulatoren (t.d. tilsynet {email}). Sertifikatet til innloggingssida er laga "
        "lokalt: godta det i nettlesaren første gongen",
        "nb": "demo: oversikten er på {url}; logg inn ved å velge en ansatt på innloggingssiden "
        "til Graph-emulatoren (f.eks. tilsynet {email}). Sertifikatet til innloggingssiden er "
        "laget lokalt: godta det i nettleseren første gang",
        "en": "demo: the overview is at {url}; sign in by choosing a staff member on the Graph "
        "emulator's sign-in page (e.g. the supervisor {email}). The sign-in page's certificate "
        "is made locally: accept it in the browser the first time",
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
    "nats_lost": {
        "nn": "Sambandet med NATS fall bort: {reason}",
        "nb": "Forbindelsen med NATS falt bort: {reason}",
        "en": "The connection to NATS was lost: {reason}",
    },
    "api_no_answer": {
        "nn": "JetStream svarar ikkje på {subject} (er JetStream slått på?)",
        "nb": "JetStream svarer ikke på {subject} (er JetStream slått på?)",
        "en": "JetStream does not answer on {subject} (is JetStream enabled?)",
    },
    "api_denied": {
        "nn": "Manglar løyve til {subject}: {detail}",
        "nb": "Mangler tillatelse til {subject}: {detail}",
        "en": "No permission for {subject}: {detail}",
    },
    "api_refused": {
        "nn": "JetStream avviste {subject}: {detail}",
        "nb": "JetStream avviste {subject}: {detail}",
        "en": "JetStream refused {subject}: {detail}",
    },
    "api_stalled": {
        "nn": "JetStream slutta å sende etter {subject}",
        "nb": "JetStream sluttet å sende etter {subject}",
        "en": "JetStream stopped sending after {subject}",
    },
    "api_aborted": {
        "nn": "JetStream avbraut {subject}: {detail}",
        "nb": "JetStream avbrøt {subject}: {detail}",
        "en": "JetStream aborted {subject}: {detail}",
    },
    "backup_exists": {
        "nn": "{dir} finst frå før: ein tryggingskopi blir aldri skriven over (vel ei ny mappe)",
        "nb": "{dir} finnes fra før: en sikkerhetskopi blir aldri skrevet over (velg en ny mappe)",
        "en": "{dir} already exists: a backup is never overwritten (choose a new directory)",
    },
    "backup_unwritable": {
        "nn": "Kan ikkje skrive tryggingskopien i {dir}: {reason}",
        "nb": "Kan ikke skrive sikkerhetskopien i {dir}: {reason}",
        "en": "Cannot write the backup in {dir}: {reason}",
    },
    "backup_missing_streams": {
        "nn": "JetStream manglar {streams} (køyr `sakspost provision` først)",
        "nb": "JetStream mangler {streams} (kjør `sakspost provision` først)",
        "en": "JetStream lacks {streams} (run `sakspost provision` first)",
    },
    "backup_stream": {
        "nn": "{stream}: {messages} meldingar, siste sekvens {last_seq}, {consumers} konsumentar"
        " → {file} ({size})",
        "nb": "{stream}: {messages} meldinger, siste sekvens {last_seq}, {consumers} konsumenter"
        " → {file} ({size})",
        "en": "{stream}: {messages} messages, last sequence {last_seq}, {consumers} consumers"
        " → {file} ({size})",
    },
    "backup_done": {
        "nn": "tryggingskopien er i {dir}: {count} straumar, {size}, {seconds} s",
        "nb": "sikkerhetskopien er i {dir}: {count} strømmer, {size}, {seconds} s",
        "en": "the backup is in {dir}: {count} streams, {size}, {seconds} s",
    },
    "restore_no_manifest": {
        "nn": "{dir} har ingen {manifest}: det er ikkje ein fullført tryggingskopi",
        "nb": "{dir} har ingen {manifest}: det er ikke en fullført sikkerhetskopi",
        "en": "{dir} has no {manifest}: it is not a finished backup",
    },
    "restore_bad_manifest": {
        "nn": "{path} er skadd ({reason}); ingenting er gjenoppretta",
        "nb": "{path} er skadet ({reason}); ingenting er gjenopprettet",
        "en": "{path} is damaged ({reason}); nothing was restored",
    },
    "restore_damaged": {
        "nn": "Tryggingskopien i {dir} er skadd: {files} manglar eller stemmer ikkje med SHA-256"
        " i {manifest}; ingenting er gjenoppretta",
        "nb": "Sikkerhetskopien i {dir} er skadet: {files} mangler eller stemmer ikke med SHA-256"
        " i {manifest}; ingenting er gjenopprettet",
        "en": "The backup in {dir} is damaged: {files} missing or not matching their SHA-256 in"
        " {manifest}; nothing was restored",
    },
    "restore_verified": {
        "nn": "{count} filer stemmer med {manifest} (tryggingskopi frå {at}, Sakspost {version})",
        "nb": "{count} filer stemmer med {manifest} (sikkerhetskopi fra {at}, Sakspost {version})",
        "en": "{count} files match {manifest} (backup of {at}, Sakspost {version})",
    },
    "restore_not_empty": {
        "nn": "JetStream har alt {streams}: gjenoppretting går berre til ein tom JetStream"
        " (stopp tenestene og start NATS med tomt lager)",
        "nb": "JetStream har allerede {streams}: gjenoppretting går bare til en tom JetStream"
        " (stopp tjenestene og start NATS med tomt lager)",
        "en": "JetStream already holds {streams}: a restore goes only into an empty JetStream"
        " (stop the services and start NATS with an empty store)",
    },
    "restore_stream": {
        "nn": "{stream}: {messages} meldingar, siste sekvens {last_seq}, {consumers} konsumentar",
        "nb": "{stream}: {messages} meldinger, siste sekvens {last_seq}, {consumers} konsumenter",
        "en": "{stream}: {messages} messages, last sequence {last_seq}, {consumers} consumers",
    },
    "restore_count": {
        "nn": "{stream}: {messages} meldingar og siste sekvens {last_seq}, men tryggingskopien"
        " har {expected_messages} og {expected_last_seq}",
        "nb": "{stream}: {messages} meldinger og siste sekvens {last_seq}, men sikkerhetskopien"
        " har {expected_messages} og {expected_last_seq}",
        "en": "{stream}: {messages} messages and last sequence {last_seq}, but the backup has"
        " {expected_messages} and {expected_last_seq}",
    },
    "restore_missing_consumers": {
        "nn": "{stream}: konsumentane {consumers} kom ikkje attende",
        "nb": "{stream}: konsumentene {consumers} kom ikke tilbake",
        "en": "{stream}: the consumers {consumers} did not come back",
    },
    "restore_rewound": {
        "nn": "{stream}: {consumer} held fram etter sekvens {floor}, der han var då"
        " tryggingskopien byrja (det som kom etter, blir handsama på nytt)",
        "nb": "{stream}: {consumer} fortsetter etter sekvens {floor}, der den var da"
        " sikkerhetskopien begynte (det som kom etter, blir behandlet på nytt)",
        "en": "{stream}: {consumer} continues after sequence {floor}, where it was when the"
        " backup began (what came after is handled again)",
    },
    "restore_stopped": {
        "nn": "{reason} (alt gjenoppretta: {done}; tøm JetStream-lageret før eit nytt forsøk)",
        "nb": "{reason} (allerede gjenopprettet: {done}; tøm JetStream-lageret før et nytt forsøk)",
        "en": "{reason} (already restored: {done}; empty the JetStream store before trying again)",
    },
    "restore_wrong": {
        "nn": "Gjenopprettinga stemmer ikkje med tryggingskopien for {streams}",
        "nb": "Gjenopprettingen stemmer ikke med sikkerhetskopien for {streams}",
        "en": "The restore does not match the backup for {streams}",
    },
    "restore_done": {
        "nn": "gjenoppretta {count} straumar frå {dir}; start Sakspost att"
        " (provisjoneringa oppdaterer resten av oppsettet)",
        "nb": "gjenopprettet {count} strømmer fra {dir}; start Sakspost igjen"
        " (provisjoneringen oppdaterer resten av oppsettet)",
        "en": "restored {count} streams from {dir}; start Sakspost again"
        " (provisioning brings the rest of the layout up to date)",
    },
    "login_unconfigured": {
        "nn": "Veit ikkje kvar ein loggar inn: set SAKSPOST_AUTH_TENANT_ID og"
        " SAKSPOST_AUTH_CLIENT_ID (eller start Sakspost lokalt med `sakspost up`)",
        "nb": "Vet ikke hvor man logger inn: sett SAKSPOST_AUTH_TENANT_ID og"
        " SAKSPOST_AUTH_CLIENT_ID (eller start Sakspost lokalt med `sakspost up`)",
        "en": "Nowhere to sign in: set SAKSPOST_AUTH_TENANT_ID and SAKSPOST_AUTH_CLIENT_ID"
        " (or start Sakspost locally with `sakspost up`)",
    },
    "login_unreachable": {
        "nn": "Får ikkje kontakt med Entra ID på {authority}: {reason}",
        "nb": "Får ikke kontakt med Entra ID på {authority}: {reason}",
        "en": "Cannot reach Entra ID at {authority}: {reason}",
    },
    "login_failed": {
        "nn": "Innlogginga gjekk ikkje: {reason}",
        "nb": "Innloggingen mislyktes: {reason}",
        "en": "Sign-in failed: {reason}",
    },
    "login_refused": {
        "nn": "Innlogginga di vart ikkje godteken ({reason}): køyr `sakspost login` på nytt",
        "nb": "Innloggingen din ble ikke godtatt ({reason}): kjør `sakspost login` på nytt",
        "en": "Your sign-in was not accepted ({reason}): run `sakspost login` again",
    },
    "login_needed": {
        "nn": "Du er ikkje innlogga (eller innlogginga har gått ut): køyr `sakspost login`",
        "nb": "Du er ikke innlogget (eller innloggingen har gått ut): kjør `sakspost login`",
        "en": "You are not signed in (or your sign-in has expired): run `sakspost login`",
    },
    "operator_incomplete": {
        "nn": "Set både SAKSPOST_OPERATOR_CLIENT_ID og SAKSPOST_OPERATOR_CLIENT_SECRET"
        " (eller ingen av dei)",
        "nb": "Sett både SAKSPOST_OPERATOR_CLIENT_ID og SAKSPOST_OPERATOR_CLIENT_SECRET"
        " (eller ingen av dem)",
        "en": "Set both SAKSPOST_OPERATOR_CLIENT_ID and SAKSPOST_OPERATOR_CLIENT_SECRET"
        " (or neither)",
    },
    "login_open": {
        "nn": "Opne {uri} i ein nettlesar og skriv inn koden {code}",
        "nb": "Åpne {uri} i en nettleser og skriv inn koden {code}",
        "en": "Open {uri} in a web browser and enter the code {code}",
    },
    "login_done": {
        "nn": "Innlogga som {who}",
        "nb": "Innlogget som {who}",
        "en": "Signed in as {who}",
    },
    "login_operator": {
        "nn": "SAKSPOST_OPERATOR_CLIENT_ID er sett: kommandoane går som operatørapplikasjonen,"
        " ikkje som deg (fjern variablane for å logge inn sjølv)",
        "nb": "SAKSPOST_OPERATOR_CLIENT_ID er satt: kommandoene går som operatørapplikasjonen,"
        " ikke som deg (fjern variablene for å logge inn selv)",
        "en": "SAKSPOST_OPERATOR_CLIENT_ID is set: commands run as the operator application,"
        " not as you (unset the variables to sign in yourself)",
    },
    "logout_done": {"nn": "Du er logga ut", "nb": "Du er logget ut", "en": "You are signed out"},
    "logout_none": {
        "nn": "Ingen var innlogga",
        "nb": "Ingen var innlogget",
        "en": "Nobody was signed in",
    },
    "whoami_app": {
        "nn": "operatørapplikasjonen {app}",
        "nb": "operatørapplikasjonen {app}",
        "en": "the operator application {app}",
    },
    "login_as_unavailable": {
        "nn": "--as finst berre med Graph-emulatoren (devtools) i ei utviklingsutsjekking",
        "nb": "--as finnes bare med Graph-emulatoren (devtools) i en utviklingsutsjekk",
        "en": "--as exists only with the Graph emulator (devtools) in a development checkout",
    },
}


def text(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)
