"""An integrator's script, outside the project, holding only an API key and the OpenAPI
document, against the live stack: it starts a conversation with a template, follows the
status to read (Meta's statuses from the fake Graph API), reads the customer's reply, and
gets no 5xx for hostile input."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api import make_key
from tests.support.tenants import ACME
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SCRIPT = Path(__file__).parent / "support" / "api_client_script.py"
PNID = ACME["phone_number_id"]


def test_a_script_with_only_a_key_and_the_openapi_document_starts_and_follows_a_conversation(api_stack, acme, tmp_path):
    live_stack = api_stack
    # The template the script sends (one body parameter), approved in the account as Meta keeps it.
    live_stack.fake.add_template(ACME["waba_id"], "order_shipped", "Hi {{1}}, your order has shipped.")
    _, key = make_key(acme, name="Shop")
    script = shutil.copy(SCRIPT, tmp_path / "client.py")  # outside the project: it cannot import it
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-I", script, live_stack.url, key, "+1 415 300 9876"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.strip())
            if line.startswith("READ"):
                live_stack.fake.customer_says(PNID, "14153009876", "Thanks, got it!", name="Ada")
        assert process.wait(timeout=120) == 0, (lines, process.stderr.read())
    finally:
        if process.poll() is None:
            process.kill()
    summary = json.loads(lines[-1])
    assert summary["statuses"][-1] == "read" and "sent" in summary["statuses"]
    assert summary["reply"] == "Thanks, got it!" and summary["answer"] == "queued"
    assert summary["worst_status_for_hostile_input"] < 500

    def sent_types():
        return [item["body"]["type"] for item in live_stack.fake.sent_messages(PNID) if item["to"] == "14153009876"]

    wait_until(lambda: len(sent_types()) == 2, timeout=30, message=live_stack.stack.log_tails)
    assert sent_types() == ["template", "text"]
