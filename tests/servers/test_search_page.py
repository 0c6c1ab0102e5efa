"""The search page in a real headless browser (Debian's chromium + chromedriver, selenium)
against a real `pgsearch serve`: what a person clicking through it gets."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.fixture_files import make_pdf
from tests.helpers import running_serve

ADMIN = "admin-key-for-the-browser-tests"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# Screenshots taken in this run, listed at the end of the module's tests.
SCREENSHOTS: list[Path] = []

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

PG_INTRO = "PostgreSQL is a relational database. It stores rows in tables and answers SQL."
CAKE = "Bake the cake for forty minutes, then let it cool before you slice it."
# Stored text and metadata that would run if the page ever treated them as HTML.
HOSTILE = '<img src=x onerror="window.pwned=1"> <b>bold</b> database tricks'


@dataclass
class Server:
    url: str
    admin: dict[str, str]
    alice: int
    bob: int
    alice_key: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`pgsearch serve` with API keys on, two users, and documents for alice."""
    with running_serve(tmp_path_factory.mktemp("auth-on"), PGSEARCH_ADMIN_KEY=ADMIN) as url:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=url, headers=admin, timeout=120) as api:
            alice = api.post("/users", json={"name": "alice"}).json()["id"]
            bob = api.post("/users", json={"name": "bob"}).json()["id"]
            key = api.post(f"/users/{alice}/keys", json={"name": "browser"}).json()["key"]
            docs = [
                {"text": PG_INTRO, "external_id": "pg-intro", "metadata": {"year": 2024}},
                {"text": CAKE, "external_id": "cake", "metadata": {"year": 2019}},
                {
                    "text": HOSTILE,
                    "external_id": "hostile",
                    "metadata": {"note": "<script>window.pwned=2</script>"},
                },
            ]
            r = api.post(f"/users/{alice}/documents/batch", json={"documents": docs})
            assert r.status_code == 200, r.text
            r = api.post(f"/users/{bob}/documents", json={"text": "Bob keeps database notes."})
            assert r.status_code == 201, r.text
        yield Server(url, admin, alice, bob, key)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pgsearch serve` without API keys."""
    with running_serve(tmp_path_factory.mktemp("auth-off")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(pytestconfig: pytest.Config) -> Iterator[webdriver.Chrome]:
    """One headless chromium for the module."""
    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver: selenium would otherwise try to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            for path in SCREENSHOTS:
                reporter.write_line(f"search page screenshot: {path}")


@pytest.fixture(autouse=True)
def no_script_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """No test may leave a script error or a Content-Security-Policy violation in the console."""
    yield
    if "browser" not in request.fixturenames:
        return
    driver: webdriver.Chrome = request.getfixturevalue("browser")
    # HTTP errors the page shows on purpose (401, 422) are logged as failed loads: not errors.
    errors = [
        e["message"]
        for e in driver.get_log("browser")  # type: ignore[no-untyped-call]  # untyped upstream
        if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
    ]
    assert errors == []
    assert driver.execute_script("return window.pwned") is None


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    try:
        # The page replaces elements as answers come in: a stale one means "not yet".
        ignored = (NoSuchElementException, StaleElementReferenceException)
        return WebDriverWait(driver, 30, ignored_exceptions=ignored).until(condition)
    except TimeoutException:
        shot = screenshot(driver, "timeout")
        raise AssertionError(f"timed out waiting for {what} (screenshot: {shot})") from None


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"search-page-{name}.png"
    driver.save_screenshot(str(path))
    SCREENSHOTS.append(path)
    return path


def visible(driver: WebDriver, element_id: str) -> WebElement | None:
    element = driver.find_element(By.ID, element_id)
    return element if element.is_displayed() else None


def shown_text(driver: WebDriver, element_id: str) -> str:
    element = wait_for(driver, lambda d: visible(d, element_id), f"#{element_id}")
    return str(element.text)


def open_page(driver: WebDriver, url: str, *, key: str | None = None) -> None:
    """The page in a fresh tab state: nothing stored, or `key` as if signed in before."""
    driver.get(url + "/ui/")
    driver.execute_script("sessionStorage.clear()")
    if key is not None:
        driver.execute_script("sessionStorage.setItem('pgsearch.key', arguments[0])", key)
    driver.refresh()


def sign_in(driver: WebDriver, key: str) -> None:
    field = wait_for(driver, lambda d: visible(d, "key"), "the key field")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()


def run_search(driver: WebDriver, query: str, *, mode: str = "hybrid", filter: str = "") -> None:
    box = wait_for(driver, lambda d: visible(d, "query"), "the query box")
    box.clear()
    box.send_keys(query)
    Select(driver.find_element(By.ID, "mode")).select_by_value(mode)
    if filter:
        if not driver.find_element(By.ID, "filter-box").get_attribute("open"):
            driver.find_element(By.CSS_SELECTOR, "#filter-box summary").click()
        area = driver.find_element(By.ID, "filter")
        area.clear()
        area.send_keys(filter)
    driver.find_element(By.ID, "search").click()


def results(driver: WebDriver) -> list[WebElement]:
    wait_for(driver, lambda d: "result" in d.find_element(By.ID, "search-status").text, "results")
    return list(driver.find_elements(By.CSS_SELECTOR, "#results > li"))


# -- key handling -----------------------------------------------------------------------------


def test_a_wrong_key_shows_the_servers_401_message(browser: WebDriver, server: Server) -> None:
    open_page(browser, server.url)
    assert visible(browser, "app") is None
    sign_in(browser, "pgs_not_a_key")
    answer = httpx.get(server.url + "/me", headers={"Authorization": "Bearer pgs_not_a_key"})
    assert shown_text(browser, "sign-in-error") == f"401: {answer.json()['detail']}"
    assert browser.execute_script("return sessionStorage.getItem('pgsearch.key')") is None
    assert visible(browser, "app") is None


def test_a_user_key_signs_in_to_its_own_documents_and_signs_out(
    browser: WebDriver, server: Server
) -> None:
    open_page(browser, server.url)
    sign_in(browser, server.alice_key)
    assert shown_text(browser, "who") == f"signed in as user {server.alice}"
    assert shown_text(browser, "user-fixed") == f"Your documents (user {server.alice})"
    assert visible(browser, "user-pick") is None  # only the admin picks users
    stored = browser.execute_script("return sessionStorage.getItem('pgsearch.key')")
    assert stored == server.alice_key
    run_search(browser, "relational database", mode="keyword")
    assert "pg-intro" in [r.find_element(By.CSS_SELECTOR, ".open").text for r in results(browser)]
    # The key survives a reload (same tab)...
    browser.refresh()
    assert shown_text(browser, "who") == f"signed in as user {server.alice}"
    # ...until signing out, which forgets it.
    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, lambda d: visible(d, "sign-in"), "the sign-in form")
    assert visible(browser, "app") is None
    assert browser.execute_script("return sessionStorage.getItem('pgsearch.key')") is None
    browser.refresh()
    wait_for(browser, lambda d: visible(d, "sign-in"), "the sign-in form after a reload")


def test_a_revoked_stored_key_is_dropped_with_the_message(
    browser: WebDriver, server: Server
) -> None:
    open_page(browser, server.url, key="pgs_stale_key")
    assert shown_text(browser, "sign-in-error") == "401: invalid or revoked API key"
    assert browser.execute_script("return sessionStorage.getItem('pgsearch.key')") is None


# -- admin, search, filters, documents ----------------------------------------------------------


def options(driver: WebDriver) -> list[str]:
    return [o.text for o in Select(driver.find_element(By.ID, "user")).options]


def admin_page(browser: WebDriver, server: Server, user: int) -> None:
    open_page(browser, server.url)
    sign_in(browser, ADMIN)
    assert shown_text(browser, "who") == "signed in with the admin key"
    names = [f"alice ({server.alice})", f"bob ({server.bob})"]
    wait_for(browser, lambda d: options(d) == names, f"the users {names} (GET /users)")
    Select(browser.find_element(By.ID, "user")).select_by_value(str(user))


def test_admin_picks_a_user_and_searches_with_highlights(
    browser: WebDriver, server: Server
) -> None:
    admin_page(browser, server, server.bob)
    run_search(browser, "database")
    (bob_hit,) = results(browser)
    assert "Bob keeps" in bob_hit.text

    Select(browser.find_element(By.ID, "user")).select_by_value(str(server.alice))
    run_search(browser, "databases", mode="keyword")
    hits = results(browser)
    titles = [h.find_element(By.CSS_SELECTOR, ".open").text for h in hits]
    assert sorted(titles) == ["hostile", "pg-intro"]
    intro = hits[titles.index("pg-intro")]
    marks = [m.text for m in intro.find_elements(By.TAG_NAME, "mark")]
    assert marks == ["database"]  # stemmed: "databases" matches "database"
    assert intro.find_element(By.CSS_SELECTOR, ".excerpt").text == PG_INTRO.rstrip(".")
    assert intro.find_element(By.CSS_SELECTOR, "dl.meta").text.split() == ["year", "2024"]
    scores = [float(h.find_element(By.CSS_SELECTOR, ".score").text) for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert shown_text(browser, "search-status").startswith("2 results (keyword")
    # Stored HTML stays text: no element was made from it, nothing ran.
    # (ts_headline leaves out what PostgreSQL's parser takes for tags; the document has them.)
    hostile = hits[titles.index("hostile")]
    assert "<script>window.pwned=2</script>" in hostile.text
    assert hostile.find_elements(By.TAG_NAME, "script") == []
    hostile.find_element(By.CSS_SELECTOR, ".open").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "doc-text").text == HOSTILE, "the text")
    dialog = browser.find_element(By.ID, "doc")
    assert dialog.find_elements(By.TAG_NAME, "img") == []
    assert dialog.find_elements(By.TAG_NAME, "b") == []
    browser.find_element(By.ID, "doc-close").click()
    screenshot(browser, "results")
    # The choice of user outlives a reload.
    browser.refresh()
    # The picker shows before its options arrive: wait for them (one of them selected).
    picker = wait_for(
        browser,
        lambda d: (
            visible(d, "user")
            if Select(d.find_element(By.ID, "user")).all_selected_options
            else None
        ),
        "the user picker and its users",
    )
    assert Select(picker).first_selected_option.get_attribute("value") == str(server.alice)


def test_a_filter_error_shows_the_servers_422_message(browser: WebDriver, server: Server) -> None:
    admin_page(browser, server, server.alice)
    bad = '{"year": {"$near": 5}}'
    run_search(browser, "cake", filter=bad)
    body = {"query": "cake", "highlight": True, "filter": {"year": {"$near": 5}}}
    answer = httpx.post(
        f"{server.url}/users/{server.alice}/search", json=body, headers=server.admin
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    assert shown_text(browser, "search-error") == f"422: {detail}"
    assert browser.find_elements(By.CSS_SELECTOR, "#results > li") == []
    # A valid filter then narrows the results.
    run_search(browser, "database", filter='{"year": {"$gte": 2020}}')
    titles = [h.find_element(By.CSS_SELECTOR, ".open").text for h in results(browser)]
    assert "cake" not in titles and "pg-intro" in titles
    assert visible(browser, "search-error") is None


def test_validation_errors_are_shown_as_the_server_lists_them(
    browser: WebDriver, server: Server
) -> None:
    admin_page(browser, server, server.alice)
    browser.execute_script("document.getElementById('k').removeAttribute('max')")
    k = browser.find_element(By.ID, "k")
    k.clear()
    k.send_keys("500")
    run_search(browser, "cake")
    assert shown_text(browser, "search-error") == (
        "422: body.k: Input should be less than or equal to 100"
    )
    k.clear()
    k.send_keys("10")
    # Not JSON at all: said by the page before anything is sent.
    run_search(browser, "cake", filter="{year: 2019")
    assert shown_text(browser, "search-error").startswith("the filter is not valid JSON")


def test_open_a_document(browser: WebDriver, server: Server) -> None:
    admin_page(browser, server, server.alice)
    run_search(browser, "baking a cake", mode="keyword")
    (hit,) = results(browser)
    hit.find_element(By.CSS_SELECTOR, ".open").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "doc-text").text == CAKE, "the text")
    assert browser.find_element(By.ID, "doc-title").text == "cake"
    meta = browser.find_element(By.ID, "doc-meta").text.split()
    assert meta[:5] == ["year", "2019", "chunks", "1", "updated"]
    browser.find_element(By.ID, "doc-close").click()
    wait_for(browser, lambda d: not d.find_element(By.ID, "doc").is_displayed(), "closed")


# -- auth off -----------------------------------------------------------------------------------


def test_without_auth_no_key_is_asked_for(browser: WebDriver, open_server: str) -> None:
    open_page(browser, open_server)
    assert shown_text(browser, "who").startswith("no API keys on this server")
    assert visible(browser, "sign-in") is None and visible(browser, "sign-out") is None
    # A fresh server has no users: the page makes one.
    none = ["no users yet: create one"]
    wait_for(browser, lambda d: options(d) == none, "the empty user list (GET /users)")
    run_search(browser, "anything")
    assert shown_text(browser, "search-error") == "create or pick a user first"
    browser.find_element(By.ID, "new-user").send_keys("carol")
    browser.find_element(By.CSS_SELECTOR, "#new-user-form button").click()
    wait_for(
        browser,
        lambda d: Select(d.find_element(By.ID, "user")).first_selected_option.text == "carol (1)",
        "the new user picked",
    )
    run_search(browser, "anything")
    assert results(browser) == []
    assert shown_text(browser, "search-status").startswith("0 results")
    # The server's own message for a bad name, as it is.
    browser.execute_script("document.getElementById('new-user').value = '   '")
    browser.find_element(By.CSS_SELECTOR, "#new-user-form button").click()
    answer = httpx.post(open_server + "/users", json={"name": "   "})
    (item,) = answer.json()["detail"]
    expected = f"422: {'.'.join(map(str, item['loc']))}: {item['msg']}"
    assert shown_text(browser, "user-error") == expected


# -- uploads --------------------------------------------------------------------------------------


def report(driver: WebDriver, total: int) -> list[str]:
    """The upload's per-file lines, once the page says it is done."""
    wait_for(
        driver,
        lambda d: (
            f"of {total} file" in d.find_element(By.ID, "upload-status").text
            and "stored" in d.find_element(By.ID, "upload-status").text
        ),
        "the upload to finish",
    )
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#upload-report li")]


def test_upload_a_folder_of_pdfs(browser: WebDriver, server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "zephyr.pdf").write_bytes(make_pdf(["Zephyrology studies the west wind."]))
    locked = make_pdf(["secret"], password="pw")
    (folder / "locked.pdf").write_bytes(locked)
    # What the server says about the locked one (nothing is stored for it).
    answer = httpx.post(
        f"{server.url}/users/{server.alice}/files",
        files={"files": ("papers/locked.pdf", locked)},
        headers=server.admin,
    )
    (error,) = answer.json()["errors"]

    admin_page(browser, server, server.alice)
    browser.find_element(By.ID, "upload-metadata").send_keys('{"project": "weather"}')
    browser.find_element(By.ID, "folder").send_keys(str(folder))
    lines = report(browser, 2)
    assert sorted(lines) == sorted(
        ["papers/zephyr.pdf created, 1 chunk", f"papers/locked.pdf {error['error']}"]
    )
    assert shown_text(browser, "upload-status") == "1 of 2 files stored"
    screenshot(browser, "upload")

    run_search(browser, "zephyrology", mode="keyword")
    (hit,) = results(browser)
    assert hit.find_element(By.CSS_SELECTOR, ".open").text == "papers/zephyr.pdf"
    assert [m.text for m in hit.find_elements(By.TAG_NAME, "mark")] == ["Zephyrology"]
    meta = hit.find_element(By.CSS_SELECTOR, "dl.meta").text.split()
    assert meta[meta.index("project") + 1] == "weather"
    assert meta[meta.index("source") + 1] == "papers/zephyr.pdf"


def drop(driver: WebDriver, paths: list[Path]) -> None:
    """Drop files on the drop zone as a person would (the files come from disk)."""
    source = driver.execute_script(
        "const i = document.createElement('input'); i.type = 'file'; i.multiple = true;"
        "document.body.append(i); return i;"
    )
    source.send_keys("\n".join(map(str, paths)))
    driver.execute_script(
        "const [source] = arguments; const data = new DataTransfer();"
        "for (const file of source.files) data.items.add(file);"
        "const zone = document.getElementById('drop');"
        "for (const type of ['dragenter', 'dragover', 'drop']) {"
        "  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,"
        "                                          dataTransfer: data}));"
        "}"
        "source.remove();",
        source,
    )


def test_upload_by_drag_and_drop(browser: WebDriver, server: Server, tmp_path: Path) -> None:
    note = tmp_path / "quokka.md"
    note.write_text("# Quokkas\n\nQuokkas smile at the tourists of Rottnest Island.\n")
    admin_page(browser, server, server.alice)
    drop(browser, [note])
    assert report(browser, 1) == ["quokka.md created, 1 chunk"]
    run_search(browser, "quokka", mode="keyword")
    (hit,) = results(browser)
    assert hit.find_element(By.CSS_SELECTOR, ".open").text == "quokka.md"
    # The same file again: the server says it is unchanged.
    drop(browser, [note])
    wait_for(browser, lambda d: "unchanged" in d.find_element(By.ID, "upload-report").text, "2nd")
    assert report(browser, 1) == ["quokka.md unchanged, 1 chunk"]


def test_upload_errors_are_shown_as_the_server_says(
    browser: WebDriver, server: Server, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("a note")
    admin_page(browser, server, server.alice)
    field = browser.find_element(By.ID, "upload-metadata")
    field.send_keys("[1, 2]")  # JSON, but not an object: the server refuses the request
    browser.find_element(By.ID, "files").send_keys(str(note))
    answer = httpx.post(
        f"{server.url}/users/{server.alice}/files",
        files={"files": ("note.txt", b"a note")},
        data={"metadata": "[1, 2]"},
        headers=server.admin,
    )
    assert answer.status_code == 422
    assert report(browser, 1) == [f"note.txt 422: {answer.json()['detail']}"]
    field.clear()
    field.send_keys("{oops")
    browser.find_element(By.ID, "files").send_keys(str(note))
    assert shown_text(browser, "upload-error").startswith("the metadata is not valid JSON")


def test_a_key_revoked_while_signed_in_signs_out(browser: WebDriver, server: Server) -> None:
    with httpx.Client(base_url=server.url, headers=server.admin) as api:
        issued = api.post(f"/users/{server.alice}/keys", json={"name": "short-lived"}).json()
        open_page(browser, server.url, key=issued["key"])
        assert shown_text(browser, "who") == f"signed in as user {server.alice}"
        api.delete(f"/users/{server.alice}/keys/{issued['id']}").raise_for_status()
    run_search(browser, "database")
    assert shown_text(browser, "sign-in-error") == "401: invalid or revoked API key"
    assert visible(browser, "app") is None
    assert browser.execute_script("return sessionStorage.getItem('pgsearch.key')") is None
