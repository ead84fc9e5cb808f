/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user: a Hyper-V synthetic NIC driven from this process.
 *
 * Attaches with libnetvsc, then runs one mode with one thread per queue:
 * info, echo, tap (a Linux TAP interface as the other end), gen, sink or
 * pcap.  The main thread prints statistics, watches for the end (signal,
 * count, time, rescind) and, with --reattach, waits for a rescinded device
 * to come back and attaches anew.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <netvsc/netvsc.h>
#include <netvsc/proto.h>
#include <vmbus/vmbus.h>

/* Exit codes (documented in --help). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_GONE = 3,
	EXIT_PROTO = 4,
	EXIT_CHECK = 5,
};

enum mode { MODE_INFO, MODE_ECHO, MODE_TAP, MODE_GEN, MODE_SINK, MODE_PCAP };

static const char *const mode_names[] = { "info", "echo", "tap", "gen", "sink", "pcap" };

/* What gen frames carry, and what vmbus-hostsim's gen wire sends. */
#define GEN_MAGIC 0x4e47564eu /* "NVGN", at offset 42 of an IPv4/UDP frame */
#define GEN_HDR 58u /* Ethernet, IPv4, UDP, magic, seq (u64), len (u32) */
#define HSIM_GEN_ETHERTYPE 0x88b5
#define HSIM_GEN_MAGIC 0x474d4256u /* "VBMG", at offset 14 */
#define BURST 64u
#define BACKLOG 256u
#define DMA_SLOTS 64u
#define DMA_SLOT 12288u

struct cfg {
	const char *guid;
	const char *root;
	unsigned int queues;
	unsigned int mtu;
	enum mode mode;
	const char *arg; /* tap IFNAME, pcap FILE */
	uint32_t size;
	uint64_t count;
	uint64_t rate;
	double seconds;
	bool stats, json, reattach, verify, promisc;
	int timeout_ms;
	uint32_t nvsp_max;
};

struct app;

/* A queue's thread and what its mode keeps. */
struct qctx {
	struct app *app;
	unsigned int idx;
	pthread_t th;
	bool started;
	int tap_fd;
	/* echo: frames the ring had no room for yet */
	uint8_t *backlog;
	uint32_t blen[BACKLOG];
	unsigned int bhead, bcount;
	uint32_t slot_size;
	/* tap: a frame read but not yet taken */
	uint8_t *held;
	uint32_t held_len;
	/* gen */
	uint64_t next, sent, start_ns;
	/* frames too large for a section go by pages from here */
	struct vmbus_dma *dma;
	uint64_t dma_free; /* bit per slot */
	/* mode counters, written by this thread */
	uint64_t dropped, checked, bad;
};

struct app {
	struct cfg c;
	struct netvsc_dev *nd;
	struct netvsc_info info;
	unsigned int nq;
	struct qctx q[NETVSC_MAX_QUEUES];
	atomic_bool run; /* the threads keep going */
	atomic_int dead; /* 0, -ENODEV, -EPROTO: from the event callback */
	int stop_fd; /* readable once the program stops */
	FILE *pcap;
	pthread_mutex_t pcap_lock;
	uint8_t *seen; /* gen --verify: per sequence number */
	atomic_uint_least64_t seen_count, seen_dup, gen_sent;
	struct netvsc_queue_stats total[NETVSC_MAX_QUEUES]; /* over past sessions */
	uint64_t mode_dropped, mode_checked, mode_bad;
	bool dma_warned;
	uint64_t window; /* gen --verify: frames out, not yet back, at most */
};

/* Mode counters: written by their queue's thread, read by the watcher. */
#define CNT_ADD(c, n) __atomic_store_n(&(c), (c) + (n), __ATOMIC_RELAXED)
#define CNT_GET(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

static atomic_bool stopping;
static int stop_efd = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netvsc-user --device GUID [options] MODE [ARG]\n"
		"\n"
		"Drives the Hyper-V synthetic network adapter GUID from this process: attaches\n"
		"the way Linux hv_netvsc does (NVSP, RNDIS), then runs MODE with one thread per\n"
		"queue.  The device must be bound to a UIO driver (hv_uio or uio_hv_generic), or\n"
		"be served by vmbus-hostsim under --root.\n"
		"\n"
		"modes:\n"
		"  info           print what the attach learnt (versions, MAC, MTU, link, buffers,\n"
		"                 queues, offloads) and detach\n"
		"  echo           send every received frame back, addresses swapped\n"
		"  tap IFNAME     bridge the NIC to a new TAP interface IFNAME (its MAC and MTU set\n"
		"                 to the NIC's), so the Linux network stack can use it\n"
		"  gen            send frames: --size, --count, --rate; with --verify, expect every\n"
		"                 one back intact (an echoing peer)\n"
		"  sink           receive and count; with --verify, check the contents of gen frames\n"
		"                 (ours or vmbus-hostsim's)\n"
		"  pcap FILE      write received frames to a pcap capture\n"
		"\n"
		"options:\n"
		"  --device GUID  the adapter's instance GUID (required)\n"
		"  --root DIR     root of a simulated VMBus (default $VMBUS_ROOT, else the real one)\n"
		"  --queues N     queues (subchannels and RSS), 1..64 (default 1; the host may\n"
		"                 grant fewer)\n"
		"  --mtu N        MTU, 68..9202 (default 1500; the host may cap it)\n"
		"  --size N       gen: frame size in bytes, 60..MTU+14 (default 64)\n"
		"  --count N      gen: frames to send (default 1000; 0: no end); other modes:\n"
		"                 stop after N frames received\n"
		"  --rate PPS     gen: frames per second over all queues (default 0: as fast as\n"
		"                 possible)\n"
		"  --time SEC     stop after SEC seconds\n"
		"  --verify       check frame contents (gen, sink); exit 5 on any loss or damage\n"
		"  --promisc      receive every frame the host passes, not only ours\n"
		"  --stats        print per-queue statistics every second (always at the end)\n"
		"  --json         machine-readable output: one JSON object per line\n"
		"  --reattach     when the host rescinds the device, wait for it to be offered\n"
		"                 again and attach anew (until stopped)\n"
		"  --timeout MS   how long one control step may take (default 60000)\n"
		"  --nvsp-max V   highest NVSP version to offer, e.g. 0x50000 (default 0x60001)\n"
		"  -h, --help     this text\n"
		"\n"
		"Stops on SIGINT or SIGTERM (detaching in order), on --count or --time.\n"
		"\n"
		"exit status:\n"
		"  0  success\n"
		"  1  another error (system, permissions, memory)\n"
		"  2  usage error\n"
		"  3  the device is gone: not there, or rescinded by the host\n"
		"  4  protocol error: the host broke the protocol, wrote corrupt data or did not\n"
		"     answer in time\n"
		"  5  --verify found frames lost, duplicated or damaged\n");
}

