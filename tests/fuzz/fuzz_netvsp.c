/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: vmbus-hostsim's NetVSP against a guest that writes
 * anything.  A bus with one network adapter runs over a transport of this
 * harness (rings, buffers and guest memory on the heap, no files or
 * sockets) with the echo wire; the input plays the guest:
 *
 *   byte 0     the host's reaction to a protocol violation (stop, fail)
 *   then ops   [op][len][len bytes]:
 *     NVSP     an in-band NVSP message, with a completion asked or not
 *     RAW      any bytes as one record in the guest-to-host ring
 *     GPA      a GPA-direct packet: the in-band part and page ranges the
 *              bytes give (page numbers into the guest memory or not)
 *     SECTION  bytes into the send buffer, where RNDIS messages go
 *     GMEM     bytes into the guest memory GPA-direct packets name
 *     COMP     a completion for a receive transaction, any payload
 *     CHAN     the channel the next packets go to (subchannels the guest
 *              asked for)
 *     IRQ      an irqcontrol value
 *     STEP     the host runs; the guest takes what it sent back
 *
 * So every parser of guest data in the host runs on it: NVSP messages
 * (versions, NDIS configuration, the buffers' GPADL setup, subchannels,
 * switch data path), RNDIS control messages and data packets with their
 * per-packet info in send sections or guest pages, transfer completions.
 *
 * Properties: the host never crashes or leaks (ASan), and it keeps
 * answering on channels it has not stopped: after the ops a fresh INIT
 * on a fresh open is answered.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netvsc/proto.h>

#include "fuzz.h"
#include "hostsim.h"

#define RING (4096u + 32768u) /* each direction, header included */
#define GMEM_PAGES 16u

enum { OP_NVSP, OP_RAW, OP_GPA, OP_SECTION, OP_GMEM, OP_COMP, OP_CHAN, OP_IRQ, OP_STEP, OP_COUNT };

static uint8_t gmem[GMEM_PAGES * VMBUS_HV_PAGE_SIZE];

/* ------------------------------------------------------------------------ */
/* a transport on the heap                                                   */
/* ------------------------------------------------------------------------ */

static int t_offer(struct hs_transport *t, struct hs_dev *dev)
{
	struct hs_chan *ch = dev->chans[0];

	dev->tpriv = t;
	ch->ring_size = 2 * dev->ring_size;
	ch->ring_mem = calloc(1, ch->ring_size);
	dev->recv_buf = calloc(1, dev->recv_size);
	dev->send_buf = calloc(1, dev->send_size);
	CHECK(ch->ring_mem && dev->recv_buf && dev->send_buf);
	return 0;
}

static int t_offer_chan(struct hs_transport *t, struct hs_chan *ch)
{
	(void)t;
	ch->ring_size = 2 * ch->dev->ring_size;
	ch->ring_mem = calloc(1, ch->ring_size);
	CHECK(ch->ring_mem);
	return 0;
}

static void t_rescind_chan(struct hs_transport *t, struct hs_chan *ch)
{
	(void)t;
	free(ch->ring_mem);
	ch->ring_mem = NULL;
}

static void t_rescind(struct hs_transport *t, struct hs_dev *dev)
{
	(void)t;
	if (dev->chans[0]) {
		free(dev->chans[0]->ring_mem);
		dev->chans[0]->ring_mem = NULL;
	}
	free(dev->recv_buf);
	free(dev->send_buf);
	dev->recv_buf = dev->send_buf = NULL;
	dev->tpriv = NULL;
}

static int t_signal(struct hs_transport *t, struct hs_chan *ch)
{
	(void)t;
	(void)ch;
	return 0;
}

/* Guest memory: page numbers 0x100000 + i name page i of gmem; a copy stays
 * within one page, as the transports' do. */
static int t_guest_copy(struct hs_transport *t, struct hs_dev *dev, uint64_t pfn, uint32_t off,
			void *buf, uint32_t len, bool write)
{
	uint8_t *p;

	(void)t;
	(void)dev;
	if (pfn < 0x100000 || pfn - 0x100000 >= GMEM_PAGES || off >= VMBUS_HV_PAGE_SIZE ||
	    len > VMBUS_HV_PAGE_SIZE - off)
		return -EFAULT;
	p = gmem + (pfn - 0x100000) * VMBUS_HV_PAGE_SIZE + off;
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	return 0;
}

static void t_update_attrs(struct hs_transport *t, struct hs_dev *dev)
{
	(void)t;
	(void)dev;
}

static void t_destroy(struct hs_transport *t)
{
	free(t);
}

