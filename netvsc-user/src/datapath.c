/* SPDX-License-Identifier: MIT */
/*
 * The data path: the queues (descriptors, send sections, receive copies,
 * all sized in one place), aggregation of frames into sections, GPA-direct
 * frames, transmit completions, and the receive side (transfer-page
 * packets to frames; control replies go to rndis.c, in-band notifications
 * to nvsp.c), plus waiting and statistics.
 *
 * Transmit follows DPDK's netvsc PMD and Linux hv_netvsc: small frames are
 * copied into send-buffer sections, consecutive ones sharing a section up
 * to the host's RNDIS limits (packets per message, bytes, alignment), and
 * a section is announced with one NVSP RNDIS_PKT whose completion frees
 * it.  A frame that does not fit a section goes GPA-direct, only its RNDIS
 * header in a section.  Receive follows Linux's hardened netvsc_receive:
 * every range is checked against the receive buffer and the section size,
 * the RNDIS message is copied out of shared memory before it is parsed,
 * and every transfer-page packet is completed, control replies included.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "prefetch.h"
#include "priv.h"

OPTS_CHECK_OUT(netvsc_queue_stats);

#define ALIGN_UP(v, a) (((v) + (a) - 1) / (a) * (a))
/* Completions a queue may owe beyond the host's receive slots. */
#define NV_OWED_SLACK 64u

/* ------------------------------------------------------------------------ */
/* queues: descriptors, sections, receive copies                             */
/* ------------------------------------------------------------------------ */

int nv_txd_get(struct nv_queue *q, uint8_t kind)
{
	uint32_t i;
	struct nv_txd *d;

	if (q->ntxd_free == 0)
		return -EAGAIN;
	i = q->txd_free[--q->ntxd_free];
	d = &q->txd[i];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->section = NVSP_CHIM_IDX_NONE;
	return (int)i;
}

void nv_txd_put(struct nv_queue *q, uint32_t i)
{
	struct nv_txd *d = &q->txd[i];

	if (d->section != NVSP_CHIM_IDX_NONE) {
		if (d->kind == TXK_CTL)
			q->nd->ctl_slot_free[q->nd->nctl_slot_free++] = d->section;
		else
			q->sec_free[q->nsec_free++] = d->section;
	}
	d->section = NVSP_CHIM_IDX_NONE;
	d->state = TXD_FREE;
	q->txd_free[q->ntxd_free++] = i;
}

/*
 * Adds @nsec data sections starting at @first (and descriptors for them)
 * to queue @q.  Descriptor indices never move, so this is safe while
 * descriptors are in flight (queue 0 grows after its attach requests).
 */
