"""Configure, prepare and build the Django admin project (see the package's docstring)."""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path
from typing import Any

USERNAME = "admin"
PASSWORD = "first-Password-1"
NEW_PASSWORD = "second-Password-2"


def whitenoise_installed() -> bool:
    return importlib.util.find_spec("whitenoise") is not None


def configure(data_dir: Path) -> None:
    """Configure Django for this project, with its database and uploads in ``data_dir``."""
    import django
    from django.conf import settings

    middleware = ["django.middleware.security.SecurityMiddleware"]
    if whitenoise_installed():
        middleware.append("whitenoise.middleware.WhiteNoiseMiddleware")
    middleware += [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",  # Django's own CSRF check stays on
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(50),  # Django's own key, not the middleware's
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="tests.apps.django_admin.urls",
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "tests.apps.django_admin.shop.apps.ShopConfig",
        ],
        MIDDLEWARE=middleware,
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]},
        }],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": str(data_dir / "db.sqlite3")}},
        # A fast hasher: the scenario hashes passwords a few times per run.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STATIC_URL="/static/",
        WHITENOISE_USE_FINDERS=True,  # the admin's CSS/JS from the apps, no collectstatic
        MEDIA_ROOT=str(data_dir / "media"),
        MEDIA_URL="/media/",
        USE_TZ=True,
        TIME_ZONE="UTC",
        LANGUAGE_CODE="en-us",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,  # the server process configures logging (to a file)
    )
    django.setup()


def prepare() -> None:
    """Create the tables (no migration files: ``migrate --run-syncdb``) and the superuser."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    get_user_model().objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)


def wsgi_app() -> Any:
    """The project's WSGI application (static files by WhiteNoise, else StaticFilesHandler)."""
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    if whitenoise_installed():
        return app
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    return StaticFilesHandler(app)
