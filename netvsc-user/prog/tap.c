/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user tap IFNAME: the NIC as a Linux TAP interface with the NIC's
 * address and MTU, one TAP queue per NIC queue (the kernel spreads flows
 * over them), its carrier following the NIC's link.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "prog.h"

int tap_open(struct app *a)
{
	struct ifreq ifr;
	unsigned int i;
	int s, err;

	if (strlen(a->c.arg) >= IFNAMSIZ) {
		fprintf(stderr, "netvsc-user: TAP name \"%s\" is longer than %d characters\n",
			a->c.arg, IFNAMSIZ - 1);
		return -EINVAL;
	}
	for (i = 0; i < a->nq; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "netvsc-user: cannot open /dev/net/tun: %s\n", strerror(errno));
			return err;
		}
		memset(&ifr, 0, sizeof(ifr));
		/* one TAP queue per NIC queue: the kernel spreads flows over them */
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (a->nq > 1 ? IFF_MULTI_QUEUE : 0);
		memcpy(ifr.ifr_name, a->c.arg, strlen(a->c.arg));
		if (ioctl(fd, TUNSETIFF, &ifr)) {
			err = -errno;
			fprintf(stderr, "netvsc-user: cannot create TAP %s: %s\n", a->c.arg,
				strerror(errno));
			close(fd);
			return err;
		}
		a->q[i].tap_fd = fd;
	}
	/* the interface takes the NIC's address and MTU, and goes up */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->c.arg, strlen(a->c.arg));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, a->info.mac, 6);
	err = ioctl(s, SIOCSIFHWADDR, &ifr) ? -errno : 0;
	if (!err) {
		ifr.ifr_mtu = (int)a->info.mtu;
		err = ioctl(s, SIOCSIFMTU, &ifr) ? -errno : 0;
	}
	if (!err && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		err = ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 0;
	}
	close(s);
	if (err) {
		fprintf(stderr, "netvsc-user: cannot configure TAP %s: %s\n", a->c.arg,
			strerror(-err));
		return err;
	}
	tap_carrier(a, a->info.link_up);
	return 0;
}

void tap_close(struct app *a)
{
	unsigned int i;

	for (i = 0; i < NETVSC_MAX_QUEUES; i++) {
		if (a->q[i].tap_fd >= 0)
			close(a->q[i].tap_fd);
		a->q[i].tap_fd = -1;
	}
}

/* The interface's carrier follows the NIC's link. */
void tap_carrier(struct app *a, bool up)
{
	unsigned int i;
	int on = up;

	for (i = 0; i < a->nq; i++)
		if (a->q[i].tap_fd >= 0)
			ioctl(a->q[i].tap_fd, TUNSETCARRIER, &on);
}

/* A frame from the NIC to the interface. */
void tap_write(struct qctx *qc, const struct netvsc_rx_frame *fr)
{
	const uint8_t *f = fr->data;
	uint8_t tag[4];
	struct iovec iov[3];
	int n = 0;

	/* the host took the 802.1Q tag out: the stack above expects it in */
	if (fr->flags & NETVSC_RX_VLAN) {
		tag[0] = 0x81;
		tag[1] = 0x00;
		tag[2] = (uint8_t)(fr->vlan_tci >> 8);
		tag[3] = (uint8_t)fr->vlan_tci;
		iov[n++] = (struct iovec){ (void *)f, 12 };
		iov[n++] = (struct iovec){ tag, 4 };
		iov[n++] = (struct iovec){ (void *)(f + 12), fr->len - 12 };
	} else {
		iov[n++] = (struct iovec){ (void *)f, fr->len };
	}
	if (writev(qc->tap_fd, iov, n) < 0)
		CNT_ADD(qc->dropped, 1); /* the TAP queue is full: the kernel would drop too */
}

/* Frames from the interface to the NIC, a burst at most; returns how many. */
unsigned int tap_read(struct qctx *qc)
{
	unsigned int n = 0;

	while (n < BURST) {
		ssize_t len;
		int ret;

		if (!qc->held_len) {
			len = read(qc->tap_fd, qc->held, qc->slot_size);
			if (len <= 0)
				break;
			qc->held_len = (uint32_t)len;
		}
		ret = send_frame(qc, qc->held, qc->held_len, NETVSC_SEND_MORE);
		if (ret == -EAGAIN)
			break; /* keep it: nothing taken is lost */
		if (ret < 0)
			CNT_ADD(qc->dropped, 1); /* a frame the NIC cannot carry (too large) */
		qc->held_len = 0;
		n++;
	}
	return n;
}
