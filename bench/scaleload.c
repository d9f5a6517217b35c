/* Clients and nodes for bench/scale (compiled by the script at run time with
 * `cc -O2 ... -lssl -lcrypto -lpthread`).
 *
 *   scaleload serve PORT imap|ws PROXY
 *   scaleload hold PORT N imap|imaps|ws SNI
 *   scaleload handshakes PORT SECONDS THREADS NAMES_FILE
 *
 * serve: a node on 127.0.0.1:PORT, one thread, epoll, for as many connections as the
 *   descriptor limit allows. imap: a PROXY v2 header first when PROXY is 1, then the greeting
 *   `* OK ready.`; every tagged command is answered `TAG OK done.`, except IDLE (`+ idling`,
 *   then `TAG OK` after DONE); untagged lines (`*`, a cancelled SASL exchange) are ignored.
 *   ws: an HTTP/1.1 WebSocket upgrade is answered 101 with its Sec-WebSocket-Accept, then every
 *   frame is echoed (unmasked); a close frame is echoed and the connection closed. Never sends
 *   anything unasked (no pings): an idle session costs it nothing. Prints `listening` once
 *   bound; runs until killed.
 * hold: opens N sessions to 127.0.0.1:PORT, 256 being set up at a time, with one thread and
 *   epoll, and holds them. imap: greeting, `a LOGIN userN pw`, `b IDLE` until `+`. imaps: the
 *   same after a TLS handshake (OpenSSL's client defaults, SNI, no certificate check, no
 *   resumption). ws: GET /push/ with a WebSocket upgrade (101 expected), then one masked text
 *   frame that must come back. Prints `ready OPENED errors E seconds S` once every session is
 *   set up or failed, then holds them. Each line read from stdin is answered `open K`: the
 *   sessions the other end has not closed. Exits (closing them all) when stdin closes.
 * handshakes: THREADS blocking threads, each in a loop for SECONDS: connect, a full TLS
 *   handshake with SNI the next name of NAMES_FILE (one name a line, taken in turn by all
 *   threads), the server's certificate checked to be for that name (X509_check_host), then
 *   close_notify and FIN, and read until the server closes. Prints handshakes, errors,
 *   mismatches (certificates for another name), seconds, p50_ms and p99_ms (of connect +
 *   handshake).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE 2048
#define WINDOW 256
#define MAXLAT (1 << 21)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* ------------------------------------------------------------------------------------------ */
/* serve */

enum { S_PROXY, S_LINES, S_WS_HEAD, S_WS_FRAMES };

struct sconn {
  int fd;
  int state;
  size_t len;
  char idle_tag[32];
  unsigned char buf[LINE];
};

static int serve_ws;

