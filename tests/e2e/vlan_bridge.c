// SPDX-License-Identifier: BSD-3-Clause
//
// vlan_bridge: an 802.1Q access port in user space, for the VLAN end-to-end test, whose kernel
// has neither the 8021q module nor tc's vlan action. Frames read on ACCESS_IF (a client's untagged
// link) are written to TRUNK_IF with a tag for VLAN VID inserted; frames read on TRUNK_IF that
// belong to VLAN VID are written to ACCESS_IF without their tag; everything else is dropped.
//
// The kernel takes an 802.1Q tag off a frame when it receives it and keeps it as metadata, so on
// the trunk the VLAN comes from PACKET_AUXDATA (tp_vlan_tci with TP_STATUS_VLAN_VALID); a tag left
// in the frame's bytes (a QinQ outer tag the kernel did not parse, or a kernel that leaves them) is
// read from there. On the way out the tag is written into the bytes, which a veth sends as they
// are.
//
// Usage: vlan_bridge ACCESS_IF TRUNK_IF VID SECONDS
// Runs until SECONDS have passed or SIGTERM/SIGINT, then prints its counters on stdout:
//   "to_trunk N to_access N other_vlan N untagged N"
// Exit: 0, or 2 on a usage or socket error.

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 16384
#define TAG_LEN 4
#define MAC_LEN 12 /* destination and source addresses */

static volatile sig_atomic_t stop;

static void on_signal(int signo) {
    (void)signo;
    stop = 1;
}

/* A raw socket on `ifname` that sees every frame and reports the VLAN metadata. */
static int open_port(const char* ifname, int* ifindex) {
    *ifindex = (int)if_nametoindex(ifname);
    if (*ifindex == 0) {
        fprintf(stderr, "vlan_bridge: no interface %s\n", ifname);
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        perror("vlan_bridge: socket");
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
        perror("vlan_bridge: PACKET_AUXDATA");
        close(fd);
        return -1;
    }
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = *ifindex;
    if (bind(fd, (struct sockaddr*)&sll, sizeof(sll)) != 0) {
        perror("vlan_bridge: bind");
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one frame into buf[TAG_LEN..]; returns its length (0: nothing to forward, -1: error).
 * *tci is the VLAN metadata (-1 when the kernel saw no tag). Frames this process sent (outgoing)
 * are skipped. */
static ssize_t read_frame(int fd, uint8_t* buf, size_t cap, int* tci) {
    struct sockaddr_ll from;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct iovec iov = {.iov_base = buf + TAG_LEN, .iov_len = cap - TAG_LEN};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = &control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
    if (from.sll_pkttype == PACKET_OUTGOING || (msg.msg_flags & MSG_TRUNC) != 0 || n < ETH_HLEN) {
        return 0;
    }
    *tci = -1;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            if ((aux.tp_status & TP_STATUS_VLAN_VALID) != 0) {
                *tci = aux.tp_vlan_tci;
            }
        }
    }
    return n;
}

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: vlan_bridge ACCESS_IF TRUNK_IF VID SECONDS\n");
        return 2;
    }
    const long vid = strtol(argv[3], NULL, 10);
    const long seconds = strtol(argv[4], NULL, 10);
    if (vid < 1 || vid > 4094 || seconds < 1 || seconds > 3600) {
        fprintf(stderr, "vlan_bridge: VID must be 1..4094 and SECONDS 1..3600\n");
        return 2;
    }
    int access_idx = 0, trunk_idx = 0;
    const int access = open_port(argv[1], &access_idx);
    const int trunk = open_port(argv[2], &trunk_idx);
    if (access < 0 || trunk < 0) {
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    unsigned long to_trunk = 0, to_access = 0, other_vlan = 0, untagged = 0;
    static uint8_t buf[MAX_FRAME + TAG_LEN];
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    // Ready: the test starts traffic once this line is in the log.
    fprintf(stderr, "vlan_bridge: %s <-> %s vlan %ld\n", argv[1], argv[2], vid);
    while (!stop) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= seconds) {
            break;
        }
        struct pollfd pfd[2] = {{.fd = access, .events = POLLIN}, {.fd = trunk, .events = POLLIN}};
        if (poll(pfd, 2, 200) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("vlan_bridge: poll");
            break;
        }
        // A bounded number of frames per wake-up from each side, so neither starves the other.
        for (int k = 0; k < 64 && (pfd[0].revents & POLLIN) != 0; ++k) {
            int tci = -1;
            ssize_t n = read_frame(access, buf, sizeof(buf), &tci);
            if (n <= 0) {
                break;
            }
            if (tci >= 0) {
                ++other_vlan;  // an access port carries untagged frames only
                continue;
            }
            // Move the MAC addresses 4 bytes down into the room read_frame left, then the tag.
            uint8_t* f = buf;
            memmove(f, f + TAG_LEN, MAC_LEN);
            f[12] = 0x81;
            f[13] = 0x00;
            f[14] = (uint8_t)(vid >> 8);
            f[15] = (uint8_t)vid;
            if (send(trunk, f, (size_t)n + TAG_LEN, 0) == n + TAG_LEN) {
                ++to_trunk;
            }
        }
        for (int k = 0; k < 64 && (pfd[1].revents & POLLIN) != 0; ++k) {
            int tci = -1;
            ssize_t n = read_frame(trunk, buf, sizeof(buf), &tci);
            if (n <= 0) {
                break;
            }
            uint8_t* f = buf + TAG_LEN;
            if (tci < 0 && n >= ETH_HLEN + TAG_LEN && f[12] == 0x81 && f[13] == 0x00) {
                // The tag is still in the bytes: take it from there.
                tci = (f[14] << 8) | f[15];
                memmove(f + TAG_LEN, f, MAC_LEN);
                f += TAG_LEN;
                n -= TAG_LEN;
            }
            if (tci < 0) {
                ++untagged;
                continue;
            }
            if ((tci & 0x0fff) != vid) {
                ++other_vlan;
                continue;
            }
            if (send(access, f, (size_t)n, 0) == n) {
                ++to_access;
            }
        }
    }
    printf("to_trunk %lu to_access %lu other_vlan %lu untagged %lu\n", to_trunk, to_access,
           other_vlan, untagged);
    close(access);
    close(trunk);
    return 0;
}
