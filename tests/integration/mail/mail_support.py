"""Real mail servers for the mail integration tests: Dovecot (IMAP + POP3) and Postfix (SMTP,
submission) on loopback, each in the test's temporary directory, on free ports, with plain
listeners and PROXY-protocol listeners (Dovecot `haproxy = yes`, Postfix
`smtpd_upstream_proxy_protocol = haproxy`), stopped by pid (Postfix with `postfix stop` on its
own config directory).

Recipes: ../shared/TESTING.md. One user, alice@example.test / alicepw; Postfix delivers
mail for example.test into the maildirs Dovecot serves, and authenticates SMTP AUTH through
Dovecot's auth socket. Both run with their stock security settings (Dovecot's
`disable_plaintext_auth = yes`): a login goes over TLS, ended at Passeur (which says so in its
PROXY v2 header) or at the node (STARTTLS end to end).
"""

import imaplib
import poplib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tls"))

from harness import (LOOPBACK, ChildServer, ProxyTestCase, free_port, read_text,  # noqa: E402
                     wait_port, wait_until)
from pki import Pki  # noqa: E402

USER = "alice"
PASSWORD = "alicepw"
ADDRESS = "alice@example.test"
MAIL_NAME = "mail.example.coop"


def proxy_header_v1(src, sport, dst, dport):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


def proxy_header_v2(src, sport, dst, dport):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + sport.to_bytes(2, "big") + \
        dport.to_bytes(2, "big")
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + len(body).to_bytes(2, "big") + body


