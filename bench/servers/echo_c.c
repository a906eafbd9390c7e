/*
 * echo_c: a minimal single-threaded epoll echo server, the ceiling reference
 * for bench/ (what the kernel costs with no framework at all).
 * usage: echo_c PORT [NPORTS]   (listens on 127.0.0.1:PORT..PORT+NPORTS-1)
 * Prints READY on stdout once listening.  Echoes what it reads at once; only
 * what send() does not take is buffered, and EPOLLOUT is asked for only then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct pend { char *buf; size_t len, off; };
static struct pend *pends;
static int maxfd;

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: echo_c PORT [NPORTS]\n"); return 2; }
    int port = atoi(argv[1]), nports = argc > 2 ? atoi(argv[2]) : 1;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    maxfd = (int)rl.rlim_cur + 1;
    pends = calloc(maxfd, sizeof *pends);
    int ep = epoll_create1(0);
    int lfds[64];
    for (int i = 0; i < nports && i < 64; i++) {
        int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port + i)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0) { perror("listen"); return 1; }
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = ((uint64_t)1 << 32) | l};
        epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
        lfds[i] = l;
    }
    (void)lfds;
    printf("READY\n");
    fflush(stdout);
    static char buf[262144];
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = (int)(uint32_t)evs[i].data.u64;
            if (evs[i].data.u64 >> 32) {
                for (int k = 0; k < 100; k++) {
                    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0) break;
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint32_t)c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            struct pend *p = &pends[fd];
            if (evs[i].events & EPOLLOUT && p->len) {
                ssize_t w = send(fd, p->buf + p->off, p->len - p->off, MSG_NOSIGNAL);
                if (w > 0) p->off += w;
                if (p->off == p->len) {
                    p->len = p->off = 0;
                    struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint32_t)fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                }
                continue;
            }
            if (p->len) continue; /* wait for the backlog to drain before reading more */
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN)) { close(fd); continue; }
            if (r < 0) continue;
            ssize_t w = send(fd, buf, r, MSG_NOSIGNAL);
            if (w < 0) w = 0;
            if (w < r) {
                p->buf = realloc(p->buf, r - w);
                memcpy(p->buf, buf + w, r - w);
                p->len = r - w;
                p->off = 0;
                struct epoll_event e = {.events = EPOLLOUT, .data.u64 = (uint32_t)fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
            }
        }
    }
}
