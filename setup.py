"""The compiled parts, the one thing pyproject.toml cannot declare without a warning.

``_cscan`` is html_scan's twin in C, ``_cseal`` the twin of ``tokens._seal``. Both are
optional: without a C compiler the install still succeeds and the package uses their Python
twins, which do the same work (the scanner says so once at start-up). Everything else about
the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "postback_middleware.html_scan._cscan",
            sources=["postback_middleware/html_scan/_cscan.c"],
            optional=True,
        ),
        Extension(
            "postback_middleware._cseal",
            sources=["postback_middleware/_cseal.c"],
            optional=True,
        ),
    ]
)