static int queue_grow(struct nv_queue *q, uint32_t first, uint32_t nsec, uint32_t extra)
{
	uint32_t n = q->ntxd + (nsec < NV_DATA_DESCS ? nsec : NV_DATA_DESCS) + extra, i;
	struct nv_txd *txd;
	uint32_t *fr, *sec;

	txd = realloc(q->txd, n * sizeof(*txd));
	if (!txd)
		return -ENOMEM;
	q->txd = txd;
	fr = realloc(q->txd_free, n * sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	q->txd_free = fr;
	sec = realloc(q->sec_free, (q->nsec + nsec + 1) * sizeof(*sec));
	if (!sec)
		return -ENOMEM;
	q->sec_free = sec;
	for (i = q->ntxd; i < n; i++) {
		memset(&q->txd[i], 0, sizeof(q->txd[i]));
		q->txd[i].section = NVSP_CHIM_IDX_NONE;
	}
	/* lowest indices on top of the stacks: easier to read in dumps */
	for (i = n; i > q->ntxd; i--)
		q->txd_free[q->ntxd_free++] = i - 1;
	for (i = nsec; i > 0; i--)
		q->sec_free[q->nsec_free++] = first + i - 1;
	q->nsec += nsec;
	q->ntxd = n;
	return 0;
}

/*
 * Sizes what a queue keeps per receive slot of the host: private copies
 * of NETVSC_RECV_MAX ranges and of one control message, and the receive
 * completions it may owe (what the host can hand out, and some slack).
 * For a queue being made, and again for queue 0 once the receive buffer
 * is connected: it exists before the host says how large the slots are.
 */
int nv_queue_size_rx(struct nv_queue *q)
{
	const struct netvsc_dev *nd = q->nd;
	uint32_t slot = nd->rx_section_size ? nd->rx_section_size : 4096;
	uint32_t cap = nd->rx_section_count + NV_OWED_SLACK;
	uint8_t *copy = calloc(NETVSC_RECV_MAX + 1, slot);
	struct nv_owed *owed = calloc(cap, sizeof(*owed));

	if (!copy || !owed) {
		free(copy);
		free(owed);
		return -ENOMEM;
	}
	free(q->copy);
	free(q->owed);
	q->copy = copy;
	q->copy_slot = slot;
	q->owed = owed;
	q->owed_cap = cap;
	q->nowed = 0;
	return 0;
}

/*
 * Makes queue @idx (or grows it) with @nsec data sections from @first.
 * Queue 0 is made first with none, for the attach requests.
 */
int nv_queue_init(struct nv_queue *q, struct netvsc_dev *nd, unsigned int idx, uint32_t first,
		  uint32_t nsec)
{
	uint32_t extra = NV_REQ_DESCS + (idx == 0 ? NV_CTL_SLOTS : 0);
	int err;

	if (!q->nd) {
		q->reserve = extra;
		q->nd = nd;
		q->idx = idx;
		q->chan = vmbus_dev_chan(nd->dev, idx);
		q->open = -1;
		err = nv_queue_size_rx(q);
		if (err)
			return err;
	} else {
		extra = 0;
	}
	return queue_grow(q, first, nsec, extra);
}

/* Splits the data sections between the queues (no lock on the hot path). */
int nv_queues_setup(struct netvsc_dev *nd)
{
	uint32_t data = nd->tx_section_count - nd->ctl_sections, per = data / nd->nq;
	unsigned int i;
	int ret;

	for (i = 0; i < nd->nq; i++) {
		ret = nv_queue_init(&nd->q[i], nd, i, nd->ctl_sections + i * per, per);
		if (ret)
			return ret;
	}
	return 0;
}

void nv_queue_fini(struct nv_queue *q)
{
	unsigned int i;

	for (i = 0; i < q->ndeferred; i++)
		free(q->deferred[i]);
	free(q->xfer_owned);
	free(q->txd);
	free(q->txd_free);
	free(q->sec_free);
	free(q->copy);
	free(q->owed);
	memset(q, 0, sizeof(*q));
}

/* ------------------------------------------------------------------------ */
/* device state                                                              */
/* ------------------------------------------------------------------------ */

int nv_chan_error(struct nv_queue *q, int err, const char *what)
{
	struct netvsc_dev *nd = q->nd;

	if (err == -ENODEV) {
		nv_dead(nd, -ENODEV, "the host rescinded the device");
	} else if (err == -EPROTO) {
		const char *why = vmbus_chan_broken(q->chan);

		nv_dead(nd, -EPROTO, "queue %u: %s: the host corrupted the channel%s%s", q->idx,
			what, why ? ": " : "", why ? why : "");
	}
	return err;
}

/* ------------------------------------------------------------------------ */
/* transmit                                                                  */
/* ------------------------------------------------------------------------ */

static void pend_push(struct nv_queue *q, uint32_t i)
{
	q->txd[i].state = TXD_PENDING;
	q->txd[i].next = UINT32_MAX;
	if (q->npend)
		q->txd[q->pend_tail].next = i;
	else
		q->pend_head = i;
	q->pend_tail = i;
	q->npend++;
}

/* Closes the open section: it waits in the pending list for the ring. */
static void close_open(struct nv_queue *q)
{
	uint32_t i;

	if (q->open < 0)
		return;
	i = (uint32_t)q->open;
	q->open = -1;
	if (q->txd[i].nframes == 0) {
		nv_txd_put(q, i);
		return;
	}
	pend_push(q, i);
}

/*
 * The ring's share Linux keeps free of data for receive completions and
 * control (hv_netvsc, netvsc_send_pkt: a queue whose ring had less than
 * RING_AVAIL_PERCENT_LOWATER = 10% free before a data send stops, and
 * wakes above RING_AVAIL_PERCENT_HIWATER = 20%).  A guest that fills the
 * ring with data makes its completions wait behind it: a busy host then
 * reads them late, runs out of receive slots and drops.
 */
#define TX_STOP_PERCENT 10u
#define TX_WAKE_PERCENT 20u

/*
 * Whether a data message may go into @q's ring now: 1 yes, 0 not before
 * the host frees space, or a device error.  *@low: the send is the last
 * one before the queue stops.
 */
static int tx_gate(struct nv_queue *q, bool *low)
{
	struct vmbus_ring *r = vmbus_chan_tx_ring(q->chan);
	uint32_t size = vmbus_ring_data_size(r);
	int ret;

	if (q->tx_stopped) {
		ret = vmbus_ring_has_room(r, size / 100u * TX_WAKE_PERCENT);
		if (ret <= 0)
			return ret < 0 ? nv_chan_error(q, ret, "reading the ring") : 0;
		q->tx_stopped = false;
	}
	ret = vmbus_ring_has_room(r, size / 100u * TX_STOP_PERCENT);
	if (ret < 0)
		return nv_chan_error(q, ret, "reading the ring");
	*low = ret == 0;
	return 1;
}

/*
 * Queues the NVSP messages of pending sections in the ring, in order,
 * without publishing them (VMBUS_SEND_MORE).  Returns 0 when none is left,
 * -EAGAIN when the ring is full (what was queued is published, so the
 * host can make room), or a device error.
 */
int nv_push_pending(struct nv_queue *q)
{
	while (q->npend) {
		uint32_t i = q->pend_head;
		struct nv_txd *d = &q->txd[i];
		uint8_t msg[NVSP_MSG_SIZE];
		bool low;
		int ret;

		ret = tx_gate(q, &low);
		if (ret == 0) {
			ret = vmbus_chan_flush(q->chan);
			if (ret < 0)
				return nv_chan_error(q, ret, "publishing sends");
			return -EAGAIN;
		}
		if (ret < 0)
			return ret;
		ret = nvsp_build_rndis_pkt(msg, sizeof(msg), NVSP_CHANNEL_DATA, d->section, d->used);
		if (ret < 0)
			return ret;
		ret = vmbus_chan_send(q->chan, VMBUS_SEND_COMPLETION | VMBUS_SEND_MORE, i + 1u, msg,
				      sizeof(msg));
		if (ret == 0 && low)
			q->tx_stopped = true;
		if (ret == -EAGAIN) {
			int f = vmbus_chan_flush(q->chan);

			if (f < 0)
				return nv_chan_error(q, f, "publishing sends");
			return -EAGAIN;
		}
		if (ret < 0)
			return nv_chan_error(q, ret, "sending");
		d->state = TXD_INFLIGHT;
		q->pend_head = d->next;
		q->npend--;
		NV_STAT_ADD(q, tx_msgs, 1);
	}
	return 0;
}

static int check_queue(struct netvsc_dev *nd, unsigned int q)
{
	int st;

	if (!nd)
		return -EINVAL;
	st = nv_live(nd);
	if (st)
		return st;
	if (q >= nd->nq)
		return -EINVAL;
	return 0;
}

/* Turns the caller's meta into the codec's, checking offload offers. */
static int tx_meta(const struct netvsc_dev *nd, const struct netvsc_tx_meta *m,
		   struct rndis_tx_meta *r)
{
	uint32_t csum = NETVSC_TX_CSUM_IP4 | NETVSC_TX_CSUM_TCP | NETVSC_TX_CSUM_UDP;

	memset(r, 0, sizeof(*r));
	if (!m)
		return 0;
	if (m->flags & ~(NETVSC_TX_VLAN | csum | NETVSC_TX_IPV6))
		return -EINVAL;
	if (m->flags & NETVSC_TX_VLAN) {
		r->flags |= RNDIS_TX_VLAN;
		r->vlan_tci = m->vlan_tci;
	}
	if (m->flags & csum) {
		uint32_t want = m->flags & csum;

		if ((want & nd->info.tx_csum) != want ||
		    ((m->flags & NETVSC_TX_IPV6) && !(nd->info.tx_csum & NETVSC_TX_IPV6)))
			return -ENOTSUP;
		if ((m->flags & NETVSC_TX_IPV6) && (want & NETVSC_TX_CSUM_IP4))
			return -EINVAL;
		if (m->l4_offset >= 1024)
			return -EINVAL;
		r->flags |= RNDIS_TX_CSUM;
		r->l4_offset = m->l4_offset;
		r->csum = (m->flags & NETVSC_TX_IPV6) ? NDIS_TXCSUM_IPV6 : NDIS_TXCSUM_IPV4;
		if (want & NETVSC_TX_CSUM_IP4)
			r->csum |= NDIS_TXCSUM_IP_HDR;
		if (want & NETVSC_TX_CSUM_TCP)
			r->csum |= NDIS_TXCSUM_TCP;
		if (want & NETVSC_TX_CSUM_UDP)
			r->csum |= NDIS_TXCSUM_UDP;
	}
	return 0;
}

/* Bytes of RNDIS header rndis_build_packet writes for @r. */
static uint32_t tx_hdr_len(const struct rndis_tx_meta *r)
{
	uint32_t n = 0;

	n += !!(r->flags & RNDIS_TX_VLAN);
	n += !!(r->flags & RNDIS_TX_CSUM);
	n += !!(r->flags & RNDIS_TX_HASH);
	n += !!(r->flags & RNDIS_TX_LSO);
	return (uint32_t)sizeof(struct rndis_packet) + n * (uint32_t)RNDIS_PPI_U32_SIZE;
}

/* Largest RNDIS message (header + frame) one section can carry. */
static uint32_t section_limit(const struct netvsc_dev *nd)
{
	return nd->tx_section_size < nd->max_xfer ? nd->tx_section_size : nd->max_xfer;
}

/*
 * Opens a section for a message of @need bytes.  The host read the next
 * free section last: its lines are asked for now, for writing, as many as
 * messages like this one will fill, so filling it later does not wait for
 * them one by one (asking for the whole section cost small frames more
 * than it saved).
 */
static int open_section(struct nv_queue *q, uint32_t need)
{
	struct netvsc_dev *nd = q->nd;
	int i;

	if (q->nsec_free == 0 || q->ntxd_free <= q->reserve)
		return -EAGAIN;
	i = nv_txd_get(q, TXK_DATA);
	if (i < 0)
		return i;
	q->txd[i].section = q->sec_free[--q->nsec_free];
	q->txd[i].state = TXD_OPEN;
	q->open = i;
	if (q->nsec_free) {
		uint8_t *next = nv_section(nd, q->sec_free[q->nsec_free - 1]);
		uint64_t fill = (uint64_t)nd->agg_pkts * ALIGN_UP(need, nd->agg_align);
		uint32_t k;

		if (fill > section_limit(nd))
			fill = section_limit(nd);
		for (k = 0; k < fill; k += 64)
			prefetch_w(next + k);
	}
	return 0;
}

static int send_one(struct nv_queue *q, const uint8_t *frame, size_t len,
		    const struct netvsc_tx_meta *meta)
{
	struct netvsc_dev *nd = q->nd;
	struct rndis_tx_meta r;
	bool strip = false;
	uint32_t payload, hdr, need, off = 0;
	struct nv_txd *d;
	uint8_t *sec;
	int ret;

	if (!frame || len < NETVSC_ETH_HLEN)
		return -EINVAL;
	ret = tx_meta(nd, meta, &r);
	if (ret)
		return ret;
	/* the host takes 802.1Q tags only as per-packet info */
	if (!(r.flags & RNDIS_TX_VLAN) && len >= NETVSC_ETH_HLEN + 4 && frame[12] == 0x81 &&
	    frame[13] == 0x00) {
		strip = true;
		r.flags |= RNDIS_TX_VLAN;
		r.vlan_tci = (uint16_t)(frame[14] << 8 | frame[15]);
	}
	payload = (uint32_t)(strip ? len - 4 : len);
	if (len > (size_t)nd->info.mtu + NETVSC_ETH_HLEN + 4 ||
	    payload > nd->info.mtu + NETVSC_ETH_HLEN)
		return -EMSGSIZE;
	hdr = tx_hdr_len(&r);
	need = hdr + payload;
	if (need > section_limit(nd))
		return -EMSGSIZE;

	if (q->open >= 0) {
		d = &q->txd[q->open];
		off = ALIGN_UP(d->used, nd->agg_align);
		if (d->nframes >= nd->agg_pkts || off > section_limit(nd) ||
		    need > section_limit(nd) - off)
			close_open(q);
	}
	if (q->npend) {
		ret = nv_push_pending(q);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
	}
	if (q->open < 0) {
		/* sections wait in order: no new one while the ring holds some back */
		if (q->npend || open_section(q, need)) {
			NV_STAT_ADD(q, tx_busy, 1);
			return -EAGAIN;
		}
		off = 0;
	}
	d = &q->txd[q->open];
	sec = nv_section(nd, d->section);
	if (d->nframes && off > d->used) {
		/* pad the previous message to the alignment; the host steps by
		 * message length */
		uint32_t plen;

		memset(sec + d->used, 0, off - d->used);
		memcpy(&plen, sec + d->last + 4, 4);
		plen += off - d->used;
		memcpy(sec + d->last + 4, &plen, 4);
	}
	ret = rndis_build_packet(sec + off, nd->tx_section_size - off, payload, &r);
	if (ret < 0)
		return ret == -ENOBUFS ? -EMSGSIZE : ret;
	if (strip) {
		memcpy(sec + off + (uint32_t)ret, frame, 12);
		memcpy(sec + off + (uint32_t)ret + 12, frame + 16, len - 16);
	} else {
		memcpy(sec + off + (uint32_t)ret, frame, len);
	}
	d->last = off;
	d->used = off + (uint32_t)ret + payload;
	d->nframes++;
	d->bytes += len;
	q->inflight_frames++;
	NV_STAT_SET(q, tx_inflight, q->inflight_frames);
	return 0;
}

int netvsc_flush(struct netvsc_dev *nd, unsigned int qi)
{
	struct nv_queue *q;
	int ret = check_queue(nd, qi), f;

	if (ret)
		return ret;
	q = &nd->q[qi];
	close_open(q);
	ret = nv_push_pending(q);
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	f = vmbus_chan_flush(q->chan);
	if (f < 0)
		return nv_chan_error(q, f, "publishing sends");
	return ret;
}

int netvsc_send(struct netvsc_dev *nd, unsigned int qi, const void *frame, size_t len,
		const struct netvsc_tx_meta *meta, unsigned int flags)
{
	int ret = check_queue(nd, qi);

	if (ret)
		return ret;
	if (flags & ~NETVSC_SEND_MORE)
		return -EINVAL;
	ret = send_one(&nd->q[qi], frame, len, meta);
	if (ret)
		return ret;
	if (!(flags & NETVSC_SEND_MORE)) {
		ret = netvsc_flush(nd, qi);
		/* taken is taken: a full ring only delays it */
		if (ret == -EAGAIN)
			ret = 0;
	}
	return ret;
}

int netvsc_send_burst(struct netvsc_dev *nd, unsigned int qi, const struct netvsc_txbuf *frames,
		      unsigned int n)
{
	unsigned int i;
	int ret = check_queue(nd, qi);

	if (ret)
		return ret;
	if (n && !frames)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = send_one(&nd->q[qi], frames[i].data, frames[i].len, frames[i].meta);
		if (ret == -EAGAIN)
			break;
		if (ret < 0 && i == 0)
			return ret;
		if (ret < 0)
			break;
	}
	ret = netvsc_flush(nd, qi);
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	return (int)i;
}

