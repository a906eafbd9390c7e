/*
 * loadgen: a small epoll load generator for echo servers (reactorsock bench/).
 *
 * N connections to one or more loopback ports; the first A of them are
 * "active" and keep `depth` messages of `size` bytes in flight (depth 1 is
 * ping-pong, depth K > 1 is pipelining); the rest are "idle": each makes one
 * round trip after connecting (so the server has accepted it and built its
 * protocol) and then stays silent.  Every echoed byte is compared with what was
 * sent (a per-connection pseudo-random stream), so a server that corrupts,
 * reorders or drops data is counted in "errors".
 *
 * Loopback only: a target or source address outside 127.0.0.0/8 is refused.
 *
 * Phases (one line each on stderr, flushed, so the caller can sample the
 * server's /proc counters at the window edges):
 *   phase connected      all N connections connected and echoed once
 *   phase measure_start  after hold + warm-up
 *   phase measure_end    after the measured window
 * The JSON report (messages, bytes, errors, latency p50/p99 per message in
 * microseconds, ...) goes to stdout; counts cover the measured window only,
 * except total_messages (the whole run, for strace -c ratios).
 *
 * Build: gcc -O2 -o loadgen loadgen.c [-DWITH_TLS -lssl -lcrypto]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_DEPTH 64
#define IO_CHUNK (256 * 1024)
#define PAT_PERIOD 65521 /* prime: streams of different connections differ */
#define HIST_US 200000   /* latency histogram: 1 us buckets up to 200 ms */

enum { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_DEAD };

struct conn {
    int fd;
    int state;
    int active;
    int primed; /* first round trip done */
    uint32_t events;
    uint32_t seed;
    uint64_t sent, received, allowed;
    uint64_t ts[MAX_DEPTH];
#ifdef WITH_TLS
    SSL *ssl;
    int want_write;
#endif
};

static struct conn *conns;
static int nconns, nactive = -1, depth = 1, msgsize = 64, use_tls = 0;
static double hold = 0.5, warmup = 1.0, duration = 3.0;
static int max_pending = 256;
static in_addr_t dst_addr;
static int ports[64], nports;
static in_addr_t srcs[256];
static int nsrcs;
static int epfd;
static unsigned char *pat;
static unsigned char *rbuf;
static uint32_t *hist;
static uint64_t hist_over;
static int measuring, started;
static uint64_t m_msgs, m_bytes, total_msgs, errors;
static char first_error[256];
#ifdef WITH_TLS
static SSL_CTX *ssl_ctx;
#endif

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void fail(struct conn *c, const char *what, int err) {
    errors++;
    if (!first_error[0])
        snprintf(first_error, sizeof first_error, "conn %ld: %s%s%s", (long)(c - conns), what,
                 err ? ": " : "", err ? strerror(err) : "");
    if (c->state != S_DEAD) {
#ifdef WITH_TLS
        if (c->ssl) SSL_free(c->ssl), c->ssl = NULL;
#endif
        close(c->fd);
        c->state = S_DEAD;
    }
}

static int is_loopback(in_addr_t a) { return (ntohl(a) >> 24) == 127; }

static void set_events(struct conn *c, uint32_t ev) {
    if (c->events == ev) return;
    struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)(c - conns)};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void open_conn(int i) {
    struct conn *c = &conns[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        c->fd = -1;
        c->state = S_CONNECTING;
        fail(c, "socket", errno);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->seed = (uint32_t)i * 2654435761u;
    c->active = i < nactive;
    c->allowed = msgsize; /* the priming round trip */
    if (nsrcs) {
        struct sockaddr_in s = {.sin_family = AF_INET, .sin_addr.s_addr = srcs[i % nsrcs]};
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&s, sizeof s) < 0) {
            c->state = S_CONNECTING;
            fail(c, "bind", errno);
            return;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = dst_addr,
                            .sin_port = htons(ports[(i / (nsrcs ? nsrcs : 1)) % nports])};
    c->state = S_CONNECTING;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        fail(c, "connect", errno);
        return;
    }
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
    c->events = EPOLLOUT;
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

