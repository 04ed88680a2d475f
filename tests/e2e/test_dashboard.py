"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through
/usr/bin/chromedriver, against a real controller process (with an API token), real agents,
zfs-fuse pools and the two Docker engines. What the page shows is checked against what the
API reads from the store."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from http_world import HttpController, end_the_waiting_deploy, launch_http_controller, sse_events
from migration_world import (
    World,
    assert_migrated,
    containers,
    make_world_fixture,  # noqa: F401 (the make_world fixture)
)
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.zfs, pytest.mark.docker]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCREENSHOT = ARTIFACTS / "dashboard-migration.png"
API = "/api/v1/migrations"
TOKEN = "dashboard-test-token"
# TESTBED.md: without these, Chromium keeps trying to reach the outside.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def controller(
    make_world: Callable[..., World], tmp_path: Path
) -> Iterator[tuple[World, HttpController]]:
    world = make_world(data_mib=8)
    token_file = tmp_path / "http-token"
    token_file.write_text(f"{TOKEN}\n")
    controller = launch_http_controller(tmp_path, "--http-token-file", str(token_file), world=world)
    yield world, controller
    controller.stop()


def text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def wait(driver: WebDriver, what: Callable[[WebDriver], object], timeout: float = 180) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: what(d))


def fill_form(driver: WebDriver, fields: dict[str, str]) -> None:
    driver.find_element(By.ID, "nav-new").click()
    wait(driver, lambda d: d.find_element(By.ID, "page-new").is_displayed())
    for name, value in fields.items():
        field = driver.find_element(By.CSS_SELECTOR, f"#new-form input[name={name}]")
        field.clear()
        field.send_keys(value)


def accept_confirm(driver: WebDriver) -> None:
    wait(driver, lambda d: d.switch_to.alert, timeout=10)
    driver.switch_to.alert.accept()


def form_fields(world: World, name: str, defaults: bool) -> dict[str, str]:
    fields = {
        "name": name,
        "compose_stack_path": str(world.compose_path),
        "target_host": world.target.address,
        "target_base_path": str(world.target_base),
    }
    if not defaults:
        fields |= {"source_agent": world.source.address, "target_dataset": world.target_dataset}
    return fields


