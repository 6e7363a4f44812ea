"""Sphinx configuration of volmgr's documentation site.

Built in CI with warnings as errors (``tools/run-tests.sh``)::

    sphinx-build -W --keep-going -b html docs <output directory>

Every reference page is generated from the code at build time: the options from
the oslo.config namespaces that the sample config uses, the policies from the
oslo.policy namespace, the REST reference from the OpenAPI document that
volmgr-api serves, the release notes from ``releasenotes/notes`` with reno.
"""

project = "volmgr"
copyright = "volmgr authors, Apache-2.0"
extensions = [
    "oslo_config.sphinxext",
    "oslo_policy.sphinxext",
    "sphinxcontrib.openapi",
    "reno.sphinxext",
]
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_title = "volmgr"
# The option and policy references set a default role of their own; the rest of the
# site uses double back-quotes for literals.
default_role = None

# sphinxcontrib-openapi's current renderer; the OpenAPI document describes its errors
# as ``default`` responses, which sphinxcontrib-httpdomain shows as plain text only
# outside its strict mode (there every status must be a number).
openapi_default_renderer = "httpdomain"
http_strict_mode = False