int netvsc_send_pages(struct netvsc_dev *nd, unsigned int qi, const struct netvsc_tx_pages *p)
{
	struct nv_queue *q;
	struct rndis_tx_meta r;
	uint8_t msg[NVSP_MSG_SIZE];
	struct iovec iov = { msg, sizeof(msg) };
	uint64_t total = 0;
	unsigned int k;
	struct nv_txd *d;
	bool low = false;
	int ret = check_queue(nd, qi), i, hdr;

	if (ret)
		return ret;
	q = &nd->q[qi];
	if (!p || !p->bufs || p->nbufs == 0 || p->nbufs > NV_MAX_PAGE_BUFS)
		return -EINVAL;
	for (k = 0; k < p->nbufs; k++) {
		if (p->bufs[k].len == 0 || !p->bufs[k].pfn)
			return -EINVAL;
		total += p->bufs[k].len;
	}
	if (total < NETVSC_ETH_HLEN)
		return -EINVAL;
	if (total > nd->info.mtu + NETVSC_ETH_HLEN)
		return -EMSGSIZE;
	ret = tx_meta(nd, p->meta, &r);
	if (ret)
		return ret;
	/* everything taken before goes first */
	close_open(q);
	ret = nv_push_pending(q);
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	if (q->npend || q->nsec_free == 0 || q->ntxd_free <= q->reserve) {
		NV_STAT_ADD(q, tx_busy, 1);
		if (q->npend)
			vmbus_chan_flush(q->chan);
		return -EAGAIN;
	}
	ret = tx_gate(q, &low);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		NV_STAT_ADD(q, tx_busy, 1);
		return -EAGAIN;
	}
	i = nv_txd_get(q, TXK_PAGES);
	if (i < 0) {
		NV_STAT_ADD(q, tx_busy, 1);
		return -EAGAIN;
	}
	d = &q->txd[i];
	d->section = q->sec_free[--q->nsec_free];
	/* only the RNDIS header goes into the section; the host reads the
	 * frame from the pages, after the section's bytes */
	hdr = rndis_build_packet(nv_section(nd, d->section), nd->tx_section_size,
				 (uint32_t)total, &r);
	if (hdr < 0) {
		nv_txd_put(q, (uint32_t)i);
		return hdr;
	}
	ret = nvsp_build_rndis_pkt(msg, sizeof(msg), NVSP_CHANNEL_DATA, d->section, (uint32_t)hdr);
	if (ret < 0) {
		nv_txd_put(q, (uint32_t)i);
		return ret;
	}
	ret = vmbus_chan_send_gpa(q->chan, VMBUS_SEND_COMPLETION, (uint64_t)i + 1u, p->bufs, p->nbufs,
				  &iov, 1);
	if (ret < 0) {
		nv_txd_put(q, (uint32_t)i);
		if (ret == -EAGAIN) {
			NV_STAT_ADD(q, tx_busy, 1);
			return ret;
		}
		if (ret == -EMSGSIZE || ret == -EINVAL)
			return ret;
		return nv_chan_error(q, ret, "sending pages");
	}
	d->state = TXD_INFLIGHT;
	d->nframes = 1;
	if (low)
		q->tx_stopped = true;
	d->bytes = total;
	d->cookie = p->cookie;
	q->inflight_frames++;
	NV_STAT_SET(q, tx_inflight, q->inflight_frames);
	NV_STAT_ADD(q, tx_msgs, 1);
	NV_STAT_ADD(q, tx_pages, 1);
	return 0;
}

