"""Every example config in the repository (deploy/**/*.toml) passes `passeur check`.

`passeur check` loads the certificates and the admin token too, and the examples name certbot's
paths under /etc/letsencrypt, the package's placeholder or /etc/passeur/admin.token: each
[[certificate]]'s files are replaced by a test certificate made for the name in its path, and
the token file by one of the test's, in the test's own directory. Nothing else in the file is
changed."""

import glob
import os
import re
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (SOURCE_DIR, ProxyTestCase, main, passeur_binary,  # noqa: E402
                     require_tool, run_check)

EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "deploy", "**", "*.toml"), recursive=True))
CERT_LINE = re.compile(r'^(\s*(cert|key)\s*=\s*)"([^"]*)"', re.M)
TOKEN_LINE = re.compile(r'^(\s*admin_token_file\s*=\s*)"([^"]*)"', re.M)
DATABASE_LINE = re.compile(r'^(\s*database\s*=\s*)"([^"]*\.mmdb)"', re.M)
# MaxMind's test Country database, from the shared test data beside the source tree.
TEST_COUNTRY_DB = os.path.join(os.path.dirname(SOURCE_DIR), "shared", "testdata", "geoip",
                               "GeoLite2-Country-Test.mmdb")


class ExamplesTest(ProxyTestCase):
    def make_certificate(self, path):
        """A self-signed certificate and key for the name a certbot path carries
        (/etc/letsencrypt/live/NAME/fullchain.pem), else for example.test."""
        m = re.search(r"/live/([^/]+)/", path)
        name = m.group(1) if m else "example.test"
        base = os.path.join(self.tmp, "cert-%d" % len(os.listdir(self.tmp)))
        subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                        "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
                        "-keyout", base + ".key", "-out", base + ".pem"],
                       check=True, capture_output=True, timeout=60)
        return base + ".pem", base + ".key"

    def with_test_certificates(self, text):
        made = {}

        def replace(m):
            kind, path = m.group(2), m.group(3)
            lineage = os.path.dirname(path) if "/live/" in path else re.sub(r"\.\w+$", "", path)
            if lineage not in made:
                made[lineage] = self.make_certificate(path)
            return '%s"%s"' % (m.group(1), made[lineage][0 if kind == "cert" else 1])

        text = CERT_LINE.sub(replace, text)
        token = os.path.join(self.tmp, "admin.token")
        with open(token, "w") as f:
            f.write("0123456789abcdef0123456789abcdef\n")
        text = TOKEN_LINE.sub(lambda m: '%s"%s"' % (m.group(1), token), text)
        return DATABASE_LINE.sub(lambda m: '%s"%s"' % (m.group(1), TEST_COUNTRY_DB), text)

    def test_there_are_examples(self):
        names = [os.path.relpath(p, SOURCE_DIR) for p in EXAMPLES]
        self.assertIn("deploy/examples/coop-edge.toml", names)
        self.assertIn("deploy/debian/passeur.toml", names)
        self.assertIn("deploy/examples/coop.toml", names)

    def test_every_example_passes_check(self):
        binary = passeur_binary()
        for i, example in enumerate(EXAMPLES):
            with self.subTest(example=os.path.relpath(example, SOURCE_DIR)):
                with open(example) as f:
                    text = f.read()
                path = os.path.join(self.tmp, "%d-%s" % (i, os.path.basename(example)))
                with open(path, "w") as f:
                    f.write(self.with_test_certificates(text))
                rc, out, err = run_check(binary, path)
                self.assertEqual(rc, 0, err)

    def coop_edge(self):
        with open(os.path.join(SOURCE_DIR, "deploy", "examples", "coop.toml"), "rb") as f:
            return tomllib.load(f)

    def test_coop_edge_has_the_mail_ports(self):
        """coop.toml is the co-op's whole edge (its table of services and node ports): every
        mail port, TLS at Passeur where the port is implicit TLS, each pool on the three nodes'
        ports with PROXY v2 and a check of its protocol."""
        edge = self.coop_edge()
        listeners = {l["listen"]: l for l in edge["listener"]}
        # IMAP and submission: Passeur answers until the login; the other ports relay bytes.
        protocols = {993: "imap", 143: "imap", 587: "smtp", 465: "smtp"}
        expected = {  # port: (tls at Passeur, pool, node port, check)
            993: (True, "imap", 10143, "imap"), 143: (False, "imap", 10143, "imap"),
            995: (True, "pop3", 10110, "pop3"), 110: (False, "pop3", 10110, "pop3"),
            25: (False, "smtp", 10025, "smtp"), 587: (False, "submission", 10587, "smtp"),
            465: (True, "submissions", 10465, "smtp")}
        for port, (tls, pool_name, node_port, check) in expected.items():
            with self.subTest(port=port):
                listener = listeners["0.0.0.0:%d" % port]
                self.assertEqual(listener["protocol"], protocols.get(port, "tcp"))
                self.assertEqual(listener.get("tls", False), tls)
                self.assertEqual(listener["pool"], pool_name)
                pool = edge["pool"][pool_name]
                self.assertEqual([n["address"] for n in pool["nodes"]],
                                 ["10.0.0.%d:%d" % (i, node_port) for i in (11, 12, 13)])
                self.assertEqual(pool["proxy_protocol"], "v2")
                self.assertEqual(pool["check"]["type"], check)
        # IMAP IDLE re-arms every 29 minutes at most (RFC 2177): a longer idle timeout.
        idle = listeners["0.0.0.0:993"]["idle_timeout"]
        self.assertRegex(idle, r"^\d+m$")
        self.assertGreater(int(idle[:-1]), 29)
        self.assertEqual(listeners["0.0.0.0:993"]["idle_timeout"],
                         listeners["0.0.0.0:143"]["idle_timeout"])
        for port in (443, 80):
            self.assertEqual(listeners["0.0.0.0:%d" % port]["protocol"], "http")
        # GeoIP: mail logins from the members' countries only; SMTP in open to the world.
        self.assertTrue(edge["geoip"]["database"].endswith(".mmdb"))
        for port in (993, 143, 995, 110, 587, 465):
            with self.subTest(port=port):
                self.assertEqual(listeners["0.0.0.0:%d" % port]["allow_countries"],
                                 ["BE", "FR", "NL", "LU", "DE"])
        self.assertNotIn("allow_countries", listeners["0.0.0.0:25"])
        # deploy/APPLICATIONS.md: Roundcube's pool keeps browsers on their node and is checked
        # on a static file; its nodes' IMAP logins are counted by the address they announce.
        webmail = edge["pool"]["webmail"]
        self.assertEqual(webmail["affinity"], "cookie")
        self.assertEqual(webmail["check"]["path"], "/program/resources/blank.gif")
        self.assertEqual(edge["login_shield"]["trusted_clients"],
                         ["10.0.0.%d" % i for i in (11, 12, 13)])

    def test_check_sees_a_mistake_in_the_mail_part(self):
        """The mail keys of coop.toml are really read by `passeur check`: a broken one fails."""
        with open(os.path.join(SOURCE_DIR, "deploy", "examples", "coop.toml")) as f:
            text = self.with_test_certificates(f.read())
        binary = passeur_binary()
        for good, bad in [('proxy_protocol = "v2"', 'proxy_protocol = "v3"'),
                          ('type = "smtp"', 'type = "esmtp"'),
                          ('pool = "submissions"', 'pool = "submission-tls"')]:
            with self.subTest(bad=bad):
                self.assertIn(good, text)
                path = os.path.join(self.tmp, "broken-coop.toml")
                with open(path, "w") as f:
                    f.write(text.replace(good, bad, 1))
                rc, out, err = run_check(binary, path)
                self.assertNotEqual(rc, 0, out)
                self.assertIn("broken-coop.toml:", err)


if __name__ == "__main__":
    main()