def test_a_migration_from_the_form_to_completion_and_a_cancel_from_the_page(
    controller: tuple[World, HttpController],
    make_world: Callable[..., World],
    browser: WebDriver,
) -> None:
    world, http = controller
    api = httpx.Client(base_url=http.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)

    # Without the token the page asks for it; the form sets the cookie the page then uses.
    browser.get(f"{http.url}/")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda d: d.find_element(By.ID, "page-list").is_displayed())
    # The list shows before its first fetch answers; "no migrations" is shown by that answer.
    wait(browser, lambda d: d.find_element(By.ID, "no-migrations").is_displayed())

    # The form leaves the source agent and dataset parent to the controller's defaults.
    fill_form(browser, form_fields(world, "from the browser", defaults=True))
    # 8 MiB at 2 MiB/s: the bulk copy takes seconds, long enough to watch the bar move.
    limit = browser.find_element(By.CSS_SELECTOR, "input[name=bandwidth_limit_bytes_per_second]")
    limit.clear()
    limit.send_keys(str(2 << 20))
    browser.find_element(By.ID, "validate").click()
    wait(browser, lambda d: d.find_element(By.ID, "validation").is_displayed())
    shown = {
        li.get_attribute("data-check"): li.text
        for li in browser.find_elements(By.CSS_SELECTOR, "#checks li")
    }
    report = api.post(f"{API}/validate", json=form_fields(world, "x", defaults=True)).json()
    assert set(shown) == {c["name"] for c in report["checks"]}
    assert all(line.startswith("✓") for line in shown.values()), shown

    browser.find_element(By.ID, "plan").click()
    wait(browser, lambda d: d.find_element(By.ID, "plan-result").is_displayed())
    assert world.dataset in text(browser, "plan-datasets")
    assert str(world.target_base) in text(browser, "plan-mounts")
    assert str(world.target_base) in text(browser, "plan-diff")

    browser.find_element(By.ID, "start").click()
    wait(browser, lambda d: d.current_url.split("#")[-1].startswith("/m/"), timeout=30)
    migration_id = browser.current_url.split("#/m/")[-1]
    # A reload would forget this: the page must follow the migration by itself.
    browser.execute_script("window.notReloaded = true;")
    bar_values: set[float] = set()

    def completed(driver: WebDriver) -> bool:
        bar_values.add(
            float(driver.find_element(By.ID, "m-bar").get_attribute("aria-valuenow") or 0)
        )
        return text(driver, "m-state") == "COMPLETED"

    wait(browser, completed)
    assert any(0 < v < 100 for v in bar_values), bar_values  # it moved while the page was open
    wait(browser, lambda d: d.find_element(By.ID, "main").get_attribute("data-stream-ended"))
    assert browser.execute_script("return window.notReloaded === true;")
    assert browser.find_element(By.ID, "m-bar").get_attribute("aria-valuenow") == "100"
    assert text(browser, "m-percent") == "100.0 %"
    status = api.get(f"{API}/{migration_id}/status").json()
    mib = [f"{status[k] / 2**20:.1f} MiB" for k in ("bytes_done", "bytes_expected")]
    assert text(browser, "m-bytes") == f"{mib[0]} of {mib[1]}"  # the 8 MiB and the log
    assert_migrated(world)

    stored = api.get(f"{API}/{migration_id}").json()
    assert stored["status"] == "COMPLETED"
    assert stored["spec"]["source_agent"] == world.source.address
    rows = browser.find_elements(By.CSS_SELECTOR, "#m-steps tbody tr")
    assert [r.get_attribute("data-step") for r in rows] == [s["name"] for s in stored["steps"]]
    assert all(" s" in r.find_elements(By.TAG_NAME, "td")[2].text for r in rows)
    assert text(browser, "m-downtime") != "–"
    logged = [
        int(li.get_attribute("data-event-id") or 0)
        for li in browser.find_elements(By.CSS_SELECTOR, "#m-log li")
    ]
    events = [int(i) for i, kind, _ in sse_events(api, f"{API}/{migration_id}/events") if i]
    assert logged == events
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))

    # A second stack whose target never gets healthy: it waits in DEPLOYING with its source
    # stopped, and the page's cancel brings the source back.
    slow = make_world(healthy_after=600)
    fill_form(browser, form_fields(slow, "cancelled from the browser", defaults=False))
    browser.find_element(By.ID, "start").click()
    wait(browser, lambda d: d.current_url.split("#")[-1].startswith("/m/"), timeout=30)
    cancelled_id = browser.current_url.split("#/m/")[-1]
    assert cancelled_id != migration_id
    wait(
        browser,
        lambda d: (
            text(d, "m-state") == "DEPLOYING"
            and not containers(slow.docker_a, slow.project, running_only=True)
        ),
    )
    assert not browser.find_element(By.ID, "delete").is_enabled()
    browser.find_element(By.ID, "cancel").click()
    accept_confirm(browser)
    # Once the cancel is recorded, its target container dies instead of waiting a minute to
    # turn unhealthy: the deploy fails the same way, sooner.
    wait(
        browser,
        lambda d: api.get(f"{API}/{cancelled_id}").json()["status"] != "DEPLOYING",
        timeout=30,
    )
    end_the_waiting_deploy(slow)
    wait(browser, lambda d: text(d, "m-state") == "CANCELLED")
    assert api.get(f"{API}/{cancelled_id}").json()["status"] == "CANCELLED"
    assert len(containers(slow.docker_a, slow.project, running_only=True)) == 1
    assert not containers(slow.docker_b, slow.project, running_only=True)

    # The list shows both as the store has them; delete (confirmed) removes the cancelled one.
    browser.find_element(By.CSS_SELECTOR, "header nav a[href='#/']").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#migrations tbody tr")) == 2)
    listed = {
        r.get_attribute("data-id"): [td.text for td in r.find_elements(By.TAG_NAME, "td")]
        for r in browser.find_elements(By.CSS_SELECTOR, "#migrations tbody tr")
    }
    assert {i: cells[0] for i, cells in listed.items()} == {
        migration_id: "COMPLETED",
        cancelled_id: "CANCELLED",
    }
    state, stack, route, progress, downtime, _ = listed[migration_id]
    assert stack == world.project
    assert route == f"{world.source.address} → {world.target.address}"
    assert progress.startswith("100.0 %") and downtime != "–"
    assert listed[cancelled_id][1] == slow.project
    browser.find_element(By.CSS_SELECTOR, f"#migrations tr[data-id='{cancelled_id}']").click()
    wait(browser, lambda d: text(d, "m-state") == "CANCELLED")
    browser.find_element(By.ID, "delete").click()
    accept_confirm(browser)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#migrations tbody tr")) == 1)
    assert api.get(f"{API}/{cancelled_id}").status_code == 404
    api.close()