/* A completion from the host for one of our descriptors. */
static void tx_complete(struct nv_queue *q, const struct vmbus_pkt *pkt)
{
	struct netvsc_dev *nd = q->nd;
	struct nv_txd *d;
	uint32_t status = NVSP_STATUS_FAILURE, i;

	if (pkt->tid == 0 || pkt->tid > q->ntxd || q->txd[pkt->tid - 1].state != TXD_INFLIGHT) {
		/* Linux: "Invalid transaction ID", dropped */
		NV_STAT_ADD(q, tx_errors, 1);
		return;
	}
	i = (uint32_t)(pkt->tid - 1);
	d = &q->txd[i];
	if (d->kind == TXK_REQ) {
		d->resp_len = pkt->len < NV_RESP_MAX ? pkt->len : NV_RESP_MAX;
		memcpy(d->resp, pkt->data, d->resp_len);
		d->done = true;
		d->state = TXD_PENDING; /* answered, until the waiter frees it */
		return;
	}
	/* a malformed completion still frees what it names (Linux) */
	if (nvsp_parse_rndis_pkt_comp(pkt->data, pkt->len, &status))
		NV_STAT_ADD(q, tx_errors, 1);
	if (d->kind == TXK_DATA || d->kind == TXK_PAGES) {
		if (status == NVSP_STATUS_SUCCESS) {
			NV_STAT_ADD(q, tx_packets, d->nframes);
			NV_STAT_ADD(q, tx_bytes, d->bytes);
		} else {
			NV_STAT_ADD(q, tx_drops, d->nframes);
		}
		q->inflight_frames -= d->nframes;
		NV_STAT_SET(q, tx_inflight, q->inflight_frames);
		if (d->kind == TXK_PAGES && nd->ops.tx_done)
			nd->ops.tx_done(nd->ops.arg, q->idx, d->cookie,
					status == NVSP_STATUS_SUCCESS ? 0 : -EIO);
	}
	nv_txd_put(q, i);
}

