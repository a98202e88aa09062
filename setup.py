"""Build hook for the optional native fast paths (calltrace.decode._sipfast, _bulkfast).

Everything else about the package lives in pyproject.toml. The extension is
``optional``: without a C compiler or Python headers the install still succeeds and
calltrace.decode.sip runs its pure-Python parser (``calltrace.decode.sip.FAST`` is False).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "calltrace.decode._sipfast",
            sources=["src/calltrace/decode/_sipfast.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra"],
            optional=True,
        ),
        Extension(
            "calltrace.decode._bulkfast",
            sources=["src/calltrace/decode/_bulkfast.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra"],
            optional=True,
        ),
    ]
)
