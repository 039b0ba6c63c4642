"""The README's first command, as a newcomer runs it: `scripts/run` with no settings (SQLite,
the in-memory channel layer, local media, the simulator), then a person in a real browser.
The simulated customer writes, the agent replies, and the ticks reach read. The simulator's
phone plays a real customer: a photo, a place, a contact, a tap on the agent's buttons and a
reaction reach the agent, and the phone shows the agent's read receipts and typing."""

import os
import signal
import subprocess

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.axe import serious_violations
from tests.support.media_files import png
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


def log_in_agent(page, url):
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", "agent@demo.test")
    page.fill("#id_password", "demo-inbox-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/t/*/inbox/")
    expect(page.locator('main.inbox[data-live="true"]')).to_be_attached()


def test_the_simulators_customer_shares_taps_reacts_and_sees_reads_and_typing(demo, new_page):
    url, _ = demo
    agent = new_page()
    agent.set_viewport_size({"width": 1440, "height": 900})
    log_in_agent(agent, url)
    customer = new_page()
    customer.set_viewport_size({"width": 390, "height": 844})
    errors = []
    customer.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    customer.on("pageerror", lambda error: errors.append(str(error)))
    customer.goto(f"{url}/simulator/")
    customer.fill("#sim-wa-id", "15557650002")
    customer.fill("#sim-name", "Rui")
    phone = customer.locator("#sim-thread")

    # A photo with a caption, then a place and a contact card, each one tap.
    customer.set_input_files("#sim-file", {"name": "box.png", "mimeType": "image/png", "buffer": png(8, 6)})
    customer.fill("#sim-text", "The box arrived like this")
    customer.click("#simulator-form button[type=submit]")
    item = agent.locator(".conversation-item", has_text="Rui")
    expect(item).to_be_visible(timeout=15_000)
    item.click()
    expect(agent.locator('main.inbox[data-live="true"]')).to_be_attached()
    thread = agent.locator("#messages")
    expect(thread.locator(".message.in .media-thumb img")).to_be_visible(timeout=15_000)
    customer.click("button[data-kind=location]")
    expect(thread.locator(".message.in .location-card")).to_contain_text("Praça do Comércio", timeout=15_000)
    customer.click("button[data-kind=contacts]")
    expect(thread.locator(".message.in .contact-card")).to_contain_text("João Silva", timeout=15_000)

    # The agent has them open: the phone shows them read; the agent types: the phone says so.
    expect(phone.locator(".sim-message.mine .sim-ticks").last).to_have_attribute("aria-label", "Read", timeout=15_000)
    agent.locator("#composer-text").press_sequentially("We will")
    expect(customer.locator("#sim-status")).to_have_text("typing…", timeout=15_000)

    # The agent offers buttons; the customer taps one and reacts to the question.
    agent.fill("#composer-text", "")
    agent.click("#interactive-open")
    agent.fill("#interactive-body", "Shall we send a new one?")
    agent.fill("#interactive-button-1", "Yes please")
    agent.fill("#interactive-button-2", "No thanks")
    agent.click("#interactive-send")
    choice = phone.locator("button.sim-choice", has_text="Yes please")
    expect(choice).to_be_visible(timeout=15_000)
    choice.click()
    card = thread.locator(".message.in .reply-card")
    expect(card).to_contain_text("Tapped a button", timeout=15_000)
    expect(card.locator(".text")).to_have_text("Yes please")
    question = phone.locator(".sim-message.theirs", has_text="Shall we send a new one?")
    question.locator("button.sim-emoji[data-emoji='👍']").click()
    asked = thread.locator(".message.out", has_text="Shall we send a new one?")
    expect(asked.locator(".reactions")).to_have_text("👍", timeout=15_000)
    assert customer.evaluate("document.documentElement.scrollWidth") <= 390
    assert serious_violations(customer) == [] and errors == []