static const struct hs_transport_ops heap_ops = {
	.name = "heap",
	.plays_kernel = true,
	.offer = t_offer,
	.offer_chan = t_offer_chan,
	.rescind_chan = t_rescind_chan,
	.rescind = t_rescind,
	.signal = t_signal,
	.guest_copy = t_guest_copy,
	.update_attrs = t_update_attrs,
	.destroy = t_destroy,
};

/* ------------------------------------------------------------------------ */
/* the guest                                                                 */
/* ------------------------------------------------------------------------ */

struct guest {
	struct hs_bus bus;
	struct hs_dev *dev;
	struct vmbus_chan *c[HS_MAX_CHANS]; /* the guest's end of each channel */
	unsigned int cur;
};

/* The guest's end of channel @i, made when the host has it open. */
static struct vmbus_chan *gchan(struct guest *g, unsigned int i)
{
	struct hs_chan *ch = g->dev->chans[i];
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };

	if (!ch || !ch->open || !ch->ring_mem)
		return NULL;
	if (g->c[i])
		return g->c[i];
	o.tx = ch->ring_mem;
	o.tx_size = ch->ring_size / 2;
	o.rx = (uint8_t *)ch->ring_mem + ch->ring_size / 2;
	o.rx_size = ch->ring_size / 2;
	o.hdr_size = VMBUS_HV_PAGE_SIZE;
	o.xfer_limit = g->dev->recv_size;
	if (vmbus_chan_attach(&o, &g->c[i]))
		return NULL;
	return g->c[i];
}

static void guest_drop_chans(struct guest *g)
{
	unsigned int i;

	for (i = 0; i < HS_MAX_CHANS; i++) {
		vmbus_chan_detach(g->c[i]);
		g->c[i] = NULL;
	}
}

/* The host runs; the guest takes what came back and says it has room. */
static void step(struct guest *g)
{
	unsigned int i, n;

	hs_bus_step(&g->bus);
	for (i = 0; i < HS_MAX_CHANS; i++) {
		struct vmbus_chan *c;
		struct vmbus_pkt pkt;

		if (!g->dev->chans[i] || !g->dev->chans[i]->open) {
			/* a subchannel the host took back: its ring is gone */
			vmbus_chan_detach(g->c[i]);
			g->c[i] = NULL;
			continue;
		}
		c = gchan(g, i);
		if (!c)
			continue;
		for (n = 0; n < 4096 && vmbus_chan_peek(c, &pkt) >= 0; n++)
			vmbus_chan_consume(c);
		vmbus_chan_recv_commit(c);
		hs_chan_signalled(g->dev->chans[i]);
	}
	hs_bus_step(&g->bus);
}

static void guest_start(struct guest *g, enum hs_reaction reaction)
{
	struct hs_opts o = {
		.nics = 1,
		.wire = "echo",
		.mtu_max = 9000,
		.max_queues = 8,
		.monitored = true,
		.latency_us = 100,
		.reaction = reaction,
		.link_speed_bps = 10000000000ull,
		.ring_size = RING,
		.recv_size = 128u << 10,
		.send_size = 64u << 10,
	};
	struct hs_transport *t = calloc(1, sizeof(*t));

	memset(g, 0, sizeof(*g));
	CHECK(t);
	t->ops = &heap_ops;
	t->bus = &g->bus;
	CHECK(hs_bus_init(&g->bus, &o) == 0);
	g->bus.tp = t;
	CHECK(hs_wire_open(&g->bus, "echo", &g->bus.wire) == 0);
	CHECK(hs_offer_nic(&g->bus, NULL, &g->dev) == 0);
	hs_dev_opened(g->dev);
	CHECK(g->dev->connected);
}

