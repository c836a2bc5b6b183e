"""Real unit names -> Hå's departments (services/classifier/units.py): the mapping the model's
weak-labelled department text rests on, checked on names as municipalities write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.classifier.units import labelled_units, read_rules, unit_department

RULES = read_rules()


@pytest.mark.parametrize(
    ("name", "parent", "department"),
    [
        ("Solheim sykehjem", "Enhet Sykehjem", "helse"),
        ("Sentralkjøkken", "Enhet Sykehjem", "helse"),  # its own name says nothing: the parent
        ("Kulturskolen", "Oppvekst", "kultur"),  # before skule
        ("Pedagogisk psykologisk senter", "", "skule"),  # PPT, not health
        ("Løten ungdomsskole", "", "skule"),
        ("Enhet for bosetting, opplæring og inkludering", "", "helse"),
        ("Byggesak", "Plan, miljø og eiendom", "bygg"),
        ("Kommunalteknikk", "", "teknisk"),
        ("IKT", "Rådmannen", "it"),
        ("Økonomiseksjonen", "", "stab"),
        ("Servicetorget", "", "post"),
        ("Ufordelt/sendt tilbake til arkiv", "", None),
        ("Hmm", "Tvedestrand kommune", None),
    ],
)
def test_unit_names_map_to_departments(name: str, parent: str, department: str | None) -> None:
    assert unit_department(name, parent, RULES) == department


def test_each_name_once_and_unmapped_left_out(tmp_path: Path) -> None:
    units = tmp_path / "units.tsv"
    units.write_text(
        "kommunenummer_2019\tmunicipality\tunit_code\tunit_name\tparent_unit\n"
        "0101\tA\t1\tSolheim sykehjem\tEnhet Sykehjem\n"
        "0102\tB\t2\tsolheim SYKEHJEM\t\n"
        "0103\tC\t3\tUfordelt\tRådmannen\n",
        encoding="utf-8",
    )
    assert list(labelled_units(units, RULES)) == [("Solheim sykehjem", "helse")]
