"""The API against its own OpenAPI schema: Schemathesis (its coverage, fuzzing and stateful
phases) sends what the schema allows and what it forbids to the live test server, signed in with
a token, and every answer must be one the schema documents, never a 5xx."""

import os
import subprocess
import sys

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from tests.fixtures import ROOT
from tests.fixtures.site import make_item

pytestmark = [pytest.mark.long(50), pytest.mark.django_db(transaction=True)]

# Enough examples per operation to reach every documented status, few enough to stay within a
# minute or so on two shared cores.
MAX_EXAMPLES = os.environ.get("S7_SCHEMATHESIS_EXAMPLES", "8")


def test_the_api_answers_as_its_schema_says_and_never_with_a_server_error(
    live_server, alice, bob, tmp_path, monkeypatch
):
    # The fuzzer is one caller sending hundreds of reads a minute: past the public lists'
    # throttle, every valid request would answer 429 and test nothing else.
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "public_read": "100000/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    make_item(bob, "Infinity Redux", tags=["solo"])
    token = Token.objects.create(user=alice).key
    report = tmp_path / "schemathesis"
    result = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(ROOT / "tests" / "fixtures" / "schemathesis.toml"),
            "run", f"{live_server.url}/api/schema/",
            "--url", live_server.url,
            "--header", f"Authorization: Token {token}",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--checks", "all",
            "--max-examples", MAX_EXAMPLES,
            "--seed", "7",
            "--workers", "1",
            "--request-timeout", "20",
            "--generation-database", "none",
            "--no-color",
            "--report", "junit", "--report-dir", str(report),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    print(result.stdout[-2500:])  # the phases and counts, shown with pytest -s
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout, result.stdout
