"""The organisation file (R5, R8, R10): Hå's default and clear errors for bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from services.common.orgconfig import OrgConfigError, load_organisation
from services.common.settings import DEFAULT_ORG_CONFIG
from tests.conftest import SAMPLES

R5_ADDRESSES = {
    "post": "post@ha.kommune.no",
    "teknisk": "teknisk@ha.kommune.no",
    "stab": "stab@ha.kommune.no",
    "skule": "skule@ha.kommune.no",
    "kultur": "kultur@ha.kommune.no",
    "bygg": "bygg@ha.kommune.no",
    "it": "it@ha.kommune.no",
    "helse": "helse@ha.kommune.no",
}


def test_default_organisation_has_the_eight_addresses_of_r5() -> None:  # R5
    org = load_organisation(DEFAULT_ORG_CONFIG)
    assert {k: d.addresses for k, d in org.departments.items()} == {
        k: [a] for k, a in R5_ADDRESSES.items()
    }
    assert org.common_department == "post"
    for key, address in R5_ADDRESSES.items():
        assert org.department_for_address(address.upper()) == key
    # skule@ and kultur@ are both education and culture and share staff.
    assert org.departments["skule"].service_area == org.departments["kultur"].service_area
    assert set(org.departments["skule"].caseworkers) & set(org.departments["kultur"].caseworkers)


def test_every_department_has_supervisors_and_caseworkers() -> None:  # R8, R10
    org = load_organisation(DEFAULT_ORG_CONFIG)
    for department in org.departments.values():
        assert department.supervisors and department.caseworkers


def test_staff_addresses_in_the_samples_are_staff() -> None:
    org = load_organisation(DEFAULT_ORG_CONFIG)
    personal = set()
    for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["mailbox_kind"] != "personal":
            continue
        text = (SAMPLES / label["file"]).read_bytes().decode("utf-8", "replace")
        to_line = next(x for x in text.splitlines() if x.lower().startswith("to:"))
        personal.update(re.findall(r"[a-z0-9._-]+@ha\.kommune\.no", to_line.lower()))
    assert personal
    assert sorted(a for a in personal if org.staff_by_email(a) is None) == []


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _default() -> dict[str, object]:
    loaded = yaml.safe_load(DEFAULT_ORG_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["departments"]["bygg"]["supervisors"].append("nobody"),
            r"departments\.bygg\.supervisors: unknown staff id 'nobody' \(fix: add it",
        ),
        (
            lambda d: d["departments"]["it"]["addresses"].append("post@ha.kommune.no"),
            r"post@ha\.kommune\.no belongs to both 'post' and 'it' \(fix:",
        ),
        (
            lambda d: d["departments"].update({"Bygg.X": d["departments"]["bygg"]}),
            r"not a valid subject token",
        ),
        (lambda d: d.pop("no_reply_address"), r"no_reply_address: is required \(fix: add it\)"),
        (lambda d: d.update({"colour": "blue"}), r"colour: is not a known field \(fix:"),
        (
            lambda d: d["departments"]["it"].update({"addresses": ["not an address"]}),
            r"departments\.it\.addresses: .*is not an e-mail address \(fix:",
        ),
        (
            lambda d: d.update({"no_reply_address": "post@ha.kommune.no"}),
            r"no_reply_address .* is a watched official address",
        ),
        (
            lambda d: d["departments"]["it"]["words"].append("  "),
            r"departments\.it\.words: .*an empty entry \(fix:",
        ),
    ],
)
def test_bad_files_get_an_error_naming_file_field_and_fix(
    tmp_path: Path, change: object, expected: str
) -> None:
    data = _default()
    change(data)  # type: ignore[operator]
    path = _write(tmp_path, data)
    with pytest.raises(OrgConfigError) as error:
        load_organisation(path)
    message = str(error.value)
    assert message.startswith(str(path))
    assert re.search(expected, message), message


def test_unreadable_and_non_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(OrgConfigError, match="cannot read the organisation file"):
        load_organisation(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("departments: [unclosed", encoding="utf-8")
    with pytest.raises(OrgConfigError, match="not valid YAML"):
        load_organisation(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text", encoding="utf-8")
    with pytest.raises(OrgConfigError, match="expected a mapping"):
        load_organisation(scalar)
