"""Header rules of a listener and a route: set, add, remove and replace, on requests to the node
and responses to the client, in their documented order; and what passeur check refuses."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ProxyTestCase, http, main  # noqa: E402
from test_headers import parse_echo, values  # noqa: E402


class HeaderRulesTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_backend("http", "echo")
        listener = {
            "request_headers": [
                {"set": "X-Edge", "value": "listener"},
                {"add": "X-Trace", "value": "from-listener"},
            ],
            "response_headers": [
                {"set": "X-Frame-Options", "value": "DENY"},
                {"add": "X-Content-Type-Options", "value": "nosniff"},
            ],
        }
        route = {
            "host": "cloud.example.coop",
            "path_prefix": "/",
            "pool": "main",
            "request_headers": [
                {"replace": "Destination", "pattern": "^https://(.*)$", "with": "http://\\1"},
                {"set": "X-Real-IP", "value": "$remote_addr"},
                {"set": "X-Where", "value": "$scheme://$host [$http_host]"},
                {"add": "X-Trace", "value": "from-route"},
                {"remove": "X-Debug"},
                {"remove": "X-Forwarded-Host"},
                {"set": "X-Edge", "value": "route"},
            ],
            "response_headers": [
                {"set": "X-Frame-Options", "value": "SAMEORIGIN"},
                {"replace": "Server", "pattern": "^backend (.*)$", "with": "edge ($1)"},
                {"remove": "Date"},
                {"set": "Content-Type", "value": "text/x-rewritten"},
            ],
        }
        plain = {"host": "plain.example.coop", "path_prefix": "/", "pool": "main"}
        self.proxy = self.start_passeur(
            [route, plain], {"main": {"nodes": [self.node.address]}}, listener=listener)

    def echo_of(self, host, headers=()):
        r = http(self.proxy.port, "GET", "/head", host=host, headers=headers)
        self.assertEqual(r.status, 200, r)
        line, hs = parse_echo(r.text)
        return line, hs, r

    def test_request_rules_each_kind(self):
        _, hs, _ = self.echo_of("Cloud.Example.coop:80", [
            ("Destination", "https://cloud.example.coop/dav/a%20b.txt"),
            ("X-Debug", "1"), ("x-debug", "2"), ("X-Real-IP", "203.0.113.9")])
        # replace: captures expanded, the whole value replaced
        self.assertEqual(values(hs, "destination"), ["http://cloud.example.coop/dav/a%20b.txt"])
        # set: the client's copy gone, variables expanded
        self.assertEqual(values(hs, "x-real-ip"), ["127.0.0.1"])
        self.assertEqual(values(hs, "x-where"),
                         ["http://cloud.example.coop [Cloud.Example.coop:80]"])
        # add: one more each, listener first, then route
        self.assertEqual(values(hs, "x-trace"), ["from-listener", "from-route"])
        # remove: every copy, also of a field Passeur writes itself
        self.assertEqual(values(hs, "x-debug"), [])
        self.assertEqual(values(hs, "x-forwarded-host"), [])
        self.assertEqual(values(hs, "x-forwarded-for"), ["127.0.0.1"])
        # the route's set comes after the listener's
        self.assertEqual(values(hs, "x-edge"), ["route"])
        self.assertEqual(values(hs, "host"), ["Cloud.Example.coop:80"])

    def test_replace_leaves_a_value_it_does_not_match(self):
        _, hs, _ = self.echo_of("cloud.example.coop",
                             [("Destination", "http://cloud.example.coop/x")])
        self.assertEqual(values(hs, "destination"), ["http://cloud.example.coop/x"])

    def test_listener_rules_without_route_rules(self):
        _, hs, r = self.echo_of("plain.example.coop", [("X-Debug", "1"), ("X-Edge", "client")])
        self.assertEqual(values(hs, "x-edge"), ["listener"])
        self.assertEqual(values(hs, "x-trace"), ["from-listener"])
        self.assertEqual(values(hs, "x-debug"), ["1"])
        self.assertEqual(r.header_all("X-Frame-Options"), ["DENY"])
        self.assertEqual(r.header_all("X-Content-Type-Options"), ["nosniff"])
        self.assertTrue(r.header("Server", "").startswith("backend"), r)
        self.assertIsNotNone(r.header("Date"))

    def test_response_rules_each_kind(self):
        _, _, r = self.echo_of("cloud.example.coop")
        self.assertEqual(r.header_all("X-Frame-Options"), ["SAMEORIGIN"])
        self.assertEqual(r.header_all("X-Content-Type-Options"), ["nosniff"])
        self.assertRegex(r.header("Server", ""), r"^edge \(.+\)$")
        self.assertEqual(r.header_all("Date"), [])
        self.assertEqual(r.header_all("Content-Type"), ["text/x-rewritten"])
        # framing untouched: the body is whole
        self.assertEqual(int(r.header("Content-Length")), len(r.body))

    def test_response_rules_on_every_status_not_on_passeur_errors(self):
        r = http(self.proxy.port, "GET", "/missing", host="cloud.example.coop")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("X-Frame-Options"), ["SAMEORIGIN"])
        r = http(self.proxy.port, "GET", "/", host="nowhere.example.coop")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header_all("X-Frame-Options"), [])

    def test_check_refuses_bad_rules_with_line_and_column(self):
        path = os.path.join(self.tmp, "bad.toml")
        with open(path, "w") as f:
            f.write(self.proxy.config_text().replace(
                '"^https://(.*)$"', '"^(https://.*$"').replace(
                '{set = "X-Real-IP"', '{set = "Content-Length"'))
        rc, out, err = self.proxy.check(path)
        self.assertNotEqual(rc, 0, out + err)
        text = out + err
        self.assertRegex(text, r"bad\.toml:\d+:\d+: \"pattern\": bad regular expression: ")
        self.assertRegex(text, r"bad\.toml:\d+:\d+: a header rule cannot change "
                               r"\"Content-Length\"")
        rc, out, err = self.proxy.check()
        self.assertEqual(rc, 0, out + err)


if __name__ == "__main__":
    main()
