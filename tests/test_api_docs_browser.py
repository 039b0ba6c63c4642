"""The API's interactive docs in a real browser: served by the app (no CDN), under the
inbox's Content Security Policy, with every operation listed and nothing refused."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def test_the_docs_page_shows_every_operation_with_no_outside_request_and_no_csp_violation(page, stack):
    requests, violations = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{stack.url}/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/messages").first).to_be_visible()
    assert page.locator(".opblock").count() >= 20
    assert all(url.startswith((stack.url, "data:")) for url in requests), requests
    assert violations == []