/* ------------------------------------------------------------------------ */
/* receive                                                                   */
/* ------------------------------------------------------------------------ */

/* Completes a receive packet; a full ring keeps it owed, never lost. */
static int rx_complete(struct nv_queue *q, uint64_t tid, uint32_t status)
{
	uint8_t msg[sizeof(struct nvsp_rndis_pkt_comp)];
	int ret = nvsp_build_rndis_pkt_comp(msg, sizeof(msg), status);

	if (ret < 0)
		return ret;
	if (q->nowed == 0) {
		ret = vmbus_chan_send_completion(q->chan, VMBUS_SEND_MORE, tid, msg, (size_t)ret);
		if (ret == 0)
			return 0;
		if (ret != -EAGAIN)
			return nv_chan_error(q, ret, "completing a receive packet");
	}
	if (q->nowed == q->owed_cap) {
		nv_dead(q->nd, -EPROTO, "queue %u: the host sent more receive packets than it has "
					"slots",
			q->idx);
		return -EPROTO;
	}
	q->owed[q->nowed].tid = tid;
	q->owed[q->nowed].status = status;
	q->nowed++;
	return 0;
}

/* Sends completions that found the ring full before, oldest first. */
static int pay_owed(struct nv_queue *q)
{
	uint32_t k = 0;
	int ret = 0;

	while (k < q->nowed) {
		uint8_t msg[sizeof(struct nvsp_rndis_pkt_comp)];

		nvsp_build_rndis_pkt_comp(msg, sizeof(msg), q->owed[k].status);
		ret = vmbus_chan_send_completion(q->chan, VMBUS_SEND_MORE, q->owed[k].tid, msg,
						 sizeof(msg));
		if (ret == -EAGAIN) {
			ret = 0;
			break;
		}
		if (ret < 0)
			return nv_chan_error(q, ret, "completing a receive packet");
		k++;
	}
	if (k) {
		memmove(q->owed, q->owed + k, (q->nowed - k) * sizeof(*q->owed));
		q->nowed -= k;
	}
	return ret;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* NDIS receive checksum bits to ours. */
static uint32_t rx_flags(const struct rndis_rx_info *ri)
{
	uint32_t f = 0;

	if (ri->have & RNDIS_RX_HAVE_VLAN)
		f |= NETVSC_RX_VLAN;
	if (ri->have & RNDIS_RX_HAVE_HASH_VALUE)
		f |= NETVSC_RX_HASH;
	if (ri->have & RNDIS_RX_HAVE_CSUM) {
		if (ri->csum & NDIS_RXCSUM_IP_OK)
			f |= NETVSC_RX_IP_CSUM_OK;
		if (ri->csum & (NDIS_RXCSUM_TCP_OK | NDIS_RXCSUM_UDP_OK))
			f |= NETVSC_RX_L4_CSUM_OK;
		if (ri->csum &
		    (NDIS_RXCSUM_TCP_FAILED | NDIS_RXCSUM_UDP_FAILED | NDIS_RXCSUM_IP_FAILED))
			f |= NETVSC_RX_CSUM_BAD;
	}
	return f;
}

struct rx_ctx {
	enum nv_sink sink;
	unsigned int budget; /* 0: none */
	unsigned int delivered;
	struct netvsc_rx_frame *out;
	unsigned int nout, max;
};

static bool rx_full(const struct rx_ctx *c)
{
	if (c->sink == SINK_ARRAY)
		return c->nout >= c->max;
	return c->budget && c->delivered >= c->budget;
}

/* Copies [8 + @off, 8 + @off + @n) of the range, clamped to @len. */
static void copy_part(uint8_t *priv, const uint8_t *src, uint32_t len, uint32_t off, uint32_t n)
{
	uint64_t start = RNDIS_PACKET_OFFSET_BASE + (uint64_t)off, end = start + n;

	/* never over the header copy: the offsets came from it */
	if (start < sizeof(struct rndis_packet))
		start = sizeof(struct rndis_packet);
	if (start >= len || end <= start)
		return;
	if (end > len)
		end = len; /* the parser rejects what would lie beyond */
	memcpy(priv + start, src + start, (size_t)(end - start));
}

/*
 * The longest frame a queue delivers: mtu + 14, and 4 more for a frame
 * that carries its own 802.1Q tag (the same rule as for sending).
 */
static uint32_t rx_frame_max(const struct netvsc_dev *nd, const uint8_t *f, uint32_t len)
{
	uint32_t max = nd->info.mtu + NETVSC_ETH_HLEN;

	if (len >= NETVSC_ETH_HLEN + 4 && f[12] == 0x81 && f[13] == 0x00)
		max += 4;
	return max;
}

/*
 * One data message in the range @src/@len: copies the header, then the
 * per-packet info and the frame where that private header puts them (not
 * the padding between: hosts put frames a few hundred bytes into a slot),
 * so the parser and the caller read only private bytes.  Returns 0 or
 * -EBADMSG.
 */
static int rx_data(struct nv_queue *q, struct rx_ctx *c, const uint8_t *src, uint32_t len)
{
	struct netvsc_dev *nd = q->nd;
	uint8_t *priv = q->copy + (size_t)(c->sink == SINK_ARRAY ? c->nout : 0) * q->copy_slot;
	const uint32_t hl = sizeof(struct rndis_packet);
	struct rndis_rx_info ri;
	struct netvsc_rx_frame f;

	if (len < hl)
		return -EBADMSG;
	memcpy(priv, src, hl);
	/* the sizes are read from our copy only; the header is not copied
	 * again, so the parser checks exactly what placed the copies */
	copy_part(priv, src, len, rd32(priv + 28), rd32(priv + 32)); /* per-packet info */
	copy_part(priv, src, len, rd32(priv + 8), rd32(priv + 12)); /* the frame */
	if (rndis_parse_packet(priv, len, &ri))
		return -EBADMSG;
	if (ri.data_len > rx_frame_max(nd, priv + ri.data_off, ri.data_len)) {
		/* well formed, but more than the MTU promises: dropped, counted,
		 * and the slot goes back as a success */
		NV_STAT_ADD(q, rx_oversize, 1);
		return 0;
	}

	f.data = priv + ri.data_off;
	f.len = ri.data_len;
	f.queue = (uint16_t)q->idx;
	f.flags = rx_flags(&ri);
	f.vlan_tci = (ri.have & RNDIS_RX_HAVE_VLAN) ? ri.vlan_tci : 0;
	f.hash = (ri.have & RNDIS_RX_HAVE_HASH_VALUE) ? ri.hash_value : 0;
	if (c->sink == SINK_DROP || (c->sink == SINK_CALLBACK && !nd->ops.rx)) {
		NV_STAT_ADD(q, rx_drops, 1);
		return 0;
	}
	NV_STAT_ADD(q, rx_packets, 1);
	NV_STAT_ADD(q, rx_bytes, f.len);
	c->delivered++;
	if (c->sink == SINK_ARRAY)
		c->out[c->nout++] = f;
	else
		nd->ops.rx(nd->ops.arg, &f);
	return 0;
}

/* Bytes of the next frame asked for ahead: a whole 1500-byte frame and its
 * RNDIS header (asking for only the first two lines measured no better). */
#define RX_PREFETCH_MAX 1600u

/*
 * Asks for the lines of range @r of the receive buffer, which the host's
 * core wrote last.  Only a hint: nothing is read here, and an offset beyond
 * the buffer asks for nothing.
 */
static void rx_prefetch(const struct netvsc_dev *nd, const struct vmbus_xfer_range *r)
{
	const uint8_t *base = nd->vinfo.recv_buf;
	uint32_t off = r->byte_offset, n = r->byte_count, k;

	if (off >= nd->vinfo.recv_size)
		return;
	if (n > nd->vinfo.recv_size - off)
		n = (uint32_t)(nd->vinfo.recv_size - off);
	if (n > RX_PREFETCH_MAX)
		n = RX_PREFETCH_MAX;
	for (k = 0; k < n; k += 64)
		__builtin_prefetch(base + off + k, 0, 3);
}

/* Works through the ranges of the current transfer-page packet. */
static int rx_ranges(struct nv_queue *q, struct rx_ctx *c)
{
	struct netvsc_dev *nd = q->nd;
	const struct vmbus_pkt *pkt = &q->xfer;
	int ret;

	while (q->xfer_next < pkt->xfer_range_cnt) {
		const struct vmbus_xfer_range *r = &pkt->xfer_ranges[q->xfer_next];
		const uint8_t *src;
		uint32_t type;

		if (rx_full(c))
			return 0;
		q->xfer_next++;
		/* the next frame's lines travel while this one is copied */
		if (q->xfer_next < pkt->xfer_range_cnt)
			rx_prefetch(nd, &pkt->xfer_ranges[q->xfer_next]);
		if (nvsp_check_range(r, nd->vinfo.recv_size, nd->rx_section_size)) {
			NV_STAT_ADD(q, rx_errors, 1);
			q->xfer_status = NVSP_STATUS_FAILURE;
			continue;
		}
		src = (const uint8_t *)nd->vinfo.recv_buf + r->byte_offset;
		if (r->byte_count < sizeof(struct rndis_msg_hdr)) {
			NV_STAT_ADD(q, rx_errors, 1);
			q->xfer_status = NVSP_STATUS_FAILURE;
			continue;
		}
		/* the type is read once, from our copy */
		memcpy(&type, src, sizeof(type));
		if (type == RNDIS_MSG_PACKET) {
			ret = rx_data(q, c, src, r->byte_count);
		} else if (q->idx == 0) {
			/* control replies and indications: the whole message */
			uint8_t *priv = q->copy + (size_t)NETVSC_RECV_MAX * q->copy_slot;

			memcpy(priv, src, r->byte_count);
			ret = nv_rndis_message(nd, priv, r->byte_count);
		} else {
			ret = -EBADMSG; /* control traffic belongs to the primary */
		}
		if (nv_live(nd))
			return nv_live(nd);
		if (ret) {
			NV_STAT_ADD(q, rx_errors, 1);
			q->xfer_status = NVSP_STATUS_FAILURE;
		}
	}
	/* every range done: give the slots back, whether or not the host
	 * asked (Linux netvsc_receive completes every transfer-page packet) */
	q->have_xfer = false;
	free(q->xfer_owned);
	q->xfer_owned = NULL;
	return rx_complete(q, pkt->tid, q->xfer_status);
}

/*
 * Whether every range of a receive packet holds a data message (not a
 * control reply, which attach is waiting for).  Only a hint for keeping the
 * packet: each range is checked again, on a private copy, when it is used.
 */
static bool only_frames(struct nv_queue *q, const struct vmbus_pkt *pkt)
{
	const struct netvsc_dev *nd = q->nd;
	uint32_t i, type;

	for (i = 0; i < pkt->xfer_range_cnt; i++) {
		const struct vmbus_xfer_range *r = &pkt->xfer_ranges[i];

		if (nvsp_check_range(r, nd->vinfo.recv_size, nd->rx_section_size) ||
		    r->byte_count < sizeof(type))
			return false;
		memcpy(&type, (const uint8_t *)nd->vinfo.recv_buf + r->byte_offset, sizeof(type));
		if (type != RNDIS_MSG_PACKET)
			return false;
	}
	return pkt->xfer_range_cnt > 0;
}

/* One packet just taken from the ring. */
static int rx_packet(struct nv_queue *q, struct rx_ctx *c, const struct vmbus_pkt *pkt)
{
	struct nvsp_rndis_pkt_info info;

	switch (pkt->type) {
	case VMBUS_PKT_COMPLETION:
		tx_complete(q, pkt);
		return 0;
	case VMBUS_PKT_DATA_XFER_PAGES:
		NV_STAT_ADD(q, rx_xfers, 1);
		if (nvsp_parse_xfer(pkt, &info) || pkt->xfer_range_cnt > NV_MAX_RANGES) {
			NV_STAT_ADD(q, rx_errors, 1);
			return rx_complete(q, pkt->tid, NVSP_STATUS_FAILURE);
		}
		if (c->sink == SINK_DROP && !q->nd->attached && q->ndeferred < NV_MAX_DEFERRED &&
		    only_frames(q, pkt)) {
			/* attach is not done yet: keep it for the first poll */
			struct nv_deferred *d =
				malloc(sizeof(*d) + pkt->xfer_range_cnt * sizeof(d->ranges[0]));

			if (d) {
				d->tid = pkt->tid;
				d->flags = pkt->flags;
				d->nranges = pkt->xfer_range_cnt;
				memcpy(d->ranges, pkt->xfer_ranges,
				       pkt->xfer_range_cnt * sizeof(d->ranges[0]));
				q->deferred[q->ndeferred++] = d;
				return 0;
			}
		}
		q->xfer = *pkt;
		q->xfer_next = 0;
		q->xfer_status = NVSP_STATUS_SUCCESS;
		q->have_xfer = true;
		return rx_ranges(q, c);
	case VMBUS_PKT_DATA_INBAND:
		nv_nvsp_notification(q, pkt);
		return 0;
	default:
		NV_STAT_ADD(q, rx_errors, 1);
		return 0;
	}
}

int nv_service(struct nv_queue *q, enum nv_sink sink, unsigned int budget,
	       struct netvsc_rx_frame *out, unsigned int *nout)
{
	struct netvsc_dev *nd = q->nd;
	struct rx_ctx c = { .sink = sink, .budget = budget, .out = out,
			    .max = nout ? *nout : 0 };
	bool idle = true;
	int ret;

	ret = nv_live(nd);
	if (ret)
		return ret;
	if (q->nowed) {
		ret = pay_owed(q);
		if (ret < 0)
			return ret;
	}
	if (q->npend) {
		ret = nv_push_pending(q);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
	}
	if (q->idx == 0 && nd->keepalive_owed)
		nv_rndis_keepalive_answer(nd);
	for (;;) {
		struct vmbus_pkt pkt;

		if (!q->have_xfer && q->ndeferred && q->nd->attached) {
			/* what arrived during attach goes first, in order */
			struct nv_deferred *d = q->deferred[0];

			memmove(q->deferred, q->deferred + 1,
				(q->ndeferred - 1) * sizeof(q->deferred[0]));
			q->ndeferred--;
			memset(&q->xfer, 0, sizeof(q->xfer));
			q->xfer.type = VMBUS_PKT_DATA_XFER_PAGES;
			q->xfer.flags = d->flags;
			q->xfer.tid = d->tid;
			q->xfer.xfer_pageset_id = NVSP_RXBUF_ID;
			q->xfer.xfer_range_cnt = d->nranges;
			q->xfer.xfer_ranges = d->ranges;
			q->xfer_owned = d;
			q->xfer_next = 0;
			q->xfer_status = NVSP_STATUS_SUCCESS;
			q->have_xfer = true;
		}
		if (q->have_xfer) {
			idle = false;
			ret = rx_ranges(q, &c);
			if (ret < 0)
				return ret;
			if (q->have_xfer)
				break; /* the caller's array or budget is full */
		}
		/*
		 * Reading goes on while completions are owed: the host may be
		 * blocked writing to us and read our ring only once we make
		 * room in its, so stopping here would deadlock.  What we owe is
		 * bounded by the receive slots the host can hand out.
		 */
		if (rx_full(&c))
			break;
		ret = vmbus_chan_peek(q->chan, &pkt);
		if (ret == -EAGAIN)
			break;
		if (ret < 0 && ret != -EBADMSG)
			return nv_chan_error(q, ret, "receiving");
		idle = false;
		{
			int cerr = vmbus_chan_consume(q->chan);

			if (cerr)
				return nv_chan_error(q, cerr, "receiving");
		}
		if (ret == -EBADMSG) {
			/* a malformed header (e.g. a range beyond the receive
			 * buffer): still identifiable, so hand its slots back */
			NV_STAT_ADD(q, rx_errors, 1);
			if (pkt.type == VMBUS_PKT_DATA_XFER_PAGES)
				ret = rx_complete(q, pkt.tid, NVSP_STATUS_FAILURE);
			else
				ret = 0;
		} else {
			ret = rx_packet(q, &c, &pkt);
		}
		if (ret < 0)
			return ret;
		ret = nv_live(nd);
		if (ret)
			return ret;
	}
	/* hand back what we read (and wake a host waiting for the room),
	 * also when the budget stopped us before the ring was empty */
	ret = vmbus_chan_recv_commit(q->chan);
	if (ret < 0)
		return nv_chan_error(q, ret, "publishing what was read");
	if (q->nowed) {
		ret = pay_owed(q);
		if (ret < 0)
			return ret;
	}
	ret = vmbus_chan_flush(q->chan);
	if (ret < 0)
		return nv_chan_error(q, ret, "publishing completions");
	if (idle && ++q->empty_polls >= NV_CHECK_EVERY) {
		/* a poller that never waits still notices a rescind */
		q->empty_polls = 0;
		if (vmbus_dev_check(nd->dev))
			return nv_chan_error(q, -ENODEV, "polling");
	}
	if (nout)
		*nout = c.nout;
	return (int)c.delivered;
}

int netvsc_poll(struct netvsc_dev *nd, unsigned int qi, unsigned int budget)
{
	int ret = check_queue(nd, qi);

	if (ret)
		return ret;
	return nv_service(&nd->q[qi], SINK_CALLBACK, budget, NULL, NULL);
}

int netvsc_recv(struct netvsc_dev *nd, unsigned int qi, struct netvsc_rx_frame *frames,
		unsigned int n)
{
	unsigned int got = n;
	int ret = check_queue(nd, qi);

	if (ret)
		return ret;
	if (!frames || n == 0 || n > NETVSC_RECV_MAX)
		return -EINVAL;
	ret = nv_service(&nd->q[qi], SINK_ARRAY, 0, frames, &got);
	return ret < 0 ? ret : (int)got;
}

/*
 * One queue's part of a wait: 1 if it has work now, 0 if it is armed and
 * its interrupt listener is in *@cfd, or a negative error.
 */
static int wait_prepare(struct netvsc_dev *nd, struct nv_queue *q, int *cfd)
{
	int ret;

	if (q->have_xfer || q->ndeferred)
		return 1;
	/* nothing taken sleeps unpublished; and the host must see what is
	 * queued before we ask it for room (it frees only what it sees) */
	ret = netvsc_flush(nd, q->idx);
	if (ret < 0 && ret != -EAGAIN)
		return ret;
	if (q->npend || q->nowed || q->tx_stopped) {
		/* held back for ring space: ask the host to signal when a
		 * quarter of the ring is free (more than tx_gate waits for) */
		uint32_t want = vmbus_ring_data_size(vmbus_chan_tx_ring(q->chan)) / 4;

		ret = vmbus_ring_write_wait(vmbus_chan_tx_ring(q->chan), want);
		if (ret < 0)
			return nv_chan_error(q, ret, "waiting for ring space");
		if (ret == 1)
			return 1;
	}
	ret = vmbus_chan_wait(q->chan, 0);
	if (ret == 0)
		return 1;
	if (ret != -ETIMEDOUT)
		return nv_chan_error(q, ret, "waiting");
	*cfd = vmbus_chan_fd(q->chan);
	if (*cfd < 0)
		return nv_chan_error(q, *cfd, "waiting");
	return 0;
}

int netvsc_wait_queues(struct netvsc_dev *nd, uint64_t queues, int fd, int timeout_ms,
		       uint64_t *ready)
{
	struct pollfd pfd[NETVSC_MAX_QUEUES + 1];
	unsigned int qat[NETVSC_MAX_QUEUES], qi, n = 0, nq;
	uint64_t got = 0;
	int ret, mask = 0;

	if (ready)
		*ready = 0;
	if (!nd)
		return -EINVAL;
	ret = nv_live(nd);
	if (ret)
		return ret;
	if (!queues || (nd->nq < 64 && (queues >> nd->nq)))
		return -EINVAL;
	/* every queue is armed (or found busy) before any sleep */
	for (qi = 0; qi < nd->nq; qi++) {
		int cfd = -1;

		if (!(queues >> qi & 1))
			continue;
		ret = wait_prepare(nd, &nd->q[qi], &cfd);
		if (ret < 0)
			return ret;
		if (ret) {
			got |= UINT64_C(1) << qi;
			continue;
		}
		qat[n] = qi;
		pfd[n++] = (struct pollfd){ .fd = cfd, .events = POLLIN };
	}
	if (got) {
		if (ready)
			*ready = got;
		return NETVSC_WAIT_QUEUE;
	}
	nq = n;
	if (fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	ret = poll(pfd, (nfds_t)n, timeout_ms < 0 ? -1 : timeout_ms);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	for (qi = 0; qi < nq; qi++)
		if (pfd[qi].revents)
			got |= UINT64_C(1) << qat[qi];
	if (got)
		mask |= NETVSC_WAIT_QUEUE;
	if (fd >= 0 && (pfd[nq].revents & (POLLIN | POLLHUP | POLLERR)))
		mask |= NETVSC_WAIT_FD;
	if (ready)
		*ready = got;
	return mask;
}

int netvsc_wait(struct netvsc_dev *nd, unsigned int qi, int fd, int timeout_ms)
{
	int ret = check_queue(nd, qi);

	if (ret)
		return ret;
	return netvsc_wait_queues(nd, UINT64_C(1) << qi, fd, timeout_ms, NULL);
}

int netvsc_stats(const struct netvsc_dev *nd, unsigned int qi, struct netvsc_queue_stats *out)
{
	struct netvsc_queue_stats st;
	const struct nv_stats *s;

	memset(&st, 0, sizeof(st));
	if (!nd || qi >= nd->nq)
		return OPTS_FILL(out, &st, netvsc_queue_stats);
	s = &nd->q[qi].st;
#define LD(f) st.f = __atomic_load_n(&s->f, __ATOMIC_RELAXED)
	LD(rx_packets);
	LD(rx_bytes);
	LD(rx_drops);
	LD(rx_errors);
	LD(tx_packets);
	LD(tx_bytes);
	LD(tx_drops);
	LD(tx_errors);
	LD(tx_busy);
	LD(tx_msgs);
	LD(tx_pages);
	LD(rx_xfers);
	LD(tx_inflight);
	LD(rx_oversize);
#undef LD
	return OPTS_FILL(out, &st, netvsc_queue_stats);
}
