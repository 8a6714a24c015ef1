"""Transparency: real third-party apps work the same with the middleware as without it.

Two real apps (``tests/apps``): the Django admin of a small project (Django's CSRF middleware
on, run in a subprocess because Django's settings are per process) and a Flask-Admin 2.x app
(Flask-SQLAlchemy, ``SecureForm`` CSRF), each served by waitress (``tests.servers.serve_wsgi``).
Each app's scenario runs twice in Chromium, each time on a fresh database in a fresh browser
context: once served bare, once inside ``PostbackMiddleware``. For every step we record the URL
after it, the main-frame navigations it caused (method, path, status: redirects included), the
page's title and visible text (normalised: dates and times; CSRF token values are never visible),
the dialogs it raised and what the browser complained about (console errors, page errors,
failed loads). At the end we record the database rows and uploaded files, and, between the
middleware and the app, every form post the app received (``tests.apps.recorder``).

The tests compare the two recordings step by step (one test per step, named after it), then the
posts the app received, then the data. A last test per app proves the middleware really edited
the pages (every post form of every page carried a signed ``__VIEWSTATE``, the client script
was on the page, the browser got the ``postback-browser`` cookie) and the bare run saw none of it,
so the suite cannot pass because the middleware was bypassed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import random
import re
import selectors
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from postback_middleware import PostbackMiddleware

from ..apps.recorder import PostRecorder, read_log
from ..helpers import new_key
from ..servers import serve_wsgi

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_S = 60  # the Django server process: import, create tables, listen
TIMEOUT_MS = 10_000  # a Playwright action or wait (as in conftest)

# Values that legitimately differ between two runs (never shown as text, but posted).
CSRF_FIELDS = {"csrfmiddlewaretoken", "csrf_token"}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(:\d{2})?( ?[ap]\.m\.)?")
# Uploads: a small text file, and a file past the middleware's spool threshold (1 MiB: the body
# is spooled to disk) whose bytes look like multipart delimiters and headers in places.
UPLOAD_NAME = "relevé 2026.bin"  # a non-ASCII name, a space
SMALL_UPLOAD = b"line one\r\n--not-a-boundary\r\n\x00\x01\xfe\xff binary tail\n" * 40
LARGE_UPLOAD = b"".join([
    random.Random(15).randbytes(600_000),
    b'\r\n------WebKitFormBoundary\r\nContent-Disposition: form-data; name="__VIEWSTATE"\r\n\r\n',
    random.Random(16).randbytes(600_000),
])
NOTE = "first order\nwith two lines — café ☕, «quoted» & <b>escaped</b>"


# --------------------------------------------------------------------------------------------
# Recording


@dataclass(frozen=True)
class StepRecord:
    """What one step left in the browser: compared between the bare and the wrapped run."""

    tab: str
    url: str
    navigations: tuple[str, ...]  # "POST /admin/... 302", then "GET /admin/... 200"
    title: str
    text: str
    dialogs: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # console errors, page errors, failed or 4xx/5xx loads
    error: str = ""  # the step itself failed (an element missing, a timeout)


@dataclass(frozen=True)
class PageMarks:
    """The middleware's marks on a page (not compared: they must differ)."""

    post_forms: int
    forms_with_viewstate: int
    script_tag: bool


@dataclass
class Run:
    steps: dict[str, StepRecord] = field(default_factory=dict)
    marks: dict[str, PageMarks] = field(default_factory=dict)
    cookies: set[str] = field(default_factory=set)
    posts: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    server_log: str = ""


MARKS_JS = """() => {
  const getAttribute = HTMLFormElement.prototype.getAttribute;
  const forms = Array.from(document.forms).filter(
    (f) => (getAttribute.call(f, "method") || "").toLowerCase() === "post");
  const signed = forms.filter((f) => {
    const input = f.querySelector('input[type="hidden"][name="__VIEWSTATE"]');
    return input !== null && input.value !== "";
  });
  return [forms.length, signed.length,
          document.querySelector('script[src*="/_postback/postback."]') !== null];
}"""


