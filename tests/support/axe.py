"""axe-core (vendored from the npm registry, tests/vendor/axe-core) run in a page."""

from pathlib import Path

AXE_SOURCE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text()
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
    """The page's serious and critical violations, one line each."""
    # Evaluated through the browser's debugging protocol: the pages' own policy allows no
    # script but theirs, and must not be loosened for the test.
    page.evaluate(AXE_SOURCE)
    return page.evaluate(SERIOUS)
