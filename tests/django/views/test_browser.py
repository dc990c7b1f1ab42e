"""A real browser uploads a file through the example site and downloads it back.

Headless Chromium (Debian's ``chromium`` package) is driven over the Chrome DevTools
Protocol with the ``websockets`` client that uvicorn already brings; no driver download,
no extra package. Skipped only when Chromium is missing outside CI.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from websockets.sync.client import ClientConnection, connect

from testproject.example.models import Attachment, Organization, Project

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("attachments_storage"),
]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
DEADLINE = 30.0


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is required under CI: apt-get install chromium")
    pytest.skip("Chromium is not installed (apt-get install chromium); set CI to require it")


class Page:
    """One browser tab over the DevTools protocol: send commands, evaluate JavaScript."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=DEADLINE))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> Any:
        """Poll ``expression`` until it is truthy (page loads are asynchronous)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is navigating
                value = None
            if value:
                return value
        raise TimeoutError(f"still false after {DEADLINE}s: {expression}")


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with status {process.returncode}")
    raise TimeoutError("Chromium did not open its DevTools port")


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    profile = tmp_path / "profile"
    command = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _devtools_port(profile, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as listing:
            targets = json.load(listing)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(url, max_size=None, open_timeout=DEADLINE) as socket:
            yield Page(socket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


FETCH_AS_BASE64 = """
(async () => {
  const response = await fetch(document.querySelector("a.attachment").href);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return {status: response.status, type: response.headers.get("content-type"), data: btoa(text)};
})()
"""


def test_browser_uploads_a_file_and_downloads_the_same_bytes(
    page: Page, live_server: Any, tmp_path: Path
) -> None:
    organization = Organization.objects.create(name="Browser org")
    project = Project.objects.create(organization=organization, name="Browser project")
    data = b"".join(b"row %06d, a compressible line of text\n" % i for i in range(20000))
    data += os.urandom(100_000)
    upload = tmp_path / "report.txt"
    upload.write_bytes(data)

    url = live_server.url + reverse(
        "project", kwargs={"org_id": organization.pk, "project_id": project.pk}
    )
    page.send("Page.enable")
    page.send("Page.navigate", url=url)
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('upload')")

    root = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"]
    page.send("DOM.setFileInputFiles", files=[str(upload)], nodeId=node)
    page.evaluate("document.querySelector('#upload button[type=submit]').click()")
    page.wait_for("!!document.querySelector('a.attachment')")

    attachment = Attachment.objects.get(project=project)
    assert attachment.original_name == "report.txt"
    prefix = f"org={organization.pk};project={project.pk}/"
    assert str(attachment.file.name).startswith(prefix)

    downloaded = page.evaluate(FETCH_AS_BASE64)
    assert downloaded["status"] == 200
    assert str(downloaded["type"]).startswith("text/plain")
    assert base64.b64decode(downloaded["data"]) == data
