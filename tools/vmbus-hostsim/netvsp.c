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
 *
 * This file is the device (open, close, the poll pass, statistics); the
 * protocols are in netvsp_nvsp.c, netvsp_rndis.c and netvsp_data.c, the
 * state they share in netvsp.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "netvsp.h"

/* The key the host hashes with until the guest sets its own. */
static const uint8_t default_rss_key[NDIS_RSS_KEY_SIZE] = NDIS_RSS_KEY_DEFAULT;

void nsp_reset(struct nsp_state *ns)
{
	unsigned int i;

	free(ns->slot_batch);
	free(ns->batch_len);
	free(ns->slot_queue);
	free(ns->slot_next);
	free(ns->free_slots);
	ns->slot_batch = NULL;
	ns->batch_len = NULL;
	ns->slot_queue = NULL;
	ns->slot_next = NULL;
	ns->free_slots = NULL;
	ns->inited = ns->ready = ns->have_config = ns->have_ndis_ver = false;
	ns->rxbuf = ns->chim = ns->revoked = false;
	ns->rndis_inited = false;
	ns->filter = 0;
	ns->nvsp_ver = 0;
	ns->mtu = NSP_MTU_MIN;
	ns->rss_on = false;
	ns->rss_entries = 0;
	memcpy(ns->rss_key, default_rss_key, sizeof(ns->rss_key));
	ns->rss_tab_ok = false;
	ns->subch_want = ns->subch_total = 0;
	ns->send_table_due = false;
	ns->ctl_count = ns->ctl_head = 0;
	ns->ndelayed = 0;
	ns->link_up = ns->link_want;
	for (i = 0; i < HS_MAX_CHANS; i++) {
		ns->q[i].rx_head = ns->q[i].rx_count = 0;
		ns->q[i].big_wr = ns->q[i].big_used = 0;
		ns->q[i].slots_out = 0;
		ns->q[i].held = false;
	}
}

static void nsp_open(struct hs_dev *dev)
{
	nsp_reset(nsp_of(dev));
}

static void nsp_close(struct hs_dev *dev)
{
	nsp_reset(nsp_of(dev));
}

static void nsp_poll(struct hs_dev *dev)
{
	struct nsp_state *ns = nsp_of(dev);
	struct hs_bus *bus = dev->bus;
	uint64_t now;
	unsigned int i;

	if (!dev->connected)
		return;
	if (ns->fault == HS_FAULT_RESCIND_TRAFFIC && ns->fault_arg == 0) {
		ns->fault = HS_FAULT_NONE;
		hs_rescind(dev);
		return;
	}
	/* subchannels offered one per pass: they arrive asynchronously */
	if (ns->subch_want) {
		uint16_t idx = (uint16_t)(ns->subch_total - ns->subch_want + 1);

		if (ns->fault == HS_FAULT_WITHHOLD_SUBCHANNELS && idx > ns->fault_arg) {
			/* granted but never offered: netvsp sends no send table
			 * either, as not every granted channel opened */
			hs_log("%s: %u granted subchannel(s) withheld, as asked", dev->guid,
			       ns->subch_want);
			ns->subch_want = 0;
		} else if (hs_offer_subchan(dev, idx, NULL) == 0) {
			ns->subch_want--;
			if (!ns->subch_want)
				ns->send_table_due = true;
		} else {
			hs_log("%s: cannot offer subchannel %u", dev->guid, idx);
			ns->subch_want = 0;
		}
		bus->work = true;
	}
	if (ns->send_table_due && dev->chans[0] && dev->chans[0]->open)
		nsp_send_indirection_table(ns);

	now = hs_now_ns();
	/* link changes in quick succession are held back (netvsp: 5 s),
	 * because guests ignore flaps that come too fast */
	if (ns->rndis_inited && ns->link_up != ns->link_want &&
	    now - ns->link_change_ns >= (uint64_t)bus->opts.link_flap_ms * 1000000u) {
		ns->link_up = ns->link_want;
		ns->link_change_ns = now;
		nsp_indicate(ns, ns->link_up ? RNDIS_STATUS_MEDIA_CONNECT : RNDIS_STATUS_MEDIA_DISCONNECT,
			     NULL, 0);
	}
	if (ns->ndelayed) {
		unsigned int k = 0;

		for (i = 0; i < ns->ndelayed; i++) {
			struct nsp_delayed *d = &ns->delayed[i];
			struct hs_chan *ch = d->queue < dev->nchans ? dev->chans[d->queue] : NULL;

			if (d->due_ns > now || !ch || !ch->open) {
				if (ch && ch->open)
					ns->delayed[k++] = *d;
				continue;
			}
			if (nsp_rndis_complete(ch, d->tid, d->status))
				ns->delayed[k++] = *d;
		}
		ns->ndelayed = k;
		for (i = 0; i < dev->nchans; i++)
			if (dev->chans[i] && dev->chans[i]->open)
				vmbus_chan_flush(dev->chans[i]->vc);
	}
	nsp_ctl_flush(ns);
	for (i = 0; i < dev->nchans; i++)
		if (ns->q[i].rx_count)
			nsp_rx_flush(ns, i);
	dev->timed_work = ns->ndelayed || (ns->rndis_inited && ns->link_up != ns->link_want) ||
			  (ns->ctl_count && ns->ctlq[ns->ctl_head].due_ns > now);
	/* channels that stopped reading for the device go on once it can:
	 * the wire has room (or waiting for it would never end), and kept
	 * completions are below the limit.  Only those: kicking every channel
	 * on every pass kept the host spinning while a guest was idle. */
	for (i = 0; i < dev->nchans; i++) {
		struct hs_chan *ch = dev->chans[i];
		struct hs_wire *w = bus->wire;

		if (!ch || !ch->open || ch->stopped || !ns->q[i].held ||
		    ns->ndelayed >= NSP_TX_INFLIGHT)
			continue;
		if (w && w->ops->room && !w->ops->room(w, dev, 64) && nsp_rx_can_drain(ns))
			continue;
		ns->q[i].held = false;
		hs_chan_kick(ch);
	}
}

