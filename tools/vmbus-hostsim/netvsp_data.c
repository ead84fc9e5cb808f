/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: the data path (OpenVMM's netvsp).  Frames for the guest go in
 * whole receive slots, up to 375 per transfer-page packet whose
 * transaction id is the batch's first slot, on the queue RSS picks, and
 * only once the guest set a non-zero packet filter; each queue holds at
 * most its share of the slots.  Frames from the guest come in send-buffer
 * sections or GPA-direct pages, as one or more RNDIS data packets; a bad
 * one gets a FAILURE completion.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "netvsp.h"
#include "prefetch.h"

/* ------------------------------------------------------------------------ */
/* receive slots                                                             */
/* ------------------------------------------------------------------------ */

/* FIFO positions wrap without a division (one per frame was measurable). */
static inline uint32_t slot_pos(const struct nsp_state *ns, uint32_t i)
{
	return i >= ns->nslots ? i - ns->nslots : i;
}

static void slot_free(struct nsp_state *ns, uint32_t s)
{
	ns->free_slots[slot_pos(ns, ns->free_head + ns->nfree++)] = s;
}

static uint32_t slot_take(struct nsp_state *ns)
{
	uint32_t s = ns->free_slots[ns->free_head];

	ns->free_head = slot_pos(ns, ns->free_head + 1);
	ns->nfree--;
	return s;
}

/* Puts back the slot slot_take() gave last, at the front. */
static void slot_untake(struct nsp_state *ns, uint32_t s)
{
	ns->free_head = slot_pos(ns, ns->free_head + ns->nslots - 1);
	ns->free_slots[ns->free_head] = s;
	ns->nfree++;
}

void nsp_slots_reset(struct nsp_state *ns)
{
	uint32_t i;

	ns->nfree = 0;
	ns->free_head = 0;
	for (i = 0; i < ns->nslots; i++) {
		ns->slot_batch[i] = -1;
		ns->batch_len[i] = 0;
	}
	/* data slots, handed out lowest first */
	for (i = NSP_CTL_SLOTS; i < ns->nslots; i++)
		slot_free(ns, i);
	ns->ctl_busy = 0;
	for (i = 0; i < HS_MAX_CHANS; i++)
		ns->q[i].slots_out = 0;
}

/* A queue's share of the data slots, so one queue cannot starve the rest. */
static uint32_t queue_share(struct nsp_state *ns)
{
	uint32_t data = ns->nslots - NSP_CTL_SLOTS;

	return data / nsp_queues(ns) ? data / nsp_queues(ns) : 1;
}

/* The guest completed the batch starting at @head. */
int nsp_slots_release(struct nsp_state *ns, uint64_t tid)
{
	uint32_t head, n, i;

	if (tid >= ns->nslots)
		return -EPROTO;
	head = (uint32_t)tid;
	if (head < NSP_CTL_SLOTS) {
		if (!(ns->ctl_busy & (1u << head)))
			return -EPROTO;
		ns->ctl_busy &= (uint16_t)~(1u << head);
		return 0;
	}
	if (ns->slot_batch[head] != (int32_t)head || !ns->batch_len[head])
		return -EPROTO;
	/* the batch's slots are chained from its head, whatever their order */
	n = ns->batch_len[head];
	for (i = head; n; n--) {
		int32_t next = ns->slot_next[i];

		ns->slot_batch[i] = -1;
		slot_free(ns, i);
		if (ns->q[ns->slot_queue[i]].slots_out)
			ns->q[ns->slot_queue[i]].slots_out--;
		if (next < 0)
			break;
		i = (uint32_t)next;
	}
	ns->batch_len[head] = 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* RSS                                                                       */
/* ------------------------------------------------------------------------ */

static uint32_t toeplitz(const uint8_t *key, const uint8_t *in, size_t len)
{
	uint32_t hash = 0, window;
	size_t i;
	int b;

	window = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		for (b = 7; b >= 0; b--) {
			if (in[i] & (1u << b))
				hash ^= window;
			window <<= 1;
			if (i + 4 < NDIS_RSS_KEY_SIZE && key[i + 4] & (1u << b))
				window |= 1;
		}
	}
	return hash;
}

/*
 * The Toeplitz hash is linear in its input (XOR): the hash of 12 bytes is
 * the XOR of what each byte contributes at its position, so a table of
 * 12 x 256 contributions, made once per key, turns 96 bit steps per frame
 * into 12 lookups.
 */
static void rss_table_make(struct nsp_state *ns)
{
	uint8_t in[NSP_HASH_INPUT];
	unsigned int i, v;

	memset(in, 0, sizeof(in));
	for (i = 0; i < NSP_HASH_INPUT; i++) {
		for (v = 0; v < 256; v++) {
			in[i] = (uint8_t)v;
			ns->rss_tab[i][v] = toeplitz(ns->rss_key, in, i + 1);
		}
		in[i] = 0;
	}
	ns->rss_tab_ok = true;
}

static uint32_t rss_hash(struct nsp_state *ns, const uint8_t *in, size_t len)
{
	uint32_t hash = 0;
	size_t i;

	if (!ns->rss_tab_ok) /* cleared wherever the key changes */
		rss_table_make(ns);
	for (i = 0; i < len; i++)
		hash ^= ns->rss_tab[i][in[i]];
	return hash;
}

/* Hash of an IPv4 frame's addresses (and ports for TCP/UDP); 0 otherwise. */
static uint32_t frame_hash(struct nsp_state *ns, const uint8_t *f, size_t len, bool *hashed)
{
	uint8_t in[12];
	size_t ihl;
	uint8_t proto;

	*hashed = false;
	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return 0;
	ihl = (size_t)(f[14] & 0x0f) * 4;
	if (ihl < 20 || len < 14 + ihl)
		return 0;
	proto = f[14 + 9];
	memcpy(in, f + 14 + 12, 8); /* source, destination */
	*hashed = true;
	/* fragments hash on addresses only, so they stay together */
	if ((proto == 6 || proto == 17) && len >= 14 + ihl + 4 &&
	    !(((f[14 + 6] & 0x3f) << 8 | f[14 + 7]) != 0)) {
		memcpy(in + 8, f + 14 + ihl, 4); /* ports */
		return rss_hash(ns, in, 12);
	}
	return rss_hash(ns, in, 8);
}

static unsigned int pick_queue(struct nsp_state *ns, uint32_t hash, bool hashed)
{
	unsigned int q;

	if (!ns->rss_on || !hashed)
		return 0;
	q = ns->rss_itab[hash % NDIS_RSS_ITAB_ENTRIES];
	return q < nsp_queues(ns) && ns->dev->chans[q] && ns->dev->chans[q]->open ? q : 0;
}

/* ------------------------------------------------------------------------ */
/* the receive path: frames to the guest                                     */
/* ------------------------------------------------------------------------ */

/*
 * Whether the guest's packet filter takes a frame for @dst, as the virtual
 * switch decides: its own address with DIRECTED, broadcast with BROADCAST,
 * multicast with MULTICAST or ALL_MULTICAST (no multicast lists, as on
 * Hyper-V), anything with PROMISCUOUS.
 */
static bool filter_accepts(const struct nsp_state *ns, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (ns->filter & NDIS_PACKET_TYPE_PROMISCUOUS)
		return true;
	if (!memcmp(dst, bcast, 6))
		return ns->filter & NDIS_PACKET_TYPE_BROADCAST;
	if (dst[0] & 1)
		return ns->filter & (NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_ALL_MULTICAST);
	return (ns->filter & NDIS_PACKET_TYPE_DIRECTED) && !memcmp(dst, ns->mac, 6);
}

/*
 * Whether the frames waiting for this NIC can leave without the host
 * reading the guest's ring again: only then may a wire hold the guest's
 * packets back in that ring.  Slots come back with completions that sit in
 * the same ring, behind the packets held back, so waiting for them would
 * stall both sides for good; OpenVMM does not wait either (it drops when
 * its pool is empty).
 */
bool nsp_rx_can_drain(struct nsp_state *ns)
{
	unsigned int i;

	if (!ns->nfree)
		return false;
	for (i = 0; i < nsp_queues(ns); i++)
		if (ns->q[i].rx_count && ns->q[i].slots_out >= queue_share(ns))
			return false;
	return true;
}

unsigned int hs_nic_rx_space(struct hs_dev *dev)
{
	struct nsp_state *ns = nsp_of(dev);
	unsigned int i, space = NSP_RXQ_CAP;

	if (!ns || !dev->connected)
		return UINT_MAX; /* dropped anyway */
	for (i = 0; i < nsp_queues(ns); i++)
		if (NSP_RXQ_CAP - ns->q[i].rx_count < space)
			space = NSP_RXQ_CAP - ns->q[i].rx_count;
	return space;
}

bool hs_nic_rx_room(struct hs_dev *dev, unsigned int frames)
{
	return hs_nic_rx_space(dev) >= frames;
}

/*
 * memcpy, not inlined: the compiler turned the short copies of a frame's
 * parts (and of a send section) into "rep movsq", whose start-up cost was a
 * third of the time a queued frame took; the library's copy is a few vector
 * moves.
 */
static __attribute__((noinline)) void copy_part(uint8_t *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
}

/* Copies bytes [@off, @off + @n) of the frame @head + @tail to @dst. */
static void frame_bytes(uint8_t *dst, size_t off, size_t n, const uint8_t *head, size_t hlen,
			const uint8_t *tail)
{
	if (off < hlen) {
		size_t k = hlen - off < n ? hlen - off : n;

		copy_part(dst, head + off, k);
		dst += k;
		off += k;
		n -= k;
	}
	if (n)
		copy_part(dst, tail + (off - hlen), n);
}

/* A frame in two parts for the guest; @tail_const: @tail outlives the
 * process (hs_nic_rx_ref), else both parts are the caller's until return. */
static int nic_rx(struct hs_dev *dev, const void *head, size_t hlen, const void *tail, size_t tlen,
		  bool tail_const)
{
	struct nsp_state *ns = nsp_of(dev);
	const uint8_t *h = head, *t = tail;
	uint8_t view[NSP_FRAME_INLINE];
	const uint8_t *f;
	struct nsp_queue *q;
	struct nsp_frame *e;
	size_t len, vlen, ilen, skip = 0;
	unsigned int idx;
	bool hashed;
	uint32_t hash;

	/* the parts are the caller's: no sum that wraps */
	if (hlen > NSP_FRAME_MAX || tlen > NSP_FRAME_MAX || (tlen && !t)) {
		if (ns)
			ns->q[0].rx_drops++;
		return -ENOBUFS;
	}
	len = hlen + tlen;
	if (!ns || !dev->connected || !ns->rxbuf || ns->revoked || !ns->rndis_inited ||
	    ns->filter == NDIS_PACKET_TYPE_NONE || !ns->link_up || len < 14 ||
	    len > ns->mtu + 4u) {
		if (ns)
			ns->q[0].rx_drops++;
		return -ENOBUFS;
	}
	/* what the host inspects, in one piece */
	vlen = len < NSP_FRAME_INLINE ? len : NSP_FRAME_INLINE;
	if (hlen >= vlen) {
		f = h;
	} else if (hlen >= 14 && !(h[12] == 0x08 && h[13] == 0x00) &&
		   !(h[12] == 0x81 && h[13] == 0x00)) {
		/* neither IPv4 nor tagged: nothing past the Ethernet header is
		 * read before the slot */
		f = h;
		vlen = hlen;
	} else {
		frame_bytes(view, 0, vlen, h, hlen, t);
		f = view;
	}
	if (!filter_accepts(ns, f)) {
		ns->q[0].rx_filtered++;
		return -ENOBUFS;
	}
	/* with RSS off nothing needs the hash yet (fill_slot makes it if
	 * RSS comes on before the frame leaves) */
	hash = 0;
	hashed = false;
	if (ns->rss_on)
		hash = frame_hash(ns, f, vlen, &hashed);
	q = &ns->q[pick_queue(ns, hash, hashed)];
	if (!q->rxq) {
		/* only queues that carry traffic hold frame storage */
		q->rxq = malloc(NSP_RXQ_CAP * sizeof(*q->rxq));
		if (!q->rxq) {
			q->rx_drops++;
			return -ENOBUFS;
		}
	}
	if (q->rx_count == NSP_RXQ_CAP) {
		q->rx_drops++;
		return -ENOBUFS;
	}
	/* an empty queue starts over at its first entries, whose lines are
	 * still in the cache */
	if (q->rx_count == 0) {
		q->rx_head = 0;
		q->big_wr = q->big_used = 0;
	}
	idx = (q->rx_head + q->rx_count) % NSP_RXQ_CAP;
	e = &q->rxq[idx];
	e->hash = hash;
	e->hash_ok = ns->rss_on;
	e->has_vlan = false;
	e->big_charge = 0;
	e->tail = NULL;
	/* the host takes the 802.1Q tag out of the frame into a PPI */
	if (len >= 18 && f[12] == 0x81 && f[13] == 0x00) {
		e->has_vlan = true;
		e->vlan = (uint16_t)(f[14] << 8 | f[15]);
		skip = 4;
	}
	e->len = (uint16_t)(len - skip);
	e->ilen = (uint16_t)(e->len < NSP_FRAME_INLINE ? e->len : NSP_FRAME_INLINE);
	/* with a constant tail, the entry holds what was inspected
	 * (rx_csum_flags reads no more), to a whole line: the tail's copy
	 * into the slot then starts on a line of its own */
	ilen = ((vlen > hlen ? vlen : hlen) + 63u) & ~(size_t)63u;
	if (tail_const && !skip && tlen && ilen <= NSP_FRAME_INLINE && len > ilen) {
		e->ilen = (uint16_t)ilen;
		frame_bytes(e->head, 0, ilen, h, hlen, t);
		e->tail = t + (ilen - hlen);
	} else {
		/* bytes [0, 12) and [12 + skip, len) of the frame */
		frame_bytes(e->head, 0, 12, h, hlen, t);
		frame_bytes(e->head + 12, 12 + skip, e->ilen - 12u, h, hlen, t);
		if (e->len > NSP_FRAME_INLINE) {
			/* packed after the previous tail (a fixed place per
			 * entry spread them over 9 MiB: every copy in and out
			 * missed the cache and the TLB) */
			uint32_t n = ((uint32_t)e->len - NSP_FRAME_INLINE + 63u) & ~63u;
			uint32_t off = q->big_wr, charge = n;

			if (!q->rxbig) {
				q->rxbig = malloc(NSP_RXBIG_SIZE);
				if (!q->rxbig) {
					q->rx_drops++;
					return -ENOBUFS;
				}
			}
			if (NSP_RXBIG_SIZE - off < n) {
				/* no room before the end: the gap goes with it */
				charge += NSP_RXBIG_SIZE - off;
				off = 0;
				q->big_wraps++;
			}
			if (q->big_used + charge > NSP_RXBIG_SIZE) {
				/* (sized so that this cannot happen) */
				q->rx_drops++;
				return -ENOBUFS;
			}
			frame_bytes(q->rxbig + off, NSP_FRAME_INLINE + skip, e->len - NSP_FRAME_INLINE,
				    h, hlen, t);
			e->tail = q->rxbig + off;
			e->big_charge = (uint16_t)charge;
			q->big_wr = off + n;
			q->big_used += charge;
		}
	}
	q->rx_count++;
	dev->bus->work = true;
	return 0;
}

int hs_nic_rx(struct hs_dev *dev, const void *frame, size_t len)
{
	return nic_rx(dev, frame, len, NULL, 0, false);
}

int hs_nic_rx_parts(struct hs_dev *dev, const void *head, size_t hlen, const void *tail,
		    size_t tlen)
{
	return nic_rx(dev, head, hlen, tail, tlen, false);
}

int hs_nic_rx_ref(struct hs_dev *dev, const void *head, size_t hlen, const void *tail,
		  size_t tlen)
{
	return nic_rx(dev, head, hlen, tail, tlen, true);
}

static inline void put_u32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static uint32_t put_ppi(uint8_t *p, uint32_t type, uint32_t value)
{
	put_u32(p, offsetof(struct rndis_ppi, size), RNDIS_PPI_U32_SIZE);
	put_u32(p, offsetof(struct rndis_ppi, type), type);
	put_u32(p, offsetof(struct rndis_ppi, offset), sizeof(struct rndis_ppi));
	put_u32(p, sizeof(struct rndis_ppi), value);
	return RNDIS_PPI_U32_SIZE;
}

static uint32_t rx_csum_flags(const struct nsp_frame *fr)
{
	const uint8_t *f = fr->head;

	if (fr->len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	/* the host checked the checksums for the guest */
	if (f[14 + 9] == 6)
		return NDIS_RXCSUM_IP_OK | NDIS_RXCSUM_TCP_OK;
	if (f[14 + 9] == 17)
		return NDIS_RXCSUM_IP_OK | NDIS_RXCSUM_UDP_OK;
	return NDIS_RXCSUM_IP_OK;
}

/* The bytes of per-packet information fill_slot() writes for @fr. */
static uint32_t rx_ppi_len(const struct nsp_state *ns, const struct nsp_frame *fr)
{
	return RNDIS_PPI_U32_SIZE * (1u + (fr->has_vlan ? 1u : 0u) +
				     (ns->rss_on && ns->nvsp_ver >= NVSP_VERSION_5 ? 2u : 0u));
}

/* Writes frame @fr into slot @s as an RNDIS_PACKET filling the slot. */
static void fill_slot(struct nsp_state *ns, uint32_t s, const struct nsp_frame *fr)
{
	uint8_t *slot = (uint8_t *)ns->dev->recv_buf + (size_t)s * ns->slot_size;
	uint32_t ppi = 0;
	uint8_t *pp = slot + sizeof(struct rndis_packet);

	ppi += put_ppi(pp + ppi, RNDIS_PPI_CSUM, rx_csum_flags(fr));
	/* NDIS order: priority in bits 2..0, CFI/DEI bit 3, VLAN id 15..4 */
	if (fr->has_vlan)
		ppi += put_ppi(pp + ppi, RNDIS_PPI_8021Q,
			       (uint32_t)(fr->vlan >> 13) |
				       (uint32_t)(fr->vlan & 0xfff) << NDIS_VLAN_ID_SHIFT |
				       ((fr->vlan & 0x1000) ? NDIS_VLAN_CFI : 0));
	if (ns->rss_on && ns->nvsp_ver >= NVSP_VERSION_5) {
		uint32_t hash = fr->hash;
		bool hashed;

		/* an 802.1Q-tagged frame is not hashed (frame_hash) */
		if (!fr->hash_ok && !fr->has_vlan)
			hash = frame_hash(ns, fr->head, fr->ilen, &hashed);
		ppi += put_ppi(pp + ppi, RNDIS_PPI_HASH_VALUE, hash);
		ppi += put_ppi(pp + ppi, RNDIS_PPI_HASH_INFO, ns->rss_hash_info);
	}
	/* the header goes straight into the slot, field by field: built on
	 * the stack and copied, its 16-byte loads waited for the narrower
	 * stores before them, and so for every store still queued to the
	 * slots (most of the host's time per frame) */
	memset(slot, 0, sizeof(struct rndis_packet));
	put_u32(slot, offsetof(struct rndis_packet, type), RNDIS_MSG_PACKET);
	put_u32(slot, offsetof(struct rndis_packet, len), ns->slot_size);
	put_u32(slot, offsetof(struct rndis_packet, data_offset),
		NSP_DATA_OFFSET - RNDIS_PACKET_OFFSET_BASE);
	put_u32(slot, offsetof(struct rndis_packet, data_len),
		ns->fault == HS_FAULT_TRUNCATED_RNDIS ?
			ns->slot_size : /* more data than the slot holds */
			fr->len);
	put_u32(slot, offsetof(struct rndis_packet, ppi_offset),
		sizeof(struct rndis_packet) - RNDIS_PACKET_OFFSET_BASE);
	put_u32(slot, offsetof(struct rndis_packet, ppi_len), ppi);
	memcpy(slot + NSP_DATA_OFFSET, fr->head, fr->ilen);
	if (fr->tail)
		memcpy(slot + NSP_DATA_OFFSET + fr->ilen, fr->tail, (size_t)(fr->len - fr->ilen));
	if (ns->fault == HS_FAULT_TRUNCATED_RNDIS)
		ns->fault = HS_FAULT_NONE;
}

/*
 * How many slots ahead to fetch for frames of @len bytes: about 100 lines
 * in flight, 4 to 16 slots (no division per frame).  A quarter of that
 * left the host's stores waiting for lines that came from beyond the
 * other core's cache: a queue's slots go round the whole receive buffer,
 * 31 MiB by default.
 */
static inline uint32_t prefetch_distance(uint32_t len)
{
	/* 2 header lines + the frame's: 64 B -> 16, 512 B -> 8, 1500 B -> 4 */
	return len <= 192 ? 16 : len <= 320 ? 12 : len <= 640 ? 8 : 4;
}

/* Sends what waits on queue @qi, in batches, while slots and ring space last. */
void nsp_rx_flush(struct nsp_state *ns, unsigned int qi)
{
	struct hs_chan *ch = ns->dev->chans[qi];
	struct nsp_queue *q = &ns->q[qi];
	struct vmbus_xfer_range ranges[NSP_RX_BATCH];
	struct nvsp_rndis_pkt msg = { .type = NVSP_MSG_RNDIS_PKT,
				      .channel_type = NVSP_CHANNEL_DATA,
				      .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t out[NVSP_MSG_SIZE];
	struct iovec iov = { out, nsp_out_size(ns) };
	uint32_t share = queue_share(ns);

	if (!ch || !ch->open || ch->stopped || ch->tx_blocked)
		return;
	memset(out, 0, sizeof(out));
	memcpy(out, &msg, sizeof(msg));
	while (q->rx_count) {
		uint32_t slots[NSP_RX_BATCH], n = 0, i, d, head, big = 0;
		uint64_t bytes = 0;
		int ret;

		while (n < NSP_RX_BATCH && n < q->rx_count && ns->nfree && q->slots_out + n < share)
			slots[n++] = slot_take(ns);
		if (n == 0)
			return; /* wait for the guest to complete earlier batches */
		/* the lowest slot of the batch is its transaction id */
		head = slots[0];
		for (i = 0; i < n; i++)
			if (slots[i] < head)
				head = slots[i];
		for (i = 0; i < n; i++) {
			const struct nsp_frame *fr = &q->rxq[(q->rx_head + i) % NSP_RXQ_CAP];

			/* the guest touched these slots last: ask for their lines a
			 * few slots ahead, so the transfers overlap */
			d = prefetch_distance(fr->len);
			if (i + d < n) {
				uint8_t *ahead = (uint8_t *)ns->dev->recv_buf +
						 (size_t)slots[i + d] * ns->slot_size;
				const struct nsp_frame *fa = &q->rxq[(q->rx_head + i + d) % NSP_RXQ_CAP];
				uint32_t off;

				prefetch_w(ahead);
				/* the second line only if the PPIs reach it */
				if (sizeof(struct rndis_packet) + rx_ppi_len(ns, fa) > 64)
					prefetch_w(ahead + 64);
				for (off = NSP_DATA_OFFSET; off < NSP_DATA_OFFSET + fa->len; off += 64)
					prefetch_w(ahead + off);
			}
			fill_slot(ns, slots[i], fr);
			bytes += fr->len;
			big += fr->big_charge;
			ranges[i].byte_offset = slots[i] * ns->slot_size;
			/* a whole slot, not the frame length (netvsp) */
			ranges[i].byte_count = ns->slot_size;
		}
		if (ns->fault == HS_FAULT_BAD_XFER_RANGE) {
			ranges[0].byte_offset = (uint32_t)ns->dev->recv_size - 8;
			ns->fault = HS_FAULT_NONE;
		}
		/* netvsp asks for every batch's completion; a host that does
		 * not ask (fault) still needs one to free the slots */
		ret = vmbus_chan_send_xfer(ch->vc,
					   (ns->fault == HS_FAULT_RX_NO_COMPLETION_FLAG ?
						    0 :
						    VMBUS_SEND_COMPLETION) |
						   VMBUS_SEND_MORE,
					   head, ns->rxbuf_id, ranges, n, &iov, 1);
		if (ret) {
			/* give the slots back; wait for room (dropping is for a
			 * full ring under load, but our wires are patient) */
			for (i = n; i > 0; i--)
				slot_untake(ns, slots[i - 1]);
			if (ret == -EAGAIN)
				hs_chan_wait_tx(ch, 16 + 24 + 8 * n + NVSP_MSG_SIZE + 16);
			else
				hs_chan_stop(ch, "cannot write the host-to-guest ring");
			break;
		}
		/* chain the batch from its head (the lowest slot) through the rest */
		{
			uint32_t prev = head;

			for (i = 0; i < n; i++) {
				ns->slot_batch[slots[i]] = (int32_t)head;
				ns->slot_queue[slots[i]] = (uint8_t)qi;
				if (slots[i] == head)
					continue;
				ns->slot_next[prev] = (int32_t)slots[i];
				prev = slots[i];
			}
			ns->slot_next[prev] = -1;
		}
		q->rx_bytes += bytes;
		q->rx_head = (q->rx_head + n) % NSP_RXQ_CAP;
		q->rx_count -= n;
		q->big_used -= big;
		ns->batch_len[head] = (uint16_t)n;
		q->slots_out += n;
		q->rx_frames += n;
		q->rx_batches++;
	}
	vmbus_chan_flush(ch->vc);
}

/* ------------------------------------------------------------------------ */
/* the transmit path: RNDIS data from the guest                              */
/* ------------------------------------------------------------------------ */

/*
 * Gathers the RNDIS bytes of an RNDIS_PKT into ns->scratch: the send
 * section if one is named, then every GPA range.  Returns the length,
 * -EPROTO for what netvsp treats as fatal, -EBADMSG for a packet that gets
 * a FAILURE completion.
 */
static int64_t gather(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		      const struct nvsp_rndis_pkt *rp)
{
	struct hs_dev *dev = ns->dev;
	uint64_t len = 0;

	if (rp->section_index != NVSP_CHIM_IDX_NONE) {
		/* OpenVMM parse_packet: a section outside the send buffer, or
		 * any section with no send buffer connected (which includes
		 * every RNDIS packet during initialisation), is fatal
		 * (PacketError::InvalidSendBufferIndex) */
		if (!ns->chim)
			return nsp_violation(ns, ch, "an RNDIS packet in send section %u with no "
						     "send buffer connected (OpenVMM: "
						     "InvalidSendBufferIndex)",
					     rp->section_index);
		if (rp->section_index >= ns->nsections || rp->section_size > NSP_SECTION_SIZE)
			return nsp_violation(ns, ch, "send section %u, %u bytes: outside the %u "
						     "sections of %u bytes (OpenVMM: "
						     "InvalidSendBufferIndex)",
					     rp->section_index, rp->section_size, ns->nsections,
					     NSP_SECTION_SIZE);
		/* (copy_part: the inlined copy was a "rep movsq", two thirds of
		 * this function's time) */
		copy_part(ns->scratch,
			  (uint8_t *)dev->send_buf + (size_t)rp->section_index * NSP_SECTION_SIZE,
			  rp->section_size);
		len = rp->section_size;
	}
	if (pkt->type == VMBUS_PKT_DATA_GPA_DIRECT) {
		struct vmbus_gpa_iter it;
		struct vmbus_gpa_buf b;

		if (!pkt->gpa_ranges)
			return -EBADMSG;
		vmbus_gpa_iter_init(&it, pkt);
		while (vmbus_gpa_iter_next(&it, &b) == 1) {
			uint32_t left = b.len, off = b.offset, k = 0;

			if (b.len > sizeof(ns->scratch) - len)
				return -EBADMSG;
			while (left) {
				uint32_t chunk = VMBUS_HV_PAGE_SIZE - off;
				int err;

				if (chunk > left)
					chunk = left;
				/* OpenVMM probe_gpns: pages it cannot read fail the
				 * packet (GpaDirectError); the transport says why */
				err = dev->bus->tp->ops->guest_copy(dev->bus->tp, dev, b.pfn[k], off,
								    ns->scratch + len, chunk, false);
				if (err)
					return -EBADMSG;
				len += chunk;
				left -= chunk;
				off = 0;
				k++;
			}
		}
	}
	if (len == 0)
		return -EBADMSG;
	return (int64_t)len;
}

/* Checks one RNDIS_PACKET at @p (@avail bytes) and finds its frame. */
static int parse_data_packet(const uint8_t *p, uint32_t avail, uint32_t *msg_len,
			     const uint8_t **frame, uint32_t *frame_len, uint32_t *vlan_tci,
			     bool *has_vlan, struct nsp_txoff *txo)
{
	struct rndis_packet pk;
	uint32_t body;

	*has_vlan = false;
	memset(txo, 0, sizeof(*txo));
	if (avail < sizeof(pk))
		return -EBADMSG;
	memcpy(&pk, p, sizeof(pk));
	if (pk.type != RNDIS_MSG_PACKET || pk.len < sizeof(pk) || pk.len > avail)
		return -EBADMSG;
	body = pk.len - RNDIS_PACKET_OFFSET_BASE;
	if (pk.oob_len || pk.oob_count || pk.vc_handle)
		return -EBADMSG;
	if (pk.data_len == 0 || pk.data_offset < RNDIS_PACKET_MIN_OFFSET || pk.data_offset > body ||
	    pk.data_len > body - pk.data_offset)
		return -EBADMSG;
	if (pk.ppi_len) {
		uint32_t off = pk.ppi_offset, end;

		if (off < RNDIS_PACKET_MIN_OFFSET || off > body || pk.ppi_len > body - off)
			return -EBADMSG;
		end = off + pk.ppi_len;
		while (off < end) {
			struct rndis_ppi ppi;

			if (end - off < sizeof(ppi))
				return -EBADMSG;
			memcpy(&ppi, p + RNDIS_PACKET_OFFSET_BASE + off, sizeof(ppi));
			if (ppi.size < sizeof(ppi) || ppi.size > end - off ||
			    ppi.offset < sizeof(ppi) || ppi.offset > ppi.size)
				return -EBADMSG;
			if ((ppi.type & RNDIS_PPI_TYPE_MASK) == RNDIS_PPI_8021Q &&
			    !(ppi.type & RNDIS_PPI_INTERNAL) && ppi.size - ppi.offset >= 4) {
				memcpy(vlan_tci, p + RNDIS_PACKET_OFFSET_BASE + off + ppi.offset, 4);
				*has_vlan = true;
			}
			/* what the guest leaves to the host (netvsp_offload.c) */
			if (ppi.type == RNDIS_PPI_CSUM && ppi.size - ppi.offset >= 4) {
				memcpy(&txo->csum, p + RNDIS_PACKET_OFFSET_BASE + off + ppi.offset, 4);
				txo->has_csum = true;
			}
			if (ppi.type == RNDIS_PPI_LSO && ppi.size - ppi.offset >= 4) {
				memcpy(&txo->lso, p + RNDIS_PACKET_OFFSET_BASE + off + ppi.offset, 4);
				txo->has_lso = true;
			}
			off += ppi.size;
		}
	}
	*frame = p + RNDIS_PACKET_OFFSET_BASE + pk.data_offset;
	*frame_len = pk.data_len;
	*msg_len = pk.len;
	return 0;
}

static void tx_completion(struct nsp_state *ns, struct hs_chan *ch, uint64_t tid, uint32_t status)
{
	uint64_t due = 0;

	if (ns->fault == HS_FAULT_DROP_COMPLETIONS)
		return;
	if (ns->fault == HS_FAULT_DELAY_COMPLETIONS)
		due = hs_now_ns() + ns->fault_arg * 1000000u;
	else if (nsp_rndis_complete(ch, tid, status) != -EAGAIN)
		return;
	else
		hs_chan_wait_tx(ch, 16 + 40 + 8 + 8); /* the ring is full: later */
	/* nsp_rndis_pkt() stops reading before this can overflow */
	ns->delayed[ns->ndelayed++] = (struct nsp_delayed){ .due_ns = due, .tid = tid,
							   .queue = ch->subidx, .status = status };
	ns->dev->timed_work = true;
}


struct nsp_txframe {
	const uint8_t *data;
	uint32_t len;
	uint32_t tci;
	bool has_vlan;
	struct nsp_txoff off;
};

/* Where the frames of one guest frame go: its queue, tag and status. */
struct nsp_txemit {
	struct nsp_state *ns;
	struct nsp_queue *q;
	struct hs_wire *w;
	const struct nsp_txframe *fr;
};

/* One frame on the wire, with the guest's 802.1Q tag put back in. */
static int tx_emit(void *arg, const uint8_t *f, uint32_t fl)
{
	struct nsp_txemit *e = arg;
	uint32_t tci = e->fr->tci;
	uint8_t tagged[NSP_FRAME_MAX + 4];

	if (fl < 14 || fl > e->ns->mtu)
		return -EINVAL;
	if (e->fr->has_vlan) {
		/* the host puts the tag from the PPI back into the frame:
		 * 802.1Q order, priority 15..13, DEI 12, VLAN id 11..0 */
		uint16_t t = (uint16_t)((tci & NDIS_VLAN_PRI_MASK) << 13 |
					((tci & NDIS_VLAN_CFI) ? 0x1000 : 0) |
					(tci & NDIS_VLAN_ID_MASK) >> NDIS_VLAN_ID_SHIFT);

		memcpy(tagged, f, 12);
		tagged[12] = 0x81;
		tagged[13] = 0x00;
		tagged[14] = (uint8_t)(t >> 8);
		tagged[15] = (uint8_t)t;
		memcpy(tagged + 16, f + 12, fl - 12);
		f = tagged;
		fl += 4;
	}
	e->q->tx_frames++;
	e->q->tx_bytes += fl;
	if (e->w)
		e->w->ops->tx(e->w, e->ns->dev, f, fl);
	return 0;
}

/* Data packets: one or more RNDIS_PACKETs, each a frame for the wire. */
static int rndis_data(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		      uint32_t len)
{
	struct nsp_queue *q = &ns->q[ch->subidx];
	struct hs_wire *w = ns->dev->bus->wire;
	struct nsp_txframe fr[NSP_MAX_PKTS];
	uint32_t off = 0, nframes = 0, status = NVSP_STATUS_SUCCESS, i;

	/* parse all first: the wire takes all frames of the message or none */
	while (off < len) {
		uint32_t ml;

		/*
		 * No more packets in one message than INIT_CMPLT's
		 * max_packets_per_message, the limit Linux, DPDK and FreeBSD
		 * aggregate up to.  OpenVMM does not count them
		 * (handle_rndis_packet_messages takes all); Hyper-V's limit is
		 * not documented: a guest going past the announced one fails.
		 */
		if (nframes == NSP_MAX_PKTS) {
			hs_debug("%s: channel %u: more than %u RNDIS packets in one message, the "
				 "most INIT_CMPLT allows: FAILURE",
				 ns->dev->guid, ch->subidx, NSP_MAX_PKTS);
			status = NVSP_STATUS_FAILURE;
			break;
		}
		if (parse_data_packet(ns->scratch + off, len - off, &ml, &fr[nframes].data,
				      &fr[nframes].len, &fr[nframes].tci, &fr[nframes].has_vlan,
				      &fr[nframes].off)) {
			hs_debug("%s: channel %u: malformed RNDIS packet %u of the message: FAILURE",
				 ns->dev->guid, ch->subidx, nframes);
			status = NVSP_STATUS_FAILURE;
			break;
		}
		nframes++;
		off += ml;
	}
	if (status != NVSP_STATUS_SUCCESS) {
		/* none of the message's frames leave (OpenVMM rolls the
		 * message's segments back and fails it) */
		q->tx_errors++;
		tx_completion(ns, ch, pkt->tid, status);
		return 0;
	}
	if (w && nframes && w->ops->room && !w->ops->room(w, ns->dev, nframes) &&
	    nsp_rx_can_drain(ns)) {
		q->held = true;
		return -EAGAIN; /* the wire cannot take them yet: leave them in the ring */
	}
	for (i = 0; i < nframes; i++) {
		struct nsp_txemit e = { .ns = ns, .q = q, .w = w, .fr = &fr[i] };
		int err;

		/* checksums and segments the guest left to the host, then the wire */
		if (fr[i].off.has_csum || fr[i].off.has_lso)
			err = nsp_tx_offload(ns, fr[i].data, fr[i].len, &fr[i].off, tx_emit, &e);
		else
			err = tx_emit(&e, fr[i].data, fr[i].len);
		if (err) {
			q->tx_errors++;
			status = NVSP_STATUS_FAILURE;
			continue;
		}
		ns->tx_total++;
		if (ns->fault == HS_FAULT_RESCIND_TRAFFIC && ns->fault_arg && --ns->fault_arg == 0) {
			ns->fault = HS_FAULT_NONE;
			tx_completion(ns, ch, pkt->tid, status);
			return 1; /* rescind now, from the poll */
		}
	}
	if (status != NVSP_STATUS_SUCCESS)
		q->tx_errors++;
	tx_completion(ns, ch, pkt->tid, status);
	return 0;
}

/*
 * Asks for the send section of the guest's next packet, if the ring
 * already shows one, while this one is copied and parsed: the section's
 * lines sit in the guest's core, and the copy that waited for them one
 * after another was most of the host's time per frame sent.  Only a hint:
 * the packet is read and checked when its turn comes.
 */
static void prefetch_next_section(const struct nsp_state *ns, struct hs_chan *ch)
{
	uint8_t b[64];
	struct vmbus_pkt_desc d;
	struct nvsp_rndis_pkt rp;
	const uint8_t *sec;
	uint32_t off, k;
	int n;

	if (!ns->chim)
		return;
	n = vmbus_ring_peek_next(vmbus_chan_rx_ring(ch->vc), b, sizeof(b));
	if (n < (int)sizeof(d))
		return;
	memcpy(&d, b, sizeof(d));
	off = (uint32_t)d.offset8 * 8u;
	if (off > (uint32_t)n || (uint32_t)n - off < sizeof(rp))
		return;
	memcpy(&rp, b + off, sizeof(rp));
	if (rp.type != NVSP_MSG_RNDIS_PKT || rp.section_index >= ns->nsections ||
	    rp.section_size > NSP_SECTION_SIZE)
		return;
	sec = (const uint8_t *)ns->dev->send_buf + (size_t)rp.section_index * NSP_SECTION_SIZE;
	for (k = 0; k < rp.section_size; k += 64)
		__builtin_prefetch(sec + k, 0, 3);
}

int nsp_rndis_pkt(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		  const struct nvsp_rndis_pkt *rp, bool malformed)
{
	bool wants = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	uint32_t type;
	int64_t len;
	int ret;

	if (!ns->rxbuf)
		return nsp_violation(ns, ch, "an RNDIS packet before the receive buffer (OpenVMM: "
					     "UnexpectedRndisPacket)");
	/* completions the guest has not made room for yet: stop reading
	 * (netvsp stops at 1024 transmits in flight) */
	if (ns->ndelayed >= NSP_TX_INFLIGHT) {
		ns->q[ch->subidx].held = true;
		return -EAGAIN;
	}
	if (!nsp_room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	if (!wants) {
		/* OpenVMM handle_rndis: MissingTransactionId; the packet is
		 * not taken, and without an id nothing can say so */
		hs_debug("%s: channel %u: an RNDIS packet that asks for no completion: dropped "
			 "(OpenVMM: MissingTransactionId)",
			 ns->dev->guid, ch->subidx);
		ns->q[ch->subidx].tx_errors++;
		return 0;
	}
	prefetch_next_section(ns, ch);
	len = malformed ? -EBADMSG : gather(ns, ch, pkt, rp);
	if (len == -EPROTO)
		return -EPROTO;
	if (len < (int64_t)sizeof(struct rndis_msg_hdr)) {
		/* OpenVMM: RndisMessageTooSmall or GpaDirectError, a FAILURE */
		tx_completion(ns, ch, pkt->tid, NVSP_STATUS_FAILURE);
		ns->q[ch->subidx].tx_errors++;
		return 0;
	}
	/* netvsp tells control from data by the RNDIS message type, not by
	 * the NVSP channel type (handle_rndis) */
	memcpy(&type, ns->scratch, sizeof(type));
	if (type != RNDIS_MSG_PACKET) {
		if (ch->subidx != 0) {
			/* netvsp: NotSupportedOnSubChannel, a FAILURE */
			hs_debug("%s: channel %u: RNDIS control message on a subchannel: FAILURE",
				 ns->dev->guid, ch->subidx);
			nsp_rndis_complete(ch, pkt->tid, NVSP_STATUS_FAILURE);
			return 0;
		}
		if (rp->section_index == NVSP_CHIM_IDX_NONE)
			ns->ctl_by_page++;
		else
			ns->ctl_in_section++;
		/* completed at once; the answer comes in a control slot */
		nsp_rndis_complete(ch, pkt->tid, NVSP_STATUS_SUCCESS);
		return nsp_rndis_control(ns, ns->scratch, (uint32_t)len);
	}
	ret = rndis_data(ns, ch, pkt, (uint32_t)len);
	if (ret == 1) {
		hs_log("%s: rescinding in the middle of traffic, as asked", ns->dev->guid);
		ns->fault = HS_FAULT_RESCIND_TRAFFIC; /* the poll does it */
		ns->fault_arg = 0;
		return 0;
	}
	return ret;
}
