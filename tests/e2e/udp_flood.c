// SPDX-License-Identifier: BSD-3-Clause
//
// udp_flood: a paced UDP flood for the end-to-end tests (host_flood_test.sh).
//
//   udp_flood ADDR PORT RATE SECONDS [PAYLOAD_BYTES]
//
// Sends UDP datagrams to ADDR:PORT at RATE packets a second for SECONDS, in sendmmsg batches of
// up to 64 from one unconnected socket (so ICMP errors the target sends back do not interrupt
// it), and prints one line:
//
//   sent=N errors=E seconds=T rate=R
//
// where R is N / T, the rate actually achieved. Pacing: before each batch the program computes
// how many packets it should have sent by now and sends the difference (at most a batch); when
// it is ahead it sleeps 50 us. A machine that cannot keep up simply reports a lower rate.
// SIGINT or SIGTERM ends it early, with the same report (the test floods exactly as long as a
// download takes). Exit: 0 once the time is up (whatever the rate), 2 on bad arguments or no socket.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBatch = 64 };

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s ADDR PORT RATE SECONDS [PAYLOAD_BYTES]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
        fprintf(stderr, "udp_flood: bad address %s\n", argv[1]);
        return 2;
    }
    const double rate = atof(argv[3]);
    const double seconds = atof(argv[4]);
    size_t payload = argc == 6 ? (size_t)atoi(argv[5]) : 18;
    if (rate <= 0 || seconds <= 0 || payload > 1472) {
        fprintf(stderr, "udp_flood: bad rate, duration or payload size\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("udp_flood: socket");
        return 2;
    }
    int sndbuf = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    static char buf[1472];
    memset(buf, 'f', sizeof(buf));
    struct iovec iov[kBatch];
    struct mmsghdr msgs[kBatch];
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < kBatch; ++i) {
        iov[i].iov_base = buf;
        iov[i].iov_len = payload;
        msgs[i].msg_hdr.msg_name = &dst;
        msgs[i].msg_hdr.msg_namelen = sizeof(dst);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t sent = 0, errors = 0;
    const double start = now_s();
    double t = start;
    while (!g_stop && (t = now_s()) - start < seconds) {
        const double due = (t - start) * rate;
        if ((double)sent >= due) {
            struct timespec nap = {0, 50000};
            nanosleep(&nap, NULL);
            continue;
        }
        double want = due - (double)sent;
        unsigned n = want >= kBatch ? kBatch : (unsigned)want + 1;
        int r = sendmmsg(fd, msgs, n, 0);
        if (r < 0) {
            // ENOBUFS and friends: the local queue is full; count and go on.
            ++errors;
            if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
                perror("udp_flood: sendmmsg");
            }
            continue;
        }
        sent += (uint64_t)r;
    }
    const double elapsed = now_s() - start;
    fflush(stdout);
    printf("sent=%llu errors=%llu seconds=%.3f rate=%.0f\n", (unsigned long long)sent,
           (unsigned long long)errors, elapsed, (double)sent / elapsed);
    close(fd);
    return 0;
}
