"""The README's first command, as a newcomer runs it: `scripts/run` with no settings (SQLite,
the in-memory channel layer, local media, the simulator), then a person in a real browser.
The simulated customer writes, the agent replies, and the ticks reach read."""

import os
import signal
import subprocess

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.servers import BASE_DIR, free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.stack]

STARTUP_SECONDS = 120  # a first run migrates a new SQLite database


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`scripts/run` in a folder of its own, stopped (with everything it started) afterwards."""
    var_dir = tmp_path_factory.mktemp("embedded")
    port, graph_port = free_port(), free_port()
    # Only the machine's environment: nothing of the test settings this process runs with.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CHANNELS_", "SECRET_", "FIELD_"))
        and key not in {"DEBUG", "WHATSAPP_GRAPH_URL", "SECURE_SSL_REDIRECT"}
    }
    environment.update(VAR_DIR=str(var_dir), PORT=str(port), WHATSAPP_GRAPH_URL=f"http://127.0.0.1:{graph_port}")
    log = open(var_dir / "run.log", "wb")
    process = subprocess.Popen(
        ["scripts/run"], cwd=BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: _answers(f"{url}/healthz", process, var_dir / "run.log"),
            timeout=STARTUP_SECONDS,
            message=lambda: f"scripts/run did not answer:\n{(var_dir / 'run.log').read_text()[-3000:]}",
        )
        yield url, (var_dir / "run.log")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _answers(url, process, log_path):
    """Whether the server answers 200; fails at once if scripts/run has exited."""
    if process.poll() is not None:
        pytest.fail(f"scripts/run exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_printed_logins_work_and_the_agent_answers_the_simulated_customer(demo, new_page):
    url, log_path = demo
    banner = log_path.read_text()
    assert "agent@demo.test" in banner and "demo-inbox-2026" in banner

    agent = new_page()
    agent.goto(f"{url}/accounts/login/")
    agent.fill("#id_username", "agent@demo.test")
    agent.fill("#id_password", "demo-inbox-2026")
    agent.click("button[type=submit]")
    agent.wait_for_url(f"{url}/t/*/inbox/")
    expect(agent.locator('main.inbox[data-live="true"]')).to_be_attached()

    # The customer writes from the simulator's phone, and the message arrives live.
    customer = new_page()
    customer.goto(f"{url}/simulator/")
    customer.fill("#sim-wa-id", "15557654321")
    customer.fill("#sim-name", "Nadia")
    customer.fill("#sim-text", "Do you ship to Lisbon?")
    customer.click("#simulator-form button[type=submit]")
    item = agent.locator(".conversation-item", has_text="Nadia")
    expect(item).to_contain_text("Do you ship to Lisbon?", timeout=15_000)
    item.click()
    expect(agent.locator('main.inbox[data-live="true"]')).to_be_attached()
    expect(agent.locator("#messages .message.in .text").last).to_have_text("Do you ship to Lisbon?")

    agent.fill("#composer-text", "Yes, in 3 days.")
    agent.press("#composer-text", "Enter")
    reply = agent.locator("#messages .message.out")
    expect(reply).to_contain_text("Yes, in 3 days.")
    # The simulator reports sent, delivered and read a second apart.
    expect(reply).to_have_attribute("data-status", "read", timeout=20_000)
    expect(customer.locator("#sim-thread")).to_contain_text("Yes, in 3 days.", timeout=10_000)
