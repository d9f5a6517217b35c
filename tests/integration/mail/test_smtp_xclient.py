"""An SMTP listener whose pool says xclient = true, in front of a real Postfix (SASL through a
real Dovecot; stock security settings, plus what the README tells operators:
smtpd_authorized_xclient_hosts = Passeur's address): no PROXY header, Passeur tells Postfix the
client's address with XCLIENT, then EHLO again and the AUTH. Postfix's log and the delivered
message's Received: header carry the client's own loopback address. A Postfix listener that
does not offer XCLIENT (Passeur not among its authorized hosts) never takes a login: the
session goes to the node that offers it, or fails with a temporary error when there is none,
and Passeur's log says why."""

import base64
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mail_support import (ADDRESS, PASSWORD, USER, MailTestCase, Postfix,  # noqa: E402
                          read_text)
from harness import LOOPBACK, free_port, main, wait_port, wait_until  # noqa: E402

SENDER = "bob@example.test"
SOURCE = "127.0.0.7"
PLAIN = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()


class PostfixWithXclient(Postfix):
    """The test Postfix with two more submission listeners, without PROXY header, each logging
    under its own name: one that lets Passeur (127.0.0.1) use XCLIENT, one that does not."""

    def __init__(self, workdir, dovecot, cert, key):
        super().__init__(workdir, dovecot, cert, key)
        self.xclient_port = free_port()
        self.plain_port = free_port()
        common = "-o smtpd_tls_security_level=none -o smtpd_sasl_auth_enable=yes"
        with open(os.path.join(self.dir, "master.cf"), "a") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/xclient "
                    "-o smtpd_authorized_xclient_hosts=127.0.0.1 %s\n"
                    % (self.xclient_port, common))
            f.write("127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/plain %s\n"
                    % (self.plain_port, common))

    def start(self):
        super().start()
        for port in (self.xclient_port, self.plain_port):
            wait_port(port, 20, None, "postfix", self.maillog)
        return self

    def lines(self, service):
        return [l for l in self.log().splitlines() if " postfix/%s/" % service in l]


def message(subject):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nSent through Passeur.\r\n"
            % (SENDER, ADDRESS, subject))


class SmtpXclientTest(MailTestCase):
    def setUp(self):
        super().setUp()
        self.dovecot = self.start_dovecot("node1")
        self.postfix = PostfixWithXclient(self.tmp, self.dovecot, self.leaf.cert, self.leaf.key)
        self.addCleanup(self.postfix.stop)
        self.postfix.start()
        p = self.postfix
        self.both = {"name": "submissions", "protocol": "smtp", "tls": True, "pool": "both"}
        self.lone = {"name": "submissions-plain", "protocol": "smtp", "tls": True,
                     "pool": "plain"}
        # round_robin: the node without XCLIENT gets its turn, deterministically.
        self.proxy = self.start_mail_proxy(
            [self.both, self.lone],
            {"both": {"balance": "round_robin", "xclient": True,
                      "nodes": [{"name": "plain", "address": "%s:%d" % (LOOPBACK, p.plain_port)},
                                {"name": "xclient",
                                 "address": "%s:%d" % (LOOPBACK, p.xclient_port)}]},
             "plain": {"xclient": True,
                       "nodes": [{"name": "plain-only",
                                  "address": "%s:%d" % (LOOPBACK, p.plain_port)}]}})

    def smtps(self, port):
        return smtplib.SMTP_SSL(LOOPBACK, port, timeout=30, source_address=(SOURCE, 0),
                                context=self.starttls_context())

    def delivered(self, subject):
        """The delivered message with this subject, from alice's maildir."""
        new = os.path.join(self.dovecot.mail_dir, USER, "Maildir", "new")
        found = []

        def look():
            if not os.path.isdir(new):
                return False
            found[:] = [read_text(os.path.join(new, f)) for f in os.listdir(new)]
            found[:] = [t for t in found if "Subject: " + subject in t]
            return found
        wait_until(look, 30, message="message %r delivered" % subject)
        return found[0]

    def test_the_client_address_reaches_postfix_through_xclient(self):
        subjects = ["xclient %d" % i for i in range(4)]
        for subject in subjects:
            c = self.smtps(self.both["port"])
            c.ehlo("client.example")
            c.login(USER, PASSWORD)
            self.assertEqual(c.sendmail(SENDER, [ADDRESS], message(subject)), {})
            c.quit()
        for subject in subjects:
            text = self.delivered(subject)
            received = text.split("\n\n", 1)[0]
            # Postfix's Received: header names the client's address and EHLO name, as if the
            # client had connected to it.
            self.assertRegex(received, r"Received: from client\.example \(unknown \[%s\]\)"
                             % re.escape(SOURCE))
            self.assertNotIn("[127.0.0.1]", received)
        log = self.postfix.lines("xclient")
        logins = [l for l in log if "sasl_username=%s" % USER in l]
        self.assertEqual(len(logins), len(subjects), log)
        for l in logins:
            self.assertIn("client=unknown[%s]" % SOURCE, l)
        self.assertTrue(any("disconnect from unknown[%s]" % SOURCE in l for l in log), log)
        # The node without XCLIENT had its turns, and never took a login or a message.
        plain = self.postfix.lines("plain")
        self.assertTrue(any("connect from" in l for l in plain), self.postfix.log())
        self.assertFalse([l for l in plain if "sasl_username" in l or "client=" in l], plain)
        self.assertRegex(self.proxy.stderr_text(),
                         r'pool "both": node "plain" cannot take the login of %s: the node '
                         r'does not offer XCLIENT' % re.escape(SOURCE))
        wait_until(lambda: len(self.sessions_from(self.proxy, SOURCE)) == len(subjects), 10,
                   message="the sessions' access lines")
        for line in self.sessions_from(self.proxy, SOURCE):
            self.assertIn("xclient", line)

    def test_a_pool_without_a_node_offering_xclient_refuses_the_login_for_now(self):
        c = self.smtps(self.lone["port"])
        c.ehlo("client.example")
        code, text = c.docmd("AUTH", "PLAIN " + PLAIN)
        self.assertEqual((code, text), (454, b"4.7.0 Temporary authentication failure"))
        c.close()
        self.assertRegex(self.proxy.stderr_text(),
                         r'pool "plain": node "plain-only" cannot take the login of %s: the node '
                         r'does not offer XCLIENT' % re.escape(SOURCE))
        plain = self.postfix.lines("plain")
        self.assertFalse([l for l in plain if "sasl_username" in l or "auth=" in l], plain)


if __name__ == "__main__":
    main()
