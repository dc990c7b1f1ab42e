"""A configuration file written for the real objectstore starts this server, which then
enforces its usecase caps over HTTP and warns once about each section it ignores."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from tests.server.hosting.process import STOP_DEADLINE, running_server, server_environ

# The layout of objectstore-server's config.rs and usecases.rs (the usecases part is
# the example of usecases.rs's documentation), with every section the real server has.
REAL_CONFIG = """
http_addr: 127.0.0.1:0
storage:
  type: filesystem
  path: {path}
auth:
  enforce: false
usecases:
  attachments:
    expiration:
      manual:
        allowed: false
      ttl:
        max: "90d"
      tti:
        allowed: false
  debug-files:
    expiration:
      tti:
        max: "90d"
runtime:
  worker_threads: 4
  metrics_interval: 10s
logging:
  level: info
  format: json
sentry:
  environment: test
  traces_sample_rate: 0.0
metrics:
  tags:
    service: objectstore
killswitches:
  - usecase: attachments
    scopes:
      org: "13"
rate_limits:
  throughput:
    global_rps: 1000
service:
  max_concurrency: 500
http:
  max_requests: 10000
colour: blue
"""

IGNORED = [
    "'runtime'",
    "'sentry'",
    "'metrics'",
    "'killswitches'",
    "'rate_limits'",
    "'service'",
    "'http.max_requests'",
    "'logging.format'",
    "'colour'",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    config = tmp_path / "objectstore.yaml"
    config.write_text(REAL_CONFIG.format(path=tmp_path / "data"))
    stderr = tmp_path / "stderr.txt"
    # A variable in the real server's naming, over the file.
    environ = server_environ(tmp_path / "data", OS__USECASES__EXPORTS__EXPIRATION__TTL__MAX="1d")
    del environ["OS__STORAGE__PATH"], environ["OS__AUTH__ENFORCE"]
    with running_server(["-c", str(config), "run"], environ, stderr) as (proc, url):
        yield proc, url, stderr


def _put(url: str, usecase: str, expiration: str | None) -> urllib3.BaseHTTPResponse:
    headers = {"x-sn-expiration": expiration} if expiration else {}
    return urllib3.request(
        "PUT", f"{url}/v1/objects/{usecase}/org=1/key", body=b"x", headers=headers, retries=False
    )


CASES = [
    ("attachments", "ttl:90d", 200),  # equal to the cap
    ("attachments", "ttl:1d", 200),
    ("attachments", "ttl:90d 1s", 400),
    ("attachments", None, 400),  # manual not allowed
    ("attachments", "manual", 400),
    ("attachments", "tti:1d", 400),  # tti not allowed
    ("debug-files", "tti:90d", 200),
    ("debug-files", "tti:91d", 400),
    ("debug-files", "ttl:1000d", 200),  # only tti is capped
    ("debug-files", None, 200),
    ("exports", "ttl:1d", 200),  # from OS__USECASES__EXPORTS__EXPIRATION__TTL__MAX
    ("exports", "ttl:2d", 400),
    ("unlisted", "ttl:1000d", 200),
]


def test_usecase_policies_of_the_real_format_are_enforced_over_http(
    server: tuple[subprocess.Popen[str], str, Path],
) -> None:
    _, url, _ = server
    seen = []
    for usecase, expiration, _ in CASES:
        response = _put(url, usecase, expiration)
        detail = json.loads(response.data)["detail"] if response.status == 400 else ""
        assert response.status != 400 or f"'{usecase}'" in detail, detail
        seen.append((usecase, expiration, response.status))
    assert seen == CASES
    detail = json.loads(_put(url, "debug-files", "tti:91d").data)["detail"]
    assert "91d" in detail and "maximum of 90d" in detail


def test_each_ignored_section_is_named_once_in_a_warning_then_the_server_stops(
    server: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, _, stderr = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(STOP_DEADLINE) == 0
    warnings = [line for line in stderr.read_text().splitlines() if " WARNING " in line]
    for name in IGNORED:
        named = [line for line in warnings if f"{name} in " in line]
        assert len(named) == 1, (name, warnings)
        assert "is ignored" in named[0]
    assert len(warnings) == len(IGNORED), warnings
