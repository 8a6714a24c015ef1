"""A minimal Django project made for the transparency suite, fully in code.

``project.configure(data_dir)`` configures Django (SQLite and uploads in ``data_dir``,
``DEBUG=False``, Django's CSRF middleware on, admin static files served by WhiteNoise when it is
installed, else by ``StaticFilesHandler``); ``project.prepare()`` creates the tables and a
superuser; ``project.wsgi_app()`` is the project's WSGI application. The one app, ``shop``, has
``Order`` (with a ``FileField``) and ``OrderLine`` (its inline), registered on ``admin.site``
with a list filter, search fields and the bulk "delete selected" action.

Django's settings are per process, and the framework tests configure Django their own way, so
the suite runs this project in a subprocess: ``python -m tests.apps.django_admin.server``.
"""
