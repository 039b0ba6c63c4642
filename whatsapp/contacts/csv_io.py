"""Contacts as CSV: reading an import file into rows and errors, and writing the export.

The import reads whatever a person uploads: any bytes, any shape. It never raises; what it
cannot use becomes a per-line error or, for the whole file, `report.problem`.
"""

import csv
import io
import re

from asgiref.sync import sync_to_async

from whatsapp.contacts.actions import (
    NAME_MAX,
    NOTES_MAX,
    RESERVED_KEYS,
    ImportReport,
    ImportRow,
    clean_attribute,
    clean_text,
)
from whatsapp.errors import ActionError
from whatsapp.models import Contact

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 50_000
MAX_COLUMNS = 40
MAX_ERRORS_SHOWN = 100
# Columns of the export that describe WhatsApp's side or our state: an import skips them.
CONSENT_COLUMNS = [
    "marketing_opted_out",
    "marketing_opted_out_at",
    "marketing_opt_out_source",
    "marketing_opted_in_at",
    "marketing_opt_in_source",
    "marketing_opt_in_by",
]
READ_ONLY_COLUMNS = ["user_id", "profile_name", "blocked", *CONSENT_COLUMNS, "created_at"]
EXPORT_COLUMNS = ["wa_id", "user_id", "name", "profile_name", "notes", "blocked", *CONSENT_COLUMNS, "created_at"]
COLUMN_ALIASES = {"phone": "wa_id", "phone_number": "wa_id", "number": "wa_id"}
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number: 6 to 15 digits once +, spaces, dots, dashes and brackets are gone (E.164).
PHONE_PUNCTUATION = re.compile(r"[\s+().\-]")
SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")


def read_import(upload):
    """Rows to import and a report of what was refused, from an uploaded file."""
    report = ImportReport()
    if upload is None:
        report.problem = "Choose a CSV file to import."
        return [], report
    if upload.size > MAX_IMPORT_BYTES:
        megabytes = MAX_IMPORT_BYTES // 2**20
        report.problem = f"The file is larger than {megabytes} MB. Split it into smaller files."
        report.too_large = True
        return [], report
    try:
        text = upload.read(MAX_IMPORT_BYTES + 1).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        report.problem = (
            f"The file is not UTF-8 text (byte {error.start + 1} is not valid UTF-8). "
            "In Excel, choose “Save as… CSV UTF-8”; in LibreOffice, pick the UTF-8 character set."
        )
        return [], report
    try:
        rows = _read_rows(text, report)
    except csv.Error as error:
        report.problem = f"This is not a CSV file we can read: {error}."
        return [], report
    return rows, report


def _read_rows(text, report):
    text = text.replace("\x00", "")
    lines = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(lines, None)
    columns = _columns(header or [], report)
    if report.problem:
        return []
    rows, seen = [], {}
    for cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(report.errors) >= MAX_IMPORT_ROWS:
            report.problem = f"The file has more than {MAX_IMPORT_ROWS:,} contacts. Split it into smaller files."
            return []
        line = lines.line_num
        try:
            row = _row(line, cells, columns)
        except ActionError as error:
            report.errors.append((line, str(error)))
            continue
        if row.wa_id in seen:
            report.errors.append(
                (line, f"The number {row.wa_id} is also on line {seen[row.wa_id]}; this line was skipped.")
            )
            continue
        seen[row.wa_id] = line
        rows.append(row)
    if not rows and not report.errors:
        report.problem = "The file has a header but no contacts."
    return rows


def _delimiter(text):
    """Commas, or the semicolons or tabs some spreadsheets write instead."""
    first_line = text.split("\n", 1)[0]
    return max([",", ";", "\t"], key=first_line.count) if first_line else ","


