// SPDX-License-Identifier: BSD-3-Clause
//
// syn_flood: a bounded, paced TCP SYN flood from random sources, for syn_flood_test.sh.
//
//   syn_flood DST_ADDR DST_PORT SRC_PREFIX/BITS COUNT RATE
//
// Sends COUNT TCP SYNs to DST_ADDR:DST_PORT, each from a random address of SRC_PREFIX (host bits
// random, never .0) and a random port above 1023, at RATE packets a second, through a raw socket
// with IP_HDRINCL (the kernel routes them and fills the IP checksum), in sendmmsg batches of up
// to 64. Pacing as in udp_flood.c: before each batch it sends what it is behind by (at most a
// batch), else sleeps 50 us. Prints one line:
//
//   sent=N errors=E seconds=T rate=R
//
// Needs CAP_NET_RAW. Run it in a network namespace whose routes send SRC_PREFIX's replies
// nowhere harmful (the test routes the prefix to the client namespace, which does not forward).
// Exit: 0 when COUNT were offered, 2 on bad arguments or no socket.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kBatch = 64, kHdr = 40 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// xorshift64*: fast, good enough for spoofed addresses; seeded from the clock and pid.
static uint64_t g_rng;
static uint32_t rnd(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 2685821657736338717ull) >> 32);
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    return sum;
}

// One SYN: 20 bytes IPv4 (checksum left to the kernel) + 20 bytes TCP.
static void build(uint8_t* b, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    memset(b, 0, kHdr);
    b[0] = 0x45;
    b[2] = 0;
    b[3] = kHdr;
    b[6] = 0x40;  // DF
    b[8] = 64;
    b[9] = IPPROTO_TCP;
    memcpy(b + 12, &src, 4);
    memcpy(b + 16, &dst, 4);
    uint8_t* t = b + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    const uint32_t seq = rnd();
    memcpy(t + 4, &seq, 4);
    t[12] = 5 << 4;
    t[13] = 0x02;  // SYN
    t[14] = 0xfa;  // window 64240
    t[15] = 0xf0;
    // Pseudo-header: addresses, protocol, TCP length.
    uint32_t sum = sum16(b + 12, 8, 0) + IPPROTO_TCP + 20;
    const uint16_t c = fold(sum16(t, 20, sum));
    t[16] = (uint8_t)(c >> 8);
    t[17] = (uint8_t)c;
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s DST_ADDR DST_PORT SRC_PREFIX/BITS COUNT RATE\n", argv[0]);
        return 2;
    }
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
        fprintf(stderr, "syn_flood: bad address %s\n", argv[1]);
        return 2;
    }
    const uint16_t dport = (uint16_t)atoi(argv[2]);
    char pfx[64];
    snprintf(pfx, sizeof(pfx), "%s", argv[3]);
    char* slash = strchr(pfx, '/');
    const int bits = slash != NULL ? atoi(slash + 1) : -1;
    if (slash != NULL) {
        *slash = '\0';
    }
    struct in_addr base;
    if (bits < 8 || bits > 30 || inet_pton(AF_INET, pfx, &base) != 1) {
        fprintf(stderr, "syn_flood: bad prefix %s (need ADDR/8..30)\n", argv[3]);
        return 2;
    }
    const long count = atol(argv[4]);
    const double rate = atof(argv[5]);
    if (count <= 0 || rate <= 0) {
        fprintf(stderr, "syn_flood: COUNT and RATE must be positive\n");
        return 2;
    }
    const uint32_t host_mask = (1u << (32 - bits)) - 1;
    const uint32_t net = ntohl(base.s_addr) & ~host_mask;

    const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
    if (fd < 0) {
        perror("syn_flood: socket");
        return 2;
    }
    int sndbuf = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    g_rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;

    static uint8_t pkts[kBatch][kHdr];
    struct iovec iov[kBatch];
    struct mmsghdr msgs[kBatch];
    long sent = 0, errors = 0;
    const double t0 = now_s();
    while (sent + errors < count) {
        const double due = (now_s() - t0) * rate;
        long n = (long)due - (sent + errors);
        if (n <= 0) {
            usleep(50);
            continue;
        }
        if (n > kBatch) {
            n = kBatch;
        }
        if (n > count - sent - errors) {
            n = count - sent - errors;
        }
        for (long i = 0; i < n; ++i) {
            uint32_t h = rnd() & host_mask;
            if (h == 0) {
                h = 1;
            }
            const uint32_t src = htonl(net | h);
            const uint16_t sport = (uint16_t)(1024 + rnd() % 64000);
            build(pkts[i], src, dst.sin_addr.s_addr, sport, dport);
            iov[i].iov_base = pkts[i];
            iov[i].iov_len = kHdr;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_name = &dst;
            msgs[i].msg_hdr.msg_namelen = sizeof(dst);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int r = sendmmsg(fd, msgs, (unsigned)n, 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                usleep(200);  // the queue is full: retry, these SYNs are still owed
                continue;
            }
            errors += n;
            continue;
        }
        sent += r;
    }
    const double secs = now_s() - t0;
    printf("sent=%ld errors=%ld seconds=%.3f rate=%.0f\n", sent, errors, secs,
           secs > 0 ? (double)sent / secs : 0.0);
    close(fd);
    return 0;
}
