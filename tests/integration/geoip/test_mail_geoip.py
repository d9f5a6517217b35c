"""GeoIP on a mail (TCP) listener in front of a real Dovecot: a client from a refused country
is closed before the greeting, an allowed one gets it; behind a trusted front balancer the
PROXY header's address decides; the session line carries the country, and the refusals are
counted."""

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mail"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "metrics"))
from geoip_support import CN, DE, geoip_table, write_db  # noqa: E402
from harness import main, wait_until  # noqa: E402
from mail_support import MailTestCase, proxy_header_v1, proxy_header_v2  # noqa: E402
from metrics_support import scrape  # noqa: E402

FRONT = "127.0.0.20"  # a front balancer, trusted to send PROXY headers (not in the database)


def first_bytes(source, port, header=b""):
    """What the server says first to a client from `source` (b"" when closed at once)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5,
                                  source_address=(source, 0)) as s:
        if header:
            s.sendall(header)
        data = b""
        try:
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data


class MailGeoipTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.db = write_db(os.path.join(self.tmp, "country.mmdb"))
        self.dovecot = self.start_dovecot("node1")
        d = self.dovecot
        self.proxy = self.start_mail_proxy(
            [{"name": "imap", "pool": "imap", "deny_countries": ["CN"]},
             {"name": "imap-front", "pool": "imap", "accept_proxy": [FRONT],
              "allow_countries": ["DE"], "deny_sources": ["198.51.100.66"]}],
            {"imap": {"nodes": [d.address(d.imap_port)]}},
            extra_config=geoip_table(self.db))
        self.front_port = int(self.proxy.extra_listeners[0]["listen"].rsplit(":", 1)[1])

    def test_refused_country_is_closed_before_the_greeting(self):
        self.assertIn(b"Dovecot node1 ready", first_bytes(DE, self.proxy.port))
        self.assertIn(b"Dovecot node1 ready", first_bytes("127.0.0.1", self.proxy.port))
        self.assertEqual(first_bytes(CN, self.proxy.port), b"")
        wait_until(lambda: any("close=refused_country" in l for l in self.proxy.access_lines()),
                   5, message="refused session line")
        lines = {l.split(":")[0]: l for l in self.proxy.access_lines()
                 if "listener=imap " in l}
        self.assertIn("node=- ", lines[CN])
        self.assertTrue(lines[CN].endswith("close=refused_country country=CN"), lines[CN])
        wait_until(lambda: DE in {l.split(":")[0] for l in self.proxy.access_lines()}, 10,
                   message="DE session line")
        m = scrape(self.proxy)
        self.assertEqual(m.value("passeur_listener_refused_connections_total", listener="imap",
                                 reason="country"), 1)
        self.assertEqual(m.value("passeur_connections_by_country_total", listener="imap",
                                 country="CN"), 1)
        self.assertEqual(m.value("passeur_connections_by_country_total", listener="imap",
                                 country="DE"), 1)

    def test_proxy_header_address_decides(self):
        # 198.51.100.0/24 is DE in the test database, 192.0.2.0/24 CN; the front itself is
        # unknown, which allow_countries alone would refuse.
        allowed = proxy_header_v1("198.51.100.45", 40001, "192.0.2.1", 143)
        refused = proxy_header_v2("192.0.2.44", 40002, "192.0.2.1", 143)
        denied_source = proxy_header_v1("198.51.100.66", 40003, "192.0.2.1", 143)
        self.assertIn(b"Dovecot node1 ready", first_bytes(FRONT, self.front_port, allowed))
        self.assertEqual(first_bytes(FRONT, self.front_port, refused), b"")
        self.assertEqual(first_bytes(FRONT, self.front_port, denied_source), b"")
        # Not the front: its own address decides.
        self.assertIn(b"Dovecot node1 ready", first_bytes(DE, self.front_port))
        self.assertEqual(first_bytes(CN, self.front_port), b"")
        wait_until(lambda: len([l for l in self.proxy.access_lines()
                                if "listener=imap-front" in l]) >= 3, 10, message="lines")
        lines = {l.split(" ")[0]: l for l in self.proxy.access_lines()
                 if "listener=imap-front" in l}
        self.assertTrue(lines["192.0.2.44:40002"].endswith("close=refused_country country=CN"),
                        lines)
        self.assertTrue(lines["198.51.100.66:40003"].endswith("close=refused_source country=DE"),
                        lines)
        m = scrape(self.proxy)
        self.assertEqual(m.value("passeur_listener_refused_connections_total",
                                 listener="imap-front", reason="country"), 2)
        self.assertEqual(m.value("passeur_listener_refused_connections_total",
                                 listener="imap-front", reason="source"), 1)


if __name__ == "__main__":
    main()
