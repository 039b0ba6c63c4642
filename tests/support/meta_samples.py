"""Meta's webhook payloads as PyWA's own tests have them (tests/data/meta-samples/pywa/, MIT
licensed; MANIFEST.md there says where they come from), kept in the repository so the tests
read nothing outside it."""

from pathlib import Path

PYWA_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "meta-samples" / "pywa"
