"""The API docs page on a closed network: with every address but this server's cut off, Swagger UI
still loads (its files come from a package installed with the requirements) and shows the API."""

from __future__ import annotations

from tests.browser.conftest import DESKTOP


def test_api_docs_render_with_the_network_cut_off(live, new_page):
    page = new_page(viewport=DESKTOP)
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(live):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_this_server)
    page.goto(f"{live}/api/v1/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Tidal parking" in page.locator(".swagger-ui .info .title").inner_text()
    page.get_by_text("/api/v1/bookings", exact=True).first.wait_for()
    assert outside == []
