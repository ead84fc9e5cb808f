/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: libnetvsc's queue 0 against a host that writes
 * anything.  The queue is set up as attach leaves it (receive buffer,
 * send buffer with control and data sections, descriptors), over a
 * channel on heap rings whose other end the input drives:
 *
 *   byte 0     the receive section size, byte 1 where frames go
 *              (callback, array, dropped during attach)
 *   then ops   [op][len][len bytes]:
 *     PKT      any bytes as one record in the incoming ring: descriptor,
 *              type-specific header, payload, whatever they claim
 *     XFER     a well-framed transfer-page packet (receive buffer id,
 *              RNDIS_PKT in band) with the ranges the bytes give
 *     RXBUF    bytes into the receive buffer, at an offset they give
 *     COMP     a completion for transaction id N with the bytes as payload
 *     INBAND   the bytes as an in-band NVSP message (notifications)
 *     SEND     the guest sends frames (descriptors in flight to complete)
 *     KEEP     the guest sends a keepalive (a control request to answer)
 *     SERVICE  the guest polls (netvsc_poll, netvsc_recv or attach's wait)
 *     INDEX    the host writes a ring index of its choice
 *
 * So every parser of host data in the receive path runs on it: packet
 * descriptors, transfer-page ranges against the receive buffer and the
 * section size, RNDIS data messages with per-packet info, control
 * replies and indications, NVSP notifications, completions against the
 * descriptors in flight.
 *
 * Properties: only 0/counts, -EPROTO or -ENODEV (the device state says
 * which, and stays); every frame delivered lies in the queue's private
 * copy and holds 14 .. mtu + 18 bytes; the counters only grow.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "priv.h"

#define RING_HDR 4096u
#define RING_DATA (64u * 1024u)
#define RXBUF (256u * 1024u)
#define SECTION 6144u
#define DATA_SECTIONS 64u
#define MTU 1500u

enum { OP_PKT, OP_XFER, OP_RXBUF, OP_COMP, OP_INBAND, OP_SEND, OP_KEEP, OP_SERVICE, OP_INDEX,
       OP_COUNT };

struct world {
	uint8_t *g2h, *h2g, *rxbuf, *txbuf;
	struct vmbus_chan *guest, *host;
	struct netvsc_dev *nd;
	unsigned int delivered;
};

static const uint32_t sections[] = { 1806, 4096, 68, 9289, 2048, 6144 };

static void on_rx(void *arg, const struct netvsc_rx_frame *f)
{
	struct world *w = arg;
	const struct nv_queue *q = &w->nd->q[0];
	const uint8_t *lo = q->copy, *hi = q->copy + (size_t)(NETVSC_RECV_MAX + 1) * q->copy_slot;

	CHECK((const uint8_t *)f->data >= lo && (const uint8_t *)f->data + f->len <= hi);
	CHECK(f->len >= 14 && f->len <= MTU + 18);
	CHECK(f->queue == 0);
	w->delivered++;
}

static void world_make(struct world *w, uint32_t slot, bool attached)
{
	struct netvsc_dev *nd;
	struct nv_queue *q;

	static uint8_t *g2h, *h2g, *rxbuf, *txbuf;

	/* the memory is kept between inputs; what an input may read is reset */
	if (!g2h) {
		g2h = malloc(RING_HDR + RING_DATA);
		h2g = malloc(RING_HDR + RING_DATA);
		rxbuf = malloc(RXBUF);
		txbuf = malloc((size_t)(NV_CTL_SLOTS + DATA_SECTIONS) * SECTION);
		CHECK(g2h && h2g && rxbuf && txbuf);
	}
	memset(g2h, 0, RING_HDR);
	memset(h2g, 0, RING_HDR);
	memset(rxbuf, 0, RXBUF);
	memset(w, 0, sizeof(*w));
	w->g2h = g2h;
	w->h2g = h2g;
	w->rxbuf = rxbuf;
	w->txbuf = txbuf;
	fuzz_chan_pair(g2h, h2g, RING_HDR + RING_DATA, RING_HDR, RXBUF, &w->guest, &w->host);

	/* the device as attach leaves it */
	nd = w->nd = calloc(1, sizeof(*nd));
	CHECK(nd);
	memcpy(nd->guid, "fuzz", 5);
	nd->ops.sz = sizeof(nd->ops);
	nd->ops.rx = on_rx;
	nd->ops.arg = w;
	nd->timeout_ms = 1000;
	nd->drain_ms = 0;
	nd->attached = attached;
	nd->nq = 1;
	nd->info.mtu = MTU;
	nd->info.nvsp_version = NVSP_VERSION_61;
	nd->ndis_version = NDIS_VERSION_6_30;
	nd->vinfo.recv_buf = w->rxbuf;
	nd->vinfo.recv_size = RXBUF;
	nd->vinfo.send_buf = w->txbuf;
	nd->vinfo.send_size = (size_t)(NV_CTL_SLOTS + DATA_SECTIONS) * SECTION;
	nd->rx_section_size = slot;
	nd->rx_section_count = RXBUF / slot;
	nd->tx_section_size = SECTION;
	nd->tx_section_count = NV_CTL_SLOTS + DATA_SECTIONS;
	nd->agg_pkts = 8;
	nd->agg_align = 8;
	nd->max_xfer = SECTION;
	nd->next_rid = 1;
	/* control messages in the first send sections, as attach leaves them
	 * without DMA memory (nv_rndis_control_setup) */
	nd->ctl_sections = NV_CTL_SLOTS;
	for (nd->nctl_slot_free = 0; nd->nctl_slot_free < NV_CTL_SLOTS; nd->nctl_slot_free++)
		nd->ctl_slot_free[nd->nctl_slot_free] = NV_CTL_SLOTS - 1 - nd->nctl_slot_free;
	/* queue 0 as nv_queue_init makes it, on our channel */
	q = &nd->q[0];
	q->nd = nd;
	q->idx = 0;
	q->chan = w->guest;
	q->open = -1;
	q->reserve = NV_REQ_DESCS + NV_CTL_SLOTS;
	CHECK(nv_queue_size_rx(q) == 0);
	CHECK(nv_queue_init(q, nd, 0, NV_CTL_SLOTS, DATA_SECTIONS) == 0);
}

static void world_free(struct world *w)
{
	/* the device has no vmbus_device: detach frees the queues and itself */
	netvsc_detach(w->nd);
	vmbus_chan_detach(w->guest);
	vmbus_chan_detach(w->host);
}

/* The host reads what the guest wrote, so its ring never stays full. */
static void host_drain(struct world *w)
{
	struct vmbus_pkt pkt;
	int n = 0;

	while (n++ < 4096 && vmbus_chan_peek(w->host, &pkt) >= 0)
		vmbus_chan_consume(w->host);
	vmbus_chan_recv_commit(w->host);
}

static void host_raw(struct world *w, const uint8_t *p, size_t len)
{
	struct iovec iov = { (void *)p, len };

	if (len == 0 || vmbus_ring_write(vmbus_chan_tx_ring(w->host), &iov, 1))
		return;
	vmbus_ring_write_commit(vmbus_chan_tx_ring(w->host));
}

static void host_xfer(struct world *w, const uint8_t *p, size_t len)
{
	struct vmbus_xfer_range r[64];
	struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT, .channel_type = NVSP_CHANNEL_DATA,
				    .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t msg[NVSP_MSG_SIZE] = { 0 };
	struct iovec iov = { msg, sizeof(msg) };
	uint64_t tid = 0;
	size_t n = len / sizeof(r[0]);

	if (n > 64)
		n = 64;
	memcpy(r, p, n * sizeof(r[0]));
	if (len >= 2)
		memcpy(&tid, p + len - 2, 2);
	memcpy(msg, &m, sizeof(m));
	vmbus_chan_send_xfer(w->host, len & 1 ? 0 : VMBUS_SEND_COMPLETION, tid, NVSP_RXBUF_ID, r,
			     (unsigned int)n, &iov, 1);
}

static void service(struct world *w, uint8_t how)
{
	struct netvsc_rx_frame fr[NETVSC_RECV_MAX];
	struct nv_queue *q = &w->nd->q[0];
	int rc;

	/* no vmbus_device behind this queue: never due for the idle poller's
	 * rescind check (vmbus_dev_check), which reads no host data anyway */
	q->empty_polls = 0;
	switch (how % 3) {
	case 0:
		rc = netvsc_poll(w->nd, 0, how >> 2);
		break;
	case 1:
		rc = netvsc_recv(w->nd, 0, fr, 1 + (how >> 2) % NETVSC_RECV_MAX);
		for (int i = 0; rc > 0 && i < rc; i++)
			on_rx(w, &fr[i]);
		break;
	default:
		rc = nv_service(q, SINK_DROP, 0, NULL, NULL);
		break;
	}
	CHECK(rc >= 0 || rc == -EPROTO || rc == -ENODEV);
	if (rc < 0)
		CHECK(netvsc_state(w->nd) == rc);
	host_drain(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netvsc_queue_stats st = { .sz = sizeof(st) }, st2 = { .sz = sizeof(st2) };
	struct world w;
	struct fuzz_rec r;
	size_t at = 2;
	unsigned int ops = 0;
	int dead;

	if (size < 2)
		return 0;
	world_make(&w, sections[data[0] % (sizeof(sections) / sizeof(sections[0]))],
		   !(data[1] & 1));
	while (fuzz_next(data, size, &at, OP_COUNT, false, &ops, 64, &r)) {
		unsigned int op = r.op;
		size_t len = r.len;
		const uint8_t *p = r.p;

		netvsc_stats(w.nd, 0, &st);
		switch (op) {
		case OP_PKT:
			host_raw(&w, p, len);
			break;
		case OP_XFER:
			host_xfer(&w, p, len);
			break;
		case OP_RXBUF: {
			uint32_t off = 0;

			if (len < 4)
				break;
			memcpy(&off, p, 4);
			off %= RXBUF;
			memcpy(w.rxbuf + off, p + 4, len - 4 < RXBUF - off ? len - 4 : RXBUF - off);
			break;
		}
		case OP_COMP: {
			uint64_t tid = len ? p[0] : 0;

			vmbus_chan_send_completion(w.host, 0, tid, len > 1 ? p + 1 : NULL,
						   len > 1 ? len - 1 : 0);
			break;
		}
		case OP_INBAND:
			vmbus_chan_send(w.host, len & 1 ? VMBUS_SEND_COMPLETION : 0, 7, p, len);
			break;
		case OP_SEND: {
			uint8_t f[MTU + 18];
			uint32_t flen = len ? 14 + (p[0] * 7u) % (MTU + 5) : 60;
			unsigned int k, n = len > 1 ? 1 + p[1] % 16 : 1;
			int rc;

			memset(f, 0x5a, sizeof(f));
			for (k = 0; k < n; k++) {
				rc = netvsc_send(w.nd, 0, f, flen, NULL, k + 1 < n ? NETVSC_SEND_MORE : 0);
				CHECK(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || rc == -EPROTO ||
				      rc == -ENODEV);
			}
			host_drain(&w);
			break;
		}
		case OP_KEEP: {
			int rc = netvsc_keepalive(w.nd);

			CHECK(rc == 0 || rc == -EAGAIN || rc == -EBUSY || rc == -EPROTO ||
			      rc == -ENODEV);
			host_drain(&w);
			break;
		}
		case OP_SERVICE:
			service(&w, len ? p[0] : 0);
			break;
		case OP_INDEX: {
			struct vmbus_ring_hdr *h = vmbus_ring_hdr(vmbus_chan_rx_ring(w.guest));
			uint32_t v = 0;

			memcpy(&v, p, len < 4 ? len : 4);
			if (len > 4 && (p[4] & 1))
				__atomic_store_n(&h->write_index, v, __ATOMIC_RELEASE);
			else
				__atomic_store_n(&h->pending_send_sz, v, __ATOMIC_RELEASE);
			break;
		}
		}
		netvsc_stats(w.nd, 0, &st2);
		CHECK(st2.rx_packets >= st.rx_packets && st2.rx_errors >= st.rx_errors &&
		      st2.tx_packets >= st.tx_packets && st2.rx_oversize >= st.rx_oversize);
	}
	service(&w, 0);
	dead = netvsc_state(w.nd);
	CHECK(dead == 0 || dead == -EPROTO || dead == -ENODEV);
	if (dead)
		CHECK(netvsc_poll(w.nd, 0, 0) == dead);
	world_free(&w);
	return 0;
}
