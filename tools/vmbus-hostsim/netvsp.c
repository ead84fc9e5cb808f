/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: the host side of a synthetic network adapter (NVSP + RNDIS).
 *
 * Behaviour follows OpenVMM's netvsp (the executable spec of a Hyper-V
 * host) unless a comment says otherwise:
 *   - NVSP INIT: the first version field must match a supported version
 *     exactly; anything else is answered with status NONE;
 *   - receive buffer slots of 256 + MTU + 36 bytes, the first 16 reserved
 *     for control replies; send buffer sections of 6144 bytes;
 *   - control requests are completed at once and answered in a reserved
 *     receive slot (transaction id = slot), which the guest completes;
 *   - received frames go in whole slots, up to 375 per transfer-page
 *     packet, transaction id = the batch's first slot; no frame is sent
 *     before the guest sets a non-zero packet filter;
 *   - transmit packets come from send-buffer sections or GPA-direct
 *     pages; bad RNDIS data packets get a FAILURE completion;
 *   - subchannels (NVSP 5) are offered after the request is completed,
 *     then the send indirection table follows;
 *   - protocol violations (unknown message, wrong order, duplicates, bad
 *     completion ids) end the service of the channel.
 *
 * Everything the guest wrote to shared memory is copied before use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <netvsc/proto.h>

#include "hostsim.h"

#define NV_CTL_SLOTS 16u /* reserved receive slots for control replies */
#define NV_RX_BATCH 375u /* frames per transfer-page packet */
#define NV_SECTION_SIZE 6144u
#define NV_MTU_MIN 1514u /* NDIS_CONFIG mtu includes the Ethernet header */
#define NV_MTU_MAX 9216u
#define NV_MAX_MDL_CHAIN 34u
#define NV_RNDIS_MAX 65536u /* largest RNDIS message we assemble */
#define NV_RXQ_CAP 1024u /* frames waiting per queue */
#define NV_TX_INFLIGHT 1024u /* delayed completions per queue */
#define NV_FRAME_MAX (NV_MTU_MAX + 4u)
#define NV_DATA_OFFSET 256u /* where a received frame starts in its slot */
#define NV_CTLQ_CAP 64u

static const uint32_t nvsp_versions[] = { NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
					  NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61 };

/* The classic Microsoft Toeplitz key, used until the guest sets its own. */
static const uint8_t default_rss_key[NDIS_RSS_KEY_SIZE] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

struct nv_frame {
	uint16_t len;
	uint16_t vlan; /* 802.1Q TCI, valid if has_vlan */
	bool has_vlan;
	uint32_t hash;
	uint8_t data[NV_FRAME_MAX];
};

struct nv_queue {
	struct nv_frame *rxq; /* frames waiting for slots or ring space */
	unsigned int rx_head, rx_count;
	unsigned int slots_out; /* data slots the guest holds for this queue */
	bool held; /* its channel stopped reading until the device can go on */
	uint64_t rx_frames, rx_bytes, rx_drops, rx_batches, rx_filtered;
	uint64_t tx_frames, tx_bytes, tx_errors;
};

struct nv_ctl_msg {
	uint32_t len;
	uint8_t buf[512];
};

struct nv_delayed {
	uint64_t due_ns;
	uint64_t tid;
	uint16_t queue;
	uint32_t status;
};

struct nv_state {
	struct hs_dev *dev;
	/* NVSP */
	bool inited;
	uint32_t nvsp_ver;
	bool have_config, have_ndis_ver;
	uint32_t mtu; /* with the Ethernet header */
	uint64_t caps;
	uint32_t ndis_major, ndis_minor;
	bool rxbuf, chim, revoked;
	uint16_t rxbuf_id;
	uint32_t slot_size, nslots;
	uint32_t nsections;
	/* RNDIS */
	bool rndis_inited;
	uint32_t filter;
	bool link_up; /* what the guest was last told */
	bool link_want; /* the backend's state */
	uint64_t link_change_ns;
	uint8_t mac[6];
	/* receive slots: -1 free, else the head slot of the batch holding it */
	int32_t *slot_batch;
	uint16_t *batch_len; /* frames in the batch whose head is the index */
	uint8_t *slot_queue;
	int32_t *slot_next; /* the batch's next slot, -1 at its end */
	uint32_t *free_slots;
	uint32_t nfree;
	uint16_t ctl_busy; /* bit per control slot */
	struct nv_ctl_msg ctlq[NV_CTLQ_CAP]; /* replies waiting for a slot */
	unsigned int ctl_head, ctl_count;
	/* RSS */
	bool rss_on;
	uint8_t rss_key[NDIS_RSS_KEY_SIZE];
	uint32_t rss_itab[NDIS_RSS_ITAB_ENTRIES];
	uint32_t rss_hash_info;
	/* queues, one per channel */
	struct nv_queue q[HS_MAX_CHANS];
	unsigned int subch_want; /* subchannels granted, not yet offered */
	unsigned int subch_total;
	bool send_table_due;
	/* faults */
	enum hs_fault fault;
	uint64_t fault_arg;
	struct nv_delayed *delayed;
	unsigned int ndelayed;
	uint64_t tx_total;
	/* counters */
	uint64_t ctl_requests, protocol_errors;
	uint8_t scratch[NV_RNDIS_MAX];
};

static struct nv_state *nv_of(struct hs_dev *dev)
{
	return dev->priv;
}

static unsigned int nv_queues(struct nv_state *nv)
{
	return nv->dev->nchans ? nv->dev->nchans : 1;
}

/* ------------------------------------------------------------------------ */
/* sending to the guest                                                      */
/* ------------------------------------------------------------------------ */

/* NVSP messages from the host are 40 bytes for 6.1, 32 before (netvsp). */
static uint32_t nvsp_out_size(struct nv_state *nv)
{
	return nv->nvsp_ver >= NVSP_VERSION_61 ? NVSP_MSG_SIZE : 32u;
}

/* Room for an answer of @len NVSP bytes in the channel's outgoing ring. */
static bool room_for(struct hs_chan *ch, uint32_t len)
{
	/* descriptor + message, padded, + trailer, strictly less than free */
	uint32_t need = 16 + ((len + 7) & ~7u) + 8 + 8;
	int64_t free = vmbus_ring_writable(vmbus_chan_tx_ring(ch->vc));

	if (free > (int64_t)need)
		return true;
	hs_chan_wait_tx(ch, need);
	return false;
}

static int nv_complete(struct hs_chan *ch, uint64_t tid, const void *msg, uint32_t len)
{
	union nvsp_msg m;

	memset(&m, 0, sizeof(m));
	memcpy(&m, msg, len);
	return vmbus_chan_send_completion(ch->vc, VMBUS_SEND_MORE, tid, &m,
					  nvsp_out_size(nv_of(ch->dev)));
}

static int nv_complete_empty(struct hs_chan *ch, uint64_t tid)
{
	return vmbus_chan_send_completion(ch->vc, VMBUS_SEND_MORE, tid, NULL, 0);
}

static int nv_rndis_complete(struct hs_chan *ch, uint64_t tid, uint32_t status)
{
	struct nvsp_rndis_pkt_comp c = { .type = NVSP_MSG_RNDIS_PKT_COMP, .status = status };

	return nv_complete(ch, tid, &c, sizeof(c));
}

/* ------------------------------------------------------------------------ */
/* receive slots                                                             */
/* ------------------------------------------------------------------------ */

static void slots_reset(struct nv_state *nv)
{
	uint32_t i;

	nv->nfree = 0;
	for (i = 0; i < nv->nslots; i++) {
		nv->slot_batch[i] = -1;
		nv->batch_len[i] = 0;
	}
	/* data slots, handed out lowest first */
	for (i = nv->nslots; i > NV_CTL_SLOTS; i--)
		nv->free_slots[nv->nfree++] = i - 1;
	nv->ctl_busy = 0;
	for (i = 0; i < HS_MAX_CHANS; i++)
		nv->q[i].slots_out = 0;
}

/* A queue's share of the data slots, so one queue cannot starve the rest. */
static uint32_t queue_share(struct nv_state *nv)
{
	uint32_t data = nv->nslots - NV_CTL_SLOTS;

	return data / nv_queues(nv) ? data / nv_queues(nv) : 1;
}

