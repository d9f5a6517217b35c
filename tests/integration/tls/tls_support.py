"""Pieces shared by the TLS integration tests: a TLS client connection that speaks the
harness's raw HTTP, `openssl s_client` runs and what they print, and a test case base that
makes the test PKI once per test class and starts passeur with a TLS listener."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import (LOOPBACK, ConnectionClosed, HttpConn, ProxyTestCase, free_port,  # noqa: E402
                     require_tool, wait_port)
import pki  # noqa: E402
from pki import CLOUD, WEBMAIL, WILDCARD  # noqa: E402,F401

OPENSSL = pki.OPENSSL

# Mozilla "intermediate" (v5.7): the only suites a TLS listener may accept.
MOZILLA_INTERMEDIATE_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
}
MOZILLA_INTERMEDIATE_TLS13 = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
}

def old_protocol_env(directory):
    """Environment for an openssl CLI client that may offer old protocols and weak suites: the
    system openssl.cnf (MinProtocol, SECLEVEL) is replaced by an empty one in `directory`."""
    path = os.path.join(directory, "empty-openssl.cnf")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("# empty: no system-wide protocol floor for this client\n")
    env = dict(os.environ)
    env["OPENSSL_CONF"] = path
    return env


# ---------------------------------------------------------------------------------------------
# Python ssl clients


def client_context(ca=None, verify=True, check_hostname=False, min_version=None,
                   max_version=None, alpn=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = bool(check_hostname and verify)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(ca)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class TlsConn(HttpConn):
    """HttpConn over TLS. servername=None sends no SNI."""

    def __init__(self, port, servername=WEBMAIL, context=None, ca=None, timeout=10.0,
                 host=LOOPBACK):
        self.sock = None
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = context or client_context(ca, verify=ca is not None)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=servername)
        except Exception:
            raw.close()
            raise
        self.buf = b""
        self.eof = False

    def _fill(self):
        try:
            return super()._fill()
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            self.eof = True
            raise ConnectionClosed("TLS connection closed by peer")

    def peer(self):
        """getpeercert() of the connection (needs a verifying context)."""
        return self.sock.getpeercert()

    def serial(self):
        return int(self.sock.getpeercert()["serialNumber"], 16)


def https(port, path="/", host=WEBMAIL, servername=None, method="GET", headers=(), body=b"",
          ca=None, timeout=10.0):
    """One request over a fresh TLS connection (SNI = servername or host, Connection: close)."""
    headers = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if not any(k.lower() == "connection" for k, _ in headers):
        headers.append(("Connection", "close"))
    with TlsConn(port, servername or host.split(":")[0], ca=ca, timeout=timeout) as c:
        return c.roundtrip(method, path, host, headers, body)


def peer_certificate(port, servername, ca, **ctx_kw):
    """Handshakes and returns (getpeercert() dict, negotiated protocol)."""
    ctx = client_context(ca, **ctx_kw)
    with TlsConn(port, servername, context=ctx) as c:
        return c.peer(), c.sock.version()


def cert_names(peercert):
    """The DNS subjectAltNames of a getpeercert() dict."""
    return sorted(v for k, v in peercert.get("subjectAltName", ()) if k == "DNS")


# ---------------------------------------------------------------------------------------------
# openssl s_client


class SClient:
    """What one `openssl s_client` run printed."""

    def __init__(self, rc, out):
        self.rc = rc
        self.out = out

    def field(self, pattern):
        m = re.search(pattern, self.out, re.M)
        return m.group(1).strip() if m else None

    @property
    def protocol(self):
        return self.field(r"^\s*Protocol\s*:\s*(\S+)") or self.field(r"^New, (TLSv[\d.]+),")

    @property
    def cipher(self):
        return self.field(r"^\s*Cipher\s*:\s*(\S+)") or self.field(r", Cipher is (\S+)")

    @property
    def alpn(self):
        if "No ALPN negotiated" in self.out:
            return None
        return self.field(r"^ALPN protocol: (\S+)")

    @property
    def reused(self):
        return re.search(r"^Reused, ", self.out, re.M) is not None

    @property
    def handshake_done(self):
        return re.search(r"^(New|Reused), TLSv", self.out, re.M) is not None and \
            "Cipher is (NONE)" not in self.out

    def leaf_pem(self):
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", self.out, re.S)
        return m.group(0) if m else None

    def leaf(self):
        """{subject, names, serial, key_type} of the server's certificate, or None."""
        pem = self.leaf_pem()
        return describe_certificate(pem) if pem else None

    def __repr__(self):
        return "<s_client rc=%s>\n%s" % (self.rc, self.out[-3000:])