/* I/O: >0 bytes, 0 EOF, -1 would block, -2 error (errno-ish in *err). */
static ssize_t c_recv(struct conn *c, void *buf, size_t n) {
#ifdef WITH_TLS
    if (c->ssl) {
        int r = SSL_read(c->ssl, buf, (int)n);
        if (r > 0) return r;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) return -1;
        if (e == SSL_ERROR_WANT_WRITE) { c->want_write = 1; return -1; }
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        errno = EPROTO;
        return -2;
    }
#endif
    ssize_t r = recv(c->fd, buf, n, 0);
    if (r >= 0) return r;
    return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
}

static ssize_t c_send(struct conn *c, const void *buf, size_t n) {
#ifdef WITH_TLS
    if (c->ssl) {
        int r = SSL_write(c->ssl, buf, (int)n);
        if (r > 0) return r;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return -1;
        errno = EPROTO;
        return -2;
    }
#endif
    ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (r >= 0) return r;
    return (errno == EAGAIN || errno == EINTR) ? -1 : -2;
}

static void record(uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us < HIST_US) hist[us]++;
    else hist_over++;
}

static int do_recv(struct conn *c, uint64_t t) {
    for (;;) {
        ssize_t n = c_recv(c, rbuf, IO_CHUNK);
        if (n == -1) return 0;
        if (n == -2) { fail(c, "recv", errno); return -1; }
        if (n == 0) { fail(c, "unexpected EOF from server", 0); return -1; }
        if (c->received + n > c->sent) { fail(c, "server sent more than it got", 0); return -1; }
        if (memcmp(rbuf, pat + (c->received + c->seed) % PAT_PERIOD, n) != 0) {
            fail(c, "echoed bytes differ from the bytes sent", 0);
            return -1;
        }
        uint64_t r0 = c->received, r1 = r0 + n;
        uint64_t k0 = r0 / msgsize, k1 = r1 / msgsize; /* messages completed: k0..k1-1 */
        for (uint64_t k = k0; k < k1; k++) {
            total_msgs++;
            if (measuring && c->primed) {
                m_msgs++;
                record(t - c->ts[k % MAX_DEPTH]);
            }
        }
        c->received = r1;
        if (measuring && c->primed) m_bytes += n;
        if (k1 > k0) {
            if (!c->primed) c->primed = 1;
            if (c->active && started) c->allowed = (k1 + depth) * (uint64_t)msgsize;
        }
    }
}

static int do_send(struct conn *c, uint64_t t) {
    while (c->sent < c->allowed) {
        uint64_t n = c->allowed - c->sent;
        if (n > IO_CHUNK) n = IO_CHUNK;
        ssize_t r = c_send(c, pat + (c->sent + c->seed) % PAT_PERIOD, n);
        if (r == -1) return 1; /* needs writability */
        if (r == -2) { fail(c, "send", errno); return -1; }
        uint64_t s0 = c->sent, s1 = s0 + r;
        for (uint64_t k = (s0 + msgsize - 1) / msgsize; k * msgsize < s1; k++)
            c->ts[k % MAX_DEPTH] = t;
        c->sent = s1;
    }
    return 0;
}

static void pump(struct conn *c, uint64_t t) {
#ifdef WITH_TLS
    c->want_write = 0;
#endif
    if (do_recv(c, t) < 0) return;
    int w = do_send(c, t);
    if (w < 0) return;
#ifdef WITH_TLS
    if (c->want_write) w = 1;
#endif
    set_events(c, EPOLLIN | (w ? EPOLLOUT : 0));
}

static int handshake(struct conn *c) {
#ifdef WITH_TLS
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) return 1;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return 0; }
    if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return 0; }
    fail(c, "TLS handshake failed", 0);
    return -1;
#else
    (void)c;
    return 1;
#endif
}

static void on_event(struct conn *c, uint32_t ev, uint64_t t) {
    if (c->state == S_DEAD) return;
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { fail(c, "connect", err); return; }
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
#ifdef WITH_TLS
        if (use_tls) {
            c->ssl = SSL_new(ssl_ctx);
            SSL_set_fd(c->ssl, c->fd);
            SSL_set_connect_state(c->ssl);
            c->state = S_HANDSHAKE;
        } else
#endif
            c->state = S_OPEN;
    }
    if (c->state == S_HANDSHAKE) {
        int h = handshake(c);
        if (h <= 0) return;
        c->state = S_OPEN;
    }
    pump(c, t);
}

