"""Screenshots of the organiser's side for docs/ and the README: .venv/bin/python docs/screenshots.py [DIR]."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.server import Server  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs")
srv = Server(async_mode="eventlet")
try:
    srv.prepare()
    for name in ("anna", "ben", "cem"):
        srv.cli("create-user", name, "--password", f"{name}-passwort-123", "--role", "moderator")
    srv.cli("demo-questions", "demo", "--count", "100")
    for seed, slug in enumerate(("unterschaetzte-groesse", "wohnen", "arbeit-digitale-transformation"), start=2):
        srv.cli("demo-questions", slug, "--count", str(40 + 15 * seed), "--seed", str(seed))
    srv.start()
    audience = [srv.audience() for _ in range(7)]  # connected on creation: the report's peak
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        ctx = b.new_context(locale="de-DE", viewport={"width": 1200, "height": 900})
        page = ctx.new_page()
        page.goto(srv.url + "/login")
        page.get_by_label("Benutzername").fill(srv.user)
        page.get_by_label("Passwort").fill(srv.password)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url("**/moderate/")
        # assign two moderators to the first talk of the series through the form
        page.goto(srv.url + "/admin/talks/wohnen")
        page.get_by_role("group", name="Moderation").get_by_label("anna", exact=True).check()
        page.get_by_role("group", name="Moderation").get_by_label("ben", exact=True).check()
        page.get_by_role("button", name="Speichern").click()
        page.get_by_text("Gespeichert.").wait_for()
        shots = [("/admin/", "verwaltung.png"), ("/admin/talks/wohnen", "vortrag.png"),
                 ("/admin/users", "konten.png"), ("/moderate/demo/report", "bericht.png"),
                 ("/admin/series/kleinstaedte", "reihe.png")]
        for path, name in shots:
            page.goto(srv.url + path)
            page.screenshot(path=str(out / name), full_page=True)
        page.goto(srv.url + "/moderate/demo/report")
        b.close()
finally:
    srv.close()
