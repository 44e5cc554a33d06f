"""``need``: a missing service skips its test, and fails it under XIMILAR_REQUIRE_SERVICES (CI's .ci/run).

In process: pytest turns the exceptions of ``pytest.skip`` and ``pytest.fail`` into the outcomes, and a
pytest subprocess per case would cost seconds of Django start-up for what these show in milliseconds.
"""

from __future__ import annotations

import pytest

from tests.conftest import REQUIRE_SERVICES, need


@pytest.fixture(autouse=True)
def no_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_SERVICES, raising=False)
    monkeypatch.delenv("REQUIRE_BROWSER", raising=False)


def test_a_present_service_neither_skips_nor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    need("/usr/bin/redis-server", "no redis-server")
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    need(True, "no Postgres")


@pytest.mark.parametrize("value", [None, "", "0"])
def test_a_missing_service_skips_saying_why_unless_required(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is not None:
        monkeypatch.setenv(REQUIRE_SERVICES, value)
    with pytest.raises(pytest.skip.Exception, match="no Redis at REDIS_URL"):
        need(None, "no Redis at REDIS_URL")


def test_a_missing_service_fails_where_services_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match=f"no SeaweedFS; {REQUIRE_SERVICES} is set"):
        need(False, "no SeaweedFS")


def test_a_tool_of_its_own_variable_fails_under_either(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.skip.Exception):
        need(False, "no Chromium", variable="REQUIRE_BROWSER")
    monkeypatch.setenv("REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_BROWSER is set"):
        need(False, "no Chromium", variable="REQUIRE_BROWSER")
    monkeypatch.delenv("REQUIRE_BROWSER")
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_SERVICES} is set"):
        need(False, "no Chromium", variable="REQUIRE_BROWSER")
