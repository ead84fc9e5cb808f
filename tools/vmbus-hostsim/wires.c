/* SPDX-License-Identifier: MIT */
/*
 * Wires: where the frames of the simulated NICs go and come from.
 *   echo        each frame back to its sender, MAC addresses swapped
 *   sink        frames are counted and dropped
 *   gen         host-originated frames at a given size, count and rate
 *   tap:IFNAME  a Linux TAP interface on the host side (first NIC)
 *   pcap:FILE   frames the guest sends are written to a capture
 *   switch      every NIC on one switch: unicast to the NIC with that MAC,
 *               broadcast, multicast and unknown to all the others
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include <genframe.h>

#include "hostsim.h"

static bool each_dev_has_room(struct hs_bus *bus, struct hs_dev *except, unsigned int frames)
{
	unsigned int i;

	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && bus->devs[i] != except &&
		    !hs_nic_rx_room(bus->devs[i], frames))
			return false;
	return true;
}

/* --- echo --- */

static int echo_tx(struct hs_wire *w, struct hs_dev *dev, const void *frame, size_t len)
{
	const uint8_t *in = frame;
	uint8_t f[128];
	int err;

	if (len < 14)
		return 0;
	/* the addresses swapped, the rest as it came */
	memcpy(f, in + 6, 6);
	memcpy(f + 6, in, 6);
	if (len <= sizeof(f)) {
		/* short: one piece, which the NIC inspects as it is */
		memcpy(f + 12, in + 12, len - 12);
		err = hs_nic_rx(dev, f, len);
	} else {
		/* long: no copy of the frame here, only where it waits */
		err = hs_nic_rx_parts(dev, f, 12, in + 12, len - 12);
	}
	if (err == 0)
		w->frames_in++;
	w->frames_out++;
	return 0;
}

static bool echo_room(struct hs_wire *w, struct hs_dev *dev, unsigned int frames)
{
	(void)w;
	return hs_nic_rx_room(dev, frames);
}

/* --- sink --- */

static int sink_tx(struct hs_wire *w, struct hs_dev *dev, const void *frame, size_t len)
{
	(void)dev;
	(void)frame;
	(void)len;
	w->frames_out++;
	return 0;
}

/* --- gen --- */

#define GEN_BURST 1024u /* frames per turn of the loop */
#define GEN_HDRS 32u /* headers made ahead of their frames */

struct gen {
	uint64_t sent;
	uint64_t start_ns;
	bool refused; /* the NIC took no frame at the last try (not ready) */
};

/*
 * Byte i is byte i of gen frame 0, so a frame's payload is the run from
 * where its sequence number shifts the pattern to.  Constant once made and
 * shared by every gen wire, so queued frames refer to it (hs_nic_rx_ref)
 * and their payload is copied once, into the guest's receive slot.
 */
static uint8_t gen_pattern[256 + 9220];

static int gen_open(struct hs_wire *w, const char *arg)
{
	struct gen *g = calloc(1, sizeof(*g));

	(void)arg;
	if (!g)
		return -ENOMEM;
	if (w->bus->opts.gen_size < 64 || w->bus->opts.gen_size > 9014) {
		free(g);
		hs_log("gen: frame size %u is not within 64..9014", w->bus->opts.gen_size);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < sizeof(gen_pattern); i++)
		gen_pattern[i] = genframe_host_byte(0, i);
	w->priv = g;
	return 0;
}

/* The NIC gen traffic goes to (the first open one), or NULL. */
static struct hs_dev *gen_dev(struct hs_bus *bus)
{
	unsigned int i;

	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && bus->devs[i]->connected)
			return bus->devs[i];
	return NULL;
}

/* Frames gen may have sent by now (--gen-count, --gen-rate). */
static uint64_t gen_allowed(struct gen *g, const struct hs_bus *bus, uint64_t now)
{
	uint64_t allowed = UINT64_MAX;

	if (bus->opts.gen_rate)
		allowed = (now - g->start_ns) * bus->opts.gen_rate / 1000000000u + 1;
	if (bus->opts.gen_count && allowed > bus->opts.gen_count)
		allowed = bus->opts.gen_count;
	return allowed;
}

