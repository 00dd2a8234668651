"""Documents generated from the registry (PDF), e.g. the Japanese résumé (rirekisho).

Builders here are pure functions of ORM objects that return bytes; the views decide who may
download them (access.py) and how they are served.
"""

from matching.documents.rirekisho import build_rirekisho

__all__ = ["build_rirekisho"]
