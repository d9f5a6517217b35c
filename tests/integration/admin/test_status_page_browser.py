"""The status page driven in headless Chromium through chromedriver (selenium), against the real
daemon with two pools of two nginx nodes: a wrong token is refused by the login form, the right
one shows every pool and node; the Drain and Ready buttons ask for confirmation (a dismissed one
changes nothing), then change the node on the page and in /api/v1/pools; Reload shows the new
result (applied, then rejected for a broken file); a form on another origin that posts a drain to
the admin listener from the logged-in browser is refused and changes nothing; a node whose nginx
stops shows down on the page within two of the page's refreshes. Each step leaves a screenshot
(in PASSEUR_ARTIFACTS when set, else in the test's temporary directory)."""

import http.server
import os
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_support import TOKEN, ProxyTestCase, node_state, wait_admin  # noqa: E402
from admin_support import pools as pools_state, wait_logged, write_token  # noqa: E402
from harness import LOOPBACK, SOURCE_DIR, main, wait_until  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (StaleElementReferenceException,  # noqa: E402
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 10  # bound of every wait for something the page does at once or on its next refresh
# Fast checks: a stopped node is seen down by its next probe (about 0.2 s).
CHECK = {"type": "http", "path": "/", "interval": "200ms", "timeout": "500ms", "rise": 1,
         "fall": 1}


def refresh_seconds():
    """The page's refresh period, from its script (`setInterval(tick, MS)`)."""
    with open(os.path.join(SOURCE_DIR, "proxy", "admin", "status", "page.js")) as f:
        m = re.search(r"setInterval\(tick,\s*(\d+)\)", f.read())
    assert m, "page.js refreshes with setInterval(tick, MS)"
    return int(m.group(1)) / 1000.0


class OtherOrigin:
    """A page on another loopback port (another origin) whose form posts itself at once."""

    def __init__(self, html):
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def gone(element):
    """Whether an element left the document: the page it was on was replaced. While the new
    page loads, Chromium may answer for the old element with an inspector error rather than a
    stale reference ("Node with given id does not belong to the document"); both mean gone."""
    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise


class StatusPageBrowserTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.assertTrue(os.access(CHROMEDRIVER, os.X_OK),
                        "chromium-driver is installed by scripts/install-deps --test")
        self.nodes = {name: self.start_nginx(name)
                      for name in ("web-1", "web-2", "cloud-1", "cloud-2")}
        pools = {pool: {"check": CHECK, "nodes": [{"address": self.nodes[n].address, "name": n}
                                                  for n in names]}
                 for pool, names in (("webmail", ("web-1", "web-2")),
                                     ("cloud", ("cloud-1", "cloud-2")))}
        token_file = write_token(os.path.join(self.tmp, "token"))
        self.proxy = self.start_passeur(
            [{"path_prefix": "/cloud/", "pool": "cloud"}, {"path_prefix": "/", "pool": "webmail"}],
            pools, server={"admin_token_file": token_file})
        wait_admin(self.proxy)
        wait_until(lambda: all(n["health"] == "up" for p in pools_state(self.proxy, TOKEN).values()
                               for n in p["nodes"]), WAIT_S, message="every node up")
        self.base = "http://%s:%d" % (LOOPBACK, self.proxy.admin_port)
        self.shots = os.environ.get("PASSEUR_ARTIFACTS", self.tmp)
        os.makedirs(self.shots, exist_ok=True)
        self.step = 0

    def browser(self, javascript=True):
        """A headless Chromium of its own (profile, cookies), driven through chromedriver."""
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-dev-shm-usage", "--window-size=1400,1100",
                    "--user-data-dir=" + profile):
            options.add_argument(arg)
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2})
        service = Service(executable_path=CHROMEDRIVER,
                          log_path=os.path.join(profile, "chromedriver.log"))
        driver = webdriver.Chrome(service=service, options=options)
        self.addCleanup(driver.quit)
        driver.set_page_load_timeout(WAIT_S)
        return driver

    # -- helpers ------------------------------------------------------------------------------

    def shot(self, what):
        self.step += 1
        name = "status-browser-%s-%02d-%s.png" % (self._testMethodName, self.step, what)
        path = os.path.join(self.shots, name)
        self.assertTrue(self.driver.save_screenshot(path), path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)
        return path

    def wait(self, predicate, message, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda d: predicate())
        except TimeoutException:
            try:
                self.shot("timeout")
            except Exception:  # an open dialog, a closed window: the failure says enough
                pass
            body = self.driver.find_element(By.TAG_NAME, "body").text
            self.fail("%s: not within %s s; the browser shows %s: %r"
                      % (message, timeout, self.driver.current_url, body[:600]))

    def refusal(self):
        """The message of a refusal page (403 with "Refused: ..."), else None."""
        found = self.driver.find_elements(By.CSS_SELECTOR, "main.confirm p.bad[role=status]")
        return found[0].text if found else None

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    @staticmethod
    def row_xpath(node):
        """A node's row on the page: the row whose first cell holds the node's name."""
        return "//table[@class='nodes']/tbody/tr[td[1]/b[text()='%s']]" % node

    def button(self, node, action):
        return self.driver.find_element(
            By.XPATH, "%s//button[@value='%s']" % (self.row_xpath(node), action))

    def cell(self, node, column):
        """A cell's text and class; read again when the page reloaded in between (without
        JavaScript it reloads itself)."""
        for attempt in range(3):
            try:
                c = self.driver.find_element(By.XPATH, "%s/td[%d]" % (self.row_xpath(node),
                                                                     column + 1))
                return c.text, c.get_attribute("class")
            except StaleElementReferenceException:
                if attempt == 2:
                    raise

    def navigate_by(self, element, css, what):
        """Clicks an element that loads another page (a form's button, a link) and waits for
        that page (one holding `css`), or for a refusal page, which fails the test."""
        element.click()
        self.wait(lambda: gone(element), what + ": the page changed")
        self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, css + ", main.confirm p.bad"),
                  what)
        self.assertIsNone(self.refusal(), what + ": refused")

    def api_admin(self, pool, node):
        return node_state(self.proxy, pool, node, TOKEN)["admin"]

    def submit_login(self, token):
        """Types the token in the login form and sends it; returns once the browser shows the
        answer (the status page, the form again with an error, or a refusal page)."""
        self.driver.find_element(By.ID, "token").send_keys(token)
        self.shot("login-form")
        self.navigate_by(self.driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button"),
                         "#pools, main p", "the answer to the login form")

    def login(self, wrong_first=False):
        self.driver.get(self.base + "/")
        self.assertIn("log in", self.driver.title)
        if wrong_first:
            self.submit_login("not-the-token")
            self.assertEqual(self.text("p.bad[role=alert]"), "Wrong token.")
            self.assertEqual(self.driver.get_cookies(), [])
            self.assertNotIn("web-1", self.driver.page_source)
            self.shot("wrong-token")
            wait_logged(self.proxy, "status page: refused a login from 127.0.0.1: wrong token")
        self.submit_login(TOKEN)
        self.assertTrue(self.driver.find_elements(By.ID, "pools"), "the status page")
        self.assertEqual(self.driver.current_url, self.base + "/")
        self.assertNotIn(TOKEN, self.driver.current_url)
        self.assertNotIn(TOKEN, self.driver.page_source)
        [cookie] = self.driver.get_cookies()
        self.assertEqual((cookie["name"], cookie["httpOnly"], cookie["sameSite"]),
                         ("passeur_session", True, "Strict"))
        self.assertTrue(all(self.cell(n, 1) == ("up", "h-up") for n in self.nodes))

    def act(self, node, button, question, accept=True):
        """Clicks a button of a node's row (or Reload with node None) and answers its dialog."""
        if node:
            self.button(node, button).click()
        else:
            self.driver.find_element(By.CSS_SELECTOR, "#reload button[value=reload]").click()
        alert = WebDriverWait(self.driver, WAIT_S).until(EC.alert_is_present(),
                                                         "a confirmation dialog")
        self.assertEqual(alert.text, question)
        if accept:
            alert.accept()
        else:
            alert.dismiss()

    def wait_message(self, text, cls):
        self.wait(lambda: self.text("#message") == text, "the page says %r" % text)
        self.assertEqual(self.driver.find_element(By.ID, "message").get_attribute("class"), cls)

    # -- tests --------------------------------------------------------------------------------

    def test_login_drain_ready_reload_and_cross_site_post(self):
        self.driver = self.browser()
        self.login(wrong_first=True)
        pools = [h.text.split()[0] for h in
                 self.driver.find_elements(By.CSS_SELECTOR, "#pools h3")]
        self.assertEqual(pools, ["webmail", "cloud"])
        for pool_index, pool in enumerate(("webmail", "cloud")):
            rows = self.driver.find_elements(
                By.CSS_SELECTOR, "#pools table.nodes:nth-of-type(%d) tbody tr" % (pool_index + 1))
            self.assertEqual([r.find_element(By.TAG_NAME, "b").text for r in rows],
                             [n for n in self.nodes if n.startswith(pool[:3])])
        for n in self.nodes:
            self.assertEqual(self.cell(n, 2), ("active", "a-active"))
        # the script draws the sparklines
        self.wait(lambda: len(self.driver.find_elements(By.CSS_SELECTOR, "td.spark svg")) == 4,
                  "four sparklines")
        self.shot("pools-and-nodes")

        # a dismissed dialog changes nothing
        since = len(self.proxy.stderr_text())
        self.act("cloud-2", "drain", 'Drain node "cloud-2" in pool "cloud"?', accept=False)
        time.sleep(0.5)
        self.assertEqual(self.api_admin("cloud", "cloud-2"), "active")
        self.assertEqual(self.cell("cloud-2", 2), ("active", "a-active"))
        self.assertEqual(self.text("#message"), "")

        # drain: the page and the API
        self.act("cloud-2", "drain", 'Drain node "cloud-2" in pool "cloud"?')
        self.wait_message('Node "cloud-2" in pool "cloud" is draining.', "ok")
        self.wait(lambda: self.cell("cloud-2", 2) == ("draining", "a-draining"),
                  "cloud-2 draining on the page")
        self.assertEqual(self.api_admin("cloud", "cloud-2"), "draining")
        self.wait(lambda: self.text("#u1") == "1", "1/2 usable in pool cloud")
        self.assertEqual(self.cell("cloud-1", 2), ("active", "a-active"))
        wait_logged(self.proxy, 'status page: drain of node "cloud-2" in pool "cloud" asked by '
                    "127.0.0.1", since)
        self.shot("drained")

        # ready
        self.act("cloud-2", "ready", 'Make ready node "cloud-2" in pool "cloud"?')
        self.wait_message('Node "cloud-2" in pool "cloud" is active.', "ok")
        self.wait(lambda: self.cell("cloud-2", 2) == ("active", "a-active"),
                  "cloud-2 active on the page")
        self.assertEqual(self.api_admin("cloud", "cloud-2"), "active")
        self.wait(lambda: self.text("#u1") == "2", "2/2 usable in pool cloud")
        self.shot("ready")

        # reload: applied, then rejected for a broken file
        self.assertEqual(self.text("#reload-counts"), "0 applied, 0 rejected")
        self.act(None, "reload", "Reload the configuration file?")
        self.wait(lambda: self.text("#reload-counts") == "1 applied, 0 rejected",
                  "one reload applied on the page")
        self.assertEqual(self.driver.find_element(By.ID, "reload-result").get_attribute("class"),
                         "ok")
        self.assertIn("reloaded", self.text("#reload-message"))
        self.assertEqual(self.driver.find_element(By.ID, "message").get_attribute("class"), "ok")
        self.shot("reloaded")
        good = self.proxy.config_text()
        self.proxy.write_config(text=good + "\n[pool.broken\n")
        self.act(None, "reload", "Reload the configuration file?")
        self.wait(lambda: self.text("#reload-counts") == "1 applied, 1 rejected",
                  "a rejected reload on the page")
        self.assertEqual((self.text("#reload-result"),
                          self.driver.find_element(By.ID, "reload-result").get_attribute("class")),
                         ("rejected", "bad"))
        self.assertEqual(self.driver.find_element(By.ID, "message").get_attribute("class"), "bad")
        self.shot("reload-rejected")
        self.proxy.write_config(text=good)
        # the nodes kept their state through both reloads
        self.assertEqual(self.api_admin("cloud", "cloud-2"), "active")

        # a form on another origin posting a drain, with the page's own CSRF token even, from the
        # logged-in browser: refused, and nothing changes
        csrf = self.driver.find_element(
            By.XPATH, self.row_xpath("web-1") + "//input[@name='csrf']").get_attribute("value")
        other = OtherOrigin(
            '<!doctype html><html><body><form method="post" action="%s/status/action">'
            '<input type="hidden" name="pool" value="webmail">'
            '<input type="hidden" name="node" value="web-1">'
            '<input type="hidden" name="action" value="drain">'
            '<input type="hidden" name="confirm" value="yes">'
            '<input type="hidden" name="csrf" value="%s"></form>'
            '<script>document.forms[0].submit()</script></body></html>' % (self.base, csrf))
        self.addCleanup(other.close)
        since = len(self.proxy.stderr_text())
        for host in (LOOPBACK, "localhost"):
            page = "http://%s:%d/" % (host, other.port)
            self.driver.get(page)
            self.wait(lambda: self.driver.current_url == self.base + "/status/action",
                      "the other origin's form posted")
            self.wait(lambda: "Refused" in self.driver.page_source, "a refusal")
            refusal = self.text("p.bad[role=status]")
            self.shot("cross-site-from-" + host)
            self.assertEqual(self.api_admin("webmail", "web-1"), "active")
            if host == LOOPBACK:
                # same site (the session cookie goes with it), another origin: Sec-Fetch-Site
                # or Origin refuses it
                self.assertRegex(refusal, r"^Refused: cross-site request \((Sec-Fetch-Site: "
                                 r"same-site|Origin: http://127\.0\.0\.1:%d)\)$" % other.port)
            else:
                # another site: the SameSite=Strict cookie stays home, or the origin checks refuse
                self.assertRegex(refusal, r"^Refused: (not logged in|cross-site request .*)$")
        wait_logged(self.proxy, 'status page: refused a drain of node "web-1" in pool "webmail" '
                    "from 127.0.0.1: ", since)
        self.assertNotIn('status page: drain of node "web-1"', self.proxy.stderr_text()[since:])
        # the browser is still logged in and the page still shows web-1 active
        self.driver.get(self.base + "/")
        self.wait(lambda: self.driver.find_elements(By.ID, "pools"), "the status page again")
        self.assertEqual(self.cell("web-1", 2), ("active", "a-active"))
        self.shot("after-cross-site")

        # Log out ends the session: the page asks for the token again
        self.navigate_by(self.driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"),
                         "#token", "the login form after Log out")
        self.assertEqual(self.driver.get_cookies(), [])
        wait_logged(self.proxy, "status page: logout from 127.0.0.1", since)
        self.driver.get(self.base + "/")
        self.assertTrue(self.driver.find_elements(By.ID, "token"))
        self.assertNotIn("web-1", self.driver.page_source)
        self.shot("logged-out")

    def test_without_javascript_the_confirmation_page(self):
        self.driver = self.browser(javascript=False)
        self.login()
        time.sleep(0.5)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "td.spark svg"), [],
                         "the script did not run")
        # Maint., then Cancel: nothing changes
        self.navigate_by(self.button("web-2", "maintenance"), "main.confirm form",
                         "the confirmation page of Maint.")
        self.assertEqual(self.text("main.confirm p"), 'Put node "web-2" in pool "webmail" in '
                         "maintenance? It takes no new work and its checks stop.")
        self.shot("confirm-maintenance")
        self.navigate_by(self.driver.find_element(By.LINK_TEXT, "Cancel"), "#pools",
                         "the page after Cancel")
        self.assertEqual(self.api_admin("webmail", "web-2"), "active")
        self.assertEqual(self.cell("web-2", 2), ("active", "a-active"))
        # Drain, then confirm
        self.navigate_by(self.button("web-2", "drain"), "main.confirm form",
                         "the confirmation page of Drain")
        self.assertEqual(self.text("main.confirm p"), 'Drain node "web-2" in pool "webmail"? '
                         "It takes no new work; work in flight finishes.")
        self.assertEqual(self.api_admin("webmail", "web-2"), "active")
        self.navigate_by(self.driver.find_element(By.CSS_SELECTOR, "main.confirm form button"),
                         "p[role=status]", "the result of the confirmed Drain")
        self.assertEqual((self.text("p[role=status]"), self.driver.find_element(
            By.CSS_SELECTOR, "p[role=status]").get_attribute("class")),
            ('Node "web-2" in pool "webmail" is draining.', "ok"))
        self.assertEqual(self.api_admin("webmail", "web-2"), "draining")
        self.shot("drained-without-javascript")
        self.navigate_by(self.driver.find_element(By.LINK_TEXT, "Back to the status page"),
                         "#pools", "the page again")
        self.assertEqual(self.cell("web-2", 2), ("draining", "a-draining"))
        self.assertEqual(self.text("#u0"), "1")
        self.shot("page-without-javascript")

    def test_node_down_within_two_refreshes(self):
        refresh = refresh_seconds()
        self.driver = self.browser()
        self.login()
        self.shot("all-up")
        node = self.nodes["web-2"]
        started = time.monotonic()
        node.stop()  # SIGTERM to the nginx we started, by pid
        seen = {}

        def down():
            if "api" not in seen and node_state(self.proxy, "webmail", "web-2",
                                                TOKEN)["health"] == "down":
                seen["api"] = time.monotonic() - started
            if self.cell("web-2", 1) == ("down", "h-down"):
                seen["page"] = time.monotonic() - started
                return True
            return False
        self.wait(down, "web-2 down on the page", timeout=2 * refresh + 5)
        self.shot("node-down")
        sys.stderr.write("\nweb-2 stopped: down in the API after %s s, on the page after %.2f s "
                         "(refresh every %.1f s)\n" % (
                             "%.2f" % seen["api"] if "api" in seen else "?", seen["page"],
                             refresh))
        self.assertLessEqual(seen["page"], 2 * refresh)
        self.assertEqual(self.text("#u0"), "1")
        self.assertEqual(self.cell("web-1", 1), ("up", "h-up"))
        self.assertNotIn(self.cell("web-2", 6)[1], ("c-ok", "c-none"))
        self.assertNotIn("stale", self.driver.find_element(By.ID, "updated")
                         .get_attribute("class") or "")


if __name__ == "__main__":
    main()