static void gen_poll(struct hs_wire *w)
{
	struct gen *g = w->priv;
	struct hs_bus *bus = w->bus;
	struct hs_dev *dev = gen_dev(bus);
	uint64_t allowed, now = hs_now_ns();
	unsigned int burst = 0, space;

	if (!dev)
		return;
	if (!g->start_ns)
		g->start_ns = now;
	allowed = gen_allowed(g, bus, now);
	space = hs_nic_rx_space(dev);
	if (space > GEN_BURST)
		space = GEN_BURST;
	if (g->sent >= allowed)
		space = 0;
	else if (space > allowed - g->sent)
		space = (unsigned int)(allowed - g->sent);
	g->refused = false;
	while (burst < space && !g->refused) {
		/* the headers of a few frames first, then the frames: a header
		 * copied right after its narrow stores waited for them, and so
		 * for every store queued before them (the previous frames'
		 * copies) */
		uint8_t hdr[GEN_HDRS][GENFRAME_HOST_HDR];
		unsigned int n = space - burst < GEN_HDRS ? space - burst : GEN_HDRS, i;

		for (i = 0; i < n; i++)
			genframe_host_header(hdr[i], hs_nic_mac(dev), g->sent + i);
		for (i = 0; i < n; i++) {
			g->refused = hs_nic_rx_ref(dev, hdr[i], sizeof(hdr[i]),
						   gen_pattern +
							   (uint8_t)(g->sent + GENFRAME_HOST_HDR),
						   bus->opts.gen_size - GENFRAME_HOST_HDR) != 0;
			if (g->refused)
				break;
			g->sent++;
			w->frames_in++;
			burst++;
		}
	}
	if (burst)
		bus->work = true;
}

/*
 * More to send now: not held back by the count, the rate or the NIC's
 * room, and the NIC took the last frame offered (one that is not ready,
 * e.g. no packet filter yet, is tried again at the next event or tick,
 * not in a busy loop).
 */
static bool gen_more(struct hs_wire *w)
{
	struct gen *g = w->priv;
	struct hs_dev *dev = gen_dev(w->bus);

	return dev && g->start_ns && !g->refused &&
	       g->sent < gen_allowed(g, w->bus, hs_now_ns()) && hs_nic_rx_room(dev, 1);
}

static void gen_close(struct hs_wire *w)
{
	free(w->priv);
}

/* --- tap --- */

struct tap {
	struct hs_watch watch;
	struct hs_wire *w;
	char name[IFNAMSIZ];
	uint64_t tx_drops;
};

static void tap_readable(struct hs_watch *watch, uint32_t events)
{
	struct tap *t = watch->arg;
	struct hs_bus *bus = t->w->bus;
	uint8_t f[9220];
	unsigned int n = 0;

	(void)events;
	while (n++ < 256) {
		struct hs_dev *dev = hs_find_dev(bus, NULL);
		ssize_t len = read(watch->fd, f, sizeof(f));

		if (len <= 0)
			break;
		if (dev && hs_nic_rx(dev, f, (size_t)len) == 0)
			t->w->frames_in++;
	}
}

