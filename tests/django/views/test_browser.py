"""A real browser uses the example site and the admin: upload, keepalive, and every
download link (``file.url``) clicked as a visitor and as a staff user.

Headless Chromium (Debian's ``chromium`` package) is driven over the Chrome DevTools
Protocol with the ``websockets`` client that uvicorn already brings; no driver download,
no extra package. Skipped only when Chromium is missing outside CI (``CI=true`` makes it
a failure). Screenshots of each page go to ``$EXAMPLE_SCREENSHOTS`` (else the test's
temporary directory); their paths are printed.
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
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from websockets.sync.client import ClientConnection, connect

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Organization, Project
from tests.django.attachments import attachments_with

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tti_attachments"),
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

    def open(self, url: str, ready: str = "true") -> None:
        """Navigate and wait until the page has loaded and ``ready`` holds."""
        self.evaluate("window.__stale = true")
        self.send("Page.navigate", url=url)
        self.wait_for(f"!window.__stale && document.readyState === 'complete' && ({ready})")

    def click(self, selector: str, ready: str = "true") -> None:
        """Click the element and wait for the next page to load."""
        self.evaluate(f"window.__stale = true; document.querySelector({selector!r}).click()")
        self.wait_for(f"!window.__stale && document.readyState === 'complete' && ({ready})")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"screenshot: {path}")
        return path

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
            page = Page(socket)
            page.send("Page.enable")
            page.send(
                "Emulation.setDeviceMetricsOverride",
                width=1200,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


FETCH_AS_BASE64 = """
(async (href) => {
  const response = await fetch(href);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return {status: response.status, type: response.headers.get("content-type"), data: btoa(text)};
})(%s)
"""


def fetch(page: Page, href_expression: str) -> tuple[int, str, bytes]:
    """GET the link's URL from the page, with the page's cookies, as a click would."""
    result = page.evaluate(FETCH_AS_BASE64 % href_expression)
    return result["status"], str(result["type"]), base64.b64decode(result["data"])


@pytest.fixture
def live_server(django_db_setup: None, live_server: Any) -> Any:
    """pytest-django's server, started only once the test database exists.

    It shares the test's connection with its threads only if the database is SQLite in
    memory when it starts; started before, each request opens its own connection, which
    Django never closes for an in-memory database (``ResourceWarning`` when collected).
    """
    return live_server


@pytest.fixture
def tti_attachments(
    objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> Iterator[ObjectstoreStorage]:
    """The example's ``attachments`` storage (time to idle, zstd) on the test server."""
    options = {
        **settings.STORAGES["attachments"]["OPTIONS"],
        "base_url": str(objectstore_server),
        "usecase": objectstore_usecase,
    }
    with attachments_with(**options) as storage:
        yield storage


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("EXAMPLE_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def demo_project() -> Project:
    organization = Organization.objects.create(name="Browser org")
    return Project.objects.create(organization=organization, name="Browser project")


def project_url(live_server: Any, project: Project) -> str:
    return live_server.url + reverse(
        "project", kwargs={"org_id": project.organization_id, "project_id": project.pk}
    )


def upload_through_the_page(page: Page, url: str, upload: Path) -> None:
    page.open(url, "!!document.getElementById('upload')")
    root = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"]
    page.send("DOM.setFileInputFiles", files=[str(upload)], nodeId=node)
    page.click("#upload button[type=submit]", "!!document.querySelector('a.attachment')")


def report_data() -> bytes:
    data = b"".join(b"row %06d, a compressible line of text\n" % i for i in range(20000))
    return data + os.urandom(100_000)


def test_browser_uploads_a_file_and_the_page_shows_it_and_keeps_it_alive(
    page: Page, live_server: Any, tmp_path: Path, demo_project: Project, screenshots: Path
) -> None:
    upload = tmp_path / "report.txt"
    upload.write_bytes(report_data())
    url = project_url(live_server, demo_project)

    upload_through_the_page(page, url, upload)

    attachment = Attachment.objects.get(project=demo_project)
    assert attachment.original_name == "report.txt"
    prefix = f"org={demo_project.organization_id};project={demo_project.pk}/"
    assert str(attachment.file.name).startswith(prefix)
    link = page.evaluate("document.querySelector('a.attachment').getAttribute('href')")
    assert link == attachment.file.url
    row = page.evaluate("document.querySelector('#attachments tbody tr').innerText")
    assert "report.txt" in row
    assert "zstd" in row
    assert "time to idle" in row
    assert "expires" in row

    page.click("#keepalive button", "!!document.querySelector('.messages')")
    last = page.evaluate("document.getElementById('last-keepalive').innerText")
    assert "checked 1, refreshed 1, missing 0, failed 0" in last
    page.screenshot(screenshots / "example-project.png")


def test_staff_clicks_the_admin_file_links(
    page: Page,
    live_server: Any,
    demo_project: Project,
    screenshots: Path,
    django_user_model: Any,
) -> None:
    data = b"the plan, as the admin shows it\n" * 100
    attachment = Attachment(project=demo_project, original_name="plan.txt")
    attachment.file.save("plan.txt", ContentFile(data), save=True)
    django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-123")

    page.open(live_server.url + reverse("admin:login"), "!!document.getElementById('id_username')")
    page.evaluate(
        "document.getElementById('id_username').value = 'staff';"
        "document.getElementById('id_password').value = 'pw-staff-123';"
    )
    page.click("#login-form input[type=submit]", "!!document.getElementById('user-tools')")

    changelist = live_server.url + reverse("admin:example_attachment_changelist")
    page.open(changelist, "!!document.querySelector('#result_list')")
    page.screenshot(screenshots / "admin-changelist.png")
    status, _, body = fetch(page, "document.querySelector('#result_list td.field-download a').href")
    assert (status, body) == (200, data)

    change = live_server.url + reverse("admin:example_attachment_change", args=[attachment.pk])
    page.open(change, "!!document.querySelector('p.file-upload a')")
    href = page.evaluate("document.querySelector('p.file-upload a').getAttribute('href')")
    assert href == attachment.file.url
    page.screenshot(screenshots / "admin-change.png")
    page.click("p.file-upload a", "document.contentType === 'text/plain'")
    assert page.evaluate("document.body.innerText") == data.decode()


def test_a_visitor_clicks_the_example_sites_file_link(
    page: Page, live_server: Any, tmp_path: Path, demo_project: Project
) -> None:
    data = report_data()
    upload = tmp_path / "report.txt"
    upload.write_bytes(data)
    upload_through_the_page(page, project_url(live_server, demo_project), upload)

    status, content_type, body = fetch(page, "document.querySelector('a.attachment').href")
    assert status == 200
    assert content_type.startswith("text/plain")
    assert body == data
