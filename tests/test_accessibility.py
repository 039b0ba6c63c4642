"""Every page passes axe-core (vendored from the npm registry, tests/vendor/axe-core) with no
serious or critical violation, on a laptop and on a phone, with data on the page."""

from pathlib import Path

import pytest

from tests.support.browsing import customer_writes_and_agent_opens, log_in, wait_until_live

pytestmark = [pytest.mark.browser, pytest.mark.stack]

AXE_SOURCE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text()
PAGES = [
    "",
    "contacts/",
    "search/?q=hello",
    "dashboard/",
    "logs/",
    "logs/graph/",
    "logs/rejected/",
    "settings/",
    "templates/",
    "members/",
    "connection/",
    "security/",
    "audit/",
]
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map((violation) => {
      const nodes = violation.nodes.slice(0, 6).map((node) => `${node.target.join(" ")} ${node.any[0]?.message || ""}`);
      return `${violation.id}: ${nodes.join(" | ")}`;
    });
}"""


def serious_violations(page):
    # Evaluated through the browser's debugging protocol: the pages' own policy allows no
    # script but theirs, and must not be loosened for the test.
    page.evaluate(AXE_SOURCE)
    return page.evaluate(SERIOUS)


@pytest.mark.parametrize(
    "viewport", [{"width": 1440, "height": 900}, {"width": 390, "height": 844}], ids=["laptop", "phone"]
)
def test_no_page_has_a_serious_accessibility_violation(page, stack, owner, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{stack.url}/accounts/login/")
    found = {"login": serious_violations(page)}
    log_in(page, stack, owner.email)
    wait_until_live(page)
    customer_writes_and_agent_opens(page, stack, "Hello, is my order on its way?")
    page.fill("#composer-text", "It left this morning.")
    page.press("#composer-text", "Enter")
    found["conversation"] = serious_violations(page)
    for path in PAGES:
        page.goto(f"{stack.url}/t/acme/{path}")
        found[path or "inbox"] = serious_violations(page)
    problems = {name: problems for name, problems in found.items() if problems}
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())
