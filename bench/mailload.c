/* IMAP load for bench/compare's mail rows (compiled by the script at run time with
 * `cc -O2 ... -lssl -lcrypto -lpthread`).
 *
 *   mailload sessions PORT CONNS SECONDS TLS USERS PASSWORD
 *   mailload fetch    PORT CONNS SECONDS TLS USERS PASSWORD
 *   mailload idle     PORT SESSIONS 0 TLS USERS PASSWORD
 *
 * Talks to 127.0.0.1:PORT with one thread per connection, blocking sockets. TLS 1 means every
 * session does STARTTLS first (OpenSSL's client defaults, SNI bench.example, no certificate
 * check) and logs in over TLS; TLS 0 logs in in plain text. User names are bench0000,
 * bench0001, ... (USERS of them, all with PASSWORD); connection i logs in as user i % USERS.
 *
 * sessions: each connection, for SECONDS, runs whole sessions one after the other: greeting,
 *   [STARTTLS + handshake], LOGIN, SELECT INBOX, LOGOUT, close. Every session is a new TCP
 *   connection and a full TLS handshake. Prints: sessions, errors, seconds, p50_ms, p99_ms
 *   (of a whole session).
 * fetch: each connection logs in once, SELECT INBOX, then for SECONDS repeats
 *   `FETCH 1 BODY.PEEK[]` and counts the literal's bytes. Prints: bytes, fetches, errors,
 *   seconds.
 * idle: opens SESSIONS sessions (16 at a time), each logged in, INBOX selected and in IDLE
 *   (`+ idling` received); prints `ready N errors E` and keeps them open until stdin closes.
 *
 * A session that fails (connect, a tagged answer other than OK, a timeout of 10 s on a read)
 * counts as an error; the connection sleeps 10 ms and starts again. Exits 0 unless it could not
 * start.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define MAXLAT (1 << 20)

struct conn {
  int fd;
  SSL *ssl;
  char buf[BUF];
  size_t start, end;
  unsigned long long literal; /* bytes of literals read since the last reset */
};