static void phase(const char *name) {
    fprintf(stderr, "phase %s\n", name);
    fflush(stderr);
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen [-h 127.0.0.1] -p PORT[,PORT...] [-S SRC[,SRC...]] [-c conns]\n"
            "  [-a active] [-m msgsize] [-k depth] [-H hold_s] [-w warmup_s] [-d duration_s]\n"
            "  [-P max_pending_connects] [-T (TLS)]\n");
    exit(2);
}

static int parse_list_ports(char *s) {
    for (char *t = strtok(s, ","); t && nports < 64; t = strtok(NULL, ","))
        ports[nports++] = atoi(t);
    return nports;
}

static int parse_addr(const char *s, in_addr_t *out) {
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) return -1;
    if (!is_loopback(a.s_addr)) return -2;
    *out = a.s_addr;
    return 0;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int opt;
    nconns = 100;
    while ((opt = getopt(argc, argv, "h:p:S:c:a:m:k:H:w:d:P:T")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': parse_list_ports(optarg); break;
        case 'S':
            for (char *t = strtok(optarg, ","); t && nsrcs < 256; t = strtok(NULL, ",")) {
                int r = parse_addr(t, &srcs[nsrcs]);
                if (r == -2) { fprintf(stderr, "loadgen: refusing non-loopback source %s\n", t); return 2; }
                if (r < 0) { fprintf(stderr, "loadgen: bad address %s\n", t); return 2; }
                nsrcs++;
            }
            break;
        case 'c': nconns = atoi(optarg); break;
        case 'a': nactive = atoi(optarg); break;
        case 'm': msgsize = atoi(optarg); break;
        case 'k': depth = atoi(optarg); break;
        case 'H': hold = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'P': max_pending = atoi(optarg); break;
        case 'T': use_tls = 1; break;
        default: usage();
        }
    }
    int r = parse_addr(host, &dst_addr);
    if (r == -2) {
        fprintf(stderr, "loadgen: refusing non-loopback target %s (127.0.0.0/8 only)\n", host);
        return 2;
    }
    if (r < 0 || !nports || nconns <= 0 || msgsize <= 0 || depth < 1 || depth > MAX_DEPTH) usage();
    if (msgsize > IO_CHUNK) { fprintf(stderr, "loadgen: -m at most %d\n", IO_CHUNK); return 2; }
    if (nactive < 0 || nactive > nconns) nactive = nconns;
#ifndef WITH_TLS
    if (use_tls) { fprintf(stderr, "loadgen: built without TLS (-DWITH_TLS)\n"); return 2; }
#else
    if (use_tls) {
        SSL_library_init();
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL); /* loopback bench only */
        SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
