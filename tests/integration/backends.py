"""Small backends for cases nginx does not cover. Run with /usr/bin/python3:

  backends.py http      --port P --name N [--delay S]
      HTTP/1.1 keep-alive server. Every request answers "<name>\\n" after `delay` seconds,
      except: ?delay=S overrides the delay; /chunked?n=N&size=B&pause=S&pause_after=K answers
      a chunked body of N chunks of B bytes, pausing S seconds after chunk K; /head answers the
      request head exactly as received (plus X-Body-Length of the body read).
  backends.py blackhole --port P      accepts, reads, never answers
  backends.py partial   --port P      answers a head and part of the body, then closes
                                      (/chunked: one chunk of a chunked body, then closes;
                                      /close: closes without answering)
  backends.py ws        --port P      WebSocket server: greets with a JSON message (path and
                                      request headers), echoes every message, and closes with
                                      4001 "bye" when it receives "close-me"

  backends.py plain     --port P      HTTP/1.1 keep-alive server written on a raw socket: never
                                      sends a 100 Continue; reads the body (Content-Length or
                                      chunked, with its trailers), then answers a chunked JSON
                                      report (request headers, body length, trailers received,
                                      seconds from the head to the first body byte) followed by
                                      the trailer "X-Node-Sum: 42"

Each request received is written to stdout as "REQ <method> <target>".
"""

import argparse
import asyncio
import http.server
import json
import socket
import sys
import threading
import time
import urllib.parse


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_http(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "backend"
        # Buffered: a small answer leaves in one write, head and body together, as real servers
        # send it (the chunked answers flush each chunk themselves).
        wbufsize = -1

        def log_message(self, fmt, *a):
            pass

        def read_body(self):
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self):
            log("REQ %s %s" % (self.command, self.path))
            body = self.read_body()
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            delay = float(q.get("delay", args.delay))
            if url.path == "/chunked":
                return self.send_chunked(int(q.get("n", 4)), int(q.get("size", 1024)),
                                         float(q.get("pause", 0)), int(q.get("pause_after", 1)))
            if delay:
                time.sleep(delay)
            if url.path == "/head":
                payload = (self.requestline + "\r\n" + self.headers.as_string()).encode("latin-1")
                extra = [("X-Body-Length", str(len(body)))]
            else:
                payload = (args.name + "\n").encode()
                extra = []
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def send_chunked(self, n, size, pause, pause_after):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for i in range(n):
                data = bytes([65 + i % 26]) * size
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                if pause and i + 1 == pause_after:
                    time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = handle_any

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    Server(("127.0.0.1", args.port), Handler).serve_forever()


def run_blackhole(args):
    srv = socket.create_server(("127.0.0.1", args.port), backlog=256)
    held = []

    def hold(conn):
        buf = b""
        try:
            while True:
                d = conn.recv(65536)
                if not d:
                    break
                if b"\r\n\r\n" not in buf and b"\r\n\r\n" in buf + d:
                    log("REQ " + (buf + d).split(b"\r\n", 1)[0].decode("latin-1"))
                buf = (buf + d)[-65536:]
        except OSError:
            pass
        conn.close()

    while True:
        conn, _ = srv.accept()
        held.append(conn)
        threading.Thread(target=hold, args=(conn,), daemon=True).start()


def run_partial(args):
    srv = socket.create_server(("127.0.0.1", args.port), backlog=256)

    def serve(conn):
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            line = buf.split(b"\r\n", 1)[0].decode("latin-1")
            log("REQ " + line)
            target = line.split(" ")[1] if " " in line else "/"
            if target.startswith("/close"):
                return
            if target.startswith("/chunked"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"400\r\n" + b"x" * 1024 + b"\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
            time.sleep(max(args.delay, 0.2))
        except OSError:
            pass
        finally:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def run_plain(args):
    srv = socket.create_server(("127.0.0.1", args.port), backlog=256)

    def serve(conn):
        f = conn.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                method, target = line.decode("latin-1").split(" ")[:2]
                t0 = time.monotonic()
                headers = []
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, v = h.decode("latin-1").split(":", 1)
                    headers.append((k.strip(), v.strip()))
                log("REQ %s %s" % (method, target))
                fields = {k.lower(): v for k, v in headers}
                n, first, trailers = 0, None, []
                if "chunked" in fields.get("transfer-encoding", "").lower():
                    while True:
                        size = int(f.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while True:
                                t = f.readline()
                                if t in (b"\r\n", b""):
                                    break
                                trailers.append(t.decode("latin-1").rstrip("\r\n"))
                            break
                        data = f.read(size)
                        f.readline()
                        if first is None:
                            first = time.monotonic() - t0
                        n += len(data)
                else:
                    length = int(fields.get("content-length", 0))
                    while n < length:
                        data = f.read1(min(65536, length - n))
                        if not data:
                            return
                        if first is None:
                            first = time.monotonic() - t0
                        n += len(data)
                report = json.dumps({"method": method, "target": target, "headers": headers,
                                     "body_length": n, "body_wait": first,
                                     "trailers": trailers}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\nTrailer: X-Node-Sum\r\n\r\n"
                             b"%x\r\n%s\r\n0\r\nX-Node-Sum: 42\r\n\r\n" % (len(report), report))
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def run_ws(args):
    import websockets

    async def handler(ws):
        log("REQ GET %s" % ws.path)
        headers = {k.lower(): v for k, v in ws.request_headers.raw_items()}
        await ws.send(json.dumps({"path": ws.path, "headers": headers}))
        async for msg in ws:
            if msg == "close-me":
                await ws.close(4001, "bye")
                return
            await ws.send(msg)

    async def main():
        async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None):
            await asyncio.Future()

    asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["http", "blackhole", "partial", "plain", "ws"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", default="backend")
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    {"http": run_http, "blackhole": run_blackhole, "partial": run_partial,
     "plain": run_plain, "ws": run_ws}[args.mode](args)


if __name__ == "__main__":
    main()