/* ------------------------------------------------------------------------ */
/* frames                                                                    */
/* ------------------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A gen frame: IPv4/UDP (ports vary with the flow, so RSS spreads them),
 * the magic, the sequence number, the length, then a pattern from it. */
static void gen_frame(uint8_t *f, uint32_t len, const uint8_t *src, uint64_t seq)
{
	static const uint8_t peer[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	uint32_t magic = GEN_MAGIC, i, flow = (uint32_t)(seq % 256);
	uint16_t c, sport = (uint16_t)(20000 + flow * 131), dport = 9;

	memcpy(f, peer, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;
	f[26] = 198;
	f[27] = 18;
	f[28] = (uint8_t)(flow >> 4);
	f[29] = (uint8_t)(flow + 1);
	f[30] = 198;
	f[31] = 19;
	f[32] = 0;
	f[33] = 1;
	c = ip_csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
	f[40] = f[41] = 0;
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &seq, 8);
	memcpy(f + 54, &len, 4);
	for (i = GEN_HDR; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

/*
 * Checks a gen frame, ours or vmbus-hostsim's.  Returns 1 with *seq set if
 * it is one and intact, -1 if it is one and damaged, 0 if it is not one.
 */
static int gen_check(const uint8_t *f, uint32_t len, uint64_t *seq)
{
	uint32_t magic, l, i;

	if (len >= GEN_HDR && f[12] == 0x08 && f[13] == 0x00) {
		memcpy(&magic, f + 42, 4);
		if (magic != GEN_MAGIC)
			return 0;
		memcpy(seq, f + 46, 8);
		memcpy(&l, f + 54, 4);
		if (l != len)
			return -1;
		for (i = GEN_HDR; i < len; i++)
			if (f[i] != (uint8_t)(*seq * 7 + i))
				return -1;
		return 1;
	}
	if (len >= 26 && f[12] == (HSIM_GEN_ETHERTYPE >> 8) && f[13] == (HSIM_GEN_ETHERTYPE & 0xff)) {
		memcpy(&magic, f + 14, 4);
		if (magic != HSIM_GEN_MAGIC)
			return 0;
		memcpy(seq, f + 18, 8);
		for (i = 26; i < len; i++)
			if (f[i] != (uint8_t)(*seq + i))
				return -1;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* sending, with pages for frames larger than a section                      */
/* ------------------------------------------------------------------------ */

static void dma_setup(struct qctx *qc)
{
	struct app *a = qc->app;
	int ret;

	/* only when frames can be larger than a send section */
	if (a->info.mtu + NETVSC_ETH_HLEN + 4 + 128 <= a->info.tx_section_size)
		return;
	ret = vmbus_dma_alloc(netvsc_vmbus(a->nd), DMA_SLOTS * DMA_SLOT, &qc->dma);
	if (ret) {
		if (!a->dma_warned)
			fprintf(stderr,
				"netvsc-user: %s: frames larger than %u bytes cannot be sent: %s\n",
				a->c.guid, a->info.tx_section_size - 128,
				vmbus_dev_strerror(netvsc_vmbus(a->nd)));
		a->dma_warned = true;
		qc->dma = NULL;
		return;
	}
	qc->dma_free = DMA_SLOTS == 64 ? UINT64_MAX : (1ull << DMA_SLOTS) - 1;
}

static void on_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status)
{
	struct app *a = arg;

	(void)status;
	if (queue < a->nq && cookie < DMA_SLOTS)
		a->q[queue].dma_free |= 1ull << cookie;
}

/* Sends one frame; -EAGAIN means not taken (try again after a poll). */
static int send_frame(struct qctx *qc, const uint8_t *f, uint32_t len, unsigned int flags)
{
	struct app *a = qc->app;
	struct vmbus_gpa_buf buf;
	struct netvsc_tx_pages p = { .bufs = &buf, .nbufs = 1 };
	uint64_t pfns[8];
	unsigned int slot;
	uint8_t *mem;
	int ret = netvsc_send(a->nd, qc->idx, f, len, NULL, flags);

	if (ret != -EMSGSIZE || !qc->dma || len > DMA_SLOT)
		return ret;
	if (!qc->dma_free)
		return -EAGAIN;
	slot = (unsigned int)__builtin_ctzll(qc->dma_free);
	mem = (uint8_t *)vmbus_dma_addr(qc->dma) + (size_t)slot * DMA_SLOT;
	memcpy(mem, f, len);
	if (vmbus_dma_gpa(qc->dma, mem, len, &buf, pfns, 8) < 0)
		return -EMSGSIZE;
	p.cookie = slot;
	ret = netvsc_send_pages(a->nd, qc->idx, &p);
	if (ret == 0)
		qc->dma_free &= ~(1ull << slot);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* modes                                                                     */
/* ------------------------------------------------------------------------ */

static void note_received(struct qctx *qc, const uint8_t *f, uint32_t len)
{
	struct app *a = qc->app;
	uint64_t seq;
	int r;

	if (!a->c.verify)
		return;
	r = gen_check(f, len, &seq);
	if (r < 0) {
		CNT_ADD(qc->bad, 1);
		return;
	}
	if (r == 0)
		return;
	CNT_ADD(qc->checked, 1);
	if (a->seen && seq < a->c.count) {
		if (__atomic_fetch_add(&a->seen[seq], 1, __ATOMIC_RELAXED))
			atomic_fetch_add(&a->seen_dup, 1);
		else
			atomic_fetch_add(&a->seen_count, 1);
	}
}

static void tap_write(struct qctx *qc, const struct netvsc_rx_frame *fr)
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

static void pcap_write(struct app *a, const struct netvsc_rx_frame *fr)
{
	struct timespec ts;
	uint32_t rec[4];

	clock_gettime(CLOCK_REALTIME, &ts);
	rec[0] = (uint32_t)ts.tv_sec;
	rec[1] = (uint32_t)(ts.tv_nsec / 1000);
	rec[2] = rec[3] = fr->len;
	pthread_mutex_lock(&a->pcap_lock);
	fwrite(rec, sizeof(rec), 1, a->pcap);
	fwrite(fr->data, fr->len, 1, a->pcap);
	pthread_mutex_unlock(&a->pcap_lock);
}

static void echo_keep(struct qctx *qc, const uint8_t *f, uint32_t len)
{
	unsigned int at;

	if (qc->bcount == BACKLOG || len > qc->slot_size) {
		CNT_ADD(qc->dropped, 1);
		return;
	}
	at = (qc->bhead + qc->bcount) % BACKLOG;
	memcpy(qc->backlog + (size_t)at * qc->slot_size, f, len);
	qc->blen[at] = len;
	qc->bcount++;
}

static void on_rx(void *arg, const struct netvsc_rx_frame *fr)
{
	struct app *a = arg;
	struct qctx *qc = &a->q[fr->queue];
	uint8_t tmp[9216 + 4];

	note_received(qc, fr->data, fr->len);
	switch (a->c.mode) {
	case MODE_ECHO:
		if (fr->len > sizeof(tmp))
			break;
		memcpy(tmp, (const uint8_t *)fr->data + 6, 6);
		memcpy(tmp + 6, fr->data, 6);
		memcpy(tmp + 12, (const uint8_t *)fr->data + 12, fr->len - 12);
		/* in order: behind what waits already */
		if (qc->bcount || send_frame(qc, tmp, fr->len, NETVSC_SEND_MORE) == -EAGAIN)
			echo_keep(qc, tmp, fr->len);
		break;
	case MODE_TAP:
		tap_write(qc, fr);
		break;
	case MODE_PCAP:
		pcap_write(a, fr);
		break;
	default:
		break;
	}
}

static void on_event(void *arg, const struct netvsc_event *ev)
{
	struct app *a = arg;
	unsigned int i;

	switch (ev->type) {
	case NETVSC_EV_LINK:
		if (a->c.json)
			printf("{\"type\":\"event\",\"event\":\"link\",\"up\":%s}\n",
			       ev->link_up ? "true" : "false");
		else
			fprintf(stderr, "netvsc-user: %s: link %s\n", a->c.guid,
				ev->link_up ? "up" : "down");
		fflush(stdout);
		if (a->c.mode == MODE_TAP)
			for (i = 0; i < a->nq; i++) {
				int on = ev->link_up;

				if (a->q[i].tap_fd >= 0)
					ioctl(a->q[i].tap_fd, TUNSETCARRIER, &on);
			}
		break;
	case NETVSC_EV_LINK_SPEED:
		fprintf(stderr, "netvsc-user: %s: link speed %" PRIu64 " Mbit/s\n", a->c.guid,
			ev->speed_bps / 1000000u);
		break;
	case NETVSC_EV_GONE:
	case NETVSC_EV_BROKEN:
		/* the watcher ends the session; the queues see the state */
		atomic_store(&a->dead, ev->error);
		break;
	default:
		break;
	}
}

/* Gen: a burst of frames, within the rate; returns frames taken. */
static unsigned int gen_burst(struct qctx *qc, uint8_t *f, int *wait_ms)
{
	struct app *a = qc->app;
	uint64_t quota = qc->app->c.count ? (a->c.count - qc->idx + a->nq - 1) / a->nq : UINT64_MAX;
	unsigned int n = 0;

	*wait_ms = 200;
	while (n < BURST && qc->sent < quota) {
		uint64_t seq = qc->idx + qc->sent * a->nq;
		int ret;

		/*
		 * Checking that every frame comes back: keep no more in flight
		 * than the receive buffer holds, as an echoing host drops what
		 * it has no receive slot for (so would any switch).
		 */
		if (a->c.verify && a->seen &&
		    atomic_load(&a->gen_sent) - atomic_load(&a->seen_count) >= a->window) {
			*wait_ms = 1;
			break;
		}

		if (a->c.rate) {
			/* this queue's share of the rate, from its start */
			uint64_t due = qc->start_ns + qc->sent * 1000000000ull * a->nq / a->c.rate;
			uint64_t t = now_ns();

			if (due > t) {
				*wait_ms = (int)((due - t) / 1000000u);
				break;
			}
		}
		gen_frame(f, a->c.size, a->info.mac, seq);
		ret = send_frame(qc, f, a->c.size, NETVSC_SEND_MORE);
		if (ret == -EAGAIN)
			break;
		if (ret < 0) {
			CNT_ADD(qc->dropped, 1);
			break;
		}
		qc->sent++;
		atomic_fetch_add(&a->gen_sent, 1);
		n++;
	}
	return n;
}

static unsigned int tap_read(struct qctx *qc)
{
	struct app *a = qc->app;
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
		(void)a;
	}
	return n;
}

static void *worker(void *arg)
{
	struct qctx *qc = arg;
	struct app *a = qc->app;
	uint8_t *f = malloc(9216 + 64);

	if (!f)
		return NULL;
	qc->start_ns = now_ns();
	while (atomic_load(&a->run)) {
		int n, w, wait_ms = 200, fd = a->stop_fd;
		bool progress;

		n = netvsc_poll(a->nd, qc->idx, 256);
		if (n < 0)
			break;
		progress = n > 0;
		switch (a->c.mode) {
		case MODE_ECHO:
			while (qc->bcount) {
				unsigned int at = qc->bhead;

				if (send_frame(qc, qc->backlog + (size_t)at * qc->slot_size, qc->blen[at],
					       NETVSC_SEND_MORE) == -EAGAIN)
					break;
				qc->bhead = (qc->bhead + 1) % BACKLOG;
				qc->bcount--;
				progress = true;
			}
			break;
		case MODE_GEN:
			if (gen_burst(qc, f, &wait_ms))
				progress = true;
			break;
		case MODE_TAP:
			if (tap_read(qc))
				progress = true;
			/* a frame held back waits for the queue, not the TAP */
			fd = qc->held_len ? -1 : qc->tap_fd;
			wait_ms = 100; /* and look at the stop flag now and then */
			break;
		default:
			break;
		}
		if (netvsc_flush(a->nd, qc->idx) < 0 && netvsc_state(a->nd))
			break;
		if (progress)
			continue;
		w = netvsc_wait(a->nd, qc->idx, fd, wait_ms);
		if (w < 0)
			break;
	}
	free(f);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* TAP                                                                       */
/* ------------------------------------------------------------------------ */

static int tap_open(struct app *a)
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
	{
		int on = a->info.link_up;

		for (i = 0; i < a->nq; i++)
			ioctl(a->q[i].tap_fd, TUNSETCARRIER, &on);
	}
	return 0;
}

static void tap_close(struct app *a)
{
	unsigned int i;

	for (i = 0; i < NETVSC_MAX_QUEUES; i++) {
		if (a->q[i].tap_fd >= 0)
			close(a->q[i].tap_fd);
		a->q[i].tap_fd = -1;
	}
}

/* ------------------------------------------------------------------------ */
/* output                                                                    */
/* ------------------------------------------------------------------------ */

static const char *nvsp_name(uint32_t v)
{
	switch (v) {
	case NVSP_VERSION_1:
		return "1";
	case NVSP_VERSION_2:
		return "2";
	case NVSP_VERSION_4:
		return "4";
	case NVSP_VERSION_5:
		return "5";
	case NVSP_VERSION_6:
		return "6";
	case NVSP_VERSION_61:
		return "6.1";
	default:
		return "?";
	}
}

static void print_info(const struct app *a)
{
	const struct netvsc_info *in = &a->info;
	char mac[18];
	unsigned int i;

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", in->mac[0], in->mac[1],
		 in->mac[2], in->mac[3], in->mac[4], in->mac[5]);
	if (a->c.json) {
		printf("{\"type\":\"info\",\"device\":\"%s\",\"mac\":\"%s\",\"mtu\":%u,"
		       "\"mtu_requested\":%u,\"mtu_host\":%u,\"link_up\":%s,\"link_speed_bps\":%" PRIu64
		       ",\"nvsp_version\":\"%s\",\"nvsp_version_raw\":%u,\"ndis_version\":\"%u.%u\","
		       "\"rndis_version\":\"%u.%u\",\"rx_buffer\":%" PRIu64 ",\"rx_section_size\":%u,"
		       "\"rx_sections\":%u,\"tx_buffer\":%" PRIu64 ",\"tx_section_size\":%u,"
		       "\"tx_sections\":%u,\"rndis_max_pkts\":%u,\"rndis_max_xfer\":%u,"
		       "\"rndis_align\":%u,\"queues\":%u,\"queues_requested\":%u,"
		       "\"queues_host_max\":%u,\"rss\":%s,\"rss_indirection\":%u,"
		       "\"tx_csum\":%u,\"rx_csum\":%s,\"packet_filter\":%u,\"relid\":%u,"
		       "\"monitored\":%s,\"simulated\":%s,\"uio\":\"%s\",\"ring_size\":%zu,"
		       "\"send_table\":[",
		       in->guid, mac, in->mtu, in->mtu_requested, in->mtu_host,
		       in->link_up ? "true" : "false", in->link_speed_bps, nvsp_name(in->nvsp_version),
		       in->nvsp_version, in->ndis_version >> 16, in->ndis_version & 0xffff,
		       in->rndis_major, in->rndis_minor, in->rx_buf_size, in->rx_section_size,
		       in->rx_section_count, in->tx_buf_size, in->tx_section_size,
		       in->tx_section_count, in->rndis_max_pkts, in->rndis_max_xfer, in->rndis_align,
		       in->queues, in->queues_requested, in->queues_host_max,
		       in->rss ? "true" : "false", in->rss_indirection_size, in->tx_csum,
		       in->rx_csum ? "true" : "false", in->packet_filter, in->relid,
		       in->monitored ? "true" : "false", in->simulated ? "true" : "false",
		       in->uio_name, in->ring_size);
		for (i = 0; in->send_table_valid && i < 16; i++)
			printf("%s%u", i ? "," : "", in->send_table[i]);
		printf("]}\n");
		fflush(stdout);
		return;
	}
	printf("device        %s (relid %u, %s, %s%s)\n", in->guid, in->relid,
	       in->monitored ? "monitored" : "not monitored", in->uio_name,
	       in->simulated ? ", simulated" : "");
	printf("mac           %s\n", mac);
	printf("mtu           %u (asked %u, host %u)\n", in->mtu, in->mtu_requested, in->mtu_host);
	printf("link          %s, %" PRIu64 " Mbit/s\n", in->link_up ? "up" : "down",
	       in->link_speed_bps / 1000000u);
	printf("protocol      NVSP %s (0x%x), NDIS %u.%u, RNDIS %u.%u\n", nvsp_name(in->nvsp_version),
	       in->nvsp_version, in->ndis_version >> 16, in->ndis_version & 0xffff, in->rndis_major,
	       in->rndis_minor);
	printf("receive       %" PRIu64 " bytes: %u slots of %u\n", in->rx_buf_size,
	       in->rx_section_count, in->rx_section_size);
	printf("send          %" PRIu64 " bytes: %u sections of %u\n", in->tx_buf_size,
	       in->tx_section_count, in->tx_section_size);
	printf("aggregation   %u frames, %u bytes, %u-byte alignment per message\n",
	       in->rndis_max_pkts, in->rndis_max_xfer, in->rndis_align);
	printf("queues        %u (asked %u", in->queues, in->queues_requested);
	if (in->queues_host_max)
		printf(", host offers up to %u, indirection table of %u", in->queues_host_max,
		       in->rss_indirection_size);
	printf(")%s\n", in->rss ? ", RSS: Toeplitz over IPv4/IPv6 addresses and TCP ports" : "");
	if (in->send_table_valid) {
		printf("send table   ");
		for (i = 0; i < 16; i++)
			printf(" %u", in->send_table[i]);
		printf("\n");
	}
	printf("offloads      transmit checksums:%s%s%s%s; receive checksums %s\n",
	       in->tx_csum & NETVSC_TX_CSUM_IP4 ? " IPv4" : "",
	       in->tx_csum & NETVSC_TX_CSUM_TCP ? " TCP" : "",
	       in->tx_csum & NETVSC_TX_CSUM_UDP ? " UDP" : "",
	       in->tx_csum & NETVSC_TX_IPV6 ? " (and over IPv6)" : (in->tx_csum ? "" : " none"),
	       in->rx_csum ? "validated by the host" : "not validated");
	printf("filter        0x%x\n", in->packet_filter);
	fflush(stdout);
}

static void print_stats(struct app *a, const char *kind, double secs)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) }, sum;
	unsigned int i, n = a->nq;
	uint64_t checked = a->mode_checked, bad = a->mode_bad;

	/* the session running now, on top of the past ones */
	for (i = 0; a->nd && i < n; i++) {
		checked += CNT_GET(a->q[i].checked);
		bad += CNT_GET(a->q[i].bad);
	}

	memset(&sum, 0, sizeof(sum));
	if (a->c.json)
		printf("{\"type\":\"%s\",\"seconds\":%.3f,\"queues\":[", kind, secs);
	else
		printf("-- %s after %.2f s --\n%-5s %12s %14s %8s %8s %12s %14s %8s %8s %8s\n", kind,
		       secs, "queue", "rx packets", "rx bytes", "rx drop", "rx err", "tx packets",
		       "tx bytes", "tx drop", "tx err", "tx busy");
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.sz = sizeof(s);
		if (a->nd)
			netvsc_stats(a->nd, i, &s);
#define ADD(f) s.f += a->total[i].f
		ADD(rx_packets);
		ADD(rx_bytes);
		ADD(rx_drops);
		ADD(rx_errors);
		ADD(tx_packets);
		ADD(tx_bytes);
		ADD(tx_drops);
		ADD(tx_errors);
		ADD(tx_busy);
		ADD(tx_msgs);
		ADD(tx_pages);
#undef ADD
		if (a->c.json)
			printf("%s{\"queue\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
			       ",\"rx_drops\":%" PRIu64 ",\"rx_errors\":%" PRIu64
			       ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			       ",\"tx_drops\":%" PRIu64 ",\"tx_errors\":%" PRIu64
			       ",\"tx_busy\":%" PRIu64 ",\"tx_msgs\":%" PRIu64 ",\"tx_pages\":%" PRIu64
			       "}",
			       i ? "," : "", i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors,
			       s.tx_packets, s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy, s.tx_msgs,
			       s.tx_pages);
		else
			printf("%-5u %12" PRIu64 " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64
			       " %14" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n",
			       i, s.rx_packets, s.rx_bytes, s.rx_drops, s.rx_errors, s.tx_packets,
			       s.tx_bytes, s.tx_drops, s.tx_errors, s.tx_busy);
		sum.rx_packets += s.rx_packets;
		sum.tx_packets += s.tx_packets;
	}
	if (a->c.json) {
		printf("],\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64, sum.rx_packets,
		       sum.tx_packets);
		if (a->c.verify)
			printf(",\"checked\":%" PRIu64 ",\"damaged\":%" PRIu64, checked, bad);
		printf("}\n");
	} else if (a->c.verify) {
		printf("checked %" PRIu64 " frames, %" PRIu64 " damaged\n", checked, bad);
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* sessions                                                                  */
/* ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	uint64_t one = 1;

	(void)sig;
	atomic_store(&stopping, true);
	if (write(stop_efd, &one, sizeof(one)) < 0)
		(void)0;
}

static int exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return EXIT_GONE;
	case -EPROTO:
	case -ETIMEDOUT:
	case -EBADMSG:
		return EXIT_PROTO;
	case -EINVAL:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

/* Attaches; with --reattach, waits for the device until it is there. */
static int attach(struct app *a, bool again)
{
	bool wait_for_offer = a->c.reattach;
	static struct netvsc_ops ops = { .sz = sizeof(ops),
					 .rx = on_rx,
					 .event = on_event,
					 .tx_done = on_tx_done };
	struct netvsc_opts o = { .sz = sizeof(o) };
	char err[512];
	bool said = false;
	int ret;

	ops.arg = a;
	o.root = a->c.root;
	o.queues = a->c.queues;
	o.mtu = a->c.mtu;
	o.nvsp_max = a->c.nvsp_max;
	o.timeout_ms = a->c.timeout_ms;
	o.packet_filter = a->c.promisc ? NDIS_PACKET_TYPE_PROMISCUOUS : 0;
	o.ops = &ops;
	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	for (;;) {
		ret = netvsc_attach(a->c.guid, &o, &a->nd);
		if (ret == 0)
			break;
		/* not there (yet), or there only in part while it is offered */
		if (!wait_for_offer || atomic_load(&stopping) ||
		    (ret != -ENOENT && ret != -ENODEV && ret != -ENXIO && ret != -EBADMSG)) {
			fprintf(stderr, "netvsc-user: %s\n", err);
			return ret;
		}
		if (!said)
			fprintf(stderr, "netvsc-user: %s: waiting for the device to be offered\n",
				a->c.guid);
		said = true;
		usleep(20000); /* polling for a directory, bounded by the signal */
	}
	a->info.sz = sizeof(a->info);
	netvsc_info(a->nd, &a->info);
	a->nq = netvsc_queues(a->nd);
	if (again)
		fprintf(stderr, "netvsc-user: %s: attached again\n", a->c.guid);
	return 0;
}

static void session_end(struct app *a)
{
	unsigned int i;

	atomic_store(&a->run, false);
	for (i = 0; i < a->nq; i++) {
		if (a->q[i].started)
			pthread_join(a->q[i].th, NULL);
		a->q[i].started = false;
	}
	for (i = 0; i < a->nq; i++) {
		struct netvsc_queue_stats s = { .sz = sizeof(s) };

		netvsc_stats(a->nd, i, &s);
		a->total[i].rx_packets += s.rx_packets;
		a->total[i].rx_bytes += s.rx_bytes;
		a->total[i].rx_drops += s.rx_drops;
		a->total[i].rx_errors += s.rx_errors;
		a->total[i].tx_packets += s.tx_packets;
		a->total[i].tx_bytes += s.tx_bytes;
		a->total[i].tx_drops += s.tx_drops;
		a->total[i].tx_errors += s.tx_errors;
		a->total[i].tx_busy += s.tx_busy;
		a->total[i].tx_msgs += s.tx_msgs;
		a->total[i].tx_pages += s.tx_pages;
		a->mode_dropped += a->q[i].dropped;
		a->mode_checked += a->q[i].checked;
		a->mode_bad += a->q[i].bad;
		a->q[i].dropped = a->q[i].checked = a->q[i].bad = 0;
	}
}

static void session_free(struct app *a)
{
	unsigned int i;

	/* detach sends what is queued, then frees; then the page memory */
	netvsc_detach(a->nd);
	a->nd = NULL;
	for (i = 0; i < NETVSC_MAX_QUEUES; i++) {
		if (a->q[i].dma)
			vmbus_dma_free(a->q[i].dma);
		a->q[i].dma = NULL;
		free(a->q[i].backlog);
		free(a->q[i].held);
		a->q[i].backlog = a->q[i].held = NULL;
		a->q[i].bcount = a->q[i].bhead = 0;
		a->q[i].held_len = 0;
	}
	if (a->c.mode == MODE_TAP)
		tap_close(a);
}

static uint64_t total_rx(struct app *a)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) };
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < a->nq; i++) {
		netvsc_stats(a->nd, i, &s);
		n += s.rx_packets + a->total[i].rx_packets;
	}
	return n;
}

