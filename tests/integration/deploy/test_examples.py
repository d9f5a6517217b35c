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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import (SOURCE_DIR, ProxyTestCase, main, passeur_binary,  # noqa: E402
                     require_tool, run_check)

EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "deploy", "**", "*.toml"), recursive=True))
CERT_LINE = re.compile(r'^(\s*(cert|key)\s*=\s*)"([^"]*)"', re.M)
TOKEN_LINE = re.compile(r'^(\s*admin_token_file\s*=\s*)"([^"]*)"', re.M)


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
        return TOKEN_LINE.sub(lambda m: '%s"%s"' % (m.group(1), token), text)

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


if __name__ == "__main__":
    main()