static void ssend(struct sconn *c, const void *p, size_t n) {
  /* Small answers on a connection that never has much queued: one send each. */
  if (send(c->fd, p, n, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
  }
}

static void consume(struct sconn *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

static const char *greeting = "* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] ready.\r\n";

/* Answers complete lines; 0 to keep the connection. */
static int imap_lines(struct sconn *c) {
  for (;;) {
    unsigned char *nl = memchr(c->buf, '\n', c->len);
    if (!nl) return c->len == sizeof c->buf ? -1 : 0;
    size_t n = nl - c->buf + 1;
    char line[LINE];
    size_t l = n - 1;
    if (l && c->buf[l - 1] == '\r') l--;
    memcpy(line, c->buf, l);
    line[l] = 0;
    consume(c, n);
    if (!l || line[0] == '*') continue;
    if (strcasecmp(line, "DONE") == 0) {
      char out[96];
      int k = snprintf(out, sizeof out, "%s OK IDLE done.\r\n", c->idle_tag);
      ssend(c, out, k);
      continue;
    }
    char *sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = 0;
    const char *cmd = sp + 1;
    char out[128];
    int k;
    if (strncasecmp(cmd, "IDLE", 4) == 0 && (cmd[4] == 0 || cmd[4] == ' ')) {
      snprintf(c->idle_tag, sizeof c->idle_tag, "%.30s", line);
      k = snprintf(out, sizeof out, "+ idling\r\n");
    } else if (strncasecmp(cmd, "LOGOUT", 6) == 0) {
      k = snprintf(out, sizeof out, "* BYE\r\n%.30s OK bye.\r\n", line);
      ssend(c, out, k);
      return -1;
    } else {
      k = snprintf(out, sizeof out, "%.30s OK done.\r\n", line);
    }
    ssend(c, out, k);
  }
}

static void ws_accept(const char *key, char *out) {
  static const char *guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char joined[256];
  unsigned char digest[SHA_DIGEST_LENGTH];
  snprintf(joined, sizeof joined, "%s%s", key, guid);
  SHA1((unsigned char *)joined, strlen(joined), digest);
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

static int ws_head(struct sconn *c) {
  unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!end) return c->len == sizeof c->buf ? -1 : 0;
  size_t n = end - c->buf + 4;
  char head[LINE + 1];
  memcpy(head, c->buf, n);
  head[n] = 0;
  consume(c, n);
  char *k = strcasestr(head, "\r\nSec-WebSocket-Key:");
  if (!k) return -1;
  k += 20;
  while (*k == ' ') k++;
  char key[128];
  size_t kl = strcspn(k, "\r\n ");
  if (kl == 0 || kl >= sizeof key) return -1;
  memcpy(key, k, kl);
  key[kl] = 0;
  char accept[64];
  ws_accept(key, accept);
  char out[256];
  int m = snprintf(out, sizeof out,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  ssend(c, out, m);
  c->state = S_WS_FRAMES;
  return 0;
}

/* Echoes complete frames (payloads up to 64 KiB - 1; this node is sent short ones). */
static int ws_frames(struct sconn *c) {
  for (;;) {
    if (c->len < 2) return 0;
    int opcode = c->buf[0] & 0x0f;
    int masked = c->buf[1] & 0x80;
    size_t plen = c->buf[1] & 0x7f, hdr = 2;
    if (plen == 127) return -1;
    if (plen == 126) {
      if (c->len < 4) return 0;
      plen = (c->buf[2] << 8) | c->buf[3];
      hdr = 4;
    }
    size_t need = hdr + (masked ? 4 : 0) + plen;
    if (need > sizeof c->buf) return -1;
    if (c->len < need) return 0;
    unsigned char *mask = c->buf + hdr, *p = c->buf + hdr + (masked ? 4 : 0);
    unsigned char out[LINE + 8];
    size_t o = 0;
    out[o++] = 0x80 | opcode;
    if (plen < 126) {
      out[o++] = plen;
    } else {
      out[o++] = 126;
      out[o++] = plen >> 8;
      out[o++] = plen & 0xff;
    }
    for (size_t i = 0; i < plen; i++) out[o++] = masked ? p[i] ^ mask[i % 4] : p[i];
    ssend(c, out, o);
    consume(c, need);
    if (opcode == 8) return -1;
  }
}

static int serve(int port, int ws, int proxy) {
  serve_ws = ws;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = loopback(port);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4096) != 0) {
    perror("bind/listen");
    return 1;
  }
  nonblocking(lfd);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("listening\n");
  fflush(stdout);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      struct sconn *c = events[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          c = calloc(1, sizeof *c);
          c->fd = fd;
          c->state = ws ? S_WS_HEAD : proxy ? S_PROXY : S_LINES;
          if (c->state == S_LINES) ssend(c, greeting, strlen(greeting));
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
      int bad = r <= 0 && !(r < 0 && errno == EAGAIN);
      if (r > 0) {
        c->len += r;
        if (c->state == S_PROXY && c->len >= 16) {
          static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
          size_t total = 16 + ((c->buf[14] << 8) | c->buf[15]);
          if (memcmp(c->buf, sig, 12) != 0) {
            bad = 1;
          } else if (c->len >= total) {
            consume(c, total);
            c->state = S_LINES;
            ssend(c, greeting, strlen(greeting));
          }
        }
        if (!bad && c->state == S_LINES) bad = imap_lines(c) != 0;
        if (!bad && c->state == S_WS_HEAD) bad = ws_head(c) != 0;
        if (!bad && c->state == S_WS_FRAMES) bad = ws_frames(c) != 0;
      }
      if (bad) {
        close(c->fd); /* also takes it out of the epoll set */
        free(c);
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* hold */

enum { H_CONNECT, H_HANDSHAKE, H_GREETING, H_LOGIN, H_IDLE, H_WS_HEAD, H_WS_ECHO, H_DONE };

struct hconn {
  int fd;
  int state;
  int index;
  SSL *ssl;
  size_t len;
  char buf[LINE];
};

static SSL_CTX *client_ctx(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

static int hold_mode; /* 0 imap, 1 imaps, 2 ws */
static const char *hold_sni;
static SSL_CTX *hold_ctx;
static int hold_ep;

static void want(struct hconn *c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(hold_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int hsend(struct hconn *c, const void *p, size_t n) {
  int r = c->ssl ? SSL_write(c->ssl, p, n) : (int)send(c->fd, p, n, MSG_NOSIGNAL);
  return r == (int)n ? 0 : -1; /* a fresh connection takes these few bytes at once */
}

static const unsigned char ws_payload[] = "scale";

static int hstart(struct hconn *c) {
  char out[512];
  int n;
  switch (hold_mode) {
    case 2:
      n = snprintf(out, sizeof out,
                   "GET /push/%d HTTP/1.1\r\nHost: push.example.coop\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   c->index);
      c->state = H_WS_HEAD;
      return hsend(c, out, n);
    default:
      c->state = H_GREETING;
      return 0;
  }
}

/* Reads what is there; -1 on EOF or error, 0 otherwise. */
static int hread(struct hconn *c) {
  for (;;) {
    if (c->len == sizeof c->buf) return -1;
    int r;
    if (c->ssl) {
      r = SSL_read(c->ssl, c->buf + c->len, sizeof c->buf - c->len);
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return 0;
        if (e == SSL_ERROR_WANT_WRITE) {
          want(c, EPOLLIN | EPOLLOUT);
          return 0;
        }
        return -1;
      }
    } else {
      r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
      if (r < 0 && errno == EAGAIN) return 0;
      if (r <= 0) return -1;
    }
    c->len += r;
  }
}

/* The next complete line (CR LF stripped) or NULL. */
static char *hline(struct hconn *c, char *out) {
  char *nl = memchr(c->buf, '\n', c->len);
  if (!nl) return NULL;
  size_t n = nl - c->buf + 1, l = n - 1;
  if (l && c->buf[l - 1] == '\r') l--;
  memcpy(out, c->buf, l);
  out[l] = 0;
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
  return out;
}

/* Advances a session; 1 when it is set up, -1 when it failed, 0 to wait. */
static int hstep(struct hconn *c) {
  if (c->state == H_CONNECT) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) return -1;
    if (hold_mode == 1) {
      c->ssl = SSL_new(hold_ctx);
      SSL_set_fd(c->ssl, c->fd);
      SSL_set_tlsext_host_name(c->ssl, hold_sni);
      c->state = H_HANDSHAKE;
    } else {
      want(c, EPOLLIN);
      if (hstart(c) != 0) return -1;
      return 0;
    }
  }
  if (c->state == H_HANDSHAKE) {
    int r = SSL_connect(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ) {
        want(c, EPOLLIN);
        return 0;
      }
      if (e == SSL_ERROR_WANT_WRITE) {
        want(c, EPOLLIN | EPOLLOUT);
        return 0;
      }
      return -1;
    }
    want(c, EPOLLIN);
    if (hstart(c) != 0) return -1;
  }
  if (hread(c) != 0) return -1;
  char line[LINE];
  for (;;) {
    switch (c->state) {
      case H_GREETING:
        if (!hline(c, line)) return 0;
        if (strncmp(line, "* OK", 4) != 0) return -1;
        snprintf(line, sizeof line, "a LOGIN user%d pw\r\n", c->index);
        if (hsend(c, line, strlen(line)) != 0) return -1;
        c->state = H_LOGIN;
        break;
      case H_LOGIN:
        if (!hline(c, line)) return 0;
        if (line[0] == '*') break;
        if (strncmp(line, "a OK", 4) != 0) return -1;
        if (hsend(c, "b IDLE\r\n", 8) != 0) return -1;
        c->state = H_IDLE;
        break;
      case H_IDLE:
        if (!hline(c, line)) return 0;
        if (line[0] == '*') break;
        if (line[0] != '+') return -1;
        return 1;
      case H_WS_HEAD: {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return 0;
        if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) return -1;
        size_t n = end - c->buf + 4;
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
        unsigned char frame[6 + sizeof ws_payload - 1];
        unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
        frame[0] = 0x81;
        frame[1] = 0x80 | (sizeof ws_payload - 1);
        memcpy(frame + 2, mask, 4);
        for (size_t i = 0; i < sizeof ws_payload - 1; i++) frame[6 + i] = ws_payload[i] ^ mask[i % 4];
        if (hsend(c, frame, sizeof frame) != 0) return -1;
        c->state = H_WS_ECHO;
        break;
      }
      case H_WS_ECHO: {
        size_t want_len = 2 + sizeof ws_payload - 1;
        if (c->len < want_len) return 0;
        if ((unsigned char)c->buf[0] != 0x81 || (unsigned char)c->buf[1] != sizeof ws_payload - 1 ||
            memcmp(c->buf + 2, ws_payload, sizeof ws_payload - 1) != 0)
          return -1;
        c->len = 0;
        return 1;
      }
      default:
        return -1;
    }
  }
}

static int hopen(struct hconn *c, int port) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  struct sockaddr_in a = loopback(port);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->state = H_CONNECT;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(hold_ep, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static void hclose(struct hconn *c) {
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static int hold(int port, int n, const char *mode, const char *sni) {
  hold_mode = strcmp(mode, "imaps") == 0 ? 1 : strcmp(mode, "ws") == 0 ? 2 : 0;
  if (hold_mode == 0 && strcmp(mode, "imap") != 0) return 2;
  hold_sni = sni;
  hold_ctx = client_ctx();
  hold_ep = epoll_create1(0);
  struct hconn *conns = calloc(n, sizeof *conns);
  int next = 0, busy = 0, opened = 0, errors = 0;
  double t0 = now(), last = t0;
  struct epoll_event events[256];
  while (opened + errors < n) {
    while (busy < WINDOW && next < n) {
      struct hconn *c = &conns[next];
      c->index = next++;
      if (hopen(c, port) != 0) {
        errors++;
        continue;
      }
      busy++;
    }
    int k = epoll_wait(hold_ep, events, 256, 1000);
    for (int i = 0; i < k; i++) {
      struct hconn *c = events[i].data.ptr;
      if (c->state == H_DONE || c->fd < 0) continue;
      int r = hstep(c);
      if (r == 0) continue;
      busy--;
      last = now();
      if (r > 0) {
        c->state = H_DONE;
        epoll_ctl(hold_ep, EPOLL_CTL_DEL, c->fd, NULL);
        opened++;
      } else {
        hclose(c);
        errors++;
      }
    }
    if (now() - last > 30) { /* no progress for 30 s: the rest fail */
      for (int i = 0; i < next; i++)
        if (conns[i].fd >= 0 && conns[i].state != H_DONE) {
          hclose(&conns[i]);
          errors++;
        }
      errors += n - next;
      break;
    }
  }
  printf("ready %d errors %d seconds %.3f\n", opened, errors, now() - t0);
  fflush(stdout);
  char b[256];
  while (fgets(b, sizeof b, stdin)) {
    int open = 0;
    for (int i = 0; i < n; i++) {
      if (conns[i].fd < 0 || conns[i].state != H_DONE) continue;
      char x;
      ssize_t r = recv(conns[i].fd, &x, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) open++;
    }
    printf("open %d\n", open);
    fflush(stdout);
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* handshakes */

static char **names;
static size_t nnames;
static unsigned long name_next;
static int hs_port;
static double hs_deadline;
static SSL_CTX *hs_ctx;

struct hworker {
  pthread_t thread;
  unsigned long done, errors, mismatches;
  double *lat;
  size_t nlat;
};

static void *run_handshakes(void *arg) {
  struct hworker *w = arg;
  while (now() < hs_deadline) {
    const char *name = names[__atomic_fetch_add(&name_next, 1, __ATOMIC_RELAXED) % nnames];
    double t0 = now();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = loopback(hs_port);
    SSL *ssl = NULL;
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (ok) {
      ssl = SSL_new(hs_ctx);
      SSL_set_fd(ssl, fd);
      SSL_set_tlsext_host_name(ssl, name);
      ok = SSL_connect(ssl) == 1;
    }
    double t1 = now();
    if (ok) {
      X509 *peer = SSL_get1_peer_certificate(ssl);
      if (!peer || X509_check_host(peer, name, 0, 0, NULL) != 1) w->mismatches++;
      X509_free(peer);
      SSL_shutdown(ssl);
      shutdown(fd, SHUT_WR);
      char b[4096];
      while (SSL_read(ssl, b, sizeof b) > 0) {
      }
      w->done++;
      if (w->nlat < MAXLAT) w->lat[w->nlat++] = t1 - t0;
    } else if (now() < hs_deadline) {
      w->errors++;
    }
    if (ssl) SSL_free(ssl);
    close(fd);
    if (!ok) usleep(10000);
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int handshakes(int port, double seconds, int threads, const char *file) {
  FILE *f = fopen(file, "r");
  if (!f) return 2;
  char line[512];
  size_t cap = 1024;
  names = malloc(cap * sizeof *names);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    if (nnames == cap) names = realloc(names, (cap *= 2) * sizeof *names);
    names[nnames++] = strdup(line);
  }
  fclose(f);
  if (!nnames || threads <= 0) return 2;
  hs_port = port;
  hs_ctx = client_ctx();
  double t0 = now();
  hs_deadline = t0 + seconds;
  struct hworker *w = calloc(threads, sizeof *w);
  for (int i = 0; i < threads; i++) {
    w[i].lat = malloc(MAXLAT / threads * sizeof(double));
    pthread_create(&w[i].thread, NULL, run_handshakes, &w[i]);
  }
  unsigned long done = 0, errors = 0, mismatches = 0;
  size_t nlat = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].thread, NULL);
    done += w[i].done;
    errors += w[i].errors;
    mismatches += w[i].mismatches;
    nlat += w[i].nlat;
  }
  double elapsed = now() - t0;
  double *all = malloc((nlat ? nlat : 1) * sizeof(double));
  size_t k = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + k, w[i].lat, w[i].nlat * sizeof(double));
    k += w[i].nlat;
  }
  qsort(all, nlat, sizeof(double), cmp);
  printf("handshakes %lu errors %lu mismatches %lu seconds %.3f p50_ms %.3f p99_ms %.3f\n", done,
         errors, mismatches, elapsed, nlat ? all[nlat / 2] * 1e3 : 0,
         nlat ? all[(size_t)(nlat * 0.99)] * 1e3 : 0);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc == 5 && strcmp(argv[1], "serve") == 0)
    return serve(atoi(argv[2]), strcmp(argv[3], "ws") == 0, atoi(argv[4]));
  if (argc == 6 && strcmp(argv[1], "hold") == 0)
    return hold(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
  if (argc == 6 && strcmp(argv[1], "handshakes") == 0)
    return handshakes(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), argv[5]);
  fprintf(stderr,
          "usage: scaleload serve PORT imap|ws PROXY\n"
          "       scaleload hold PORT N imap|imaps|ws SNI\n"
          "       scaleload handshakes PORT SECONDS THREADS NAMES_FILE\n");
  return 2;
}
