"""Available names when the server or the content chooses the key."""

from __future__ import annotations

import pytest
from django.core.exceptions import SuspiciousFileOperation

from django_objectstore.storage import ObjectstoreStorage


@pytest.fixture(params=["server", "content"])
def storage(request: pytest.FixtureRequest) -> ObjectstoreStorage:
    return ObjectstoreStorage(base_url="memory://names", usecase="files", key_mode=request.param)


def test_a_valid_name_is_available_as_it_is(storage: ObjectstoreStorage) -> None:
    assert storage.get_available_name("org=1;project=2/report.pdf", max_length=512) == (
        "org=1;project=2/report.pdf"
    )


@pytest.mark.parametrize("name", ["org=1/../org=2/x", "org=1/..", "org=1/", "org=1/a/.."])
def test_forged_or_empty_names_are_refused(storage: ObjectstoreStorage, name: str) -> None:
    with pytest.raises(SuspiciousFileOperation):
        storage.get_available_name(name, max_length=512)


def test_a_max_length_too_short_for_any_stored_name_is_refused(
    storage: ObjectstoreStorage,
) -> None:
    with pytest.raises(SuspiciousFileOperation, match="max_length=20"):
        storage.get_available_name("org=1;project=2/report.pdf", max_length=20)