static SSL_CTX *ctx;
static int port, use_tls, nusers;
static const char *password;
static double deadline;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int conn_open(struct conn *c) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->ssl = NULL;
  c->start = c->end = 0;
  c->literal = 0;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  struct timeval tv = {10, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

static void conn_close(struct conn *c) {
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static int fill(struct conn *c) {
  if (c->start > 0) {
    memmove(c->buf, c->buf + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
  }
  if (c->end == BUF) return -1;
  int n = c->ssl ? SSL_read(c->ssl, c->buf + c->end, BUF - c->end)
                 : (int)recv(c->fd, c->buf + c->end, BUF - c->end, 0);
  if (n <= 0) return -1;
  c->end += n;
  return 0;
}

static int send_all(struct conn *c, const char *s) {
  size_t len = strlen(s), off = 0;
  while (off < len) {
    int n = c->ssl ? SSL_write(c->ssl, s + off, len - off)
                   : (int)send(c->fd, s + off, len - off, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    off += n;
  }
  return 0;
}

/* One line (CRLF stripped, NUL-terminated, truncated to cap) into out. */
static int read_line(struct conn *c, char *out, size_t cap) {
  for (;;) {
    char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
    if (nl) {
      size_t len = nl - (c->buf + c->start);
      size_t keep = len < cap - 1 ? len : cap - 1;
      memcpy(out, c->buf + c->start, keep);
      out[keep] = 0;
      if (keep && out[keep - 1] == '\r') out[keep - 1] = 0;
      c->start += len + 1;
      return 0;
    }
    if (fill(c) != 0) return -1;
  }
}

static int skip_bytes(struct conn *c, unsigned long long n) {
  while (n) {
    if (c->start == c->end && fill(c) != 0) return -1;
    size_t have = c->end - c->start;
    size_t take = have < n ? have : n;
    c->start += take;
    n -= take;
    c->literal += take;
  }
  return 0;
}

/* Reads until the tagged answer of tag; 0 if it is OK. Literals are skipped (and counted). */
static int tagged(struct conn *c, const char *tag) {
  char line[1024];
  size_t tl = strlen(tag);
  for (;;) {
    if (read_line(c, line, sizeof line) != 0) return -1;
    size_t len = strlen(line);
    if (len > 2 && line[len - 1] == '}') {
      char *open = strrchr(line, '{');
      if (open && skip_bytes(c, strtoull(open + 1, NULL, 10)) != 0) return -1;
      continue;
    }
    if (strncmp(line, tag, tl) == 0 && line[tl] == ' ')
      return strncmp(line + tl + 1, "OK", 2) == 0 ? 0 : -1;
  }
}

/* Greeting, [STARTTLS], LOGIN, SELECT INBOX. */
static int login(struct conn *c, int user) {
  char line[1024];
  if (conn_open(c) != 0) return -1;
  if (read_line(c, line, sizeof line) != 0 || strncmp(line, "* OK", 4) != 0) return -1;
  if (use_tls) {
    if (send_all(c, "a STARTTLS\r\n") != 0 || tagged(c, "a") != 0) return -1;
    if (c->start != c->end) return -1; /* nothing may follow the answer in clear */
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "bench.example");
    if (SSL_connect(c->ssl) != 1) return -1;
  }
  snprintf(line, sizeof line, "b LOGIN bench%04d %s\r\n", user % nusers, password);
  if (send_all(c, line) != 0 || tagged(c, "b") != 0) return -1;
  if (send_all(c, "c SELECT INBOX\r\n") != 0 || tagged(c, "c") != 0) return -1;
  return 0;
}

struct worker {
  pthread_t thread;
  int index;
  unsigned long sessions, errors, fetches;
  unsigned long long bytes;
  double *lat;
  size_t nlat;
};

static void *run_sessions(void *arg) {
  struct worker *w = arg;
  struct conn *c = calloc(1, sizeof *c);
  while (now() < deadline) {
    double t0 = now();
    int ok = login(c, w->index) == 0 && send_all(c, "d LOGOUT\r\n") == 0 && tagged(c, "d") == 0;
    conn_close(c);
    if (!ok) {
      if (now() < deadline) w->errors++;
      usleep(10000);
      continue;
    }
    w->sessions++;
    if (w->nlat < MAXLAT) w->lat[w->nlat++] = now() - t0;
  }
  free(c);
  return NULL;
}

static void *run_fetch(void *arg) {
  struct worker *w = arg;
  struct conn *c = calloc(1, sizeof *c);
  while (now() < deadline) {
    if (login(c, w->index) != 0) {
      conn_close(c);
      w->errors++;
      usleep(10000);
      continue;
    }
    while (now() < deadline) {
      c->literal = 0;
      if (send_all(c, "f FETCH 1 BODY.PEEK[]\r\n") != 0 || tagged(c, "f") != 0) {
        w->errors++;
        break;
      }
      if (c->literal == 0) { /* an empty mailbox */
        w->errors++;
        break;
      }
      w->bytes += c->literal;
      w->fetches++;
    }
    conn_close(c);
  }
  free(c);
  return NULL;
}

static struct conn *idle_conns;
static int idle_total, idle_next;
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;

static void *run_idle(void *arg) {
  struct worker *w = arg;
  char line[1024];
  for (;;) {
    pthread_mutex_lock(&idle_lock);
    int i = idle_next < idle_total ? idle_next++ : -1;
    pthread_mutex_unlock(&idle_lock);
    if (i < 0) break;
    struct conn *c = &idle_conns[i];
    int ok = login(c, i) == 0 && send_all(c, "e IDLE\r\n") == 0 &&
             read_line(c, line, sizeof line) == 0 && line[0] == '+';
    if (ok) {
      w->sessions++;
    } else {
      w->errors++;
      conn_close(c);
    }
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: mailload sessions|fetch|idle PORT CONNS SECONDS TLS USERS PASSWORD\n");
    return 2;
  }
  const char *mode = argv[1];
  port = atoi(argv[2]);
  int conns = atoi(argv[3]);
  double seconds = atof(argv[4]);
  use_tls = atoi(argv[5]);
  nusers = atoi(argv[6]);
  password = argv[7];
  if (conns <= 0 || nusers <= 0) return 2;
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  double t0 = now();
  deadline = t0 + seconds;
  int nthreads = conns;
  void *(*fn)(void *) = run_sessions;
  if (strcmp(mode, "fetch") == 0) {
    fn = run_fetch;
  } else if (strcmp(mode, "idle") == 0) {
    fn = run_idle;
    idle_total = conns;
    idle_conns = calloc(conns, sizeof *idle_conns);
    nthreads = conns < 16 ? conns : 16;
  } else if (strcmp(mode, "sessions") != 0) {
    return 2;
  }
  struct worker *w = calloc(nthreads, sizeof *w);
  for (int i = 0; i < nthreads; i++) {
    w[i].index = i;
    if (fn == run_sessions) w[i].lat = malloc(MAXLAT * sizeof(double));
    pthread_create(&w[i].thread, NULL, fn, &w[i]);
  }
  unsigned long sessions = 0, errors = 0, fetches = 0;
  unsigned long long bytes = 0;
  size_t nlat = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(w[i].thread, NULL);
    sessions += w[i].sessions;
    errors += w[i].errors;
    fetches += w[i].fetches;
    bytes += w[i].bytes;
    nlat += w[i].nlat;
  }
  double elapsed = now() - t0;
  if (fn == run_idle) {
    printf("ready %lu errors %lu\n", sessions, errors);
    fflush(stdout);
    char b[64];
    while (read(0, b, sizeof b) > 0) {
    }
    return 0;
  }
  if (fn == run_fetch) {
    printf("bytes %llu fetches %lu errors %lu seconds %.3f\n", bytes, fetches, errors, elapsed);
    return 0;
  }
  double *all = malloc((nlat ? nlat : 1) * sizeof(double));
  size_t k = 0;
  for (int i = 0; i < nthreads; i++) {
    memcpy(all + k, w[i].lat, w[i].nlat * sizeof(double));
    k += w[i].nlat;
  }
  qsort(all, nlat, sizeof(double), cmp);
  double p50 = nlat ? all[nlat / 2] * 1e3 : 0, p99 = nlat ? all[(size_t)(nlat * 0.99)] * 1e3 : 0;
  printf("sessions %lu errors %lu seconds %.3f p50_ms %.3f p99_ms %.3f\n", sessions, errors,
         elapsed, p50, p99);
  return 0;
}
