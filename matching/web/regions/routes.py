"""The regional picture's pages and CSV (issue 13 §5).

``/regions/``: the admin's table of the 34 provinces with its charts (a department is sent
to its own province); ``/regions/<code>``: one province; ``/regions/export.csv``: the same
figures as a spreadsheet (``?province=`` for one). Outside a department's province: 404.
"""

import csv
import io
from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_login import current_user

from matching import access, fees
from matching.fees.texts import TITLES
from matching.formulas import neutralised
from matching.i18n import locale_code
from matching.vocab import province_name
from matching.web.dispatch.queries import lowest_conversion
from matching.web.downloads import attachment
from matching.web.regions import bp
from matching.web.regions.queries import RATE_OF, STEPS, Region, regional_picture


def percent(value) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%")


def _page_values(picture) -> dict:
    return {"picture": picture, "steps": STEPS, "rate_of": RATE_OF, "percent": percent,
            "rules": fees.rules(), "survey": picture.survey, "rule_title": rule_title}


def rule_title(rule) -> str:
    """A rule's title as its flags say it (``fees.texts``)."""
    return TITLES.get(rule.check, rule.id)


@bp.route("/")
@access.roles_required(*access.REGION_VIEWERS)
def index():
    """Every province in one table (admin); a department's own province."""
    if current_user.role != "admin":
        codes = access.region_codes(current_user)
        if not codes:
            abort(404)
        return redirect(url_for("regions.province", code=codes[0]))
    picture = regional_picture(current_user)
    return render_template("regions/index.html", **_page_values(picture),
                           lowest=lowest_conversion([r.funnel for r in picture.regions]))


@bp.route("/<code>")
@access.roles_required(*access.REGION_VIEWERS)
def province(code: str):
    code = access.get_region_or_404(current_user, code)
    picture = regional_picture(current_user, code)
    region = next(r for r in picture.regions if r.province == code)
    return render_template("regions/province.html", **_page_values(picture), region=region,
                           code=code)


def csv_header() -> list[str]:
    """The CSV's columns: machine names, one flag count per rule of the table."""
    return ["province", "province_name", "registered", "available", "shortlisted",
            "selected", "departed", "deployed", "available_share", "shortlisted_rate",
            "selected_rate", "departed_rate", "deployed_rate", "conversion",
            "median_days_registration_to_departure", "departures_measured",
            "workers_who_paid", "worker_paid_median_jpy", "worker_paid_total_jpy",
            "recruitment_costs_jpy", "fees_jpy", "survey_average_jpy", "flags",
            *(f"flags_{rule}" for rule in fees.rule_ids()), "grievances_open",
            "grievances_overdue", "exposure_ratio", "exposure_below_threshold"]


def _number(value, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{round(value, digits):g}" if value != int(value) else str(int(value))
    return str(value)


def csv_row(region: Region, survey_jpy: int, locale: str) -> list[str]:
    exposure = region.exposure
    values = [region.province or "all",
              province_name(region.province, locale) if region.province else "",
              *(region.count(step) for step in STEPS),
              *(region.rate(step) for step in RATE_OF), region.rate("conversion"),
              region.median_days, len(region.days_to_departure), region.paid_workers,
              region.median_paid, region.paid_total, region.totals.costs_jpy,
              region.totals.fees_jpy, survey_jpy, region.flag_count,
              *(region.flags.get(rule, 0) for rule in fees.rule_ids()),
              region.grievances_open, region.grievances_overdue,
              exposure.ratio if exposure else None,
              ("yes" if exposure.flagged else "no") if exposure else None]
    return neutralised(_number(v) for v in values)


@bp.route("/export.csv")
@access.roles_required(*access.REGION_VIEWERS)
def export():
    """The figures of the pages as CSV: one row per province in scope (and the total of
    several); ``?province=`` one province (another department's: 404)."""
    code = request.args.get("province") or None
    if code is not None:
        access.get_region_or_404(current_user, code)
    picture = regional_picture(current_user, code)
    locale = locale_code()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_header())
    for region in picture.regions:
        writer.writerow(csv_row(region, picture.survey.amount_jpy, locale))
    if len(picture.regions) > 1:
        writer.writerow(csv_row(picture.total, picture.survey.amount_jpy, locale))
    scope = code or (picture.regions[0].province if len(picture.regions) == 1 else "all")
    filename = f"regions-{scope}-{date.today():%Y%m%d}.csv"
    # The BOM makes Excel open the file as UTF-8 (Vietnamese and Japanese names survive).
    return attachment(("\ufeff" + buffer.getvalue()).encode("utf-8"), filename, "text/csv")
