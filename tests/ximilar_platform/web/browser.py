"""Helpers of the browser tests: signing in as a person does, and giving file inputs their files."""

from __future__ import annotations


def sign_in(page, live_server, person) -> None:
    person.user.set_password("a long password")
    person.user.save()
    page.context.clear_cookies()  # whoever was signed in is not any more
    page.goto(live_server.url + "/app/")
    page.fill("#id_username", person.user.username)
    page.fill("#id_password", "a long password")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/app/")


def ready(page) -> None:
    """Wait until the page's script has wired its buttons (it marks <html data-ready>): a dialog's opener
    clicked before that does nothing."""
    page.wait_for_function("document.documentElement.dataset.ready")


def choose(page, selector: str, paths) -> None:
    """Give a file input its files once the page's script has wired the input (it marks <html data-ready>)."""
    page.wait_for_function("s => document.documentElement.dataset.ready && document.querySelector(s)", arg=selector)
    page.set_input_files(selector, paths)


def to_screen(page, x: float, y: float) -> tuple[float, float]:
    """Where a point of the stored image (the editor's SVG user space) is on the screen."""
    found = page.evaluate(
        """([x, y]) => {
            const svg = document.getElementById("canvas");
            const point = svg.createSVGPoint();
            point.x = x; point.y = y;
            const on = point.matrixTransform(svg.getScreenCTM());
            return [on.x, on.y];
        }""",
        [x, y],
    )
    return found[0], found[1]


def drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at ``start`` and release at ``end``, both in image pixels, moving the mouse as a hand does."""
    page.mouse.move(*to_screen(page, *start))
    page.mouse.down()
    page.mouse.move(*to_screen(page, *end), steps=8)
    page.mouse.up()


def click_at(page, point: tuple[float, float]) -> None:
    page.mouse.click(*to_screen(page, *point))


def showing(page, image_id: str) -> None:
    """Wait until the editor shows this image."""
    page.wait_for_function("id => document.getElementById('annotate').dataset.image === id", arg=image_id)


def all_saved(page) -> None:
    page.wait_for_selector("#save-state[data-state=saved]", timeout=30_000)
