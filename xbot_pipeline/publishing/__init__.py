"""Publishers: the interface, the browser (Playwright) and API (httpx) publishers, and the browser lease."""