#endif
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)nconns + 16 > rl.rlim_cur) {
        fprintf(stderr, "loadgen: %d connections need more than RLIMIT_NOFILE %llu\n", nconns,
                (unsigned long long)rl.rlim_cur);
        return 2;
    }

    /* The byte pattern: PAT_PERIOD pseudo-random bytes, repeated so that any
     * offset in [0, PAT_PERIOD) starts an IO_CHUNK-long contiguous run. */
    pat = malloc(PAT_PERIOD + IO_CHUNK);
    uint32_t x = 2463534242u;
    for (int i = 0; i < PAT_PERIOD; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        pat[i] = (unsigned char)x;
    }
    for (int i = PAT_PERIOD; i < PAT_PERIOD + IO_CHUNK; i++) pat[i] = pat[i - PAT_PERIOD];
    rbuf = malloc(IO_CHUNK);
    hist = calloc(HIST_US, sizeof *hist);
    conns = calloc(nconns, sizeof *conns);
    epfd = epoll_create1(0);

    int maxev = 1024;
    struct epoll_event *evs = malloc(sizeof *evs * maxev);
    int opened = 0, primed = 0;
    uint64_t t0 = now_ns();
    /* Phase 1: connect, at most max_pending not yet primed at a time. */
    while (primed < nconns) {
        int dead = 0;
        primed = 0;
        for (int i = 0; i < opened; i++) {
            if (conns[i].state == S_DEAD) dead++;
            else if (conns[i].primed) primed++;
        }
        primed += dead;
        if (dead > nconns / 100 + 10) break; /* too many failures: report what we have */
        while (opened < nconns && opened - primed < max_pending) open_conn(opened++);
        if (primed >= nconns) break;
        int n = epoll_wait(epfd, evs, maxev, 100);
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events, t);
        if (t - t0 > 120ull * 1000000000ull) {
            if (!first_error[0]) snprintf(first_error, sizeof first_error, "connect phase timed out");
            errors++;
            break;
        }
    }
    double connect_s = (now_ns() - t0) / 1e9;
    int connected = 0;
    for (int i = 0; i < nconns; i++) connected += conns[i].state == S_OPEN && conns[i].primed;
    phase("connected");

    /* Phase 2: hold (idle; the caller samples RSS), then start the active ones. */
    uint64_t t_hold_end = now_ns() + (uint64_t)(hold * 1e9);
    while (now_ns() < t_hold_end) {
        int n = epoll_wait(epfd, evs, maxev, 10);
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events, t);
    }
    uint64_t t = now_ns();
    started = 1;
    for (int i = 0; i < nactive; i++) {
        struct conn *c = &conns[i];
        if (c->state != S_OPEN) continue;
        c->allowed = (c->received / msgsize + depth) * (uint64_t)msgsize;
        pump(c, t);
    }
    uint64_t t_warm_end = now_ns() + (uint64_t)(warmup * 1e9);
    uint64_t t_end = t_warm_end + (uint64_t)(duration * 1e9);
    uint64_t m_start = 0;
    for (;;) {
        int n = epoll_wait(epfd, evs, maxev, 5);
        t = now_ns();
        if (!measuring && t >= t_warm_end && t < t_end) {
            measuring = 1;
            m_start = t;
            phase("measure_start");
        }
        if (t >= t_end) break;
        for (int i = 0; i < n; i++) on_event(&conns[evs[i].data.u32], evs[i].events, t);
    }
    measuring = 0;
    double window = m_start ? (t - m_start) / 1e9 : 0;
    phase("measure_end");

    uint64_t count = 0, p50 = 0, p99 = 0, total = 0;
    for (int i = 0; i < HIST_US; i++) total += hist[i];
    total += hist_over;
    int got50 = 0;
    for (int i = 0; i < HIST_US && total; i++) {
        count += hist[i];
        if (!got50 && count * 100 >= total * 50) { p50 = i; got50 = 1; }
        if (count * 100 >= total * 99) { p99 = i; break; }
    }
    if (total && count * 100 < total * 99) p99 = HIST_US;
    int alive = 0;
    for (int i = 0; i < nconns; i++) alive += conns[i].state == S_OPEN;
    for (int i = 0; i < nconns; i++) {
        if (conns[i].state == S_DEAD || conns[i].fd < 0) continue;
#ifdef WITH_TLS
        if (conns[i].ssl) SSL_free(conns[i].ssl);
#endif
        close(conns[i].fd);
    }
    printf("{\"connections\": %d, \"active\": %d, \"connected\": %d, \"alive_at_end\": %d, "
           "\"msgsize\": %d, \"depth\": %d, \"tls\": %s, \"connect_s\": %.3f, \"window_s\": %.4f, "
           "\"messages\": %llu, \"bytes\": %llu, \"errors\": %llu, \"total_messages\": %llu, "
           "\"p50_us\": %llu, \"p99_us\": %llu, \"first_error\": \"%s\"}\n",
           nconns, nactive, connected, alive, msgsize, depth, use_tls ? "true" : "false",
           connect_s, window, (unsigned long long)m_msgs, (unsigned long long)m_bytes,
           (unsigned long long)errors, (unsigned long long)total_msgs, (unsigned long long)p50,
           (unsigned long long)p99, first_error);
    return 0;
}
