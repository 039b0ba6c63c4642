"""The dashboard page, for tenant admins: how fast the team answers, how many messages reach
customers, what fails and why, and whether the WhatsApp connection is healthy."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_view
from tenants.models import Role
from whatsapp.models import WINDOW_CLOSING_SOON

from . import charts, health, metrics, timing
from .forms import DEFAULT, PRESETS, PeriodForm


def figures(tenant, period):
    """Every figure of the page: a fixed number of queries, whatever the amount of data."""
    hourly = metrics.hourly_counts(tenant, period)
    days = metrics.daily_volume(period, hourly)
    funnel = metrics.delivery_funnel(hourly)
    heat_map = metrics.busiest_hours(hourly)
    team = timing.team_timing(tenant, period)
    closing, closing_total = metrics.closing_windows(tenant)
    return {
        "statuses": metrics.status_counts(tenant),
        "days": days,
        "messages_in": sum(day.inbound for day in days),
        "messages_out": sum(day.outbound for day in days),
        "daily_chart": charts.daily_bars(days),
        "funnel": funnel,
        "funnel_chart": charts.funnel(funnel),
        "failures": metrics.failures_by_code(tenant, period),
        "heat_map": heat_map,
        "heat_chart": charts.heat_map(heat_map.cells),
        "heat_rows": list(zip(charts.WEEKDAYS, heat_map.cells)),
        "heat_hours": [f"{hour:02d}" for hour in range(24)],
        "timing": team,
        "agents": timing.agent_table(tenant, period, team),
        "closing": closing,
        "closing_total": closing_total,
        "window_soon_hours": WINDOW_CLOSING_SOON // timedelta(hours=1),
        "health": health.connection_health(tenant, period),
    }


@require_GET
@tenant_view(role=Role.ADMIN)
def dashboard(request, membership):
    form = PeriodForm({"range": DEFAULT, **request.GET.dict()})
    period = form.period()
    context = {
        "tenant": membership.tenant,
        "membership": membership,
        "form": form,
        "period": period,
        "time_zone": settings.TIME_ZONE,
        "default_days": PRESETS[DEFAULT],
    }
    return render(request, "dashboard/dashboard.html", context | figures(membership.tenant, period))


@require_POST
@tenant_view(role=Role.ADMIN)
def check_number(request, membership):
    try:
        numbers = health.check_numbers(membership.tenant)
    except health.CheckFailed as error:
        flash.error(request, str(error))
    else:
        if numbers:
            flash.success(request, f"WhatsApp answered for {len(numbers)} number{'s' if len(numbers) != 1 else ''}.")
        else:
            flash.error(request, "This tenant has no WhatsApp number to check yet.")
    return redirect("dashboard:dashboard", slug=membership.tenant.slug)