class Tab:
    """A browser tab, and what happened in it since its last snapshot."""

    def __init__(self, name: str, page: Any, base_url: str) -> None:
        self.name = name
        self.page = page
        self.base_url = base_url
        self.navigations: list[str] = []
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_failed)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.on("dialog", self._on_dialog)

    def relative(self, url: str) -> str:
        return url[len(self.base_url):] if url.startswith(self.base_url) else url

    def _on_response(self, response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.navigations.append(f"{request.method} {self.relative(request.url)} "
                                    f"{response.status}")
        elif response.status >= 400 and not request.url.endswith("/favicon.ico"):
            self.problems.append(f"{request.method} {self.relative(request.url)} "
                                 f"{response.status}")

    def _on_failed(self, request: Any) -> None:
        self.problems.append(f"failed: {request.method} {self.relative(request.url)} "
                             f"{request.failure}")

    def _on_console(self, message: Any) -> None:
        # (The browser's own favicon request is no page's doing, and its 404 is logged late.)
        if message.type in ("error", "warning") and not str(
                (message.location or {}).get("url", "")).endswith("/favicon.ico"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    # -- actions

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def submit(self, selector: str) -> None:
        """Click what submits a form (or follows a link) and wait for the new page."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def press_enter(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.press(selector, "Enter")

    # -- the record

    def snapshot(self) -> tuple[StepRecord, PageMarks]:
        page = self.page
        page.wait_for_load_state("load")
        text = normalise(page.inner_text("body"))
        post_forms, with_viewstate, script_tag = page.evaluate(MARKS_JS)
        record = StepRecord(
            tab=self.name,
            url=self.relative(page.url),
            navigations=tuple(self.navigations),
            title=page.title(),
            text=text,
            dialogs=tuple(self.dialogs),
            problems=tuple(self.problems),
        )
        self.navigations.clear()
        self.dialogs.clear()
        self.problems.clear()
        return record, PageMarks(post_forms, with_viewstate, script_tag)


def normalise(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return DATE_TIME.sub("<time>", "\n".join(line for line in lines if line))


class Session:
    """One run of a scenario: a fresh browser context and its tabs."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context()
        self.context.set_default_timeout(TIMEOUT_MS)
        self.tabs: dict[str, Tab] = {}
        self.tab("main")

    def tab(self, name: str) -> Tab:
        if name not in self.tabs:
            self.tabs[name] = Tab(name, self.context.new_page(), self.base_url)
        return self.tabs[name]

    @property
    def main(self) -> Tab:
        return self.tabs["main"]


Step = Callable[[Session], Tab]  # does its actions, returns the tab whose page it left


def run_scenario(browser: Any, base_url: str, scenario: list[tuple[str, Step]]) -> Run:
    run = Run()
    session = Session(browser, base_url)
    started = time.monotonic()
    failed = ""
    try:
        for name, step in scenario:
            if failed:
                run.steps[name] = StepRecord("", "", (), "", "", error=f"skipped: {failed} failed")
                continue
            try:
                tab = step(session)
                run.steps[name], run.marks[name] = tab.snapshot()
            except Exception as error:  # recorded, compared: the other run must do the same
                failed = name
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                main = session.main
                try:
                    text = normalise(main.page.inner_text("body"))[:2000]
                except Exception as no_text:
                    text = f"(no text: {type(no_text).__name__})"
                run.steps[name] = StepRecord(
                    "", main.relative(main.page.url), tuple(main.navigations), "", text,
                    problems=tuple(main.problems), error=f"{type(error).__name__}: {first_line}")
        run.cookies = {cookie["name"] for cookie in session.context.cookies()}
    finally:
        session.context.close()
    run.seconds = time.monotonic() - started
    return run


def file_digests(folder: Path) -> list[tuple[str, int, str]]:
    if not folder.exists():
        return []
    return sorted((str(path.relative_to(folder)), path.stat().st_size,
                   hashlib.sha256(path.read_bytes()).hexdigest())
                  for path in folder.rglob("*") if path.is_file())


def rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return [tuple(row) for row in connection.execute(query)]


def normalised_posts(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The posts the app received, with the CSRF token values (random per run) blanked."""
    return [{**post, "fields": [[name, "<csrf>" if name in CSRF_FIELDS else value]
                                for name, value in post["fields"]]} for post in posts]


# --------------------------------------------------------------------------------------------
# The Django admin


def django_login(tab: Tab, password: str) -> None:
    from ..apps.django_admin.project import USERNAME

    tab.page.fill("#id_username", USERNAME)
    tab.page.fill("#id_password", password)
    tab.submit('input[type="submit"]')


def dj_open_admin(s: Session) -> Tab:
    s.main.goto("/admin/")
    return s.main


def dj_login(s: Session) -> Tab:
    from ..apps.django_admin.project import PASSWORD

    django_login(s.main, PASSWORD)
    return s.main


def dj_open_add_form(s: Session) -> Tab:
    page = s.main.page
    s.main.submit('a.addlink[href="/admin/shop/order/add/"]')
    page.click("text=Add another Order line")  # the admin's inlines.js adds the rows
    page.click("text=Add another Order line")
    return s.main


def dj_add_invalid(s: Session) -> Tab:
    page = s.main.page
    page.select_option("#id_status", "shipped")
    page.fill("#id_note", NOTE)
    page.fill("#id_lines-0-product", "Widget")
    page.fill("#id_lines-0-quantity", "2")
    page.fill("#id_lines-1-product", "Gadget")
    page.fill("#id_lines-1-quantity", "1")
    s.main.submit('input[name="_save"]')  # no customer: the admin shows the form again
    return s.main


def dj_add(s: Session) -> Tab:
    s.main.page.fill("#id_customer", "Ada Lovelace")
    s.main.submit('input[name="_save"]')
    return s.main


def dj_add_and_another(s: Session) -> Tab:
    page = s.main.page
    s.main.submit('a.addlink[href="/admin/shop/order/add/"]')
    page.fill("#id_customer", "Grace Hopper")
    page.click("text=Add another Order line")
    page.fill("#id_lines-0-product", "Compiler")
    s.main.submit('input[name="_addanother"]')
    return s.main


def dj_add_and_continue(s: Session) -> Tab:
    page = s.main.page
    page.fill("#id_customer", "Alan Turing")
    page.select_option("#id_status", "cancelled")
    s.main.submit('input[name="_continue"]')
    return s.main


def dj_delete_confirmation_page(s: Session) -> Tab:
    s.main.submit('a.deletelink[href="/admin/shop/order/3/delete/"]')
    return s.main


def dj_delete_confirm(s: Session) -> Tab:
    s.main.submit('input[type="submit"][value^="Yes"]')
    return s.main


def dj_add_from_changelist(s: Session) -> Tab:
    s.main.submit('a.addlink[href="/admin/shop/order/add/"]')
    s.main.page.fill("#id_customer", "Barbara Liskov")
    s.main.submit('input[name="_save"]')
    return s.main


def dj_open_change_form(s: Session) -> Tab:
    s.main.goto("/admin/shop/order/")
    s.main.submit('#result_list a:text-is("Ada Lovelace")')
    return s.main


def dj_change_inlines(s: Session) -> Tab:
    page = s.main.page
    page.fill("#id_lines-0-quantity", "5")  # edit one line
    page.check("#id_lines-1-DELETE")  # delete another
    page.click("text=Add another Order line")  # and add one
    page.fill("#id_lines-2-product", "Sprocket")
    page.fill("#id_lines-2-quantity", "3")
    s.main.submit('input[name="_continue"]')
    return s.main


def dj_upload(s: Session) -> Tab:
    s.main.page.set_input_files("#id_attachment", files=[{
        "name": UPLOAD_NAME, "mimeType": "application/octet-stream", "buffer": LARGE_UPLOAD}])
    s.main.submit('input[name="_continue"]')
    return s.main


def dj_search(s: Session) -> Tab:
    s.main.goto("/admin/shop/order/")
    s.main.page.fill("#searchbar", "Sprocket")  # a line's product: search across the inline
    s.main.press_enter("#searchbar")
    return s.main


def dj_filter(s: Session) -> Tab:
    s.main.goto("/admin/shop/order/")
    s.main.submit('#changelist-filter a:text-is("New")')
    return s.main


def dj_bulk_delete(s: Session) -> Tab:
    page = s.main.page
    s.main.goto("/admin/shop/order/")
    page.check('input.action-select[value="2"]')
    page.check('input.action-select[value="4"]')
    page.select_option('select[name="action"]', "delete_selected")
    s.main.submit('button[name="index"]')  # the confirmation page
    return s.main


def dj_bulk_delete_confirm(s: Session) -> Tab:
    s.main.submit('input[type="submit"][value^="Yes"]')
    return s.main


def dj_older_tabs_open(s: Session) -> Tab:
    s.tab("older").goto("/admin/shop/order/1/change/")  # saved after the password change
    s.tab("oldest").goto("/admin/shop/order/1/change/")  # saved after the logout
    return s.tab("older")


def dj_password_change_form(s: Session) -> Tab:
    s.main.submit('a[href="/admin/password_change/"]')
    return s.main


def dj_password_change(s: Session) -> Tab:
    from ..apps.django_admin.project import NEW_PASSWORD, PASSWORD

    page = s.main.page
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    s.main.submit('input[type="submit"]')
    return s.main


def dj_older_tab_save(s: Session) -> Tab:
    older = s.tab("older")
    older.page.fill("#id_note", "saved in a tab opened before the password change")
    older.submit('input[name="_save"]')
    return older


def dj_logout(s: Session) -> Tab:
    s.main.submit('#logout-form button[type="submit"]')
    return s.main


def dj_oldest_tab_save_after_logout(s: Session) -> Tab:
    oldest = s.tab("oldest")
    oldest.page.fill("#id_note", "saved in a tab opened before the logout")
    oldest.submit('input[name="_save"]')
    return oldest


def dj_login_new_password(s: Session) -> Tab:
    from ..apps.django_admin.project import NEW_PASSWORD

    oldest = s.tab("oldest")  # the login page the refused save led to (?next=...)
    django_login(oldest, NEW_PASSWORD)
    return oldest


DJANGO_SCENARIO: list[tuple[str, Step]] = [
    ("open-admin", dj_open_admin),
    ("login", dj_login),
    ("open-add-form-with-two-inline-rows", dj_open_add_form),
    ("add-invalid-shows-errors", dj_add_invalid),
    ("add-order", dj_add),
    ("add-order-save-and-add-another", dj_add_and_another),
    ("add-order-save-and-continue", dj_add_and_continue),
    ("delete-order-confirmation-page", dj_delete_confirmation_page),
    ("delete-order-confirm", dj_delete_confirm),
    ("add-order-from-the-list", dj_add_from_changelist),
    ("open-change-form", dj_open_change_form),
    ("change-inlines-edit-add-delete", dj_change_inlines),
    ("upload-file", dj_upload),
    ("search", dj_search),
    ("list-filter", dj_filter),
    ("bulk-delete-selected", dj_bulk_delete),
    ("bulk-delete-confirm", dj_bulk_delete_confirm),
    ("open-older-tabs", dj_older_tabs_open),
    ("password-change-form", dj_password_change_form),
    ("password-change", dj_password_change),
    ("older-tab-save-after-password-change", dj_older_tab_save),
    ("logout", dj_logout),
    ("oldest-tab-save-after-logout", dj_oldest_tab_save_after_logout),
    ("login-with-new-password", dj_login_new_password),
]


class DjangoServer:
    """The Django admin project in its own process (``tests.apps.django_admin.server``)."""

    def __init__(self, data_dir: Path, key: str | None) -> None:
        self.data_dir = data_dir
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        env.pop("POSTBACK_SECRET_KEYS", None)
        command = [sys.executable, "-m", "tests.apps.django_admin.server", str(data_dir)]
        if key is not None:
            env["POSTBACK_SECRET_KEYS"] = key
            command.append("--wrap")
        self._stderr = (data_dir / "stderr.txt").open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self._stderr)

    def url(self) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=SERVER_START_S):
                self.stop()
                raise RuntimeError(f"the Django server did not start in {SERVER_START_S} s")
        line = self.process.stdout.readline().decode()
        if not line.startswith("URL "):
            self.stop()
            raise RuntimeError("the Django server did not start:\n" + self.log())
        return line.split()[1]

    def log(self) -> str:
        parts = [(self.data_dir / name) for name in ("stderr.txt", "server.log")]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # the server stops when its standard input closes
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def django_data(data_dir: Path) -> dict[str, Any]:
    from ..apps.django_admin.project import NEW_PASSWORD, PASSWORD

    def password(encoded: str) -> str:
        algorithm, salt, digest = encoded.split("$")
        for label, candidate in (("the first password", PASSWORD),
                                 ("the new password", NEW_PASSWORD)):
            if hashlib.md5((salt + candidate).encode()).hexdigest() == digest:
                return f"{algorithm}: {label}"
        return f"{algorithm}: another password"

    db = data_dir / "db.sqlite3"
    return {
        "orders": rows(db, "SELECT id, customer, status, note, attachment FROM shop_order "
                           "ORDER BY id"),
        "order lines": rows(db, "SELECT id, order_id, product, quantity FROM shop_orderline "
                                "ORDER BY id"),
        "users": [(name, password(encoded), superuser, staff, active, last_login is not None)
                  for name, encoded, superuser, staff, active, last_login in rows(
                      db, "SELECT username, password, is_superuser, is_staff, is_active, "
                          "last_login FROM auth_user ORDER BY id")],
        "admin log": rows(db, "SELECT l.user_id, t.app_label, t.model, l.object_id, "
                              "l.object_repr, l.action_flag, l.change_message "
                              "FROM django_admin_log l JOIN django_content_type t "
                              "ON t.id = l.content_type_id ORDER BY l.id"),
        "sessions": rows(db, "SELECT COUNT(*) FROM django_session "
                             "WHERE expire_date > datetime('now')"),
        "uploaded files": file_digests(data_dir / "media"),
    }


def run_django(browser: Any, tmp: Path) -> tuple[Run, Run]:
    dirs = {name: tmp / name for name in ("bare", "wrapped")}
    for folder in dirs.values():
        folder.mkdir()
    servers = {"bare": DjangoServer(dirs["bare"], None),
               "wrapped": DjangoServer(dirs["wrapped"], new_key())}  # both start at once
    runs: dict[str, Run] = {}
    try:
        for name, server in servers.items():
            runs[name] = run_scenario(browser, server.url(), DJANGO_SCENARIO)
    finally:
        for server in servers.values():
            server.stop()
    for name, run in runs.items():
        run.posts = read_log(dirs[name] / "posts.jsonl")
        run.data = django_data(dirs[name])
        run.server_log = servers[name].log()
    return runs["bare"], runs["wrapped"]


# --------------------------------------------------------------------------------------------
# Flask-Admin


def fa_open_list(s: Session) -> Tab:
    s.main.goto("/admin/")
    s.main.submit('nav a:text-is("Orders")')
    return s.main


def select2(tab: Tab, container: str, label: str) -> None:
    """Choose ``label`` in a Select2 (3.x) box, as a user does: open it, click the choice."""
    tab.page.click(f"{container} a.select2-choice")
    tab.page.click(f'.select2-drop-active .select2-result-label:text-is("{label}")')


def fa_fill_order(tab: Tab, customer: str, status: str, note: str,
                  lines: list[tuple[str, str]]) -> None:
    page = tab.page
    page.fill("#customer", customer)
    select2(tab, "#s2id_status", status)
    page.fill("#note", note)
    for index, (product, quantity) in enumerate(lines):
        page.click("#lines-button")  # Flask-Admin's form.js adds an inline row
        page.fill(f"#lines-{index}-product", product)
        page.fill(f"#lines-{index}-quantity", quantity)


def fa_create(s: Session) -> Tab:
    s.main.submit('a:text-is("Create")')
    fa_fill_order(s.main, "Ada Lovelace", "New", "first order — café ☕",
                  [("Widget", "2"), ("Gadget", "1")])
    s.main.page.set_input_files("#attachment", files=[{
        "name": "notes.txt", "mimeType": "text/plain", "buffer": SMALL_UPLOAD}])
    s.main.submit('input[type="submit"][value="Save"]')
    return s.main


def fa_create_and_another(s: Session) -> Tab:
    s.main.submit('a:text-is("Create")')
    fa_fill_order(s.main, "Grace Hopper", "New", "second", [("Compiler", "1")])
    s.main.submit('input[name="_add_another"]')
    return s.main


def fa_create_and_continue(s: Session) -> Tab:
    fa_fill_order(s.main, "Alan Turing", "Cancelled", "third", [])
    s.main.submit('input[name="_continue_editing"]')
    return s.main


def fa_open_edit(s: Session) -> Tab:
    s.main.goto("/admin/order/")
    s.main.submit('a[href^="/admin/order/edit/?id=1&"]')
    return s.main


def fa_edit(s: Session) -> Tab:
    page = s.main.page
    page.fill("#note", "first order, edited")
    page.fill("#lines-0-quantity", "5")
    page.check("#del-lines-1")  # Flask-Admin's "Delete ?" box of the second line
    s.main.submit('input[type="submit"][value="Save"]')
    return s.main


def fa_search(s: Session) -> Tab:
    s.main.page.fill('input[name="search"]', "Grace")
    s.main.press_enter('input[name="search"]')
    return s.main


def fa_filter(s: Session) -> Tab:
    page = s.main.page
    s.main.goto("/admin/order/")
    page.click('a:text-is("Add Filter")')
    page.click('a.filter:text-is("Status")')
    select2(s.main, "#filter_form .select2-container.filter-op", "equals")
    page.fill("#filter_form input.filter-val", "cancelled")
    s.main.submit('button:text-is("Apply")')
    return s.main


def fa_bulk_action(s: Session) -> Tab:
    page = s.main.page
    s.main.goto("/admin/order/")
    page.check('input.action-checkbox[value="1"]')
    page.check('input.action-checkbox[value="2"]')
    page.click('a:text-is("With selected")')
    s.main.submit('a:text-is("Mark shipped")')  # confirm() accepted, then the action form
    return s.main


def fa_delete(s: Session) -> Tab:
    s.main.goto("/admin/order/")
    s.main.submit('form[action="/admin/order/delete/"]:has(input[name="id"][value="3"]) '
                  'button')  # confirm() accepted
    return s.main


FLASK_SCENARIO: list[tuple[str, Step]] = [
    ("open-list", fa_open_list),
    ("create-with-inline-lines-and-upload", fa_create),
    ("create-save-and-add-another", fa_create_and_another),
    ("create-save-and-continue", fa_create_and_continue),
    ("open-edit-form", fa_open_edit),
    ("edit-with-inline-lines", fa_edit),
    ("search", fa_search),
    ("filter", fa_filter),
    ("bulk-action-with-confirmation", fa_bulk_action),
    ("delete-row-with-confirmation", fa_delete),
]


def flask_data(data_dir: Path) -> dict[str, Any]:
    db = data_dir / "shop.sqlite3"
    return {
        "orders": rows(db, "SELECT id, customer, status, note, attachment FROM orders "
                           "ORDER BY id"),
        "order lines": rows(db, "SELECT id, order_id, product, quantity FROM order_lines "
                                "ORDER BY id"),
        "uploaded files": file_digests(data_dir / "uploads"),
    }


@contextlib.contextmanager
def middleware_log() -> Iterator[list[str]]:
    """What the middleware logs meanwhile (WARNING and up: its refusals), as lines."""
    lines: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(  # type: ignore[method-assign]
        f"{record.levelname} {record.name}: {record.getMessage()}")
    logger = logging.getLogger("postback_middleware")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def run_flask(browser: Any, tmp: Path) -> tuple[Run, Run]:
    from ..apps.flask_admin_app import create_app

    runs: dict[str, Run] = {}
    for name in ("bare", "wrapped"):
        data_dir = tmp / name
        data_dir.mkdir()
        app: Any = PostRecorder(create_app(data_dir), data_dir / "posts.jsonl")
        if name == "wrapped":
            app = PostbackMiddleware(app, secret_keys=[new_key()])
        with serve_wsgi(app) as base_url, middleware_log() as log:
            runs[name] = run_scenario(browser, base_url, FLASK_SCENARIO)
        runs[name].server_log = "\n".join(log)
        runs[name].posts = read_log(data_dir / "posts.jsonl")
        runs[name].data = flask_data(data_dir)
    return runs["bare"], runs["wrapped"]


# --------------------------------------------------------------------------------------------
# The tests

SCENARIOS = {"django-admin": DJANGO_SCENARIO, "flask-admin": FLASK_SCENARIO}
RUNNERS = {"django-admin": run_django, "flask-admin": run_flask}


class Recordings:
    """Each app's two runs, made once (on first use) for all the tests of this module."""

    def __init__(self, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.browser = browser
        self.tmp_path_factory = tmp_path_factory
        self._runs: dict[str, tuple[Run, Run]] = {}
        self._failed: dict[str, BaseException] = {}

    def __call__(self, app: str) -> tuple[Run, Run]:
        if app in self._failed:  # (a server that did not start is not started 40 times)
            raise RuntimeError(f"recording {app} failed") from self._failed[app]
        if app not in self._runs:
            tmp = self.tmp_path_factory.mktemp(app)
            try:
                self._runs[app] = RUNNERS[app](self.browser, tmp)
            except Exception as error:
                self._failed[app] = error
                raise
            # Both recordings side by side, for reading after a failure.
            (tmp / "recordings.json").write_text(json.dumps(
                {name: dataclasses.asdict(run) for name, run in
                 zip(("bare", "wrapped"), self._runs[app], strict=True)},
                indent=1, ensure_ascii=False, default=sorted))
        return self._runs[app]


@pytest.fixture(scope="module")
def recordings(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    return Recordings(browser, tmp_path_factory)


STEPS = [pytest.param(app, name, id=f"{app}/{number:02d}-{name}")
         for app, scenario in SCENARIOS.items()
         for number, (name, _) in enumerate(scenario, start=1)]


@pytest.mark.parametrize(("app", "step"), STEPS)
def test_step_is_the_same(recordings: Recordings, app: str, step: str) -> None:
    bare, wrapped = recordings(app)
    assert not bare.steps[step].error, f"the scenario itself failed (bare run): {bare.steps[step]}"
    assert wrapped.steps[step] == bare.steps[step], wrapped.server_log[-3000:]


@pytest.mark.parametrize("app", list(SCENARIOS))
def test_app_received_the_same_posts(recordings: Recordings, app: str) -> None:
    bare, wrapped = recordings(app)
    reserved = [(post["path"], name) for run in (bare, wrapped) for post in run.posts
                for name, _ in post["fields"] if name.startswith("__")]
    assert reserved == [], "reserved fields reached the app"
    assert all(post["length_matches"] for post in bare.posts + wrapped.posts)
    assert normalised_posts(wrapped.posts) == normalised_posts(bare.posts)


@pytest.mark.parametrize("app", list(SCENARIOS))
def test_data_is_the_same(recordings: Recordings, app: str) -> None:
    bare, wrapped = recordings(app)
    assert bare.data["orders"], "the scenario saved nothing"
    assert bare.data["uploaded files"], "the scenario uploaded nothing"
    assert wrapped.data == bare.data


@pytest.mark.parametrize("app", list(SCENARIOS))
def test_middleware_was_at_work(recordings: Recordings, app: str) -> None:
    """The wrapped run's pages were edited (and only its pages): no bypass passes this suite."""
    bare, wrapped = recordings(app)
    assert "postback-browser" in wrapped.cookies
    assert "postback-browser" not in bare.cookies
    assert not any(m.forms_with_viewstate or m.script_tag for m in bare.marks.values())
    with_forms = {step: marks for step, marks in wrapped.marks.items() if marks.post_forms}
    assert len(with_forms) >= len(SCENARIOS[app]) // 2, wrapped.marks
    unsigned = {step: marks for step, marks in with_forms.items()
                if marks.forms_with_viewstate != marks.post_forms or not marks.script_tag}
    assert unsigned == {}, "pages whose post forms the middleware did not sign"
    # The posts went through the middleware's verification: their pages' forms carried the
    # tokens, the app got none of them (test_app_received_the_same_posts), nothing was refused.
    assert len(wrapped.posts) >= 5
    refusals = [line for line in wrapped.server_log.splitlines()
                if line.startswith("WARNING postback_middleware")]
    assert refusals == []
