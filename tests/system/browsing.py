"""What the Playwright tests share: Debian's Chromium, how it is started, how long expect() waits."""
from __future__ import annotations

import os
import uuid

import pytest

CHROMIUM = "/usr/bin/chromium"
# Chromium keeps only the last --disable-features it is given, so this repeats Playwright's own list
# (playwright-core's chromiumSwitches.ts, at the version in requirements.txt) and adds the address
# bar's popups: Chromium renders them as web pages, two renderer processes for every window, that is
# for every browser context, and a headless test never opens them. Without them Chromium starts a
# third of the renderers and spends about a third less CPU on the browser tests. Nor does it start a
# spare renderer beside each page for a navigation to another site, which no test makes.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin",
    "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
    "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion"]
UNUSED_FEATURES = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "SpareRendererForSitePerProcess"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + UNUSED_FEATURES)]
TIMEOUT = 15_000  # ms, for every expect() and every page action


def require_chromium() -> None:
    """Skip the calling test module without Chromium, unless REQUIRE_BROWSER=1 (CI): then fail."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: browser tests skipped", allow_module_level=True)


def log_in(page, base_url: str, user: str, password: str) -> None:
    """Log in through the form, as a person would, and wait until the page says so."""
    from playwright.sync_api import expect
    page.goto(base_url + "/login")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


def login_state(browser, base_url: str, user: str, password: str) -> dict:
    """The cookies of one form login, for a module's contexts (logins per account are rate-limited)."""
    context = browser.new_context(locale="de-DE")
    try:
        log_in(context.new_page(), base_url, user, password)
        return context.storage_state()
    finally:
        context.close()


def tag() -> str:
    """A word no other test writes: put into questions, searching for it finds just them."""
    return uuid.uuid4().hex[:6]


def unique(text: str) -> str:
    """A question text no other test sends."""
    return f"{text} [{tag()}]"


# Counts Socket.IO `snapshot` events, so a test knows a live page is connected and current
# before it acts: what happens next must then arrive live, not in a later snapshot.
COUNT_SNAPSHOTS = """(() => {
  const Native = window.WebSocket;
  window.__snapshots = 0;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data === "string" && e.data.includes('"snapshot"')) window.__snapshots += 1;
      });
    }
  };
})();"""
