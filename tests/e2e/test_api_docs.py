"""The API docs page (issue 12) in real Chromium: Swagger UI, served from static/, draws the
OpenAPI document under the site's Content-Security-Policy (the ``page`` fixture fails on a
violation) and without any request to another host."""

from playwright.sync_api import expect


def test_the_docs_draw_every_resource_within_the_policy(page, live_server):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Matching platform API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/trainees" in p for p in paths)
    assert any("/api/v1/job-orders" in p for p in paths)
    assert requests and all(url.startswith(live_server) or url.startswith("data:")
                            for url in requests), requests