static void nsp_stats(struct hs_dev *dev, FILE *f)
{
	struct nsp_state *ns = nsp_of(dev);
	unsigned int i;

	fprintf(f, "device %s: %s, nvsp 0x%x, ndis %u.%u, mtu %u, filter 0x%x, link %s, %u queue(s)\n",
		dev->guid, dev->connected ? "open" : "closed", ns->nvsp_ver, ns->ndis_major,
		ns->ndis_minor, ns->mtu - 14, ns->filter, ns->link_up ? "up" : "down",
		nsp_queues(ns));
	fprintf(f, "  control requests %" PRIu64 " (by page %" PRIu64 ", in sections %" PRIu64
		   "), protocol errors %" PRIu64 ", receive slots free %u of %u\n",
		ns->ctl_requests, ns->ctl_by_page, ns->ctl_in_section, ns->protocol_errors, ns->nfree,
		ns->nslots > NSP_CTL_SLOTS ? ns->nslots - NSP_CTL_SLOTS : 0);
	fprintf(f, "  control messages waiting %u, control slots held by the guest %u of %u\n",
		ns->ctl_count, (unsigned int)__builtin_popcount(ns->ctl_busy), NSP_CTL_SLOTS);
	{
		uint64_t seen = 0;
		bool zero_key = true;

		for (i = 0; i < dev->bus->opts.rss_table && i < NDIS_RSS_ITAB_MAX; i++)
			if (ns->rss_itab[i] < 64)
				seen |= 1ull << ns->rss_itab[i];
		for (i = 0; i < NDIS_RSS_KEY_SIZE; i++)
			zero_key = zero_key && !ns->rss_key[i];
		/* an all-zero key hashes every flow to 0, so to entry 0's queue */
		fprintf(f, "  rss %s, guest table %u entries, host table %u, hash 0x%x; disables %" PRIu64
			   " (empty %" PRIu64 "); the table names %d queue(s)%s\n",
			ns->rss_on ? "on" : "off", ns->rss_entries, dev->bus->opts.rss_table,
			ns->rss_hash_info, ns->rss_disables, ns->rss_disables_empty,
			__builtin_popcountll(seen),
			ns->rss_on && zero_key ? ", the key is all zero" : "");
	}
	for (i = 0; i < nsp_queues(ns); i++) {
		struct nsp_queue *q = &ns->q[i];
		struct hs_chan *ch = dev->chans[i];

		fprintf(f,
			"  queue %u: rx %" PRIu64 " frames %" PRIu64 " bytes %" PRIu64
			" drops %" PRIu64 " batches; tx %" PRIu64 " frames %" PRIu64
			" bytes %" PRIu64 " errors; %" PRIu64 " filtered; %u waiting, copied tails"
			" wrapped %" PRIu64 " times%s\n",
			i, q->rx_frames, q->rx_bytes, q->rx_drops, q->rx_batches, q->tx_frames,
			q->tx_bytes, q->tx_errors, q->rx_filtered, q->rx_count, q->big_wraps,
			ch && ch->stopped ? " (stopped)" : "");
	}
}

static void nsp_free(struct hs_dev *dev)
{
	struct nsp_state *ns = nsp_of(dev);
	unsigned int i;

	if (!ns)
		return;
	nsp_reset(ns);
	for (i = 0; i < HS_MAX_CHANS; i++) {
		free(ns->q[i].rxq);
		free(ns->q[i].rxbig);
	}
	free(ns->delayed);
	free(ns);
	dev->priv = NULL;
}

const struct hs_dev_ops hs_netvsp_ops = {
	.name = "netvsp",
	.open = nsp_open,
	.close = nsp_close,
	.packet = nsp_packet,
	.poll = nsp_poll,
	.stats = nsp_stats,
	.free = nsp_free,
};

int hs_netvsp_create(struct hs_dev *dev)
{
	struct nsp_state *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	ns->dev = dev;
	dev->priv = ns;
	ns->delayed = calloc(NSP_TX_INFLIGHT, sizeof(*ns->delayed));
	if (!ns->delayed)
		return -ENOMEM;
	/* a locally administered MAC derived from the instance GUID */
	ns->mac[0] = 0x02;
	memcpy(ns->mac + 1, dev->instance.b + 11, 5);
	ns->link_want = true;
	nsp_reset(ns);
	return 0;
}

const uint8_t *hs_nic_mac(struct hs_dev *dev)
{
	return nsp_of(dev)->mac;
}

void hs_nic_link(struct hs_dev *dev, bool up)
{
	struct nsp_state *ns = nsp_of(dev);

	if (!ns || ns->link_want == up)
		return;
	ns->link_want = up;
	hs_log("%s: link %s", dev->guid, up ? "up" : "down");
	dev->bus->work = true;
}
