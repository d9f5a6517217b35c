/* Bulk bytes through a TCP relay, for bench/compare's TCP rows (compiled by the script at run
 * time with `cc -O2`).
 *
 *   tcpbulk CONNECT_PORT SINK_PORT CONNS SECONDS [VERIFY_BYTES]
 *
 * One single-threaded process is both ends: it listens on 127.0.0.1:SINK_PORT (the sink the
 * relay under test forwards to), opens CONNS connections to 127.0.0.1:CONNECT_PORT (the relay's
 * listener, or SINK_PORT itself for the "direct" column) and sends as fast as the sockets take
 * it for SECONDS, then half-closes every connection and waits until the sink has seen EOF on
 * every connection it accepted and the relay has closed every client connection.
 *
 * The bytes sent are a pattern that depends only on the stream offset: byte i of every
 * connection is (i * 7 + 13) % 251. Measuring, the sink discards what it receives without
 * copying it (recv with MSG_TRUNC), so the load side costs little. With VERIFY_BYTES, each
 * connection sends exactly that many bytes (no time limit) and the sink reads and compares
 * every byte with the pattern: the pre-flight check that bytes arrive intact.
 *
 * Prints one line: sent, received, accepted, eof, client_eof, errors, mismatches, short
 * (sink connections that did not receive VERIFY_BYTES), seconds (from the start to the
 * sink's last EOF), timed_out. Exits 0 unless it could not start. Gives up after SECONDS + 10
 * seconds whatever happens (timed_out 1).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define PERIOD 251
#define MAXCONN 256

enum kind { LISTENER, CLIENT, SINK };
struct conn {
  enum kind kind;
  int fd;
  unsigned long long offset; /* bytes sent (client) or received (sink) */
  int done;                  /* client: half-closed; sink: EOF seen */
  int closed;                /* client: the relay closed it */
};

static unsigned char pattern[PERIOD + CHUNK];
static unsigned char rbuf[CHUNK];

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

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: tcpbulk CONNECT_PORT SINK_PORT CONNS SECONDS [VERIFY_BYTES]\n");
    return 2;
  }
  int connect_port = atoi(argv[1]), sink_port = atoi(argv[2]), nconns = atoi(argv[3]);
  double seconds = atof(argv[4]);
  unsigned long long verify = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
  if (nconns < 1 || nconns > MAXCONN / 2 - 1) {
    fprintf(stderr, "tcpbulk: 1 to %d connections\n", MAXCONN / 2 - 1);
    return 2;
  }
  for (int i = 0; i < PERIOD + CHUNK; i++) pattern[i] = (unsigned char)((i * 7 + 13) % PERIOD);

  int ep = epoll_create1(0);
  static struct conn conns[MAXCONN];
  int n = 0;

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = loopback(sink_port);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 128) != 0) {
    fprintf(stderr, "tcpbulk: cannot listen on port %d: %s\n", sink_port, strerror(errno));
    return 1;
  }
  conns[n] = (struct conn){LISTENER, lfd, 0, 0, 0};
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[n++]};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  double start = now(), last_eof = start;
  struct sockaddr_in ca = loopback(connect_port);
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(fd, (struct sockaddr *)&ca, sizeof ca) != 0 && errno != EINPROGRESS) {
      fprintf(stderr, "tcpbulk: connect to port %d: %s\n", connect_port, strerror(errno));
      return 1;
    }
    conns[n] = (struct conn){CLIENT, fd, 0, 0, 0};
    ev = (struct epoll_event){.events = EPOLLIN | EPOLLOUT, .data.ptr = &conns[n++]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  unsigned long long sent = 0, received = 0;
  int accepted = 0, eof = 0, client_eof = 0, errors = 0, timed_out = 0, stopped = 0;
  unsigned long long mismatches = 0;
  struct epoll_event events[MAXCONN];
  for (;;) {
    double t = now();
    if (!verify && !stopped && t - start >= seconds) {
      stopped = 1;  /* time is up: half-close every client connection still open */
      for (int i = 0; i < n; i++)
        if (conns[i].kind == CLIENT && !conns[i].done && !conns[i].closed) {
          shutdown(conns[i].fd, SHUT_WR);
          conns[i].done = 1;
          ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &conns[i]};
          epoll_ctl(ep, EPOLL_CTL_MOD, conns[i].fd, &ev);
        }
    }
    if (client_eof == nconns && accepted == eof) break;
    if (t - start > seconds + 10) {
      timed_out = 1;
      break;
    }
    int k = epoll_wait(ep, events, MAXCONN, 100);
    for (int e = 0; e < k; e++) {
      struct conn *c = events[e].data.ptr;
      if (c->kind == LISTENER) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (n == MAXCONN) {
            close(fd);
            errors++;
            continue;
          }
          accepted++;
          conns[n] = (struct conn){SINK, fd, 0, 0, 0};
          ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &conns[n++]};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
      } else if (c->kind == SINK) {
        for (;;) {
          ssize_t r = verify ? recv(c->fd, rbuf, CHUNK, 0)
                             : recv(c->fd, NULL, 1 << 30, MSG_TRUNC | MSG_DONTWAIT);
          if (r > 0) {
            if (verify) {
              size_t left = (size_t)r, at = 0;
              while (left) { /* compare with the pattern at this stream offset */
                size_t off = (c->offset + at) % PERIOD, m = left;
                if (memcmp(rbuf + at, pattern + off, m) != 0)
                  for (size_t j = 0; j < m; j++)
                    mismatches += rbuf[at + j] != pattern[off + j];
                at += m;
                left -= m;
              }
            }
            c->offset += (unsigned long long)r;
            received += (unsigned long long)r;
            continue;
          }
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
          if (r < 0) errors++;
          c->done = 1;
          eof++;
          last_eof = now();
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          break;
        }
      } else { /* CLIENT */
        if ((events[e].events & EPOLLOUT) && !c->done) {
          for (;;) {
            size_t len = CHUNK;
            if (verify) {
              if (c->offset >= verify) break;
              if (verify - c->offset < len) len = (size_t)(verify - c->offset);
            }
            ssize_t w = send(c->fd, pattern + c->offset % PERIOD, len, MSG_NOSIGNAL);
            if (w > 0) {
              c->offset += (unsigned long long)w;
              sent += (unsigned long long)w;
              continue;
            }
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
            errors++;  /* the relay refused or reset the connection */
            c->done = 1;
            break;
          }
          if (verify && c->offset >= verify && !c->done) {
            shutdown(c->fd, SHUT_WR);
            c->done = 1;
          }
          if (c->done) {
            ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
          }
        }
        if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          ssize_t r = recv(c->fd, rbuf, CHUNK, MSG_DONTWAIT);
          if (r > 0) {
            errors++;  /* nothing comes back through a relay to a sink */
          } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            if (r < 0) errors++;
            c->closed = 1;
            c->done = 1;
            client_eof++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
          }
        }
      }
    }
  }
  unsigned long long short_conns = 0;
  if (verify)
    for (int i = 0; i < n; i++)
      if (conns[i].kind == SINK && conns[i].offset != verify) short_conns++;
  printf("sent %llu received %llu accepted %d eof %d client_eof %d errors %d mismatches %llu "
         "short %llu seconds %.6f timed_out %d\n",
         sent, received, accepted, eof, client_eof, errors, mismatches, short_conns,
         last_eof - start, timed_out);
  return 0;
}
