"""What every template may call, registered by the app in one place (``create_app``).

Formatting in the reader's language (``matching.i18n``), the labels of stored codes
(``matching.labels``), and the few summaries one feature's page shows of another's data
(the home page's job-order and pipeline counts, a trainee's dispatches): those stay next to
the queries of their feature, but no blueprint registers a global as a side effect.
"""

from flask import Flask

from matching import i18n, labels
from matching.fees.texts import explanation as fee_explanation
from matching.fees.texts import title as fee_title
from matching.web.dispatch.routes import dispatch_summary, trainee_dispatches
from matching.web.fees.routes import fee_panel, fee_summary
from matching.web.jobs.routes import job_order_counts
from matching.web.workers.routes import worker_summary


def register(app: Flask) -> None:
    app.jinja_env.globals.update(i18n.TEMPLATE_GLOBALS)
    app.jinja_env.globals.update(labels.TEMPLATE_GLOBALS)
    app.jinja_env.globals.update(job_order_counts=job_order_counts,
                                 dispatch_summary=dispatch_summary,
                                 trainee_dispatches=trainee_dispatches,
                                 worker_summary=worker_summary)
    app.jinja_env.globals.update(fee_panel=fee_panel, fee_summary=fee_summary,
                                 fee_title=fee_title, fee_explanation=fee_explanation)
    app.jinja_env.filters.update(i18n.TEMPLATE_FILTERS)