class Dovecot(ChildServer):
    """One Dovecot node: IMAP and POP3, each with a plain and a PROXY listener."""

    stop_timeout = 10

    def __init__(self, workdir, name, cert, key, login_trusted=None, ip=None, users=()):
        """login_trusted: Dovecot's login_trusted_networks (absent by default, as shipped):
        clients there may tell their own address in IMAP ID x-originating-ip. ip: a loopback
        address it also listens on, that address() gives (nodes told apart by address).
        users: (name, password) pairs besides USER's."""
        self.name = name
        self.ip = ip or LOOPBACK
        self.dir = os.path.join(workdir, "dovecot-" + name)
        self.imap_port = free_port()
        self.imap_proxy_port = free_port()
        self.pop3_port = free_port()
        self.pop3_proxy_port = free_port()
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.config_path = os.path.join(self.dir, "dovecot.conf")
        self.mail_dir = os.path.join(self.dir, "mail")
        os.makedirs(self.mail_dir)
        os.chmod(workdir, 0o755)  # Dovecot's auth and mail processes run as other users
        os.chmod(self.dir, 0o755)
        shutil.chown(self.mail_dir, "nobody", "nogroup")
        shutil.copy(cert, os.path.join(self.dir, "cert.pem"))
        shutil.copy(key, os.path.join(self.dir, "key.pem"))
        with open(os.path.join(self.dir, "users"), "w") as f:
            for user, password in [(USER, PASSWORD)] + list(users):
                f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        d = self.dir
        # IDLE: Dovecot hears of new mail through inotify, and when it cannot get an inotify
        # instance, by looking every mailbox_idle_check_interval (30 s by default). Its mail
        # processes run as nobody, whose inotify instances are limited per user for the whole
        # machine (fs.inotify.max_user_instances, 128 here): another Dovecot holding many IDLE
        # sessions at the same time (bench/compare's idle rows) uses them up. 1 s keeps a test
        # waiting for EXISTS independent of that.
        conf = """base_dir={d}/run
state_dir={d}/state
log_path={d}/dovecot.log
info_log_path={d}/dovecot.log
protocols=imap pop3
listen={listen}
auth_mechanisms=plain login
ssl=yes
ssl_cert=<{d}/cert.pem
ssl_key=<{d}/key.pem
ssl_dh=</usr/share/dovecot/dh.pem
haproxy_trusted_networks=127.0.0.0/8
login_greeting=Dovecot {name} ready.
mailbox_idle_check_interval=1s
{trusted}passdb {{
  driver=passwd-file
  args=scheme=PLAIN {d}/users
}}
userdb {{
  driver=passwd-file
  args={d}/users
  default_fields=uid=nobody gid=nogroup home={d}/mail/%u mail=maildir:~/Maildir
}}
service imap-login {{
  inet_listener imap {{
    port={imap}
  }}
  inet_listener imaps {{
    port=0
  }}
  inet_listener imap_proxy {{
    port={imap_proxy}
    haproxy=yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port={pop3}
  }}
  inet_listener pop3s {{
    port=0
  }}
  inet_listener pop3_proxy {{
    port={pop3_proxy}
    haproxy=yes
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode=0666
  }}
}}
""".format(d=d, name=name, listen=", ".join(sorted({LOOPBACK, self.ip})), trusted="login_trusted_networks=%s\n" % login_trusted
           if login_trusted else "", imap=self.imap_port, imap_proxy=self.imap_proxy_port,
           pop3=self.pop3_port, pop3_proxy=self.pop3_proxy_port)
        with open(self.config_path, "w") as f:
            f.write(conf)

    def address(self, port):
        return "%s:%d" % (self.ip, port)

    @property
    def auth_socket(self):
        return os.path.join(self.dir, "run", "auth-postfix")

    def start(self):
        check = subprocess.run(["dovecot", "-c", self.config_path, "-n"], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError("dovecot config: %s" % check.stderr)
        self.spawn(["dovecot", "-c", self.config_path, "-F"],
                   os.path.join(self.dir, "stderr.log"), mode="ab")
        for port in (self.imap_port, self.imap_proxy_port, self.pop3_port,
                     self.pop3_proxy_port):
            wait_port(port, 15, self.proc, "dovecot " + self.name, self.log_path)
        wait_until(self._auth_ready, 15, message="dovecot %s's auth process" % self.name)
        return self

    def _auth_ready(self):
        """Whether a greeting is the usual one: a fresh Dovecot whose auth process is not up
        yet greets with "Waiting for authentication process to respond", late."""
        try:
            with socket.create_connection((LOOPBACK, self.imap_port), timeout=5) as s:
                return b"ready." in s.recv(4096)
        except OSError:
            return False

    def log(self):
        return read_text(self.log_path)

    def deliver(self, subject, body):
        """Puts a message straight into alice's maildir (as an MTA would)."""
        new = os.path.join(self.mail_dir, USER, "Maildir", "new")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.mail_dir, USER, "Maildir", sub), exist_ok=True)
        for root, dirs, files in os.walk(os.path.join(self.mail_dir, USER)):
            shutil.chown(root, "nobody", "nogroup")
        name = "%d.%d.test" % (time.time() * 1e6, os.getpid())
        path = os.path.join(new, name)
        with open(path, "wb") as f:
            f.write(b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: " +
                    subject.encode() + b"\r\n\r\n" + body)
        shutil.chown(path, "nobody", "nogroup")
        return path