/* The guest completed the batch starting at @head. */
static int slots_release(struct nv_state *nv, uint64_t tid)
{
	uint32_t head, n, i;

	if (tid >= nv->nslots)
		return -EPROTO;
	head = (uint32_t)tid;
	if (head < NV_CTL_SLOTS) {
		if (!(nv->ctl_busy & (1u << head)))
			return -EPROTO;
		nv->ctl_busy &= (uint16_t)~(1u << head);
		return 0;
	}
	if (nv->slot_batch[head] != (int32_t)head || !nv->batch_len[head])
		return -EPROTO;
	/* the batch's slots are chained from its head, whatever their order */
	n = nv->batch_len[head];
	for (i = head; n; n--) {
		int32_t next = nv->slot_next[i];

		nv->slot_batch[i] = -1;
		nv->free_slots[nv->nfree++] = i;
		if (nv->q[nv->slot_queue[i]].slots_out)
			nv->q[nv->slot_queue[i]].slots_out--;
		if (next < 0)
			break;
		i = (uint32_t)next;
	}
	nv->batch_len[head] = 0;
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

/* Hash of an IPv4 frame's addresses (and ports for TCP/UDP); 0 otherwise. */
static uint32_t frame_hash(struct nv_state *nv, const uint8_t *f, size_t len, bool *hashed)
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
		return toeplitz(nv->rss_key, in, 12);
	}
	return toeplitz(nv->rss_key, in, 8);
}

static unsigned int pick_queue(struct nv_state *nv, uint32_t hash, bool hashed)
{
	unsigned int q;

	if (!nv->rss_on || !hashed)
		return 0;
	q = nv->rss_itab[hash % NDIS_RSS_ITAB_ENTRIES];
	return q < nv_queues(nv) && nv->dev->chans[q] && nv->dev->chans[q]->open ? q : 0;
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
static bool filter_accepts(const struct nv_state *nv, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (nv->filter & NDIS_PACKET_TYPE_PROMISCUOUS)
		return true;
	if (!memcmp(dst, bcast, 6))
		return nv->filter & NDIS_PACKET_TYPE_BROADCAST;
	if (dst[0] & 1)
		return nv->filter & (NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_ALL_MULTICAST);
	return (nv->filter & NDIS_PACKET_TYPE_DIRECTED) && !memcmp(dst, nv->mac, 6);
}

/*
 * Whether the frames waiting for this NIC can leave without the host
 * reading the guest's ring again: only then may a wire hold the guest's
 * packets back in that ring.  Slots come back with completions that sit in
 * the same ring, behind the packets held back, so waiting for them would
 * stall both sides for good; OpenVMM does not wait either (it drops when
 * its pool is empty).
 */
static bool rx_can_drain(struct nv_state *nv)
{
	unsigned int i;

	if (!nv->nfree)
		return false;
	for (i = 0; i < nv_queues(nv); i++)
		if (nv->q[i].rx_count && nv->q[i].slots_out >= queue_share(nv))
			return false;
	return true;
}

bool hs_nic_rx_room(struct hs_dev *dev, unsigned int frames)
{
	struct nv_state *nv = nv_of(dev);
	unsigned int i;

	if (!nv || !dev->connected)
		return true; /* dropped anyway */
	for (i = 0; i < nv_queues(nv); i++)
		if (nv->q[i].rx_count + frames > NV_RXQ_CAP)
			return false;
	return true;
}

int hs_nic_rx(struct hs_dev *dev, const void *frame, size_t len)
{
	struct nv_state *nv = nv_of(dev);
	const uint8_t *f = frame;
	struct nv_queue *q;
	struct nv_frame *slot;
	bool hashed;
	uint32_t hash;

	if (!nv || !dev->connected || !nv->rxbuf || nv->revoked || !nv->rndis_inited ||
	    nv->filter == NDIS_PACKET_TYPE_NONE || !nv->link_up || len < 14 ||
	    len > nv->mtu + 4u) {
		if (nv)
			nv->q[0].rx_drops++;
		return -ENOBUFS;
	}
	if (!filter_accepts(nv, f)) {
		nv->q[0].rx_filtered++;
		return -ENOBUFS;
	}
	hash = frame_hash(nv, f, len, &hashed);
	q = &nv->q[pick_queue(nv, hash, hashed)];
	if (!q->rxq) {
		/* only queues that carry traffic hold frame storage */
		q->rxq = malloc(NV_RXQ_CAP * sizeof(*q->rxq));
		if (!q->rxq) {
			q->rx_drops++;
			return -ENOBUFS;
		}
	}
	if (q->rx_count == NV_RXQ_CAP) {
		q->rx_drops++;
		return -ENOBUFS;
	}
	slot = &q->rxq[(q->rx_head + q->rx_count) % NV_RXQ_CAP];
	slot->hash = hash;
	slot->has_vlan = false;
	/* the host takes the 802.1Q tag out of the frame into a PPI */
	if (len >= 18 && f[12] == 0x81 && f[13] == 0x00) {
		slot->has_vlan = true;
		slot->vlan = (uint16_t)(f[14] << 8 | f[15]);
		memcpy(slot->data, f, 12);
		memcpy(slot->data + 12, f + 16, len - 16);
		slot->len = (uint16_t)(len - 4);
	} else {
		memcpy(slot->data, f, len);
		slot->len = (uint16_t)len;
	}
	q->rx_count++;
	dev->bus->work = true;
	return 0;
}

static uint32_t put_ppi(uint8_t *p, uint32_t type, uint32_t value)
{
	struct rndis_ppi h = { .size = RNDIS_PPI_U32_SIZE, .type = type,
			       .offset = sizeof(struct rndis_ppi) };

	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), &value, sizeof(value));
	return RNDIS_PPI_U32_SIZE;
}

