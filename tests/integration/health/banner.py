"""Tiny mail servers for the health checks, run with /usr/bin/python3:

  banner.py imap --port P [--greeting TEXT]    "* OK ..." then answers "a1 LOGOUT"
  banner.py pop3 --port P [--greeting TEXT]    "+OK ..." then answers "QUIT"
  banner.py smtp --port P [--greeting TEXT] [--ehlo-reply TEXT]
                                              "220 ..." then EHLO (250 by default) and QUIT

Each connection is logged as "CONNECT", each command received as "CMD <line>".
"""

import argparse
import socket
import sys
import threading

GREETINGS = {
    "imap": "* OK [CAPABILITY IMAP4rev1] test server ready.",
    "pop3": "+OK test server ready.",
    "smtp": "220-mx.example.test ESMTP\r\n220 test server ready",
}


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def answer(protocol, line, args):
    """The reply to one command, and whether to close after it."""
    word = line.split(" ")
    if protocol == "imap":
        tag = word[0]
        if len(word) > 1 and word[1].upper() == "LOGOUT":
            return "* BYE Logging out\r\n%s OK Logout completed." % tag, True
        return "%s BAD unknown command" % tag, False
    if protocol == "pop3":
        if word[0].upper() == "QUIT":
            return "+OK Logging out.", True
        return "-ERR unknown command", False
    verb = word[0].upper()
    if verb in ("EHLO", "HELO"):
        return args.ehlo_reply or "250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME", False
    if verb == "QUIT":
        return "221 2.0.0 Bye", True
    return "502 5.5.2 unknown command", False


def serve(conn, args):
    log("CONNECT")
    try:
        f = conn.makefile("rb")
        conn.sendall((args.greeting or GREETINGS[args.protocol]).encode() + b"\r\n")
        for raw in f:
            line = raw.decode("latin-1").rstrip("\r\n")
            log("CMD " + line)
            reply, close = answer(args.protocol, line, args)
            conn.sendall(reply.encode() + b"\r\n")
            if close:
                break
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("protocol", choices=["imap", "pop3", "smtp"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--greeting")
    ap.add_argument("--ehlo-reply")
    args = ap.parse_args()
    srv = socket.create_server(("127.0.0.1", args.port), backlog=64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    main()
