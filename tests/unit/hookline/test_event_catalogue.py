"""The global event-type catalogue and JSON Schema checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookline.event_catalogue import CatalogueError, check_schema, load_catalogue, schema_errors, valid_name


def test_webhook_test_always_exists() -> None:
    assert set(load_catalogue(None)) == {"webhook.test"}


def test_a_yaml_catalogue_is_loaded_with_its_schemas(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text(
        "event_types:\n"
        "  - name: member.added\n"
        "    description: A member joined\n"
        "    schema: {type: object, required: [member_id]}\n"
        "  - name: member.removed\n"
    )
    catalogue = load_catalogue(str(path))
    assert set(catalogue) == {"webhook.test", "member.added", "member.removed"}
    assert catalogue["member.added"].schema == {"type": "object", "required": ["member_id"]}


def test_a_json_mapping_catalogue_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "types.json"
    path.write_text('{"invoice.paid": {"description": "Paid"}, "invoice.voided": null}')
    assert {"invoice.paid", "invoice.voided"} <= set(load_catalogue(str(path)))


def test_a_catalogue_with_a_bad_schema_or_name_is_refused(tmp_path: Path) -> None:
    bad_schema = tmp_path / "a.yaml"
    bad_schema.write_text("- name: x.y\n  schema: {type: 12}\n")
    with pytest.raises(CatalogueError, match="invalid JSON Schema"):
        load_catalogue(str(bad_schema))
    bad_name = tmp_path / "b.yaml"
    bad_name.write_text("- name: 'Bad Name'\n")
    with pytest.raises(CatalogueError, match="bad event type name"):
        load_catalogue(str(bad_name))


def test_data_is_checked_against_the_schema_with_readable_messages() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    check_schema(schema)
    assert schema_errors(schema, {"n": 1}) == []
    assert schema_errors(schema, {"n": "x"}) == ["n: 'x' is not of type 'integer'"]
    assert schema_errors(schema, {}) == ["(root): 'n' is a required property"]
    assert schema_errors(None, {"anything": True}) == []


@pytest.mark.parametrize("name", ["member.added", "a", "invoice_paid.v2", "x-y.z"])
def test_good_names(name: str) -> None:
    assert valid_name(name)


@pytest.mark.parametrize("name", ["", "Member", "a..b", ".a", "a.", "a b", "x" * 129])
def test_bad_names(name: str) -> None:
    assert not valid_name(name)