def s_client(port, *args, servername=WEBMAIL, stdin=b"", timeout=15, env=None,
             ign_eof=False):
    """Runs `openssl s_client -connect 127.0.0.1:port` with extra args. stdin is sent after the
    handshake; with ign_eof, the client reads until the server closes."""
    cmd = [OPENSSL, "s_client", "-connect", "%s:%d" % (LOOPBACK, port)]
    if servername is None:
        cmd.append("-noservername")
    else:
        cmd += ["-servername", servername]
    if ign_eof:
        cmd.append("-ign_eof")
    cmd += list(args)
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, env=env)
    return SClient(p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace"))


def describe_certificate(pem):
    text = subprocess.run([OPENSSL, "x509", "-noout", "-subject", "-serial", "-text"],
                          input=pem.encode(), capture_output=True, timeout=10).stdout.decode()
    m = re.search(r"^serial=([0-9A-F]+)", text, re.M)
    serial = int(m.group(1), 16) if m else None
    m = re.search(r"^subject=(.*)$", text, re.M)
    subject = m.group(1).strip() if m else None
    m = re.search(r"X509v3 Subject Alternative Name:.*?\n\s*(.*?)\n", text, re.S)
    names = sorted(n.strip()[4:] for n in m.group(1).split(",")) if m else []
    if "id-ecPublicKey" in text:
        key_type = "ecdsa"
    elif "rsaEncryption" in text:
        key_type = "rsa"
    else:
        key_type = "other"
    return {"subject": subject, "names": names, "serial": serial, "key_type": key_type}


HTTP_GET_CLOSE = "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"


# ---------------------------------------------------------------------------------------------
# Test case base


class TlsTestCase(ProxyTestCase):
    """Makes the standard PKI once per class (self.certs); start_tls_proxy() starts passeur with
    a TLS listener (self.proxy.port) and optionally a plain one (self.proxy.plain_port)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_tool("openssl")
        cls.pki_dir = tempfile.mkdtemp(prefix="passeur-pki-")
        cls.addClassCleanup(shutil.rmtree, cls.pki_dir, True)
        cls.certs = pki.standard_set(cls.pki_dir)

    def default_certificates(self):
        c = self.certs
        return [c.rsa.config(), c.ecdsa.config(), c.wildcard.config(), c.cloud.config()]

    def start_tls_proxy(self, routes, pools, certificates=None, tls=None, plain=None,
                        wait=True, **kw):
        """tls: extra keys for the TLS listener; plain: None for no plain listener, else the
        extra keys of a plain one."""
        tls_listener = {"name": "web-tls", "tls": True}
        tls_listener.update(tls or {})
        extra = []
        plain_port = None
        if plain is not None:
            plain_port = free_port()
            p = {"name": "web", "listen": "%s:%d" % (LOOPBACK, plain_port), "protocol": "http"}
            p.update(plain)
            extra.append(p)
        proxy = self.start_passeur(
            routes, pools, listener=tls_listener, extra_listeners=extra,
            certificates=self.default_certificates() if certificates is None else certificates,
            wait=wait, **kw)
        proxy.plain_port = plain_port
        if wait and plain_port is not None:
            wait_port(plain_port, 10, proxy.proc, "passeur (plain listener)", proxy.stderr_path)
        return proxy

    def webmail_proxy(self, node=None, **kw):
        """One route for webmail.example.coop (and any host) to one nginx node."""
        node = node or self.start_nginx("webmail")
        self.node = node
        routes = [{"path_prefix": "/", "pool": "webmail"}]
        pools = {"webmail": {"nodes": [node.address]}}
        return self.start_tls_proxy(routes, pools, **kw)
