"""The API docs work on a closed network: /api/v1/docs loads Swagger UI from our own server (the
files of the pinned flask-swagger-ui package), never from a CDN. No browser here: the page's
references are parsed and fetched. No page or asset of ours points at a CDN either."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config import TestConfig
from parking import create_app
from parking.docs_assets import asset_folder

ROOT = Path(__file__).resolve().parent.parent


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


@pytest.fixture(scope="module")
def docs_client(tmp_path_factory):
    # No database: the docs page and its files touch none.
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_PATH=tmp_path_factory.mktemp("i"))
    return app.test_client()


def test_the_docs_page_references_only_local_urls_and_each_serves_its_file(docs_client):
    page = docs_client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), "the page names another host"
    urls = references(html)
    assert {Path(urlsplit(u).path).name for u in urls} >= {"swagger-ui.css", "swagger-ui-bundle.js"}
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        with docs_client.get(url) as response:
            assert response.status_code == 200, url
            name = Path(parts.path).name
            assert response.data == (asset_folder() / name).read_bytes(), url
            expected = "text/css" if name.endswith(".css") else "javascript"
            assert expected in response.content_type, (url, response.content_type)
    with docs_client.get("/api/v1/docs/static/swagger-ui-bundle.js") as bundle:
        assert b"SwaggerUIBundle" in bundle.data and len(bundle.data) > 100_000


def test_the_docs_page_loads_the_local_openapi_document_and_no_online_validator(docs_client):
    html = docs_client.get("/api/v1/docs").get_data(as_text=True)
    spec_url = re.search(r'url: "([^"]+)"', html).group(1)
    assert spec_url == "/api/v1/openapi.json"
    assert docs_client.get(spec_url).status_code == 200
    assert '"validatorUrl": null' in html


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/docs/static/LICENSE",
        "/api/v1/docs/static/oauth2-redirect.html",
        "/api/v1/docs/static/missing.js",
        "/api/v1/docs/static/../../../config.py",
        "/api/v1/docs/static/%2e%2e/__init__.py",
        "/api/v1/docs/static/..%2f..%2fconfig.py",
        "/api/v1/docs/static/..%2fdist%2fswagger-ui.css",  # an existing file, by a way out and back
    ],
)
def test_only_swagger_uis_own_files_are_served(docs_client, path):
    response = docs_client.get(path)
    assert response.status_code == 404
    assert response.is_json and response.json["error"] == "not_found"


def test_the_swagger_ui_address_can_still_be_pointed_elsewhere(tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI="sqlite://",
        INSTANCE_PATH=tmp_path,
        OPENAPI_SWAGGER_UI_URL="/mirror/swagger-ui/",
    )
    html = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "/mirror/swagger-ui/swagger-ui-bundle.js" in html


def test_the_installed_package_ships_the_swagger_ui_files():
    folder = asset_folder()
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert (folder / name).stat().st_size > 10_000, name


CDN_HOSTS = re.compile(
    r"cdn\.[a-z]|jsdelivr|unpkg|cdnjs|googleapis|gstatic|bootcdn|staticfile\.org|bootcss", re.IGNORECASE
)
FOREIGN_ASSET = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def test_no_page_script_or_setting_of_ours_loads_anything_from_a_cdn():
    sources = [ROOT / "config.py", *sorted((ROOT / "parking").rglob("*")), *sorted((ROOT / "schedules").rglob("*"))]
    offenders = []
    for path in sources:
        if path.suffix not in {".py", ".html", ".js", ".css"} or not path.is_file() or "vendor" in path.parts:
            continue  # static/vendor/ holds third-party builds made at install, not our code
        text = path.read_text(encoding="utf-8")
        if CDN_HOSTS.search(text) or (path.suffix != ".py" and FOREIGN_ASSET.search(text)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
