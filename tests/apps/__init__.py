"""Real third-party apps the transparency suite (``tests/browser/test_transparency_browser.py``)
drives in Chromium, served bare and wrapped in the middleware: a Django admin project
(``django_admin``, run in a subprocess since Django's settings are per process) and a
Flask-Admin app (``flask_admin_app``). ``recorder`` records, between the middleware and the app,
the form posts the app receives, so both runs can be compared field by field.
"""