static uint32_t rx_csum_flags(const struct nv_frame *fr)
{
	const uint8_t *f = fr->data;

	if (fr->len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	/* the host checked the checksums for the guest */
	if (f[14 + 9] == 6)
		return NDIS_RXCSUM_IP_OK | NDIS_RXCSUM_TCP_OK;
	if (f[14 + 9] == 17)
		return NDIS_RXCSUM_IP_OK | NDIS_RXCSUM_UDP_OK;
	return NDIS_RXCSUM_IP_OK;
}

/* Writes frame @fr into slot @s as an RNDIS_PACKET filling the slot. */
static void fill_slot(struct nv_state *nv, uint32_t s, const struct nv_frame *fr)
{
	uint8_t *slot = (uint8_t *)nv->dev->recv_buf + (size_t)s * nv->slot_size;
	struct rndis_packet pk;
	uint32_t ppi = 0;
	uint8_t *pp = slot + sizeof(pk);

	ppi += put_ppi(pp + ppi, RNDIS_PPI_CSUM, rx_csum_flags(fr));
	/* NDIS order: priority in bits 2..0, CFI/DEI bit 3, VLAN id 15..4 */
	if (fr->has_vlan)
		ppi += put_ppi(pp + ppi, RNDIS_PPI_8021Q,
			       (uint32_t)(fr->vlan >> 13) |
				       (uint32_t)(fr->vlan & 0xfff) << NDIS_VLAN_ID_SHIFT |
				       ((fr->vlan & 0x1000) ? NDIS_VLAN_CFI : 0));
	if (nv->rss_on && nv->nvsp_ver >= NVSP_VERSION_5) {
		ppi += put_ppi(pp + ppi, RNDIS_PPI_HASH_VALUE, fr->hash);
		ppi += put_ppi(pp + ppi, RNDIS_PPI_HASH_INFO, nv->rss_hash_info);
	}
	memset(&pk, 0, sizeof(pk));
	pk.type = RNDIS_MSG_PACKET;
	pk.len = nv->slot_size;
	pk.data_offset = NV_DATA_OFFSET - RNDIS_PACKET_OFFSET_BASE;
	pk.data_len = fr->len;
	pk.ppi_offset = sizeof(pk) - RNDIS_PACKET_OFFSET_BASE;
	pk.ppi_len = ppi;
	memcpy(slot, &pk, sizeof(pk));
	memcpy(slot + NV_DATA_OFFSET, fr->data, fr->len);

	if (nv->fault == HS_FAULT_TRUNCATED_RNDIS) {
		/* the message claims more data than its slot holds */
		pk.data_len = nv->slot_size;
		memcpy(slot, &pk, sizeof(pk));
		nv->fault = HS_FAULT_NONE;
	}
}

/* Sends what waits on queue @qi, in batches, while slots and ring space last. */
static void rx_flush(struct nv_state *nv, unsigned int qi)
{
	struct hs_chan *ch = nv->dev->chans[qi];
	struct nv_queue *q = &nv->q[qi];
	struct vmbus_xfer_range ranges[NV_RX_BATCH];
	struct nvsp_rndis_pkt msg = { .type = NVSP_MSG_RNDIS_PKT,
				      .channel_type = NVSP_CHANNEL_DATA,
				      .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t out[NVSP_MSG_SIZE];
	struct iovec iov = { out, nvsp_out_size(nv) };
	uint32_t share = queue_share(nv);

	if (!ch || !ch->open || ch->stopped || ch->tx_blocked)
		return;
	memset(out, 0, sizeof(out));
	memcpy(out, &msg, sizeof(msg));
	while (q->rx_count) {
		uint32_t slots[NV_RX_BATCH], n = 0, i, head;
		int ret;

		while (n < NV_RX_BATCH && n < q->rx_count && nv->nfree && q->slots_out + n < share)
			slots[n++] = nv->free_slots[--nv->nfree];
		if (n == 0)
			return; /* wait for the guest to complete earlier batches */
		/* the lowest slot of the batch is its transaction id */
		head = slots[0];
		for (i = 0; i < n; i++)
			if (slots[i] < head)
				head = slots[i];
		for (i = 0; i < n; i++) {
			const struct nv_frame *fr = &q->rxq[(q->rx_head + i) % NV_RXQ_CAP];

			/* the guest touched these slots last: ask for their lines a
			 * few slots ahead, so the transfers overlap */
			if (i + 4 < n) {
				uint8_t *ahead = (uint8_t *)nv->dev->recv_buf +
						 (size_t)slots[i + 4] * nv->slot_size;

				__builtin_prefetch(ahead, 1);
				__builtin_prefetch(ahead + 64, 1);
				__builtin_prefetch(ahead + NV_DATA_OFFSET, 1);
			}
			fill_slot(nv, slots[i], fr);
			ranges[i].byte_offset = slots[i] * nv->slot_size;
			/* a whole slot, not the frame length (netvsp) */
			ranges[i].byte_count = nv->slot_size;
		}
		if (nv->fault == HS_FAULT_BAD_XFER_RANGE) {
			ranges[0].byte_offset = (uint32_t)nv->dev->recv_size - 8;
			nv->fault = HS_FAULT_NONE;
		}
		ret = vmbus_chan_send_xfer(ch->vc, VMBUS_SEND_COMPLETION | VMBUS_SEND_MORE, head,
					   nv->rxbuf_id, ranges, n, &iov, 1);
		if (ret) {
			/* give the slots back; wait for room (dropping is for a
			 * full ring under load, but our wires are patient) */
			for (i = n; i > 0; i--)
				nv->free_slots[nv->nfree++] = slots[i - 1];
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
				if (slots[i] == head)
					continue;
				nv->slot_next[prev] = (int32_t)slots[i];
				prev = slots[i];
			}
			nv->slot_next[prev] = -1;
		}
		for (i = 0; i < n; i++) {
			const struct nv_frame *fr = &q->rxq[q->rx_head];

			nv->slot_batch[slots[i]] = (int32_t)head;
			nv->slot_queue[slots[i]] = (uint8_t)qi;
			q->rx_bytes += fr->len;
			q->rx_head = (q->rx_head + 1) % NV_RXQ_CAP;
			q->rx_count--;
		}
		nv->batch_len[head] = (uint16_t)n;
		q->slots_out += n;
		q->rx_frames += n;
		q->rx_batches++;
	}
	vmbus_chan_flush(ch->vc);
}

/* ------------------------------------------------------------------------ */
/* control replies                                                           */
/* ------------------------------------------------------------------------ */

/* Sends queued control replies while a control slot and ring space are free. */
static void ctl_flush(struct nv_state *nv)
{
	struct hs_chan *ch = nv->dev->chans[0];
	struct nvsp_rndis_pkt msg = { .type = NVSP_MSG_RNDIS_PKT,
				      .channel_type = NVSP_CHANNEL_CONTROL,
				      .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t out[NVSP_MSG_SIZE];
	struct iovec iov = { out, nvsp_out_size(nv) };

	if (!ch || !ch->open || ch->stopped || ch->tx_blocked || !nv->rxbuf)
		return;
	memset(out, 0, sizeof(out));
	memcpy(out, &msg, sizeof(msg));
	while (nv->ctl_count) {
		struct nv_ctl_msg *m = &nv->ctlq[nv->ctl_head];
		struct vmbus_xfer_range r;
		uint32_t s;
		int ret;

		for (s = 0; s < NV_CTL_SLOTS && (nv->ctl_busy & (1u << s)); s++)
			;
		if (s == NV_CTL_SLOTS)
			return; /* the guest holds every control slot */
		/* a reply is sent only with 144 bytes of ring space (netvsp) */
		if (!room_for(ch, 144))
			return;
		memcpy((uint8_t *)nv->dev->recv_buf + (size_t)s * nv->slot_size, m->buf, m->len);
		r.byte_offset = s * nv->slot_size;
		r.byte_count = m->len; /* control replies carry their exact length */
		ret = vmbus_chan_send_xfer(ch->vc, VMBUS_SEND_COMPLETION | VMBUS_SEND_MORE, s,
					   nv->rxbuf_id, &r, 1, &iov, 1);
		if (ret == -EAGAIN) {
			hs_chan_wait_tx(ch, 144);
			return;
		}
		if (ret) {
			hs_log("%s: cannot send a control reply: %s", nv->dev->guid, strerror(-ret));
			return;
		}
		nv->ctl_busy |= (uint16_t)(1u << s);
		nv->ctl_head = (nv->ctl_head + 1) % NV_CTLQ_CAP;
		nv->ctl_count--;
	}
	vmbus_chan_flush(ch->vc);
}

static void ctl_queue(struct nv_state *nv, const void *msg, uint32_t len)
{
	struct nv_ctl_msg *m;

	if (nv->ctl_count == NV_CTLQ_CAP || len > sizeof(m->buf)) {
		hs_log("%s: control reply dropped (queue full)", nv->dev->guid);
		return;
	}
	m = &nv->ctlq[(nv->ctl_head + nv->ctl_count) % NV_CTLQ_CAP];
	m->len = len;
	memcpy(m->buf, msg, len);
	nv->ctl_count++;
	nv->dev->bus->work = true;
}

static void indicate(struct nv_state *nv, uint32_t status, const void *buf, uint32_t len)
{
	uint8_t msg[512];
	struct rndis_indicate ind = { .type = RNDIS_MSG_INDICATE,
				      .len = (uint32_t)sizeof(ind) + len,
				      .status = status,
				      .buf_len = len,
				      .buf_offset = len ? sizeof(ind) - RNDIS_INDICATE_OFFSET_BASE : 0 };

	if (sizeof(ind) + len > sizeof(msg))
		return;
	memcpy(msg, &ind, sizeof(ind));
	if (len)
		memcpy(msg + sizeof(ind), buf, len);
	ctl_queue(nv, msg, ind.len);
}

/* ------------------------------------------------------------------------ */
/* RNDIS control requests                                                    */
/* ------------------------------------------------------------------------ */

static void fill_offload(struct ndis_offload *o)
{
	memset(o, 0, sizeof(*o));
	o->hdr.type = NDIS_OBJTYPE_OFFLOAD;
	o->hdr.revision = NDIS_OFFLOAD_REV_3;
	o->hdr.size = (uint16_t)NDIS_OFFLOAD_SIZE_REV_3;
	/* receive checksums always validated; transmit checksums done here too */
	o->csum.ip4_txenc = o->csum.ip4_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o->csum.ip6_txenc = o->csum.ip6_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o->csum.ip4_txcsum = NDIS_TXCSUM_CAP_IP4 | NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4;
	o->csum.ip4_rxcsum = NDIS_TXCSUM_CAP_IP4 | NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4;
	o->csum.ip6_txcsum = NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6;
	o->csum.ip6_rxcsum = NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6;
	o->lsov2.ip4_encap = o->lsov2.ip6_encap = NDIS_OFFLOAD_ENCAP_8023;
	o->lsov2.ip4_max_size = o->lsov2.ip6_max_size = 0xF53C;
	o->lsov2.ip4_min_segs = o->lsov2.ip6_min_segs = 2;
}

/* Answers a QUERY: @info gets the value, returns its length or -status. */
static int64_t query_oid(struct nv_state *nv, uint32_t oid, uint8_t *info, size_t cap)
{
	struct hs_dev *dev = nv->dev;
	uint32_t u = 0;

#define PUT(v)                                                                                 \
	do {                                                                                   \
		if (sizeof(v) > cap)                                                           \
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;                        \
		memcpy(info, &(v), sizeof(v));                                                 \
		return (int64_t)sizeof(v);                                                     \
	} while (0)

	switch (oid) {
	case RNDIS_OID_GEN_HARDWARE_STATUS:
	case RNDIS_OID_GEN_MEDIA_SUPPORTED:
	case RNDIS_OID_GEN_MEDIA_IN_USE:
	case RNDIS_OID_802_3_MAXIMUM_LIST_SIZE:
	case RNDIS_OID_802_3_RCV_ERROR_ALIGNMENT:
	case RNDIS_OID_802_3_XMIT_ONE_COLLISION:
	case RNDIS_OID_802_3_XMIT_MORE_COLLISIONS:
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER: /* netvsp answers 0 */
		u = 0;
		PUT(u);
	case RNDIS_OID_GEN_MAXIMUM_LOOKAHEAD:
	case RNDIS_OID_GEN_CURRENT_LOOKAHEAD:
	case RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		u = nv->mtu - 14;
		PUT(u);
	case RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
	case RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE:
	case RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE:
		u = nv->mtu;
		PUT(u);
	case RNDIS_OID_GEN_LINK_SPEED: {
		uint64_t s = dev->bus->opts.link_speed_bps / 100;

		u = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
		PUT(u);
	}
	case RNDIS_OID_GEN_TRANSMIT_BUFFER_SPACE:
	case RNDIS_OID_GEN_RECEIVE_BUFFER_SPACE:
		u = 262144;
		PUT(u);
	case RNDIS_OID_GEN_VENDOR_ID:
		u = 0x0000155D;
		PUT(u);
	case RNDIS_OID_GEN_VENDOR_DESCRIPTION: {
		static const char desc[] = "Microsoft Corporation"; /* sent without the NUL */

		if (cap < sizeof(desc) - 1)
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;
		memcpy(info, desc, sizeof(desc) - 1);
		return (int64_t)sizeof(desc) - 1;
	}
	case RNDIS_OID_GEN_VENDOR_DRIVER_VERSION:
	case RNDIS_OID_GEN_DRIVER_VERSION: {
		uint16_t v = 0x0100;

		PUT(v);
	}
	case RNDIS_OID_GEN_MAC_OPTIONS:
		u = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND |
		    NDIS_MAC_OPTION_NO_LOOPBACK | NDIS_MAC_OPTION_8021P_PRIORITY |
		    NDIS_MAC_OPTION_8021Q_VLAN;
		PUT(u);
	case RNDIS_OID_GEN_MEDIA_CONNECT_STATUS:
		/* netvsp always answers "connected"; Hyper-V reports the state,
		 * which Linux reads when it opens the device: follow Hyper-V */
		u = nv->link_want ? NDIS_MEDIA_STATE_CONNECTED : NDIS_MEDIA_STATE_DISCONNECTED;
		PUT(u);
	case RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS:
		u = 0xFFFFFFFF;
		PUT(u);
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		if (cap < 6)
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;
		memcpy(info, nv->mac, 6);
		return 6;
	case RNDIS_OID_GEN_LINK_STATE: {
		struct ndis_link_state ls = { .hdr = { NDIS_OBJTYPE_DEFAULT, NDIS_LINK_STATE_REV_1,
						       sizeof(ls) } };

		ls.media_connect_state = nv->link_want ? NDIS_MEDIA_STATE_CONNECTED :
							 NDIS_MEDIA_STATE_DISCONNECTED;
		ls.xmit_speed = ls.rcv_speed = dev->bus->opts.link_speed_bps;
		PUT(ls);
	}
	case RNDIS_OID_GEN_MAX_LINK_SPEED: {
		struct ndis_link_speed sp = { dev->bus->opts.link_speed_bps,
					      dev->bus->opts.link_speed_bps };

		PUT(sp);
	}
	case RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES:
	case RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG: {
		struct ndis_offload o;

		fill_offload(&o);
		PUT(o);
	}
	case RNDIS_OID_OFFLOAD_ENCAPSULATION: {
		struct ndis_offload_encap e;

		memset(&e, 0, sizeof(e));
		e.hdr.type = NDIS_OBJTYPE_OFFLOAD_ENCAP;
		e.hdr.revision = 1;
		e.hdr.size = sizeof(e);
		e.ip4_enabled = 1;
		e.ip6_enabled = 1;
		e.ip4_encap_type = NDIS_OFFLOAD_ENCAP_8023;
		e.ip4_hdr_size = 14;
		e.ip6_encap_type = NDIS_OFFLOAD_ENCAP_8023;
		e.ip6_hdr_size = 14;
		PUT(e);
	}
	case RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES: {
		struct ndis_rss_caps c;

		if (nv->ndis_minor < 30 && nv->ndis_major == 6)
			break; /* RSS caps only with NDIS 6.30 */
		memset(&c, 0, sizeof(c));
		c.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
		c.hdr.revision = NDIS_RSS_CAPS_REV_2;
		c.hdr.size = (uint16_t)NDIS_RSS_CAPS_SIZE_REV_2;
		c.caps = NDIS_HASH_TCP_IPV4 | NDIS_HASH_TCP_IPV6 | NDIS_HASH_FUNCTION_TOEPLITZ;
		c.num_msi = 1;
		c.num_rx_queues = dev->bus->opts.max_queues;
		/* netvsp: "DPDK gets confused if zero" */
		c.num_indirection = NDIS_RSS_ITAB_ENTRIES;
		if (cap < NDIS_RSS_CAPS_SIZE_REV_2)
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;
		memcpy(info, &c, NDIS_RSS_CAPS_SIZE_REV_2);
		return NDIS_RSS_CAPS_SIZE_REV_2;
	}
	case RNDIS_OID_GEN_FRIENDLY_NAME: {
		static const char name[] = "Network Device";
		size_t i;

		if (cap < 512)
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;
		memset(info, 0, 512);
		for (i = 0; i < sizeof(name) - 1; i++)
			info[2 * i] = (uint8_t)name[i];
		return 512;
	}
	default:
		break;
	}
#undef PUT
	return -(int64_t)RNDIS_STATUS_NOT_SUPPORTED;
}

static uint32_t set_rss(struct nv_state *nv, const uint8_t *buf, uint32_t len)
{
	struct ndis_rss_params p;
	uint32_t i, n;

	if (len < NDIS_RSS_PARAMS_SIZE_REV_1)
		return RNDIS_STATUS_INVALID_DATA;
	memcpy(&p, buf, len < sizeof(p) ? len : sizeof(p));
	if ((p.flags & NDIS_RSS_FLAG_DISABLE) ||
	    (p.hash_info & NDIS_HASH_FUNCTION_MASK) == 0) {
		nv->rss_on = false;
		return RNDIS_STATUS_SUCCESS;
	}
	if (p.key_size != NDIS_RSS_KEY_SIZE || p.key_offset > len ||
	    p.key_size > len - p.key_offset)
		return RNDIS_STATUS_INVALID_DATA;
	if (p.itab_size == 0 || p.itab_size % 4 || p.itab_offset > len ||
	    p.itab_size > len - p.itab_offset)
		return RNDIS_STATUS_INVALID_DATA;
	n = p.itab_size / 4;
	for (i = 0; i < n; i++) {
		uint32_t e;

		memcpy(&e, buf + p.itab_offset + 4 * i, 4);
		if (e >= nv->dev->bus->opts.max_queues)
			return RNDIS_STATUS_INVALID_DATA;
	}
	memcpy(nv->rss_key, buf + p.key_offset, NDIS_RSS_KEY_SIZE);
	/* a shorter table is repeated to fill all entries */
	for (i = 0; i < NDIS_RSS_ITAB_ENTRIES; i++)
		memcpy(&nv->rss_itab[i], buf + p.itab_offset + 4 * (i % n), 4);
	nv->rss_hash_info = p.hash_info;
	nv->rss_on = true;
	hs_debug("%s: RSS on, %u table entries", nv->dev->guid, n);
	return RNDIS_STATUS_SUCCESS;
}

static uint32_t set_oid(struct nv_state *nv, uint32_t oid, const uint8_t *buf, uint32_t len)
{
	switch (oid) {
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (len < 4)
			return RNDIS_STATUS_INVALID_DATA;
		memcpy(&nv->filter, buf, 4);
		hs_debug("%s: packet filter 0x%x", nv->dev->guid, nv->filter);
		nv->dev->bus->work = true;
		return RNDIS_STATUS_SUCCESS;
	case RNDIS_OID_TCP_OFFLOAD_PARAMETERS: {
		struct ndis_offload_params p;
		struct ndis_offload o;

		if (len < 20 || len > sizeof(p) + 64)
			return RNDIS_STATUS_INVALID_DATA;
		memset(&p, 0, sizeof(p));
		memcpy(&p, buf, len < sizeof(p) ? len : sizeof(p));
		if (p.hdr.type != NDIS_OBJTYPE_DEFAULT || p.hdr.revision < 1 || p.hdr.size < 20)
			return RNDIS_STATUS_INVALID_DATA;
		if (p.lsov1 == NDIS_OFFLOAD_LSO_ON)
			return RNDIS_STATUS_NOT_SUPPORTED;
		/* the host then reports what it applied */
		fill_offload(&o);
		indicate(nv, RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG, &o, sizeof(o));
		return RNDIS_STATUS_SUCCESS;
	}
	case RNDIS_OID_OFFLOAD_ENCAPSULATION: {
		struct ndis_offload_encap e;

		if (len < sizeof(e))
			return RNDIS_STATUS_INVALID_DATA;
		memcpy(&e, buf, sizeof(e));
		if ((e.ip4_enabled && (e.ip4_encap_type != NDIS_OFFLOAD_ENCAP_8023 ||
				       e.ip4_hdr_size != 14)) ||
		    (e.ip6_enabled && (e.ip6_encap_type != NDIS_OFFLOAD_ENCAP_8023 ||
				       e.ip6_hdr_size != 14)))
			return RNDIS_STATUS_INVALID_DATA;
		return RNDIS_STATUS_SUCCESS;
	}
	case RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER:
	case RNDIS_OID_GEN_NETWORK_LAYER_ADDRESSES:
		return RNDIS_STATUS_SUCCESS; /* accepted, without effect */
	case RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS:
		return set_rss(nv, buf, len);
	default:
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

/* One RNDIS control message (a private copy). -EPROTO ends the service. */
static int rndis_control(struct nv_state *nv, const uint8_t *msg, uint32_t len)
{
	struct rndis_msg_hdr h;
	uint32_t rid;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, msg, sizeof(h));
	if (h.len < sizeof(h) || h.len > len)
		return -EPROTO;
	len = h.len;
	nv->ctl_requests++;
	if (h.type == RNDIS_MSG_HALT)
		return 0; /* no reply */
	if (len < 12)
		return -EPROTO;
	memcpy(&rid, msg + 8, 4);

	switch (h.type) {
	case RNDIS_MSG_INIT: {
		struct rndis_init_cmplt c;

		if (nv->rndis_inited)
			return -EPROTO; /* netvsp: InvalidRndisState */
		memset(&c, 0, sizeof(c));
		c.type = RNDIS_MSG_INIT_CMPLT;
		c.len = sizeof(c);
		c.rid = rid;
		c.status = RNDIS_STATUS_SUCCESS;
		c.ver_major = RNDIS_VERSION_MAJOR;
		c.ver_minor = RNDIS_VERSION_MINOR;
		c.dev_flags = RNDIS_DF_CONNECTIONLESS;
		c.medium = RNDIS_MEDIUM_802_3;
		c.max_pkts = 8;
		c.max_xfer = 0xEFFFFFFF;
		c.align_factor = 3;
		nv->rndis_inited = true;
		ctl_queue(nv, &c, sizeof(c));
		return 0;
	}
	case RNDIS_MSG_QUERY: {
		struct rndis_query_req q;
		uint8_t out[sizeof(struct rndis_query_cmplt) + 600];
		struct rndis_query_cmplt c = { .type = RNDIS_MSG_QUERY_CMPLT, .rid = rid };
		int64_t n;

		if (len < sizeof(q))
			return -EPROTO;
		memcpy(&q, msg, sizeof(q));
		n = query_oid(nv, q.oid, out + sizeof(c), sizeof(out) - sizeof(c));
		if (n < 0) {
			c.status = (uint32_t)-n;
			n = 0;
		}
		c.info_len = (uint32_t)n;
		c.info_offset = n ? sizeof(c) - RNDIS_INFO_OFFSET_BASE : 0;
		c.len = (uint32_t)(sizeof(c) + (size_t)n);
		memcpy(out, &c, sizeof(c));
		ctl_queue(nv, out, c.len);
		return 0;
	}
	case RNDIS_MSG_SET: {
		struct rndis_set_req s;
		struct rndis_set_cmplt c = { .type = RNDIS_MSG_SET_CMPLT, .len = sizeof(c),
					     .rid = rid };
		uint32_t avail;

		if (len < sizeof(s))
			return -EPROTO;
		memcpy(&s, msg, sizeof(s));
		/* netvsp reads the buffer right after the request header */
		avail = len - (uint32_t)sizeof(s);
		c.status = set_oid(nv, s.oid, msg + sizeof(s), s.info_len < avail ? s.info_len : avail);
		ctl_queue(nv, &c, sizeof(c));
		return 0;
	}
	case RNDIS_MSG_KEEPALIVE: {
		struct rndis_keepalive_cmplt c = { .type = RNDIS_MSG_KEEPALIVE_CMPLT,
						   .len = sizeof(c), .rid = rid,
						   .status = RNDIS_STATUS_SUCCESS };

		ctl_queue(nv, &c, sizeof(c));
		return 0;
	}
	default:
		/* RESET, SET_EX, INDICATE from the guest, or unknown: fatal */
		return -EPROTO;
	}
}

/* ------------------------------------------------------------------------ */
/* the transmit path: RNDIS data from the guest                              */
/* ------------------------------------------------------------------------ */

/*
 * Gathers the RNDIS bytes of an RNDIS_PKT into nv->scratch: the send
 * section if one is named, then every GPA range.  Returns the length,
 * -EPROTO for what netvsp treats as fatal, -EBADMSG for a packet that gets
 * a FAILURE completion.
 */
static int64_t gather(struct nv_state *nv, const struct vmbus_pkt *pkt,
		      const struct nvsp_rndis_pkt *rp)
{
	struct hs_dev *dev = nv->dev;
	uint64_t len = 0;

	if (rp->section_index != NVSP_CHIM_IDX_NONE) {
		if (!nv->chim || rp->section_index >= nv->nsections ||
		    rp->section_size > NV_SECTION_SIZE || rp->section_size == 0)
			return -EPROTO; /* netvsp: PacketError */
		memcpy(nv->scratch, (uint8_t *)dev->send_buf + (size_t)rp->section_index * NV_SECTION_SIZE,
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

			if (b.len > sizeof(nv->scratch) - len)
				return -EBADMSG;
			while (left) {
				uint32_t chunk = VMBUS_HV_PAGE_SIZE - off;
				void *src;

				if (chunk > left)
					chunk = left;
				src = dev->bus->tp->ops->guest_mem(dev->bus->tp, dev, b.pfn[k], off,
								   chunk);
				if (!src)
					return -EBADMSG; /* unreadable page numbers */
				memcpy(nv->scratch + len, src, chunk);
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
			     bool *has_vlan)
{
	struct rndis_packet pk;
	uint32_t body;

	*has_vlan = false;
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
			off += ppi.size;
		}
	}
	*frame = p + RNDIS_PACKET_OFFSET_BASE + pk.data_offset;
	*frame_len = pk.data_len;
	*msg_len = pk.len;
	return 0;
}

static void tx_completion(struct nv_state *nv, struct hs_chan *ch, uint64_t tid, uint32_t status)
{
	uint64_t due = 0;

	if (nv->fault == HS_FAULT_DROP_COMPLETIONS)
		return;
	if (nv->fault == HS_FAULT_DELAY_COMPLETIONS)
		due = hs_now_ns() + nv->fault_arg * 1000000u;
	else if (nv_rndis_complete(ch, tid, status) != -EAGAIN)
		return;
	else
		hs_chan_wait_tx(ch, 16 + 40 + 8 + 8); /* the ring is full: later */
	/* rndis_pkt() stops reading before this can overflow */
	nv->delayed[nv->ndelayed++] = (struct nv_delayed){ .due_ns = due, .tid = tid,
							   .queue = ch->subidx, .status = status };
	nv->dev->timed_work = true;
}

/* More RNDIS packets in one message than the host announced (8) are
 * taken up to this; beyond it the message fails. */
#define NV_MSG_FRAMES 64u

struct nv_txframe {
	const uint8_t *data;
	uint32_t len;
	uint32_t tci;
	bool has_vlan;
};

/* Data packets: one or more RNDIS_PACKETs, each a frame for the wire. */
static int rndis_data(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		      uint32_t len)
{
	struct nv_queue *q = &nv->q[ch->subidx];
	struct hs_wire *w = nv->dev->bus->wire;
	struct nv_txframe fr[NV_MSG_FRAMES];
	uint32_t off = 0, nframes = 0, status = NVSP_STATUS_SUCCESS, i;

	/* parse all first: the wire takes all frames of the message or none */
	while (off < len) {
		uint32_t ml;

		if (nframes == NV_MSG_FRAMES ||
		    parse_data_packet(nv->scratch + off, len - off, &ml, &fr[nframes].data,
				      &fr[nframes].len, &fr[nframes].tci, &fr[nframes].has_vlan)) {
			status = NVSP_STATUS_FAILURE;
			break;
		}
		nframes++;
		off += ml;
	}
	if (w && nframes && w->ops->room && !w->ops->room(w, nv->dev, nframes) &&
	    rx_can_drain(nv)) {
		q->held = true;
		return -EAGAIN; /* the wire cannot take them yet: leave them in the ring */
	}
	for (i = 0; i < nframes; i++) {
		const uint8_t *f = fr[i].data;
		uint32_t fl = fr[i].len, tci = fr[i].tci;
		uint8_t tagged[NV_FRAME_MAX + 4];

		if (fl < 14 || fl > nv->mtu) {
			q->tx_errors++;
			status = NVSP_STATUS_FAILURE;
			continue;
		}
		if (fr[i].has_vlan) {
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
		q->tx_frames++;
		q->tx_bytes += fl;
		nv->tx_total++;
		if (w)
			w->ops->tx(w, nv->dev, f, fl);
		if (nv->fault == HS_FAULT_RESCIND_TRAFFIC && nv->fault_arg && --nv->fault_arg == 0) {
			nv->fault = HS_FAULT_NONE;
			tx_completion(nv, ch, pkt->tid, status);
			return 1; /* rescind now, from the poll */
		}
	}
	if (status != NVSP_STATUS_SUCCESS)
		q->tx_errors++;
	if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
		tx_completion(nv, ch, pkt->tid, status);
	return 0;
}

static int rndis_pkt(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		     const struct nvsp_rndis_pkt *rp, bool malformed)
{
	bool wants = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	int64_t len;
	int ret;

	if (!nv->rxbuf)
		return -EPROTO; /* netvsp: an RNDIS packet before the receive buffer */
	/* completions the guest has not made room for yet: stop reading
	 * (netvsp stops at 1024 transmits in flight) */
	if (nv->ndelayed >= NV_TX_INFLIGHT) {
		nv->q[ch->subidx].held = true;
		return -EAGAIN;
	}
	if (rp->channel_type == NVSP_CHANNEL_CONTROL && !room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	len = malformed ? -EBADMSG : gather(nv, pkt, rp);
	if (len == -EPROTO)
		return -EPROTO;
	if (len < 0) {
		if (wants && rp->channel_type == NVSP_CHANNEL_CONTROL)
			nv_rndis_complete(ch, pkt->tid, NVSP_STATUS_FAILURE);
		else if (wants)
			tx_completion(nv, ch, pkt->tid, NVSP_STATUS_FAILURE);
		nv->q[ch->subidx].tx_errors++;
		return 0;
	}
	if (rp->channel_type == NVSP_CHANNEL_CONTROL) {
		if (ch->subidx != 0) {
			/* netvsp: NotSupportedOnSubChannel */
			if (wants)
				nv_rndis_complete(ch, pkt->tid, NVSP_STATUS_FAILURE);
			return 0;
		}
		/* completed at once; the answer comes in a control slot */
		if (wants)
			nv_rndis_complete(ch, pkt->tid, NVSP_STATUS_SUCCESS);
		return rndis_control(nv, nv->scratch, (uint32_t)len);
	}
	ret = rndis_data(nv, ch, pkt, (uint32_t)len);
	if (ret == 1) {
		hs_log("%s: rescinding in the middle of traffic, as asked", nv->dev->guid);
		nv->fault = HS_FAULT_RESCIND_TRAFFIC; /* the poll does it */
		nv->fault_arg = 0;
		return 0;
	}
	return ret;
}

/* ------------------------------------------------------------------------ */
/* NVSP                                                                      */
/* ------------------------------------------------------------------------ */

static bool version_supported(uint32_t v)
{
	size_t i;

	for (i = 0; i < sizeof(nvsp_versions) / sizeof(nvsp_versions[0]); i++)
		if (nvsp_versions[i] == v)
			return true;
	return false;
}

static int nvsp_init(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		     const union nvsp_msg *m)
{
	struct nvsp_init_comp c = { .type = NVSP_MSG_INIT_COMP };

	if (nv->inited || ch->subidx)
		return -EPROTO;
	if (!room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	/* netvsp checks the first field only, by exact match */
	if (version_supported(m->init.ver_min)) {
		nv->inited = true;
		nv->nvsp_ver = m->init.ver_min;
		c.status = NVSP_STATUS_SUCCESS;
		c.negotiated_ver = m->init.ver_min == NVSP_VERSION_1 ? NVSP_VERSION_1 : 0xFFFFFFFF;
		c.max_mdl_chain_len = NV_MAX_MDL_CHAIN;
		hs_debug("%s: NVSP version 0x%x", nv->dev->guid, nv->nvsp_ver);
	} else {
		c.status = NVSP_STATUS_NONE;
	}
	if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
		return nv_complete(ch, pkt->tid, &c, sizeof(c));
	return vmbus_chan_send(ch->vc, VMBUS_SEND_MORE, 0, &c, sizeof(c));
}

static int nvsp_rxbuf(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		      const union nvsp_msg *m)
{
	struct hs_dev *dev = nv->dev;
	struct nvsp_rxbuf_conn_comp c = { .type = NVSP_MSG_RXBUF_CONN_COMP };
	uint32_t count;

	if (nv->rxbuf || (nv->nvsp_ver >= NVSP_VERSION_2 && !nv->have_config))
		return -EPROTO;
	if (m->rxbuf_conn.gpadl != dev->recv_gpadl) {
		hs_log("%s: receive buffer GPADL %u is not the device's (%u)", dev->guid,
		       m->rxbuf_conn.gpadl, dev->recv_gpadl);
		return -EPROTO;
	}
	if (!room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	nv->slot_size = 256 + nv->mtu + 36;
	count = (uint32_t)(dev->recv_size / nv->slot_size);
	if (count < NV_CTL_SLOTS + 1)
		return -EPROTO;
	nv->nslots = count;
	nv->slot_batch = calloc(count, sizeof(*nv->slot_batch));
	nv->batch_len = calloc(count, sizeof(*nv->batch_len));
	nv->slot_queue = calloc(count, sizeof(*nv->slot_queue));
	nv->slot_next = calloc(count, sizeof(*nv->slot_next));
	nv->free_slots = calloc(count, sizeof(*nv->free_slots));
	if (!nv->slot_batch || !nv->batch_len || !nv->slot_queue || !nv->slot_next ||
	    !nv->free_slots)
		return -EPROTO;
	slots_reset(nv);
	nv->rxbuf = true;
	nv->rxbuf_id = m->rxbuf_conn.id;
	c.status = NVSP_STATUS_SUCCESS;
	c.num_sections = 1;
	c.sections[0].offset = 0;
	c.sections[0].sub_alloc_size = nv->slot_size;
	c.sections[0].num_sub_allocs = count;
	c.sections[0].end_offset = nv->slot_size * count;
	hs_debug("%s: receive buffer: %u slots of %u bytes", dev->guid, count, nv->slot_size);
	return nv_complete(ch, pkt->tid, &c, sizeof(c));
}

static int nvsp_chim(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		     const union nvsp_msg *m)
{
	struct hs_dev *dev = nv->dev;
	struct nvsp_chim_conn_comp c = { .type = NVSP_MSG_CHIM_CONN_COMP };

	if (nv->chim || (nv->nvsp_ver >= NVSP_VERSION_2 && !nv->have_config))
		return -EPROTO;
	if (m->chim_conn.gpadl != dev->send_gpadl) {
		hs_log("%s: send buffer GPADL %u is not the device's (%u)", dev->guid,
		       m->chim_conn.gpadl, dev->send_gpadl);
		return -EPROTO;
	}
	if (!room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	nv->chim = true;
	nv->nsections = (uint32_t)(dev->send_size / NV_SECTION_SIZE);
	c.status = NVSP_STATUS_SUCCESS;
	c.section_size = NV_SECTION_SIZE;
	return nv_complete(ch, pkt->tid, &c, sizeof(c));
}

static int nvsp_subch(struct nv_state *nv, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		      const union nvsp_msg *m)
{
	struct nvsp_subch_comp c = { .type = NVSP_MSG_SUBCH, .status = NVSP_STATUS_FAILURE };
	uint32_t n = m->subch_req.num_subchannels;

	if (nv->nvsp_ver < NVSP_VERSION_5 || ch->subidx)
		return -EPROTO;
	if (!room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	/* granted iff n < max queues and every queue gets a receive slot */
	if (m->subch_req.op == NVSP_SUBCH_OP_ALLOCATE && !nv->subch_total && n &&
	    n < nv->dev->bus->opts.max_queues && nv->rxbuf &&
	    nv->nslots >= NV_CTL_SLOTS + n + 1) {
		c.status = NVSP_STATUS_SUCCESS;
		c.num_subchannels = n;
		nv->subch_want = n;
		nv->subch_total = n;
		nv->dev->bus->work = true;
	}
	return nv_complete(ch, pkt->tid, &c, sizeof(c));
}

static void send_indirection_table(struct nv_state *nv)
{
	struct hs_chan *ch = nv->dev->chans[0];
	struct {
		struct nvsp_send_table h;
		uint32_t entries[NVSP_SEND_TABLE_SIZE];
	} msg;
	unsigned int i, n = nv_queues(nv);

	memset(&msg, 0, sizeof(msg));
	msg.h.type = NVSP_MSG_SEND_INDIRECTION_TABLE;
	msg.h.count = NVSP_SEND_TABLE_SIZE;
	/* netvsp puts the table right after the 12-byte header */
	msg.h.offset = sizeof(msg.h);
	for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
		msg.entries[i] = i % n;
	if (vmbus_chan_send(ch->vc, 0, 0, &msg, sizeof(msg)) == 0)
		nv->send_table_due = false;
}

static int nv_packet(struct hs_chan *ch, const struct vmbus_pkt *pkt)
{
	struct nv_state *nv = nv_of(ch->dev);
	bool wants = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	bool malformed = pkt->type == VMBUS_PKT_DATA_GPA_DIRECT && !pkt->gpa_ranges;
	union nvsp_msg m;
	int ret;

	hs_debug("%s: channel %u: packet type %u, %u bytes, tid %" PRIu64, ch->dev->guid, ch->subidx,
		 pkt->type, pkt->len, pkt->tid);
	if (pkt->type == VMBUS_PKT_COMPLETION) {
		/* the guest gives back a receive batch or a control slot */
		ret = slots_release(nv, pkt->tid);
		if (ret) {
			hs_log("%s: completion for unknown receive transaction %" PRIu64,
			       nv->dev->guid, pkt->tid);
			nv->protocol_errors++;
			return -EPROTO;
		}
		nv->dev->bus->work = true;
		return 0;
	}
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_GPA_DIRECT) {
		nv->protocol_errors++;
		return -EPROTO;
	}
	if (pkt->len < sizeof(uint32_t)) {
		nv->protocol_errors++;
		return -EPROTO;
	}
	memset(&m, 0, sizeof(m));
	memcpy(&m, pkt->data, pkt->len < sizeof(m) ? pkt->len : sizeof(m));
	if (!nv->inited && m.type != NVSP_MSG_INIT) {
		nv->protocol_errors++;
		return -EPROTO;
	}
	if (nv->revoked) {
		nv->protocol_errors++;
		return -EPROTO; /* the worker stopped at the revoke */
	}

	switch (m.type) {
	case NVSP_MSG_INIT:
		ret = nvsp_init(nv, ch, pkt, &m);
		break;
	case NVSP_MSG_NDIS_CONFIG:
		if (nv->have_config || nv->nvsp_ver < NVSP_VERSION_2 || ch->subidx) {
			ret = -EPROTO;
			break;
		}
		if (wants && !room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		nv->have_config = true;
		/* netvsp takes 1514..9216, else 1514; ours may be capped lower */
		nv->mtu = m.ndis_config.mtu;
		if (nv->mtu < NV_MTU_MIN || nv->mtu > NV_MTU_MAX ||
		    nv->mtu > ch->dev->bus->opts.mtu_max + 14)
			nv->mtu = NV_MTU_MIN;
		nv->caps = m.ndis_config.caps;
		ret = wants ? nv_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_NDIS_VER:
		if (nv->have_ndis_ver || ch->subidx) {
			ret = -EPROTO;
			break;
		}
		if (wants && !room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		nv->have_ndis_ver = true;
		nv->ndis_major = m.ndis_ver.ndis_major;
		nv->ndis_minor = m.ndis_ver.ndis_minor;
		ret = wants ? nv_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_RXBUF_CONN:
		ret = ch->subidx ? -EPROTO : nvsp_rxbuf(nv, ch, pkt, &m);
		break;
	case NVSP_MSG_CHIM_CONN:
		ret = ch->subidx ? -EPROTO : nvsp_chim(nv, ch, pkt, &m);
		break;
	case NVSP_MSG_RXBUF_REVOKE:
	case NVSP_MSG_CHIM_REVOKE:
		/* netvsp's worker ends at a revoke (BufferRevoked), with no
		 * answer: what the guest sends after it, such as the second
		 * revoke Linux sends, is never read, and breaks nothing */
		hs_debug("%s: buffer revoked by the guest", nv->dev->guid);
		nv->revoked = true;
		hs_chan_stop(ch, "the guest revoked its buffers");
		ret = 0;
		break;
	case NVSP_MSG_RNDIS_PKT:
		ret = rndis_pkt(nv, ch, pkt, &m.rndis_pkt, malformed);
		break;
	case NVSP_MSG_SUBCH:
		ret = nvsp_subch(nv, ch, pkt, &m);
		break;
	case NVSP_MSG_SWITCH_DATA_PATH:
		if (nv->nvsp_ver < NVSP_VERSION_4) {
			ret = -EPROTO;
			break;
		}
		if (wants && !room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ret = wants ? nv_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_OID_QUERY_EX: {
		struct nvsp_rndis_pkt_comp c = { .type = NVSP_MSG_OID_QUERY_EX_COMP,
						 .status = NVSP_STATUS_UNSUPPORTED };

		if (!room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ret = wants ? nv_complete(ch, pkt->tid, &c, sizeof(c)) : 0;
		break;
	}
	default:
		ret = -EPROTO;
		break;
	}
	if (ret == -EPROTO) {
		nv->protocol_errors++;
		hs_log("%s: NVSP message %u on channel %u breaks the protocol", nv->dev->guid, m.type,
		       ch->subidx);
		/* in fail mode the guest still learns that it failed */
		if (wants && ch->dev->bus->opts.reaction == HS_REACT_FAIL &&
		    m.type == NVSP_MSG_RNDIS_PKT)
			nv_rndis_complete(ch, pkt->tid, NVSP_STATUS_FAILURE);
	}
	return ret == -EAGAIN || ret == -EPROTO ? ret : 0;
}

/* ------------------------------------------------------------------------ */
/* the device                                                                */
/* ------------------------------------------------------------------------ */

static void nv_reset(struct nv_state *nv)
{
	unsigned int i;

	free(nv->slot_batch);
	free(nv->batch_len);
	free(nv->slot_queue);
	free(nv->slot_next);
	free(nv->free_slots);
	nv->slot_batch = NULL;
	nv->batch_len = NULL;
	nv->slot_queue = NULL;
	nv->slot_next = NULL;
	nv->free_slots = NULL;
	nv->inited = nv->have_config = nv->have_ndis_ver = false;
	nv->rxbuf = nv->chim = nv->revoked = false;
	nv->rndis_inited = false;
	nv->filter = 0;
	nv->nvsp_ver = 0;
	nv->mtu = NV_MTU_MIN;
	nv->rss_on = false;
	memcpy(nv->rss_key, default_rss_key, sizeof(nv->rss_key));
	nv->subch_want = nv->subch_total = 0;
	nv->send_table_due = false;
	nv->ctl_count = nv->ctl_head = 0;
	nv->ndelayed = 0;
	nv->link_up = nv->link_want;
	for (i = 0; i < HS_MAX_CHANS; i++) {
		nv->q[i].rx_head = nv->q[i].rx_count = 0;
		nv->q[i].slots_out = 0;
		nv->q[i].held = false;
	}
}

static void nv_open(struct hs_dev *dev)
{
	nv_reset(nv_of(dev));
}

static void nv_close(struct hs_dev *dev)
{
	nv_reset(nv_of(dev));
}

static void nv_poll(struct hs_dev *dev)
{
	struct nv_state *nv = nv_of(dev);
	struct hs_bus *bus = dev->bus;
	uint64_t now;
	unsigned int i;

	if (!dev->connected)
		return;
	if (nv->fault == HS_FAULT_RESCIND_TRAFFIC && nv->fault_arg == 0) {
		nv->fault = HS_FAULT_NONE;
		hs_rescind(dev);
		return;
	}
	/* subchannels offered one per pass: they arrive asynchronously */
	if (nv->subch_want) {
		uint16_t idx = (uint16_t)(nv->subch_total - nv->subch_want + 1);

		if (hs_offer_subchan(dev, idx, NULL) == 0) {
			nv->subch_want--;
			if (!nv->subch_want)
				nv->send_table_due = true;
		} else {
			hs_log("%s: cannot offer subchannel %u", dev->guid, idx);
			nv->subch_want = 0;
		}
		bus->work = true;
	}
	if (nv->send_table_due && dev->chans[0] && dev->chans[0]->open)
		send_indirection_table(nv);

	now = hs_now_ns();
	/* link changes in quick succession are held back (netvsp: 5 s),
	 * because guests ignore flaps that come too fast */
	if (nv->rndis_inited && nv->link_up != nv->link_want &&
	    now - nv->link_change_ns >= (uint64_t)bus->opts.link_flap_ms * 1000000u) {
		nv->link_up = nv->link_want;
		nv->link_change_ns = now;
		indicate(nv, nv->link_up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT,
			 NULL, 0);
	}
	if (nv->ndelayed) {
		unsigned int k = 0;

		for (i = 0; i < nv->ndelayed; i++) {
			struct nv_delayed *d = &nv->delayed[i];
			struct hs_chan *ch = d->queue < dev->nchans ? dev->chans[d->queue] : NULL;

			if (d->due_ns > now || !ch || !ch->open) {
				if (ch && ch->open)
					nv->delayed[k++] = *d;
				continue;
			}
			if (nv_rndis_complete(ch, d->tid, d->status))
				nv->delayed[k++] = *d;
		}
		nv->ndelayed = k;
		for (i = 0; i < dev->nchans; i++)
			if (dev->chans[i] && dev->chans[i]->open)
				vmbus_chan_flush(dev->chans[i]->vc);
	}
	ctl_flush(nv);
	for (i = 0; i < dev->nchans; i++)
		if (nv->q[i].rx_count)
			rx_flush(nv, i);
	dev->timed_work = nv->ndelayed || (nv->rndis_inited && nv->link_up != nv->link_want);
	/* channels that stopped reading for the device go on once it can:
	 * the wire has room (or waiting for it would never end), and kept
	 * completions are below the limit.  Only those: kicking every channel
	 * on every pass kept the host spinning while a guest was idle. */
	for (i = 0; i < dev->nchans; i++) {
		struct hs_chan *ch = dev->chans[i];
		struct hs_wire *w = bus->wire;

		if (!ch || !ch->open || ch->stopped || !nv->q[i].held ||
		    nv->ndelayed >= NV_TX_INFLIGHT)
			continue;
		if (w && w->ops->room && !w->ops->room(w, dev, 64) && rx_can_drain(nv))
			continue;
		nv->q[i].held = false;
		hs_chan_kick(ch);
	}
}

static void nv_stats(struct hs_dev *dev, FILE *f)
{
	struct nv_state *nv = nv_of(dev);
	unsigned int i;

	fprintf(f, "device %s: %s, nvsp 0x%x, ndis %u.%u, mtu %u, filter 0x%x, link %s, %u queue(s)\n",
		dev->guid, dev->connected ? "open" : "closed", nv->nvsp_ver, nv->ndis_major,
		nv->ndis_minor, nv->mtu - 14, nv->filter, nv->link_up ? "up" : "down",
		nv_queues(nv));
	fprintf(f, "  control requests %" PRIu64 ", protocol errors %" PRIu64
		   ", receive slots free %u of %u\n",
		nv->ctl_requests, nv->protocol_errors, nv->nfree,
		nv->nslots > NV_CTL_SLOTS ? nv->nslots - NV_CTL_SLOTS : 0);
	for (i = 0; i < nv_queues(nv); i++) {
		struct nv_queue *q = &nv->q[i];
		struct hs_chan *ch = dev->chans[i];

		fprintf(f,
			"  queue %u: rx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64
			" drops %" PRIu64 " batches; tx %" PRIu64 " frames %" PRIu64
			" bytes %" PRIu64 " errors; %" PRIu64 " filtered%s\n",
			i, q->rx_frames, q->rx_bytes, q->rx_drops, q->rx_batches, q->tx_frames,
			q->tx_bytes, q->tx_errors, q->rx_filtered, ch && ch->stopped ? " (stopped)" : "");
	}
}

static void nv_free(struct hs_dev *dev)
{
	struct nv_state *nv = nv_of(dev);
	unsigned int i;

	if (!nv)
		return;
	nv_reset(nv);
	for (i = 0; i < HS_MAX_CHANS; i++)
		free(nv->q[i].rxq);
	free(nv->delayed);
	free(nv);
	dev->priv = NULL;
}

const struct hs_dev_ops hs_netvsp_ops = {
	.name = "netvsp",
	.open = nv_open,
	.close = nv_close,
	.packet = nv_packet,
	.poll = nv_poll,
	.stats = nv_stats,
	.free = nv_free,
};

int hs_netvsp_create(struct hs_dev *dev)
{
	struct nv_state *nv = calloc(1, sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv->dev = dev;
	dev->priv = nv;
	nv->delayed = calloc(NV_TX_INFLIGHT, sizeof(*nv->delayed));
	if (!nv->delayed)
		return -ENOMEM;
	/* a locally administered MAC derived from the instance GUID */
	nv->mac[0] = 0x02;
	memcpy(nv->mac + 1, dev->instance.b + 11, 5);
	nv->link_want = true;
	nv_reset(nv);
	return 0;
}

const uint8_t *hs_nic_mac(struct hs_dev *dev)
{
	return nv_of(dev)->mac;
}

void hs_nic_link(struct hs_dev *dev, bool up)
{
	struct nv_state *nv = nv_of(dev);

	if (!nv || nv->link_want == up)
		return;
	nv->link_want = up;
	hs_log("%s: link %s", dev->guid, up ? "up" : "down");
	dev->bus->work = true;
}

static const struct {
	const char *name;
	enum hs_fault f;
} fault_names[] = {
	{ "ring-index", HS_FAULT_RING_INDEX },
	{ "bad-descriptor", HS_FAULT_BAD_DESC },
	{ "bad-xfer-range", HS_FAULT_BAD_XFER_RANGE },
	{ "truncated-rndis", HS_FAULT_TRUNCATED_RNDIS },
	{ "delay-completions", HS_FAULT_DELAY_COMPLETIONS },
	{ "drop-completions", HS_FAULT_DROP_COMPLETIONS },
	{ "rescind-in-traffic", HS_FAULT_RESCIND_TRAFFIC },
	{ "none", HS_FAULT_NONE },
};

int hs_fault_parse(const char *name, enum hs_fault *out)
{
	size_t i;

	for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++) {
		if (!strcmp(name, fault_names[i].name)) {
			*out = fault_names[i].f;
			return 0;
		}
	}
	return -EINVAL;
}

const char *hs_fault_names(void)
{
	return "ring-index, bad-descriptor, bad-xfer-range, truncated-rndis, "
	       "delay-completions [MS], drop-completions, rescind-in-traffic [FRAMES], none";
}

int hs_nic_fault(struct hs_dev *dev, enum hs_fault f, uint64_t arg)
{
	struct nv_state *nv = nv_of(dev);
	struct hs_chan *ch = dev->chans[0];

	if (!nv)
		return -ENODEV;
	switch (f) {
	case HS_FAULT_RING_INDEX:
		if (!ch || !ch->open)
			return -ENOTCONN;
		/* a write index past the end of the data area */
		__atomic_store_n(&vmbus_ring_hdr(vmbus_chan_tx_ring(ch->vc))->write_index,
				 vmbus_ring_data_size(vmbus_chan_tx_ring(ch->vc)) + 8,
				 __ATOMIC_RELEASE);
		hs_chan_signal_guest(ch->vc, ch);
		hs_chan_stop(ch, "fault injected: corrupt ring index");
		return 0;
	case HS_FAULT_BAD_DESC: {
		struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 5, .len8 = 4 };
		uint8_t body[16] = { 0 };
		struct iovec iov[2] = { { &d, sizeof(d) }, { body, sizeof(body) } };
		struct vmbus_ring *r;

		if (!ch || !ch->open)
			return -ENOTCONN;
		r = vmbus_chan_tx_ring(ch->vc);
		if (vmbus_ring_write(r, iov, 2))
			return -EAGAIN;
		if (vmbus_ring_write_commit(r) >= 0)
			hs_chan_signal_guest(ch->vc, ch);
		hs_chan_stop(ch, "fault injected: bad packet descriptor");
		return 0;
	}
	case HS_FAULT_DELAY_COMPLETIONS:
		nv->fault_arg = arg ? arg : 500;
		break;
	case HS_FAULT_RESCIND_TRAFFIC:
		nv->fault_arg = arg ? arg : 1;
		break;
	default:
		nv->fault_arg = arg;
		break;
	}
	nv->fault = f;
	dev->bus->work = true;
	return 0;
}
