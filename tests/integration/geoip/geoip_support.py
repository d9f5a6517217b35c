"""Pieces shared by the GeoIP tests: a MaxMind database written at test time with Debian's
libmaxmind-db-writer-perl (loopback addresses mapped to countries), and clients that connect
from a chosen source address."""

import os
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from harness import SOURCE_DIR, read_text, wait_until  # noqa: E402

WRITER = os.path.join(HERE, "write_mmdb.pl")
SHARED_TESTDATA = os.path.join(os.path.dirname(SOURCE_DIR), "shared", "testdata", "geoip")

# The countries of the test database. 127.0.0.1 (the harness's own probes) is not in it.
DE = "127.0.0.2"
CN = "127.0.0.3"
FR_NET = "127.0.1.0/24"
FR = "127.0.1.9"
NETWORKS = {DE + "/32": "DE", CN + "/32": "CN", FR_NET: "FR", "::1/128": "JP",
            "192.0.2.0/24": "CN", "198.51.100.0/24": "DE"}


def write_db(path, networks=None):
    """Writes the database to `path` by rename (as geoipupdate does)."""
    args = ["%s=%s" % (n, c) for n, c in (networks or NETWORKS).items()]
    subprocess.run(["perl", WRITER, path] + args, check=True, timeout=60)
    return path


def corrupt_copy(good, path):
    """A truncated copy of `good`, renamed over `path`."""
    with open(good, "rb") as f:
        data = f.read()
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data[:len(data) // 2])
    os.replace(tmp, path)


def geoip_table(database, header=None, check_interval="1s"):
    text = '\n[geoip]\ndatabase = "%s"\ncheck_interval = "%s"\n' % (database, check_interval)
    if header is not None:
        text += 'header = "%s"\n' % header
    return text


def request_from(source, port, host="example.test", path="/", headers=(), dest="127.0.0.1",
                 timeout=5.0):
    """One HTTP/1.1 request with Connection: close from `source`. Returns (status, body), or
    None when the connection was closed without a response."""
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((source, 0))
        s.connect((dest, port))
        head = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, host)
        for name, value in headers:
            head += "%s: %s\r\n" % (name, value)
        try:
            s.sendall((head + "\r\n").encode())
        except OSError:
            return None
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body.decode(errors="replace")


def wait_stderr(proxy, text, timeout=10):
    wait_until(lambda: text in proxy.stderr_text(), timeout, message=repr(text) + " in stderr")



def mmdblookup(database, address):
    if not shutil.which("mmdblookup"):
        return None
    p = subprocess.run(["mmdblookup", "-f", database, "-i", address, "country", "iso_code"],
                       capture_output=True, text=True, timeout=10)
    return p.stdout


__all__ = ["DE", "CN", "FR", "FR_NET", "NETWORKS", "SHARED_TESTDATA", "write_db", "corrupt_copy",
           "geoip_table", "request_from", "wait_stderr", "read_text", "mmdblookup"]
