"""Keep secrets out of log output, whatever a library writes (PyWA and httpx log request
details at DEBUG). Applied to every handler of the project's logging configuration."""

import logging
import re

# Bearer tokens, and key=value or "key": "value" pairs whose key names a secret.
PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)((?:access_token|app_secret|verify_token|hub\.verify_token|client_secret|password|authorization)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
        ),
        r"\1[redacted]",
    ),
    # An open invitation's link lets its holder join (Django logs the path of every 4xx).
    (re.compile(r"(?<!/members)(/invitations/)[^/\s\"']+"), r"\1[redacted]"),
]


def redact(text):
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
