"""WTForms' and Flask-WTF's own validation messages, in the project's catalogues.

WTForms ships no Vietnamese and a Japanese that reads stiffly, so no form uses WTForms'
catalogues: every form's ``Meta.get_translations`` (``matching.web.forms.BaseForm``) returns
``TRANSLATIONS``, which looks WTForms' English msgids up in *our* catalogues. For pybabel to
extract those msgids, they are listed below with the ``N_`` (one form) and ``Nn_``
(singular and plural) markers, exactly as WTForms 3 and Flask-WTF 1 write them
(``tests/test_form_messages.py`` checks this list against their source).

Left out on purpose: messages a user cannot cause (``"Choices cannot be None."``, a
``TypeError``; ``"Invalid field name '%s'."``, a programming error), and Flask-WTF's
``FileSize`` message, an f-string no catalogue can hold (our forms do not use it).
"""

from flask_babel import get_translations


def N_(string: str) -> str:
    """Marks ``string`` for extraction (pybabel's default ``N_`` keyword)."""
    return string


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular and plural pair for extraction (``-k Nn_:1,2``)."""
    return singular, plural


class Translations:
    """What WTForms asks of ``Meta.get_translations``: ``gettext`` and ``ngettext``, here
    answered by Flask-Babel's catalogues for the request's locale.

    Only the lookup: WTForms fills the placeholders itself (``message % dict(min=...)``), so
    Flask-Babel's ``gettext``/``ngettext``, which format (``ngettext`` always adds
    ``num``), are not used.
    """

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


TRANSLATIONS = Translations()

#: One form each: validators, field coercion and CSRF.
MESSAGES = [
    # wtforms.validators
    N_("This field is required."),
    N_("Invalid email address."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Field must be equal to %(other_name)s."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Date must be at least %(min)s."),
    N_("Date must be at most %(max)s."),
    N_("Date must be between %(min)s and %(max)s."),
    N_("Invalid input."),
    N_("Invalid IP address."),
    N_("Invalid Mac address."),
    N_("Invalid URL."),
    N_("Invalid UUID."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("This field cannot be edited."),
    N_("This field is disabled and cannot have a value."),
    # wtforms.fields
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid datetime value."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid week value."),
    # wtforms.csrf (WTForms' own CSRF; Flask-WTF's replaces it, listed for completeness)
    N_("Invalid CSRF Token."),
    N_("CSRF token missing."),
    N_("CSRF failed."),
    N_("CSRF token expired."),
    # flask_wtf.csrf: raised untranslated, translated by matching.web.forms.TranslatedCSRF
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
    # flask_wtf.file
    N_("File does not have an approved extension: {extensions}"),
    N_("File does not have an approved extension."),
]

#: Singular and plural.
PLURAL_MESSAGES = [
    Nn_("Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long."),
    Nn_("Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters."),
    Nn_("Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long."),
    Nn_("'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field."),
]
