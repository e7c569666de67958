"""The web shell: what every feature's routes and pages stand on.

Request dependencies (``deps``) and the types every field a client sends is read as
(``types``); pages rendered by one Jinja2 environment (``templating``) in zh-CN or English
(``i18n``), forms read as text (``forms``) and guarded against cross-site requests (``csrf``);
the security headers (``headers``), what the OpenAPI document is told about credentials and
refusals (``openapi``), the API documentation pages (``api_docs``); the layout every page
extends, the static assets and the vendored scripts (htmx, ECharts, Swagger UI, ReDoc, from
the npm registry at build time with ``make web-assets``, served from ``/static/vendor/``).

Each feature keeps its own routes, pages and templates; ``xinyong.app`` puts them together.
"""