def _columns(header, report):
    """What each column means: a core field, a custom field, or nothing (None)."""
    names = [_unquote(cell).strip() for cell in header]
    normalised = [COLUMN_ALIASES.get(n.casefold().replace(" ", "_"), n.casefold().replace(" ", "_")) for n in names]
    if "wa_id" not in normalised:
        found = ", ".join(name for name in names if name)[:200] or "nothing"
        report.problem = (
            "The first line must name the columns, one of them wa_id: the customer's number with its "
            f"country code (e.g. 4915123456789). Found: {found}."
        )
    elif len(names) > MAX_COLUMNS:
        report.problem = f"The file has {len(names)} columns; the limit is {MAX_COLUMNS}."
    elif duplicates := sorted({n for n in normalised if n and normalised.count(n) > 1}):
        report.problem = f"These columns appear more than once: {', '.join(duplicates)}."
    columns = []
    for name, key in zip(names, normalised):
        if key in ("wa_id", "name", "notes"):
            columns.append(("field", key))
        elif key in READ_ONLY_COLUMNS or not name:
            report.ignored_columns.append(name or f"column {len(columns) + 1} (no name)")
            columns.append(None)
        else:
            try:
                clean_attribute(name, "")
            except ActionError as error:
                report.problem = f"The column “{name[:40]}” cannot be a custom field: {error}"
            columns.append(("attribute", name))
    return columns


def _row(line, cells, columns):
    if len(cells) > len(columns):
        raise ActionError(f"It has {len(cells)} cells but the first line names {len(columns)} columns.")
    row = ImportRow(line=line, wa_id="")
    for column, cell in zip(columns, cells):
        value = _unquote(cell)
        if column is None:
            continue
        kind, name = column
        if kind == "attribute":
            key, value = clean_attribute(name, value)
            if value:
                row.attributes[key] = value
        elif name == "wa_id":
            row.wa_id = wa_id_from(value)
        elif value.strip():
            limit = NAME_MAX if name == "name" else NOTES_MAX
            row.values[name] = clean_text(value, limit, name)
            if name == "name":
                row.values[name] = row.values[name].replace("\n", " ")
    if not row.wa_id:
        raise ActionError("The wa_id cell is empty.")
    return row


def wa_id_from(value):
    """WhatsApp's id for a number: its digits, country code first."""
    value = value.strip()
    if SCIENTIFIC.match(value):
        raise ActionError(
            f"“{value}” is a number a spreadsheet shortened. Format the wa_id column as text and export again."
        )
    digits = PHONE_PUNCTUATION.sub("", value)
    if value and not digits.isdigit():
        raise ActionError(f"“{value[:40]}” is not a phone number.")
    if digits and not 6 <= len(digits) <= 15:
        raise ActionError(f"“{value[:40]}” has {len(digits)} digits; a number with its country code has 6 to 15.")
    return digits


def _unquote(cell):
    """Undo the export's protection of a cell against spreadsheet formulas."""
    if cell.startswith("'") and cell[1:2] and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


def safe_cell(value):
    """A cell no spreadsheet will run as a formula: such text gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """csv.writer writes into this and gets the line back (Django's streaming CSV pattern)."""

    def write(self, value):
        return value


def _export_row(contact, attribute_keys):
    cells = [
        contact.wa_id,
        contact.user_id,
        contact.name,
        contact.profile_name,
        contact.notes,
        "yes" if contact.blocked else "no",
        "yes" if contact.marketing_opted_out else "no",
        _moment(contact.marketing_opted_out_at),
        contact.marketing_opt_out_source,
        _moment(contact.marketing_opted_in_at),
        contact.marketing_opt_in_source,
        contact.marketing_opt_in_by.email if contact.marketing_opt_in_by else "",
        contact.created_at.isoformat(timespec="seconds"),
    ]
    return [safe_cell(cell) for cell in cells + [contact.attributes.get(key, "") for key in attribute_keys]]


def _moment(value):
    return value.isoformat(timespec="seconds") if value else ""


async def export_lines(tenant_id):
    """The tenant's contacts as CSV lines, read in chunks: the whole file is never in memory.
    Starts with a BOM, so Excel reads the names as UTF-8."""
    contacts = Contact.objects.filter(tenant_id=tenant_id)
    attribute_keys = await sync_to_async(_attribute_keys)(contacts)
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([safe_cell(cell) for cell in EXPORT_COLUMNS + attribute_keys])
    async for contact in contacts.select_related("marketing_opt_in_by").order_by("pk").aiterator(chunk_size=2000):
        yield writer.writerow(_export_row(contact, attribute_keys))


def _attribute_keys(contacts):
    keys = set()
    for attributes in contacts.exclude(attributes={}).values_list("attributes", flat=True).iterator(chunk_size=5000):
        keys.update(attributes)
    return sorted(keys - RESERVED_KEYS, key=str.casefold)
