"""CSV import and export of contacts, with the files people really upload: spreadsheets'
habits, wrong columns, wrong encodings, huge files and cells that are formulas."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from whatsapp.contacts import csv_io as contact_csv
from whatsapp.models import Contact

pytestmark = pytest.mark.filterwarnings(
    # The test client is sync; the export streams from an async generator, as Daphne serves it.
    "ignore:StreamingHttpResponse must consume asynchronous iterators"
)


def upload(tenant_admin_client, content, name="contacts.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return tenant_admin_client.post(
        "/t/acme/contacts/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    )


def exported(tenant_admin_client):
    response = tenant_admin_client.get("/t/acme/contacts/export.csv")
    assert response.status_code == 200
    text = b"".join(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


# Import.


def test_the_import_page_explains_the_file(tenant_admin_client, acme):
    content = tenant_admin_client.get("/t/acme/contacts/import/").content.decode()
    assert "wa_id" in content and 'enctype="multipart/form-data"' in content


def test_an_import_creates_contacts_with_custom_fields(tenant_admin_client, acme):
    response = upload(
        tenant_admin_client, "wa_id,name,notes,plan\n+49 151 2345-6789,Zoë,Likes tea,gold\n15550001234,Sam,,\n"
    )
    assert response.status_code == 200
    assert "2</strong> contacts imported: 2 new" in response.content.decode()
    zoe = Contact.objects.get(wa_id="4915123456789")
    assert (zoe.name, zoe.notes, zoe.attributes) == ("Zoë", "Likes tea", {"plan": "gold"})
    assert Contact.objects.get(wa_id="15550001234").attributes == {}


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tenant_admin_client, acme):
    content = "wa_id,name,plan\n15550001234,Sam,gold\n15550005678,Kim,silver\n"
    upload(tenant_admin_client, content)
    stamps = dict(Contact.objects.values_list("wa_id", "updated_at"))
    response = upload(tenant_admin_client, content)
    assert response.context["report"].unchanged == 2 and response.context["report"].created == 0
    assert dict(Contact.objects.values_list("wa_id", "updated_at")) == stamps
    assert Contact.objects.count() == 2


def test_an_import_updates_by_number_and_keeps_what_empty_cells_do_not_mention(tenant_admin_client, acme):
    Contact.objects.create(
        tenant=acme, wa_id="15550001234", profile_name="Sam WA", notes="Old notes", attributes={"city": "Oslo"}
    )
    response = upload(tenant_admin_client, "wa_id,name,notes,plan\n15550001234,Sam,,gold\n")
    assert response.context["report"].updated == 1
    sam = Contact.objects.get()
    assert (sam.name, sam.notes, sam.profile_name, sam.attributes) == (
        "Sam",
        "Old notes",
        "Sam WA",
        {"city": "Oslo", "plan": "gold"},
    )


def test_an_import_never_touches_another_tenants_contact_with_the_same_number(tenant_admin_client, acme, globex):
    Contact.objects.create(tenant=globex, wa_id="15550001234", name="Globex's Sam")
    upload(tenant_admin_client, "wa_id,name\n15550001234,Acme's Sam\n")
    assert Contact.objects.get(tenant=globex).name == "Globex's Sam"
    assert Contact.objects.get(tenant=acme).name == "Acme's Sam"


def test_an_update_by_import_is_published_live(tenant_admin_client, acme, published):
    Contact.objects.create(tenant=acme, wa_id="15550001234")
    upload(tenant_admin_client, "wa_id,name\n15550001234,Sam\n")
    events = dict(published())
    assert events["contact.updated"]["display_name"] == "Sam"


@pytest.mark.parametrize(
    "content, problem",
    [
        ("name,notes\nSam,hi\n", "one of them wa_id"),
        ("", "one of them wa_id"),
        ("wa_id,name\n", "no contacts"),
        ("wa_id,name,name\n1555000123,a,b\n", "more than once: name"),
        ("wa_id," + ",".join(f"c{n}" for n in range(45)) + "\n", "limit is 40"),
        ("wa_id," + "k" * 41 + "\n155500012,v\n", "cannot be a custom field"),
    ],
)
def test_a_file_with_wrong_columns_is_refused_whole_with_the_reason(tenant_admin_client, acme, content, problem):
    response = upload(tenant_admin_client, content)
    assert response.status_code == 400
    assert problem in response.context["report"].problem
    assert "Nothing was imported" in response.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "row, error",
    [
        ("abc,Sam", "not a phone number"),
        ("12345,Sam", "has 5 digits"),
        ("1234567890123456,Sam", "has 16 digits"),
        ("1.5555E+10,Sam", "a spreadsheet shortened"),
        (",Sam", "wa_id cell is empty"),
        ("15550001234,Sam,extra", "has 3 cells"),
        ("15550009999," + "n" * 201, "limit is 200"),
    ],
)
def test_a_bad_line_is_skipped_with_its_line_number_and_the_rest_imported(tenant_admin_client, acme, row, error):
    response = upload(tenant_admin_client, f"wa_id,name\n15550000001,Good\n{row}\n15550000002,Also good\n")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.created == 2
    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 3 and error in message
    assert error.split()[0] in response.content.decode()


def test_a_number_twice_in_one_file_keeps_the_first_and_names_it(tenant_admin_client, acme):
    response = upload(tenant_admin_client, "wa_id,name\n15550001234,First\n+1 555 000 1234,Second\n")
    assert response.context["report"].errors == [
        (3, "The number 15550001234 is also on line 2; this line was skipped.")
    ]
    assert Contact.objects.get().name == "First"


def test_a_file_that_is_not_utf8_is_refused_with_how_to_fix_it(tenant_admin_client, acme):
    response = upload(tenant_admin_client, "wa_id,name\n15550001234,José\n".encode("cp1252"))
    assert response.status_code == 400
    assert "not UTF-8" in response.context["report"].problem and "CSV UTF-8" in response.context["report"].problem


def test_binary_junk_is_refused_not_a_500(tenant_admin_client, acme):
    response = upload(tenant_admin_client, bytes(range(256)) * 20, name="photo.jpg")
    assert response.status_code == 400


def test_nul_bytes_are_dropped(tenant_admin_client, acme):
    upload(tenant_admin_client, "wa_id,name\n15550001234,Sa\x00m\n")
    assert Contact.objects.get().name == "Sam"


def test_excels_bom_semicolons_and_crlf_are_understood(tenant_admin_client, acme):
    upload(tenant_admin_client, '\ufeffWA ID;Name;Notes\r\n15550001234;Sam;"two\r\nlines"\r\n'.encode("utf-8"))
    sam = Contact.objects.get()
    assert (sam.wa_id, sam.name, sam.notes) == ("15550001234", "Sam", "two\nlines")


def test_a_phone_column_stands_for_wa_id(tenant_admin_client, acme):
    upload(tenant_admin_client, "Phone,Name\n+15550001234,Sam\n")
    assert Contact.objects.get().wa_id == "15550001234"


def test_a_file_over_the_cap_is_refused_with_413(tenant_admin_client, acme, monkeypatch):
    monkeypatch.setattr(contact_csv, "MAX_IMPORT_BYTES", 1000)
    response = upload(tenant_admin_client, "wa_id,name\n" + "15550001234,Sam\n" * 100)
    assert response.status_code == 413
    assert "larger than" in response.context["report"].problem
    assert not Contact.objects.exists()


def test_a_request_body_over_the_cap_is_refused_before_the_file_is_read(tenant_admin_client, acme, monkeypatch):
    from whatsapp.contacts import views as contact_views

    monkeypatch.setattr(contact_views, "IMPORT_BODY_SLACK", 0)
    monkeypatch.setattr(contact_csv, "MAX_IMPORT_BYTES", 10)
    read = []
    monkeypatch.setattr(contact_csv, "read_import", lambda upload: read.append(upload))
    assert upload(tenant_admin_client, "wa_id,name\n15550001234,Sam\n").status_code == 413
    assert read == []


def test_too_many_rows_are_refused_whole(tenant_admin_client, acme, monkeypatch):
    monkeypatch.setattr(contact_csv, "MAX_IMPORT_ROWS", 3)
    rows = "".join(f"1555000000{n},N{n}\n" for n in range(5))
    response = upload(tenant_admin_client, "wa_id,name\n" + rows)
    assert response.status_code == 400 and "more than 3" in response.context["report"].problem
    assert not Contact.objects.exists()


def test_a_field_too_big_for_csv_is_refused_not_a_500(tenant_admin_client, acme):
    response = upload(tenant_admin_client, 'wa_id,notes\n15550001234,"' + "x" * 200_000 + '"\n')
    assert response.status_code == 400
    assert "field larger than field limit" in response.context["report"].problem


def test_a_missing_file_is_asked_for(tenant_admin_client, acme):
    response = tenant_admin_client.post("/t/acme/contacts/import/", {})
    assert response.status_code == 400 and "Choose a CSV file" in response.content.decode()


def test_a_broken_multipart_body_is_not_a_500(tenant_admin_client, acme):
    response = tenant_admin_client.post(
        "/t/acme/contacts/import/", data=b"--xyz\r\nnonsense", content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code == 400


def test_only_the_first_hundred_errors_are_listed(tenant_admin_client, acme):
    response = upload(tenant_admin_client, "wa_id\n" + "bad\n" * 150)
    assert len(response.context["report"].errors) == 150
    assert "Showing the first 100 of 150" in response.content.decode()


# Export.


def test_the_export_has_every_contact_of_the_tenant_with_custom_fields_as_columns(tenant_admin_client, acme, globex):
    Contact.objects.create(tenant=acme, wa_id="15550001234", name="Sam", notes="a\nb", attributes={"plan": "gold"})
    Contact.objects.create(tenant=acme, user_id="US.42", profile_name="Kim", attributes={"City": "Oslo"}, blocked=True)
    Contact.objects.create(tenant=globex, wa_id="15559999999", name="Globex only")
    rows = exported(tenant_admin_client)
    assert rows[0] == contact_csv.EXPORT_COLUMNS + ["City", "plan"]
    body = {row[0] or row[1]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(body) == {"15550001234", "US.42"}
    assert body["15550001234"]["notes"] == "a\nb" and body["15550001234"]["plan"] == "gold"
    assert body["US.42"]["blocked"] == "yes" and body["US.42"]["City"] == "Oslo"


def test_the_export_is_an_attachment_streamed(tenant_admin_client, acme):
    response = tenant_admin_client.get("/t/acme/contacts/export.csv")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-acme-')


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_the_export_defuses_cells_a_spreadsheet_would_run(tenant_admin_client, acme, dangerous):
    Contact.objects.create(
        tenant=acme, wa_id="15550001234", name=dangerous, notes=dangerous, attributes={"x": dangerous}
    )
    row = dict(zip(*exported(tenant_admin_client)))
    assert row["name"] == row["notes"] == row["x"] == "'" + dangerous


def test_an_export_imports_back_unchanged(tenant_admin_client, acme):
    Contact.objects.create(
        tenant=acme, wa_id="15550001234", name="=Sam", notes="Line 1\nLine 2", attributes={"plan": "-gold"}
    )
    data = tenant_admin_client.get("/t/acme/contacts/export.csv")
    content = b"".join(data)
    response = upload(tenant_admin_client, content)
    assert response.context["report"].unchanged == 1
    assert "user_id" in response.context["report"].ignored_columns
    sam = Contact.objects.get()
    assert (sam.name, sam.notes, sam.attributes) == ("=Sam", "Line 1\nLine 2", {"plan": "-gold"})


def test_an_empty_tenant_exports_just_the_header(tenant_admin_client, acme):
    assert exported(tenant_admin_client) == [contact_csv.EXPORT_COLUMNS]
