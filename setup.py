"""The compiled scanner engine, the one thing pyproject.toml cannot declare without a warning.

``_cscan`` is html_scan's twin in C. It is optional: without a C compiler the install still
succeeds and html_scan uses its pure-Python engine, which does the same work (and says so once
at start-up). Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "postback_middleware.html_scan._cscan",
            sources=["postback_middleware/html_scan/_cscan.c"],
            optional=True,
        )
    ]
)
