from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Role, Tenant
from tenants.setup import add_member


class Command(BaseCommand):
    help = "Add a user (created if new) to a tenant with a role, or update their role. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--role", choices=Role.values, default=Role.AGENT)
        parser.add_argument("--password", help="Set for a new user; updates an existing user's password.")
        parser.add_argument("--name", default="")

    def handle(self, slug, email, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}: create it first with create_tenant.")
        if options["password"]:
            try:
                validate_password(options["password"])
            except ValidationError as error:
                raise CommandError("Password rejected: " + " ".join(error.messages))
        membership = add_member(tenant, email, role=options["role"], password=options["password"], name=options["name"])
        self.stdout.write(f"{membership.user.email} is {membership.role} of {tenant.slug}")
