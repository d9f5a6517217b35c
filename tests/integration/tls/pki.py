"""A throw-away public key infrastructure made with the `openssl` command line at test time: a
test CA and the server certificates the TLS tests serve, each written as certbot lays them out
(fullchain.pem = leaf then CA, privkey.pem).

    pki = Pki(directory)            # makes the CA
    leaf = pki.issue("webmail-rsa", ["webmail.example.coop"], key="rsa")
    leaf.fullchain, leaf.key, leaf.serial

`standard_set()` makes everything the TLS tests use at once.
"""

import os
import re
import shutil
import subprocess

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

WEBMAIL = "webmail.example.coop"
CLOUD = "cloud.example.coop"
WILDCARD = "*.example.coop"
EXPIRED_NAME = "expired.example.coop"

_CA_CONFIG = """[ca]
default_ca = test_ca
[test_ca]
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
"""


def openssl(*args, input=None, timeout=60):
    """Run the openssl CLI; raise with its stderr when it fails. Returns stdout (bytes)."""
    p = subprocess.run([OPENSSL] + list(args), input=input, capture_output=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("openssl %s failed (%d): %s"
                             % (" ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout


def _key_args(key):
    if key == "rsa":
        return ["-newkey", "rsa:2048"]
    if key == "ecdsa":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    raise ValueError("key must be 'rsa' or 'ecdsa', not %r" % key)


def new_key(path, key="rsa"):
    """A fresh private key in PEM, of the given type."""
    if key == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                path)
    return path


class Leaf:
    """One issued server certificate and its files."""

    def __init__(self, directory, label, names, key_type, serial):
        self.label = label
        self.names = list(names)
        self.key_type = key_type  # "rsa" or "ecdsa"
        self.serial = serial      # upper-case hex, no leading zeros, as Python's ssl prints it
        self.dir = directory
        self.cert = os.path.join(directory, "cert.pem")            # leaf alone
        self.fullchain = os.path.join(directory, "fullchain.pem")  # leaf + CA
        self.key = os.path.join(directory, "privkey.pem")

    def config(self):
        """The [[certificate]] table that serves this leaf."""
        return {"cert": self.fullchain, "key": self.key}

    def __repr__(self):
        return "<Leaf %s %s %s serial %s>" % (self.label, self.key_type, self.names, self.serial)


class Pki:
    def __init__(self, directory):
        self.dir = directory
        self.ca_dir = os.path.join(directory, "ca")
        os.makedirs(os.path.join(self.ca_dir, "issued"), exist_ok=True)
        self.ca_cert = os.path.join(self.ca_dir, "ca.pem")
        self.ca_key = os.path.join(self.ca_dir, "ca.key")
        self.ca_config = os.path.join(self.ca_dir, "ca.cnf")
        with open(os.path.join(self.ca_dir, "index.txt"), "w"):
            pass
        with open(self.ca_config, "w") as f:
            f.write(_CA_CONFIG.format(dir=self.ca_dir))
        self._next_serial = 0x1000
        openssl("req", "-x509", "-nodes", *_key_args("rsa"), "-keyout", self.ca_key,
                "-out", self.ca_cert, "-days", "3650", "-subj", "/O=Passeur tests/CN=Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _serial(self):
        self._next_serial += 1
        return self._next_serial

    def issue(self, label, names, key="rsa", expired=False, serial=None):
        """A leaf for `names` (subjectAltNames; the first is also the CN), signed by the CA,
        valid now for 30 days, or expired in 2020 when `expired`."""
        d = os.path.join(self.dir, label)
        os.makedirs(d, exist_ok=True)
        serial = serial if serial is not None else self._serial()
        leaf = Leaf(d, label, names, key, "%X" % serial)
        csr = os.path.join(d, "req.csr")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % ",".join(
                ("IP:" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*", n) else "DNS:") + n
                for n in names))
            f.write("basicConstraints=CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature%s\n"
                    % (",keyEncipherment" if key == "rsa" else ""))
            f.write("extendedKeyUsage=serverAuth\n")
        openssl("req", "-new", "-nodes", *_key_args(key), "-keyout", leaf.key, "-out", csr,
                "-subj", "/CN=%s" % names[0])
        if expired:
            with open(os.path.join(self.ca_dir, "serial"), "w") as f:
                f.write("%X\n" % serial)
            openssl("ca", "-batch", "-config", self.ca_config, "-cert", self.ca_cert,
                    "-keyfile", self.ca_key, "-in", csr, "-out", leaf.cert, "-notext",
                    "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                    "-extfile", ext)
        else:
            openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                    "-set_serial", str(serial), "-days", "30", "-sha256", "-extfile", ext,
                    "-out", leaf.cert)
        with open(leaf.fullchain, "w") as out:
            for part in (leaf.cert, self.ca_cert):
                with open(part) as f:
                    out.write(f.read())
        return leaf


class StandardSet:
    """Everything the TLS tests serve:
      rsa        webmail.example.coop, RSA-2048
      ecdsa      webmail.example.coop, ECDSA P-256
      wildcard   *.example.coop
      cloud      cloud.example.coop
      expired    expired.example.coop, valid in January 2020 only
      rsa2       webmail.example.coop again, RSA, another serial (a renewal)
      mismatched_key  a key that belongs to none of them (pair it with rsa's cert)
    """

    def __init__(self, directory):
        self.pki = Pki(directory)
        self.ca = self.pki.ca_cert
        self.rsa = self.pki.issue("webmail-rsa", [WEBMAIL], "rsa")
        self.ecdsa = self.pki.issue("webmail-ecdsa", [WEBMAIL], "ecdsa")
        self.wildcard = self.pki.issue("wildcard", [WILDCARD], "rsa")
        self.cloud = self.pki.issue("cloud", [CLOUD], "ecdsa")
        self.expired = self.pki.issue("expired", [EXPIRED_NAME], "ecdsa", expired=True)
        self.rsa2 = self.pki.issue("webmail-rsa-renewed", [WEBMAIL], "rsa")
        self.mismatched_key = new_key(os.path.join(directory, "mismatched.key"), "rsa")


def standard_set(directory):
    return StandardSet(directory)


def copy_leaf(leaf, directory):
    """Copies a leaf's fullchain and key into `directory` (fullchain.pem, privkey.pem), the way
    certbot's live/ directory holds them; returns the {"cert", "key"} table."""
    os.makedirs(directory, exist_ok=True)
    cert = os.path.join(directory, "fullchain.pem")
    key = os.path.join(directory, "privkey.pem")
    install_files(cert, leaf.fullchain, key, leaf.key)
    return {"cert": cert, "key": key}


def install_files(cert_dest, cert_src, key_dest, key_src):
    """Replaces cert and key files, each atomically (write beside, then rename)."""
    for dest, src in ((cert_dest, cert_src), (key_dest, key_src)):
        if src is None:
            continue
        tmp = dest + ".new"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
