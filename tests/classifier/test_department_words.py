"""Any municipality teaches Sakspost its organisation (issue 18): a department's `words` in the
organisation file move post@ mail to it at once, without a new model."""

from __future__ import annotations

from email.message import EmailMessage

from services.classifier.corpus import classify_mime
from services.classifier.department import org_word_hits
from services.classifier.engine import Classifier
from services.classifier.ruleset import default_rules
from services.common.orgconfig import Organisation

RULES_ONLY = Classifier(default_rules())


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Eirik <eirik@epost.example>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = "Snøscooter på stien"
    message.set_content("Hei, kven har ansvaret når det køyrer snøscooter på stien ved vatnet?")
    return message.as_bytes()


def _with_words(org: Organisation, department: str, words: list[str]) -> Organisation:
    changed = org.departments[department].model_copy(update={"words": words})
    return org.model_copy(update={"departments": {**org.departments, department: changed}})


def test_whole_words_only_any_case() -> None:
    assert org_word_hits("Om SNØSCOOTER i dag", ["snøscooter"]) == 1
    assert org_word_hits("snøscooterløype", ["snøscooter"]) == 0
    assert org_word_hits("gnr 4 bnr 7", ["gnr", "bnr", "tomt"]) == 2


def test_a_departments_words_move_post_mail_to_it(org: Organisation) -> None:
    assert classify_mime(_mail(), RULES_ONLY, org).suggested_department == "post"
    taught = _with_words(org, "kultur", ["snøscooter"])
    result = classify_mime(_mail(), RULES_ONLY, taught)
    assert result.suggested_department == "kultur"
    assert result.reasons[-1] == "department.vocabulary"


def test_phrases_and_hyphenated_words_match_whole() -> None:
    assert org_word_hits("Tilvising til PP-tenesta - NN", ["PP-tenesta"]) == 1
    assert org_word_hits("Sakkyndig vurdering frå PPT", ["sakkyndig vurdering", "ppt"]) == 2
    assert org_word_hits("vurdering, sakkyndig", ["sakkyndig vurdering"]) == 0
    assert org_word_hits("Psykisk helse", ["psykisk helse", "helse", "psykisk"]) == 3


def test_a_tie_stays_with_post_even_without_a_margin(org: Organisation) -> None:
    # Two departments claim the same word equally: neither leads, so post@ keeps the mail rather
    # than the order of the files choosing.
    assert RULES_ONLY.rules.departments.margin == 0.0
    taught = _with_words(_with_words(org, "kultur", ["snøscooter"]), "teknisk", ["snøscooter"])
    assert classify_mime(_mail(), RULES_ONLY, taught).suggested_department == "post"
    alone = _with_words(org, "teknisk", ["snøscooter"])
    assert classify_mime(_mail(), RULES_ONLY, alone).suggested_department == "teknisk"


def _post(subject: str, body: str = "Sjå vedlegg.") -> bytes:
    message = EmailMessage()
    message["From"] = "NN <nn@epost.example>"
    message["To"] = "post@ha.kommune.no"
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def test_a_job_application_goes_to_stab_whatever_post_and_unit_it_names(org: Organisation) -> None:
    # The recruitment form names the post and the unit, both another department's words; staff
    # matters are stab's (the rule file's deciding_topics).
    for subject in (
        "Søknad - Helsefagarbeider natt - Heimetenesta sør",
        "Søknad - Lærar 1.-4. trinn - Nordli skule",
        "Søknad på stilling som sjukepleiar ved sjukeheimen",
        "Søknad - Helse- og omsorgsarbeider - Bufellesskapet Lia",
        "Tilbod om vikariat som barnehagelærar ved Solstrand barnehage",
    ):
        result = classify_mime(_post(subject), RULES_ONLY, org)
        assert (result.suggested_department, result.reasons[-1]) == ("stab", "department.topic")


def test_a_notice_ending_a_place_is_not_a_job_application(org: Organisation) -> None:
    result = classify_mime(
        _post("Oppseiing av barnehageplass", "Vi seier opp plassen til dottera vår frå 1. mars."),
        RULES_ONLY,
        org,
    )
    assert result.reasons[-1] != "department.topic"
    assert result.suggested_department == "skule"