static void send_gpa(struct guest *g, struct vmbus_chan *c, const uint8_t *p, size_t len)
{
	struct vmbus_gpa_buf b[4];
	uint64_t pfns[4][4];
	size_t at = 0;
	unsigned int n = 0, k;
	uint8_t inband[40] = { 0 };
	struct iovec iov = { inband, sizeof(inband) };

	(void)g;
	memcpy(inband, p, len < sizeof(inband) ? len : sizeof(inband));
	at = len < sizeof(inband) ? len : sizeof(inband);
	while (n < 4 && at + 5 <= len) {
		uint16_t blen;

		memcpy(&blen, p + at, 2);
		b[n].len = blen ? blen : 1;
		b[n].offset = (uint32_t)(p[at + 2] * 16u) % VMBUS_HV_PAGE_SIZE;
		for (k = 0; k < 4; k++)
			pfns[n][k] = p[at + 3] & 0x80 ? (uint64_t)p[at + 4] << 20 | k :
							0x100000u + (p[at + 4] + k) % (GMEM_PAGES + 2);
		if (((uint64_t)b[n].offset + b[n].len + 4095) / 4096 > 4)
			b[n].len = 4 * 4096 - b[n].offset;
		b[n].pfn = pfns[n];
		at += 5;
		n++;
	}
	if (n)
		vmbus_chan_send_gpa(c, VMBUS_SEND_COMPLETION, 1 + p[0], b, n, &iov, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest g;
	struct fuzz_rec r;
	size_t at = 1;
	unsigned int ops = 0;

	if (size < 1)
		return 0;
	hs_verbose = -1;
	guest_start(&g, data[0] & 1 ? HS_REACT_FAIL : HS_REACT_STOP);
	while (fuzz_next(data, size, &at, OP_COUNT, false, &ops, 64, &r)) {
		unsigned int op = r.op;
		size_t len = r.len;
		const uint8_t *p = r.p;
		struct vmbus_chan *c;

		c = gchan(&g, g.cur);
		switch (op) {
		case OP_NVSP: {
			uint8_t m[NVSP_MSG_SIZE] = { 0 };

			if (!c)
				break;
			/* short messages padded to 40 bytes as guests send them */
			memcpy(m, p, len < sizeof(m) ? len : sizeof(m));
			vmbus_chan_send(c, len & 1 ? 0 : VMBUS_SEND_COMPLETION, 1 + (len & 0xff),
					len > sizeof(m) ? p : m, len > sizeof(m) ? len : sizeof(m));
			break;
		}
		case OP_RAW:
			if (c && len) {
				struct iovec iov = { (void *)p, len };

				if (vmbus_ring_write(vmbus_chan_tx_ring(c), &iov, 1) == 0)
					vmbus_ring_write_commit(vmbus_chan_tx_ring(c));
			}
			break;
		case OP_GPA:
			if (c)
				send_gpa(&g, c, p, len);
			break;
		case OP_SECTION: {
			uint32_t off = 0;

			if (len < 3 || !g.dev->send_buf)
				break;
			memcpy(&off, p, 3);
			off %= (uint32_t)g.dev->send_size;
			memcpy((uint8_t *)g.dev->send_buf + off, p + 3,
			       len - 3 < g.dev->send_size - off ? len - 3 : g.dev->send_size - off);
			break;
		}
		case OP_GMEM: {
			uint32_t off = 0;

			if (len < 2)
				break;
			memcpy(&off, p, 2);
			off = off * 4u % sizeof(gmem);
			memcpy(gmem + off, p + 2, len - 2 < sizeof(gmem) - off ? len - 2 : sizeof(gmem) - off);
			break;
		}
		case OP_COMP:
			if (c)
				vmbus_chan_send_completion(c, 0, len ? p[0] : 0, len > 1 ? p + 1 : NULL,
							   len > 1 ? len - 1 : 0);
			break;
		case OP_CHAN:
			g.cur = (len ? p[0] : 0) % HS_MAX_CHANS;
			break;
		case OP_IRQ: {
			int32_t v = 0;

			memcpy(&v, p, len < 4 ? len : 4);
			hs_dev_irqcontrol(g.dev, v);
			break;
		}
		case OP_STEP:
			step(&g);
			break;
		}
	}
	step(&g);
	/* closed and opened again, the host answers a fresh INIT */
	guest_drop_chans(&g);
	hs_dev_closed(g.dev);
	hs_dev_opened(g.dev);
	{
		struct vmbus_chan *c = gchan(&g, 0);
		struct nvsp_init init = { .type = NVSP_MSG_INIT, .ver_min = NVSP_VERSION_61,
					  .ver_max = NVSP_VERSION_61 };
		uint8_t m[NVSP_MSG_SIZE] = { 0 };
		struct vmbus_pkt pkt;

		CHECK(c);
		memcpy(m, &init, sizeof(init));
		CHECK(vmbus_chan_send(c, VMBUS_SEND_COMPLETION, 1, m, sizeof(m)) == 0);
		/* the guest signals its first packet, as it must */
		hs_chan_signalled(g.dev->chans[0]);
		hs_bus_step(&g.bus);
		CHECK(vmbus_chan_peek(c, &pkt) > 0 && pkt.type == VMBUS_PKT_COMPLETION &&
		      pkt.tid == 1);
	}
	guest_drop_chans(&g);
	hs_bus_fini(&g.bus);
	return 0;
}
