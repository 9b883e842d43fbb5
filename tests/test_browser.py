"""The built book in a real headless browser (Debian's chromium): the results chapter's math
is typeset by the vendored MathJax, every image is displayed, nothing is requested from
another origin, and a screenshot is saved to book/_build/screenshots/results.png.

A wrapper page served from the same origin loads the chapter in an iframe, inspects it once
MathJax has finished, and writes a JSON verdict into its own DOM, which
`chromium --headless --dump-dom` prints.
"""

from __future__ import annotations

import functools
import html as htmllib
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from artrm.book.build.pdf import CHROMIUM, INSTALL, chromium_command
from artrm.paths import REPO

RESULTS = "chapters/08_results.html"
SCREENSHOT = REPO / "book" / "_build" / "screenshots" / "results.png"

WRAPPER = """<!doctype html>
<html><body>
<pre id="verdict">pending</pre>
<iframe id="page" src="%(page)s" style="width:1280px;height:2400px"></iframe>
<script>
const frame = document.getElementById("page");
const verdict = document.getElementById("verdict");
function inspect(timedOut) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  return {
    timedOut: timedOut,
    origin: location.origin,
    mathjax: Boolean(win.MathJax && win.MathJax.version),
    math: doc.querySelectorAll("mjx-container").length,
    svgMath: doc.querySelectorAll("mjx-container svg").length,
    mathErrors: doc.querySelectorAll("mjx-merror").length,
    images: Array.from(doc.images, i => ({src: i.currentSrc || i.src,
                                           shown: i.complete && i.naturalWidth > 0})),
    resources: win.performance.getEntriesByType("resource").map(e => e.name),
  };
}
const timer = setTimeout(() => { verdict.textContent = JSON.stringify(inspect(true)); }, 20000);
frame.addEventListener("load", () => {
  const win = frame.contentWindow;
  const typeset = win.MathJax && win.MathJax.startup ? win.MathJax.startup.promise : null;
  Promise.resolve(typeset).then(() => {
    clearTimeout(timer);
    verdict.textContent = JSON.stringify(inspect(false));
  });
});
</script>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on stderr."""


@pytest.fixture(scope="module")
def site(built_book) -> Iterator[str]:
    """The built book served over HTTP on localhost; yields its base URL."""
    assert built_book.returncode == 0, "jupyter-book build failed:\n" + built_book.log[-5000:]
    handler = functools.partial(QuietHandler, directory=str(built_book.html))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless chromium (artrm/book/build/pdf.py's flags) with a fresh profile."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL}", pytrace=False)
    return subprocess.run(chromium_command(tmp_path / "profile", *args), capture_output=True,
                          text=True, check=False, timeout=180)


def test_results_chapter_renders_math_and_figures_offline(site, built_book, tmp_path):
    (built_book.html / "_browser_check.html").write_text(WRAPPER % {"page": RESULTS})
    proc = chromium(tmp_path, "--virtual-time-budget=30000", "--dump-dom",
                    site + "_browser_check.html")
    found = re.search(r'<pre id="verdict">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert found, f"chromium printed no verdict (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    assert found.group(1) != "pending", "the chapter never finished loading"
    verdict = json.loads(htmllib.unescape(found.group(1)))
    assert not verdict["timedOut"], "MathJax did not finish typesetting within 20 s"
    assert verdict["mathjax"], "MathJax did not load"
    assert verdict["math"] > 0 and verdict["svgMath"] == verdict["math"], verdict
    assert verdict["mathErrors"] == 0
    assert verdict["images"], "the results chapter shows no image"
    hidden = [img["src"] for img in verdict["images"] if not img["shown"]]
    assert not hidden, f"images not displayed: {hidden}"
    foreign = [url for url in verdict["resources"] if not url.startswith(verdict["origin"])]
    assert not foreign, f"the page requested other origins: {foreign}"


def test_screenshot_of_the_results_chapter(site, tmp_path):
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    proc = chromium(tmp_path, "--virtual-time-budget=30000", "--window-size=1280,1600",
                    f"--screenshot={SCREENSHOT}", site + RESULTS)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000, proc.stderr[-3000:]