static int tap_open(struct hs_wire *w, const char *arg)
{
	struct tap *t;
	struct ifreq ifr;
	int fd, err;

	if (!arg || !*arg || strlen(arg) >= IFNAMSIZ) {
		hs_log("tap: give an interface name of at most %d characters: tap:IFNAME",
		       IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		hs_log("tap: cannot open /dev/net/tun: %s", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, arg, strlen(arg));
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		hs_log("tap: cannot create %s: %s%s", arg, strerror(errno),
		       errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
		close(fd);
		return err;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	t->w = w;
	memcpy(t->name, ifr.ifr_name, sizeof(t->name));
	t->watch.fd = fd;
	t->watch.cb = tap_readable;
	t->watch.arg = t;
	err = hs_watch_add(w->bus, &t->watch, EPOLLIN);
	if (err) {
		close(fd);
		free(t);
		return err;
	}
	w->priv = t;
	hs_log("tap: frames go to and come from %s", t->name);
	return 0;
}

static int tap_tx(struct hs_wire *w, struct hs_dev *dev, const void *frame, size_t len)
{
	struct tap *t = w->priv;

	(void)dev;
	/* a full TAP queue drops, as a busy host network would */
	if (write(t->watch.fd, frame, len) != (ssize_t)len)
		t->tx_drops++;
	else
		w->frames_out++;
	return 0;
}

static void tap_close(struct hs_wire *w)
{
	struct tap *t = w->priv;

	hs_watch_del(w->bus, &t->watch);
	close(t->watch.fd);
	free(t);
}

/* --- pcap --- */

struct pcap {
	FILE *f;
};

static int pcap_open(struct hs_wire *w, const char *arg)
{
	struct pcap *p;
	/* classic pcap: magic, 2.4, no zone, snaplen 65535, Ethernet */
	const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };

	if (!arg || !*arg) {
		hs_log("pcap: give a file: pcap:FILE");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->f = fopen(arg, "wb");
	if (!p->f) {
		int err = -errno;

		hs_log("pcap: cannot write %s: %s", arg, strerror(errno));
		free(p);
		return err;
	}
	fwrite(hdr, sizeof(hdr), 1, p->f);
	w->priv = p;
	return 0;
}

static int pcap_tx(struct hs_wire *w, struct hs_dev *dev, const void *frame, size_t len)
{
	struct pcap *p = w->priv;
	struct timeval tv;
	uint32_t rec[4];

	(void)dev;
	gettimeofday(&tv, NULL);
	rec[0] = (uint32_t)tv.tv_sec;
	rec[1] = (uint32_t)tv.tv_usec;
	rec[2] = rec[3] = (uint32_t)len;
	fwrite(rec, sizeof(rec), 1, p->f);
	fwrite(frame, len, 1, p->f);
	/* record by record, so the capture can be read while it grows */
	fflush(p->f);
	w->frames_out++;
	return 0;
}

static void pcap_close(struct hs_wire *w)
{
	struct pcap *p = w->priv;

	fclose(p->f);
	free(p);
}

/* --- switch --- */

static int switch_tx(struct hs_wire *w, struct hs_dev *from, const void *frame, size_t len)
{
	const uint8_t *dst = frame;
	struct hs_bus *bus = w->bus;
	unsigned int i;
	bool flood = dst[0] & 1; /* broadcast and multicast */

	w->frames_out++;
	if (!flood) {
		for (i = 0; i < HS_MAX_DEVS; i++) {
			struct hs_dev *d = bus->devs[i];

			if (d && d != from && !memcmp(hs_nic_mac(d), dst, 6)) {
				if (hs_nic_rx(d, frame, len) == 0)
					w->frames_in++;
				return 0;
			}
		}
	}
	/* broadcast, multicast and unknown unicast go everywhere else */
	for (i = 0; i < HS_MAX_DEVS; i++) {
		struct hs_dev *d = bus->devs[i];

		if (d && d != from && hs_nic_rx(d, frame, len) == 0)
			w->frames_in++;
	}
	return 0;
}

static bool switch_room(struct hs_wire *w, struct hs_dev *dev, unsigned int frames)
{
	return each_dev_has_room(w->bus, dev, frames);
}

static const struct hs_wire_ops wires[] = {
	{ .name = "echo", .tx = echo_tx, .room = echo_room },
	{ .name = "sink", .tx = sink_tx },
	{ .name = "gen",
	  .open = gen_open,
	  .tx = sink_tx,
	  .poll = gen_poll,
	  .more = gen_more,
	  .close = gen_close },
	{ .name = "tap", .open = tap_open, .tx = tap_tx, .close = tap_close },
	{ .name = "pcap", .open = pcap_open, .tx = pcap_tx, .close = pcap_close },
	{ .name = "switch", .tx = switch_tx, .room = switch_room },
};

const char *hs_wire_names(void)
{
	return "echo, sink, gen, tap:IFNAME, pcap:FILE, switch";
}

int hs_wire_open(struct hs_bus *bus, const char *spec, struct hs_wire **out)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t i;

	for (i = 0; i < sizeof(wires) / sizeof(wires[0]); i++) {
		struct hs_wire *w;
		int err;

		if (strlen(wires[i].name) != n || strncmp(wires[i].name, spec, n))
			continue;
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->ops = &wires[i];
		w->bus = bus;
		if (w->ops->open) {
			err = w->ops->open(w, colon ? colon + 1 : NULL);
			if (err) {
				free(w);
				return err;
			}
		} else if (colon) {
			hs_log("wire %s takes no argument", wires[i].name);
			free(w);
			return -EINVAL;
		}
		*out = w;
		return 0;
	}
	hs_log("unknown wire \"%s\" (wires: %s)", spec, hs_wire_names());
	return -EINVAL;
}

void hs_wire_close(struct hs_wire *w)
{
	if (w->ops->close)
		w->ops->close(w);
	free(w);
}