static bool tx_idle(struct app *a)
{
	struct netvsc_queue_stats s = { .sz = sizeof(s) };
	unsigned int i;

	for (i = 0; i < a->nq; i++) {
		netvsc_stats(a->nd, i, &s);
		if (s.tx_inflight)
			return false;
	}
	return true;
}

/* Runs the mode until the end; returns the exit code. */
static int run(struct app *a)
{
	uint64_t t0 = now_ns(), last_stats = t0, gen_done_ns = 0, last_rx = 0, last_rx_ns = t0;
	bool reattaching = false;
	int rc = EXIT_OK, ret;
	unsigned int i;

	for (;;) {
		ret = attach(a, reattaching);
		if (ret)
			return atomic_load(&stopping) ? EXIT_OK : exit_for(ret);
		if (a->c.mode == MODE_INFO) {
			print_info(a);
			session_free(a);
			return EXIT_OK;
		}
		if (!reattaching) {
			if (a->c.json)
				print_info(a);
			else
				fprintf(stderr,
					"netvsc-user: %s: attached: NVSP 0x%x, %u queue(s), MTU %u, link "
					"%s\n",
					a->info.guid, a->info.nvsp_version, a->nq, a->info.mtu,
					a->info.link_up ? "up" : "down");
		}
		if (a->c.mode == MODE_GEN && a->c.size > a->info.mtu + NETVSC_ETH_HLEN) {
			fprintf(stderr, "netvsc-user: --size %u is larger than the MTU allows (%u)\n",
				a->c.size, a->info.mtu + NETVSC_ETH_HLEN);
			session_free(a);
			return EXIT_USAGE;
		}
		if (a->c.mode == MODE_TAP && tap_open(a)) {
			session_free(a);
			return EXIT_FAIL;
		}
		atomic_store(&a->dead, 0);
		atomic_store(&a->run, true);
		a->window = a->info.rx_section_count / 2 > BURST ? a->info.rx_section_count / 2 : BURST;
		for (i = 0; i < a->nq; i++) {
			struct qctx *qc = &a->q[i];

			qc->app = a;
			qc->idx = i;
			qc->slot_size = a->info.mtu + NETVSC_ETH_HLEN + 4;
			qc->backlog = malloc((size_t)BACKLOG * qc->slot_size);
			qc->held = malloc(qc->slot_size);
			if (!qc->backlog || !qc->held) {
				fprintf(stderr, "netvsc-user: out of memory\n");
				session_end(a);
				session_free(a);
				return EXIT_FAIL;
			}
			dma_setup(qc);
			if (pthread_create(&qc->th, NULL, worker, qc)) {
				fprintf(stderr, "netvsc-user: cannot start a thread\n");
				session_end(a);
				session_free(a);
				return EXIT_FAIL;
			}
			qc->started = true;
		}

		/* watch: signals, the device, the end conditions, statistics */
		for (;;) {
			uint64_t t = now_ns(), rx;
			double secs = (double)(t - t0) / 1e9;

			if (atomic_load(&stopping) || atomic_load(&a->dead) || netvsc_state(a->nd))
				break;
			if (a->c.seconds > 0 && secs >= a->c.seconds)
				break;
			rx = total_rx(a);
			if (rx != last_rx) {
				last_rx = rx;
				last_rx_ns = t;
			}
			if (a->c.mode == MODE_GEN && a->c.count &&
			    atomic_load(&a->gen_sent) >= a->c.count) {
				if (!gen_done_ns)
					gen_done_ns = t;
				/* everything completed; with --verify, everything back too,
				 * or nothing new for two seconds */
				if (tx_idle(a) &&
				    (!a->c.verify || atomic_load(&a->seen_count) >= a->c.count ||
				     t - last_rx_ns > 2000000000ull))
					break;
				if (t - gen_done_ns > (uint64_t)a->c.timeout_ms * 1000000u)
					break;
			}
			if (a->c.mode != MODE_GEN && a->c.count && rx >= a->c.count)
				break;
			if (a->c.stats && t - last_stats >= 1000000000u) {
				last_stats = t;
				print_stats(a, "stats", secs);
			}
			usleep(20000); /* the watcher's tick; the queues sleep on interrupts */
		}
		ret = atomic_load(&a->dead) ? atomic_load(&a->dead) : netvsc_state(a->nd);
		session_end(a);
		if (ret) {
			fprintf(stderr, "netvsc-user: %s\n", netvsc_strerror(a->nd));
			if (ret == -ENODEV && a->c.reattach && !atomic_load(&stopping)) {
				session_free(a);
				reattaching = true;
				continue;
			}
			rc = exit_for(ret);
		}
		session_free(a);
		break;
	}
	if (a->c.verify && rc == EXIT_OK) {
		uint64_t want = a->c.count;

		if (a->mode_bad || atomic_load(&a->seen_dup) ||
		    (a->c.mode == MODE_GEN && want && atomic_load(&a->seen_count) < want) ||
		    (a->c.mode == MODE_SINK && want && a->mode_checked < want)) {
			fprintf(stderr,
				"netvsc-user: %s: verification failed: %" PRIu64 " of %" PRIu64
				" frames back intact, %" PRIu64 " damaged, %" PRIu64 " duplicated\n",
				a->c.guid,
				a->c.mode == MODE_GEN ? (uint64_t)atomic_load(&a->seen_count) :
							a->mode_checked,
				want, a->mode_bad, (uint64_t)atomic_load(&a->seen_dup));
			rc = EXIT_CHECK;
		} else if (!a->c.json) {
			fprintf(stderr, "netvsc-user: %s: verified %" PRIu64 " frames: all intact\n",
				a->c.guid,
				a->c.mode == MODE_GEN ? (uint64_t)atomic_load(&a->seen_count) :
							a->mode_checked);
		}
	}
	print_stats(a, "final", (double)(now_ns() - t0) / 1e9);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* the command line                                                          */
/* ------------------------------------------------------------------------ */

static int parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "netvsc-user: %s takes a number from %" PRIu64 " to %" PRIu64
				", not \"%s\"\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_DEVICE = 256, O_ROOT, O_QUEUES, O_MTU, O_SIZE, O_COUNT, O_RATE, O_TIME, O_VERIFY,
		O_PROMISC, O_STATS, O_JSON, O_REATTACH, O_TIMEOUT, O_NVSP,
	};
	static const struct option opts[] = {
		{ "device", required_argument, NULL, O_DEVICE },
		{ "root", required_argument, NULL, O_ROOT },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "time", required_argument, NULL, O_TIME },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "promisc", no_argument, NULL, O_PROMISC },
		{ "stats", no_argument, NULL, O_STATS },
		{ "json", no_argument, NULL, O_JSON },
		{ "reattach", no_argument, NULL, O_REATTACH },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "nvsp-max", required_argument, NULL, O_NVSP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct app app;
	struct app *a = &app;
	struct sigaction sa;
	bool count_set = false;
	uint64_t v;
	unsigned int i;
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->c.size = 64;
	a->c.count = 1000;
	a->c.timeout_ms = 60000;
	for (i = 0; i < NETVSC_MAX_QUEUES; i++)
		a->q[i].tap_fd = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_DEVICE:
			a->c.guid = optarg;
			break;
		case O_ROOT:
			a->c.root = optarg;
			break;
		case O_QUEUES:
			if (parse_num("--queues", optarg, 1, NETVSC_MAX_QUEUES, &v))
				return EXIT_USAGE;
			a->c.queues = (unsigned int)v;
			break;
		case O_MTU:
			if (parse_num("--mtu", optarg, 68, 9202, &v))
				return EXIT_USAGE;
			a->c.mtu = (unsigned int)v;
			break;
		case O_SIZE:
			if (parse_num("--size", optarg, 60, 9216, &v))
				return EXIT_USAGE;
			a->c.size = (uint32_t)v;
			break;
		case O_COUNT:
			if (parse_num("--count", optarg, 0, 1ull << 40, &v))
				return EXIT_USAGE;
			a->c.count = v;
			count_set = true;
			break;
		case O_RATE:
			if (parse_num("--rate", optarg, 0, 100000000, &v))
				return EXIT_USAGE;
			a->c.rate = v;
			break;
		case O_TIME: {
			char *end;

			a->c.seconds = strtod(optarg, &end);
			if (*end || a->c.seconds <= 0 || a->c.seconds > 1e7) {
				fprintf(stderr, "netvsc-user: --time takes seconds, not \"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case O_VERIFY:
			a->c.verify = true;
			break;
		case O_PROMISC:
			a->c.promisc = true;
			break;
		case O_STATS:
			a->c.stats = true;
			break;
		case O_JSON:
			a->c.json = true;
			break;
		case O_REATTACH:
			a->c.reattach = true;
			break;
		case O_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 3600000, &v))
				return EXIT_USAGE;
			a->c.timeout_ms = (int)v;
			break;
		case O_NVSP:
			if (parse_num("--nvsp-max", optarg, NVSP_VERSION_1, NVSP_VERSION_61, &v))
				return EXIT_USAGE;
			a->c.nvsp_max = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!a->c.guid) {
		fprintf(stderr, "netvsc-user: --device GUID is required (try --help)\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "netvsc-user: which mode? info, echo, tap IFNAME, gen, sink or "
				"pcap FILE (try --help)\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(argv[optind], mode_names[i]))
			break;
	if (i == sizeof(mode_names) / sizeof(mode_names[0])) {
		fprintf(stderr, "netvsc-user: unknown mode \"%s\" (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	a->c.mode = (enum mode)i;
	optind++;
	if (a->c.mode == MODE_TAP || a->c.mode == MODE_PCAP) {
		if (optind >= argc) {
			fprintf(stderr, "netvsc-user: %s needs %s\n", mode_names[a->c.mode],
				a->c.mode == MODE_TAP ? "an interface name" : "a file");
			return EXIT_USAGE;
		}
		a->c.arg = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "netvsc-user: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (a->c.mode != MODE_GEN && !count_set)
		a->c.count = 0; /* run until stopped */
	if (a->c.verify && a->c.count && a->c.count <= (1ull << 32)) {
		a->seen = calloc(a->c.count, 1);
		if (!a->seen) {
			fprintf(stderr, "netvsc-user: out of memory for --verify of %" PRIu64
					" frames\n",
				a->c.count);
			return EXIT_FAIL;
		}
	}
	if (a->c.mode == MODE_PCAP) {
		/* classic pcap: magic, version 2.4, no zone, snap 65535, Ethernet */
		const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };

		a->pcap = fopen(a->c.arg, "wb");
		if (!a->pcap) {
			fprintf(stderr, "netvsc-user: cannot write %s: %s\n", a->c.arg,
				strerror(errno));
			return EXIT_FAIL;
		}
		fwrite(hdr, sizeof(hdr), 1, a->pcap);
		pthread_mutex_init(&a->pcap_lock, NULL);
	}

	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_efd < 0) {
		fprintf(stderr, "netvsc-user: eventfd: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	a->stop_fd = stop_efd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = run(a);

	if (a->pcap && fclose(a->pcap)) {
		fprintf(stderr, "netvsc-user: writing %s: %s\n", a->c.arg, strerror(errno));
		rc = rc ? rc : EXIT_FAIL;
	}
	free(a->seen);
	close(stop_efd);
	return rc;
}
