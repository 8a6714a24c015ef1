"""The web frameworks' own idioms, one module per framework, each imported only by its name.

* ``flask``: the ``Postback`` extension (``init_app(app)``; options from ``app.config``'s
  ``POSTBACK_*`` keys; handlers in the app's app context);
* ``django``: ``wrap(application)``, one line in ``wsgi.py`` (options from
  ``settings.POSTBACK``), and ``with_django_request`` for handlers that want Django's
  ``HttpRequest``; its docstring says why a ``MIDDLEWARE`` class cannot do the job.

Pyramid has no module here: its idiom for a WSGI middleware is the PasteDeploy pipeline that
``pserve`` loads (``[filter:postback]``, ``use = egg:postback-middleware``: ``paste``), and
``config.include`` would add nothing to it. An include configures the ``Configurator``, and
nothing an include does can wrap the WSGI app ``make_wsgi_app()`` returns; inside Pyramid
there are only tweens, which run after Pyramid has made its request, as Django's middleware
does. So an include could only hold the options, which the filter's ini section already holds
(read and checked at start-up, handlers as ``package.module:function`` lines).

``import postback_middleware`` imports none of these modules, so it never imports Flask or
Django; ``postback_middleware.frameworks.flask`` imports Flask when it is itself imported.
What they share is here: the options read from a framework's settings, each under the name
the settings give it, checked with that name in every message, the explicit keyword options
winning, and the handlers kept apart for the framework module to register.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..config import KEY_HINT, OPTION_SPECS, Options, check_names
from ..errors import ConfigurationError, UnknownOption

HANDLER_OPTIONS = ("callbacks", "postbacks")


@dataclass(frozen=True)
class Settings:
    """What a framework's settings and the keyword options say, checked: the options (the
    handlers apart: the framework module registers them) and the handlers, imported."""

    options: Options
    callbacks: Mapping[str, Any]
    postbacks: Mapping[str, Any]


def setting_names(spell: Callable[[str], str]) -> dict[str, str]:
    """Each option under the name the framework's settings give it (``spell(option)``),
    mapped to the option: ``{"POSTBACK_MAX_AGE": "max_age", ...}``."""
    return {spell(option): option for option in OPTION_SPECS}


def unknown_setting(key: object, names: Mapping[str, str], label: str) -> UnknownOption:
    """The error for a setting that is no option: the close name, then every valid one."""
    if not isinstance(key, str):
        hint = ""
    elif key.upper() in names and key != key.upper():
        hint = f" (the names are in capitals: {key.upper()!r})"
    else:
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UnknownOption(f"{label} is no option of postback-middleware{hint}; the options are: "
                         f"{', '.join(sorted(names))}")


def read_settings(
    settings: Mapping[Any, Any],
    *,
    names: Mapping[str, str],
    label: Callable[[Any], str],
    keywords: Mapping[str, Any],
    keyword_label: Callable[[str], str],
    where: str,
    missing_keys: str,
) -> Settings:
    """The options from a framework's ``settings`` (its names: ``names`` maps them to
    options) and from ``keywords`` (option names), the keywords winning; checked.

    An unknown setting or keyword, a missing key and a bad value each stop start-up with a
    message that names the setting as the user wrote it (``label(key)``,
    ``keyword_label(option)``); ``missing_keys`` says where the keys go; ``where`` names the
    settings as a whole, for what no single one is to blame (``renewal_window`` shorter than
    ``max_age``).
    """
    check_names(keywords)
    given: dict[str, tuple[str, Any]] = {}  # option -> (how the user named it, its value)
    for key, value in settings.items():
        if key not in names:
            raise unknown_setting(key, names, label(key))
        given[names[key]] = (label(key), value)
    for option, value in keywords.items():
        given[option] = (keyword_label(option), value)
    named_keys, keys = given.get("secret_keys", ("", None))
    if keys is None or (isinstance(keys, str | bytes | list | tuple) and not keys):
        raise ConfigurationError(f"{missing_keys}; {KEY_HINT}")
    if isinstance(keys, str) and len(keys.split()) > 1:  # (no key has a space)
        raise ConfigurationError(
            f"{named_keys}: {len(keys.split())} keys in one string; give them as a list, "
            "e.g. os.environ['POSTBACK_SECRET_KEYS'].split()")
    values: dict[str, Any] = {}
    for option, (named, value) in given.items():
        try:
            # (The value itself is kept and checked again by Options: a check is made for
            # the raw value, not for what it returns; handlers are kept as imported, and a
            # store as made from its URL, so that it is made and checked once.)
            checked = OPTION_SPECS[option].check(option, value)
        except ConfigurationError as error:
            raise type(error)(f"{named}: {error}") from None
        values[option] = checked if option in (*HANDLER_OPTIONS, "store") else value
    callbacks, postbacks = (values.pop(option, None) or {} for option in HANDLER_OPTIONS)
    try:
        options = Options(**values)
    except ConfigurationError as error:
        raise type(error)(f"{where}: {error}") from None
    return Settings(options, callbacks, postbacks)
