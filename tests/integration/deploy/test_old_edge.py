"""deploy/examples/haproxy.cfg and nginx.conf, the co-op's edge written the old way for
comparison with coop.toml, pass their own checks: `haproxy -c` and `nginx -t`.

Both checks load the certificates and nginx's opens its log files, so the certificate paths
are pointed at test certificates and the log and pid paths into the test's directory; nothing
else in the files is changed."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import SOURCE_DIR, ProxyTestCase, main, require_tool  # noqa: E402

EXAMPLES = os.path.join(SOURCE_DIR, "deploy", "examples")


class OldEdgeTest(ProxyTestCase):
    def make_certificate(self, directory, name):
        os.makedirs(directory, exist_ok=True)
        cert, key = os.path.join(directory, "fullchain.pem"), os.path.join(directory,
                                                                         "privkey.pem")
        subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                        "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
                        "-keyout", key, "-out", cert], check=True, capture_output=True,
                       timeout=60)
        return cert, key

    def read(self, name):
        with open(os.path.join(EXAMPLES, name)) as f:
            return f.read()

    def haproxy_check(self, text):
        certs = os.path.join(self.tmp, "haproxy-certs")
        cert, key = self.make_certificate(os.path.join(self.tmp, "mail"), "mail.example.coop")
        os.makedirs(certs, exist_ok=True)
        with open(os.path.join(certs, "mail.example.coop.pem"), "w") as out:
            for part in (cert, key):
                with open(part) as f:
                    out.write(f.read())
        self.assertIn("crt /etc/haproxy/certs/", text)
        path = os.path.join(self.tmp, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(text.replace("/etc/haproxy/certs/", certs + "/"))
        p = subprocess.run([require_tool("haproxy"), "-c", "-f", path], capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def nginx_check(self, text):
        for name in set(re.findall(r"/etc/letsencrypt/live/([^/]+)/", text)):
            self.make_certificate(os.path.join(self.tmp, "live", name), name)
        logs = os.path.join(self.tmp, "nginx-logs")
        os.makedirs(logs, exist_ok=True)
        text = (text.replace("/etc/letsencrypt/live/", os.path.join(self.tmp, "live") + "/")
                .replace("/var/log/nginx/", logs + "/")
                .replace("/run/nginx.pid", os.path.join(self.tmp, "nginx.pid")))
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([require_tool("nginx"), "-t", "-e", os.path.join(logs, "startup.log"),
                            "-c", path], capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def test_haproxy_config_is_valid(self):
        rc, out = self.haproxy_check(self.read("haproxy.cfg"))
        self.assertEqual(rc, 0, out)
        self.assertIn("Configuration file is valid", out)

    def test_haproxy_check_sees_a_mistake(self):
        rc, out = self.haproxy_check(self.read("haproxy.cfg").replace("balance leastconn",
                                                                      "balance fewest", 1))
        self.assertNotEqual(rc, 0)

    def test_nginx_config_is_valid(self):
        rc, out = self.nginx_check(self.read("nginx.conf"))
        self.assertEqual(rc, 0, out)
        self.assertIn("test is successful", out)

    def test_nginx_check_sees_a_mistake(self):
        rc, out = self.nginx_check(self.read("nginx.conf").replace("client_max_body_size 0;",
                                                                   "client_max_body_size;"))
        self.assertNotEqual(rc, 0)

    def test_both_halves_cover_the_edge(self):
        haproxy, nginx = self.read("haproxy.cfg"), self.read("nginx.conf")
        for port in [":993", ":143", ":995", ":110", ":25", ":587", ":465"]:
            self.assertIn("bind " + port, haproxy)
        self.assertIn("send-proxy-v2", haproxy)
        for name in ["webmail.example.coop", "cloud.example.coop"]:
            self.assertIn("server_name " + name, nginx)
        self.assertIn("/.well-known/acme-challenge/", nginx)


if __name__ == "__main__":
    main()
