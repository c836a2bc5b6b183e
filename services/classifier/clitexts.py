"""Text of `sakspost classify`'s model commands in nynorsk (default), bokmål or English: the
language of `SAKSPOST_LANGUAGE`, which `sakspost --lang` sets."""

from __future__ import annotations

from services.common.language import Language, in_language, language_of_the_command_line

_TEXTS: dict[str, dict[Language, str]] = {
    "no_titles": {
        "nn": "finn ikkje journaltitlane ({path}): figurane for verkelege titlar manglar",
        "nb": "finner ikke journaltitlene ({path}): tallene for ekte titler mangler",
        "en": "real journal titles not found ({path}): no real-title figures",
    },
    "titles_table": {
        "nn": "E-post bygd på verkelege journaltitlar (til post@, alle arkivverdige)",
        "nb": "E-post bygget på ekte journaltitler (til post@, alle arkivverdige)",
        "en": "Mail built on real journal titles (to post@, all archival)",
    },
    "set": {"nn": "Sett", "nb": "Sett", "en": "Set"},
    "mails": {"nn": "E-postar", "nb": "E-poster", "en": "Mails"},
    "recall": {
        "nn": "Arkivverdig treffprosent",
        "nb": "Arkivverdig treffprosent",
        "en": "Arkivverdig recall",
    },
    "department": {"nn": "Rett avdeling", "nb": "Riktig avdeling", "en": "Right department"},
    "calibration": {
        "nn": "Kalibrering: av e-post kalla arkivverdig med sikkerheit ≥ c, kor mange var det",
        "nb": "Kalibrering: av e-post kalt arkivverdig med sikkerhet ≥ c, hvor mange var det",
        "en": "Calibration: of mail called arkivverdig with confidence ≥ c, how many were",
    },
    "threshold": {"nn": "Sikkerheit ≥", "nb": "Sikkerhet ≥", "en": "Confidence ≥"},
    "called": {"nn": "Kalla arkivverdig", "nb": "Kalt arkivverdig", "en": "Called arkivverdig"},
    "right": {"nn": "Var arkivverdig", "nb": "Var arkivverdig", "en": "Were arkivverdig"},
    "ms_per_mail": {
        "nn": "Tid: {ms:.2f} ms per e-post (éin kjerne)",
        "nb": "Tid: {ms:.2f} ms per e-post (én kjerne)",
        "en": "Time: {ms:.2f} ms per mail (one core)",
    },
    "model_in_use": {
        "nn": "Modell i bruk: {version}",
        "nb": "Modell i bruk: {version}",
        "en": "Model in use: {version}",
    },
    "no_model": {
        "nn": "ingen modell i bruk: berre reglane avgjer",
        "nb": "ingen modell i bruk: bare reglene avgjør",
        "en": "no model in use: the rules decide alone",
    },
    "explain_title": {
        "nn": "{file}: {mail_class} ({confidence:.2f}), avdeling {department}",
        "nb": "{file}: {mail_class} ({confidence:.2f}), avdeling {department}",
        "en": "{file}: {mail_class} ({confidence:.2f}), department {department}",
    },
    "explain_reasons": {
        "nn": "  grunnar: {reasons}",
        "nb": "  grunner: {reasons}",
        "en": "  reasons: {reasons}",
    },
    "explain_class_terms": {
        "nn": "  sterkaste ord for {label} i modellen: {terms}",
        "nb": "  sterkeste ord for {label} i modellen: {terms}",
        "en": "  the model's strongest terms for {label}: {terms}",
    },
    "explain_department_terms": {
        "nn": "  sterkaste ord for avdeling {label}: {terms}",
        "nb": "  sterkeste ord for avdeling {label}: {terms}",
        "en": "  strongest terms for department {label}: {terms}",
    },
    "explain_scores": {
        "nn": "  poeng: {scores}; modellen: {model}",
        "nb": "  poeng: {scores}; modellen: {model}",
        "en": "  scores: {scores}; the model: {model}",
    },
    "trained": {
        "nn": "Ny modell {version}: {path} (rapport: {report}). Ikkje i bruk før --promote.",
        "nb": "Ny modell {version}: {path} (rapport: {report}). Ikke i bruk før --promote.",
        "en": "New model {version}: {path} (report: {report}). Not in use until --promote.",
    },
    "corrections_read": {
        "nn": "{count} rettingar lesne, {used} med e-post i {mail}; {held} haldne att til måling",
        "nb": "{count} rettelser lest, {used} med e-post i {mail}; {held} holdt tilbake til måling",
        "en": "{count} corrections read, {used} with mail in {mail}; {held} held back to measure",
    },
    "agreement": {
        "nn": "Samd med folk på rettingar haldne att",
        "nb": "Enig med folk på rettelser holdt tilbake",
        "en": "Agrees with people on held-back corrections",
    },
    "compare_title": {
        "nn": "Gjeldande modell og kandidat",
        "nb": "Gjeldende modell og kandidat",
        "en": "Current model and candidate",
    },
    "figure": {"nn": "Mål", "nb": "Mål", "en": "Figure"},
    "fig_accuracy": {"nn": "treffsikkerheit", "nb": "treffsikkerhet", "en": "accuracy"},
    "fig_recall": {
        "nn": "arkivverdig treffprosent",
        "nb": "arkivverdig treffprosent",
        "en": "arkivverdig recall",
    },
    "fig_precision": {
        "nn": "arkivverdig presisjon",
        "nb": "arkivverdig presisjon",
        "en": "arkivverdig precision",
    },
    "fig_privat": {"nn": "privat presisjon", "nb": "privat presisjon", "en": "privat precision"},
    "fig_department": {"nn": "rett avdeling", "nb": "riktig avdeling", "en": "department"},
    "fig_ms": {"nn": "ms per e-post", "nb": "ms per e-post", "en": "ms per mail"},
    "current": {
        "nn": "Gjeldande ({version})",
        "nb": "Gjeldende ({version})",
        "en": "Current ({version})",
    },
    "candidate": {
        "nn": "Kandidat ({version})",
        "nb": "Kandidat ({version})",
        "en": "Candidate ({version})",
    },
    "promote_hint": {
        "nn": "Ta kandidaten i bruk: sakspost classify --promote {version} --by DIN-ID",
        "nb": "Ta kandidaten i bruk: sakspost classify --promote {version} --by DIN-ID",
        "en": "To use the candidate: sakspost classify --promote {version} --by YOUR-ID",
    },
    "promoted": {
        "nn": "Modell {version} er no i bruk (av {by}, {at}). Start klassifiseraren på nytt.",
        "nb": "Modell {version} er nå i bruk (av {by}, {at}). Start klassifisereren på nytt.",
        "en": "Model {version} is now in use (by {by}, {at}). Restart the classifier.",
    },
    "by_required": {
        "nn": "--promote treng --by ID (kven som avgjer)",
        "nb": "--promote trenger --by ID (hvem som avgjør)",
        "en": "--promote needs --by ID (who decides)",
    },
    "learn_needs": {
        "nn": "--corrections FIL.jsonl og --mail MAPPE (med <saks-id>.eml) høyrer saman; "
        "utan dei les --learn rettingane frå NATS",
        "nb": "--corrections FIL.jsonl og --mail MAPPE (med <saks-id>.eml) hører sammen; "
        "uten dem leser --learn rettelsene fra NATS",
        "en": "--corrections FILE.jsonl and --mail DIR (holding <case-id>.eml) go together; "
        "without them --learn reads the corrections from NATS",
    },
    "mime_store": {
        "nn": "MIME-lageret",
        "nb": "MIME-lageret",
        "en": "the MIME store",
    },
}


def text(key: str, **values: object) -> str:
    return in_language(_TEXTS[key], language_of_the_command_line()).format(**values)