class Postfix:
    """One Postfix instance with its own config directory: plain SMTP, and SMTP and submission
    listeners that take a PROXY header. Delivers example.test to a Dovecot's maildirs; SASL
    through that Dovecot."""

    def __init__(self, workdir, dovecot, cert, key):
        self.dir = os.path.join(workdir, "postfix")
        self.spool = os.path.join(self.dir, "spool")
        self.smtp_port = free_port()
        self.smtp_proxy_port = free_port()
        self.submission_proxy_port = free_port()
        self.submissions_proxy_port = free_port()  # behind a TLS-terminating proxy (465)
        self.maillog = os.path.join(self.dir, "maillog")
        os.makedirs(self.dir)
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(self.spool)
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        shutil.copy(cert, os.path.join(self.dir, "cert.pem"))
        shutil.copy(key, os.path.join(self.dir, "key.pem"))
        with open(os.path.join(self.dir, "vmailbox"), "w") as f:
            f.write("%s %s/Maildir/\n" % (ADDRESS, USER))
        p = self.dir
        main = """compatibility_level=3.6
queue_directory={p}/spool
data_directory={p}/data
maillog_file={p}/maillog
maillog_file_prefixes=/tmp,{p}
inet_interfaces=127.0.0.1
inet_protocols=ipv4
myhostname=mx.example.test
mydestination=
mynetworks=127.0.0.1/32
smtpd_peername_lookup=no
default_transport=error:outbound disabled
relay_transport=error:outbound disabled
virtual_mailbox_domains=example.test
virtual_mailbox_maps=texthash:{p}/vmailbox
virtual_mailbox_base={mail}
virtual_uid_maps=static:65534
virtual_gid_maps=static:65534
virtual_minimum_uid=100
smtpd_sasl_type=dovecot
smtpd_sasl_path={auth}
smtpd_tls_cert_file={p}/cert.pem
smtpd_tls_key_file={p}/key.pem
smtpd_tls_security_level=may
smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
message_size_limit=104857600
virtual_mailbox_limit=0
""".format(p=p, mail=dovecot.mail_dir, auth=dovecot.auth_socket)
        master = """{smtp} inet n - n - - smtpd
{smtp_proxy} inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy
{sub_proxy} inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes
{subs_proxy} inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy -o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=yes
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
""".format(smtp="127.0.0.1:%d" % self.smtp_port,
           smtp_proxy="127.0.0.1:%d" % self.smtp_proxy_port,
           sub_proxy="127.0.0.1:%d" % self.submission_proxy_port,
           subs_proxy="127.0.0.1:%d" % self.submissions_proxy_port)
        with open(os.path.join(p, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(p, "master.cf"), "w") as f:
            f.write(master)
        self.started = False

    def _postfix(self, *args, check=True):
        r = subprocess.run(["postfix", "-c", self.dir] + list(args), capture_output=True,
                           text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("postfix %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def start(self):
        self._postfix("check")
        self._postfix("start")
        self.started = True
        for port in (self.smtp_port, self.smtp_proxy_port, self.submission_proxy_port,
                     self.submissions_proxy_port):
            wait_port(port, 20, None, "postfix", self.maillog)
        return self

    def stop(self):
        if self.started:
            self._postfix("stop", check=False)
            self.started = False

    def log(self):
        return read_text(self.maillog)


class MailTestCase(ProxyTestCase):
    """A test CA and a certificate for mail.example.coop (Passeur's, and the servers' for
    STARTTLS), Dovecot and Postfix on demand, and Passeur with TCP listeners."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.pki_dir = tempfile.mkdtemp(prefix="passeur-mail-pki-")
        cls.pki = Pki(cls.pki_dir)
        cls.leaf = cls.pki.issue("mail", [MAIL_NAME])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki_dir, True)

    def start_dovecot(self, name="node1", login_trusted=None, ip=None, users=()):
        d = Dovecot(self.tmp, name, self.leaf.cert, self.leaf.key, login_trusted, ip, users)
        self.addCleanup(d.stop)
        return d.start()

    def start_postfix(self, dovecot):
        p = Postfix(self.tmp, dovecot, self.leaf.cert, self.leaf.key)
        self.addCleanup(p.stop)
        return p.start()

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        return ctx

    def starttls_context(self):
        """For STARTTLS, where imaplib and poplib check the name against the address they
        connected to (127.0.0.1): the chain is verified, the test checks the name."""
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        ctx.check_hostname = False
        return ctx

    @staticmethod
    def sessions_from(proxy, source):
        """Access log lines of sessions from one client address (the harness's own readiness
        probe connects from 127.0.0.1)."""
        return [l for l in proxy.access_lines() if l.startswith(source + ":")]

    def start_mail_proxy(self, listeners, pools, **kw):
        """Passeur with TCP listeners only: `listeners` is a list of dicts (the first is the
        main listener, whose port the harness waits for); each gets listen on a free port
        unless given. Returns the proxy; each listener's port is in listener["port"]."""
        for l in listeners:
            if "listen" not in l:
                l["port"] = free_port()
                l["listen"] = "%s:%d" % (LOOPBACK, l["port"])
            else:
                l["port"] = int(l["listen"].rsplit(":", 1)[1])
            l.setdefault("protocol", "tcp")
        main, extra = listeners[0], listeners[1:]
        main = dict(main)
        port = main.pop("port")
        main_l = {k: v for k, v in main.items()}
        extra_l = [{k: v for k, v in l.items() if k != "port"} for l in extra]
        # TLS listeners, and mail listeners for their STARTTLS.
        certs = [self.leaf.config()] if any(l.get("tls") or l["protocol"] != "tcp"
                                            for l in listeners) else []
        return self.start_passeur([], pools, listener=main_l, listen_port=port,
                                  extra_listeners=extra_l, certificates=certs, **kw)


def _connect_from(client, timeout, context=None):
    """The socket of an imaplib or poplib client: to client.host:client.port from the address
    client.source, over TLS with context."""
    sock = socket.create_connection((client.host, client.port), timeout,
                                    source_address=(client.source, 0))
    return context.wrap_socket(sock, server_hostname=MAIL_NAME) if context else sock


class Imap(imaplib.IMAP4):
    """imaplib's client, connecting from a chosen loopback source address (127.0.0.x), so that
    the address a server logs tells whether the client's own address reached it."""

    def __init__(self, port, source="127.0.0.1", timeout=10):
        self.source = source
        super().__init__(LOOPBACK, port, timeout=timeout)

    def _create_socket(self, timeout):
        return _connect_from(self, timeout)


class ImapSsl(imaplib.IMAP4_SSL):
    def __init__(self, port, context, source="127.0.0.1", timeout=10):
        self.source = source
        super().__init__(LOOPBACK, port, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout):
        return _connect_from(self, timeout, self.ssl_context)


class Pop3(poplib.POP3):
    def __init__(self, port, source="127.0.0.1", timeout=10):
        self.source = source
        super().__init__(LOOPBACK, port, timeout=timeout)

    def _create_socket(self, timeout):
        return _connect_from(self, timeout)


class Pop3Ssl(poplib.POP3_SSL):
    def __init__(self, port, context, source="127.0.0.1", timeout=10):
        self.source = source
        super().__init__(LOOPBACK, port, context=context, timeout=timeout)

    def _create_socket(self, timeout):
        return _connect_from(self, timeout, self.context)


def imap_login(port, tls=False, context=None, source="127.0.0.1", timeout=10):
    """A logged-in IMAP client: over implicit TLS (`tls`), or on a plain port after STARTTLS with
    `context`, as Dovecot's stock `disable_plaintext_auth = yes` wants."""
    if tls:
        c = ImapSsl(port, context, source, timeout)
    else:
        c = Imap(port, source, timeout)
        c.starttls(ssl_context=context)
    c.login(USER, PASSWORD)
    return c


def greeting_node(client):
    """The node name in a Dovecot greeting ("* OK ... Dovecot node2 ready.")."""
    text = client.welcome.decode(errors="replace")
    for word in text.split():
        if word.startswith("node"):
            return word
    return None


def swaks(port, *args, source="127.0.0.1", timeout=60):
    """Runs swaks against 127.0.0.1:port from `source`; returns (returncode, output)."""
    cmd = ["swaks", "--server", LOOPBACK, "--port", str(port), "--local-interface", source,
           "--to", ADDRESS, "--from", "bob@example.test", "--timeout", "30"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def wait_log(fn, needle, timeout=10, what="log line"):
    return wait_until(lambda: needle in fn(), timeout, message="%s %r" % (what, needle))
