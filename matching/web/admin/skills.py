"""The skill vocabulary grows from real files: an admin maps a custom skill onto it.

The page lists every skill outside the vocabulary that trainees or job orders hold, with
how many; mapping one makes it an alias (later imports resolve it) and moves its holders
onto the vocabulary skill, in the request's one transaction (``operations.skills``).
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matching import access
from matching.i18n import locale_code
from matching.operations.skills import SkillMappingError, custom_skills_in_use, map_custom_skill
from matching.vocab.skills import skill_label
from matching.web.admin import bp
from matching.web.admin.forms import SkillMappingForm


@bp.route("/skills")
@access.roles_required(*access.ADMINS)
def skills():
    uses = custom_skills_in_use()
    return render_template("admin/skills.html", uses=uses,
                           forms={u.slug: SkillMappingForm(custom=u.slug, formdata=None)
                                  for u in uses})


@bp.route("/skills/map", methods=["POST"])
@access.roles_required(*access.ADMINS)
def skill_map():
    form = SkillMappingForm()
    if not form.validate():
        flash(_("Choose a vocabulary skill for “%(skill)s”.", skill=form.custom.data or ""),
              "error")
        return redirect(url_for("admin.skills"))
    try:
        trainees, jobs = map_custom_skill(form.custom.data, form.code.data, current_user)
    except SkillMappingError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.skills"))
    flash(_("“%(custom)s” is now an alias of “%(skill)s”: %(trainees)d trainee(s) and "
            "%(jobs)d job order(s) updated.", custom=form.custom.data,
            skill=skill_label(form.code.data, locale_code()), trainees=trainees, jobs=jobs),
          "success")
    return redirect(url_for("admin.skills"))
