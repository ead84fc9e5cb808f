/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: the NVSP messages of the guest and the host's answers (OpenVMM's
 * netvsp).  INIT matches a supported version exactly; the receive buffer
 * is cut into slots of 256 + MTU + 36 bytes and the send buffer into
 * sections of 6144; subchannels are granted once per session and offered
 * after the completion, then the send indirection table follows; anything
 * out of order or unknown breaks the protocol.  RNDIS_PKT messages go to
 * netvsp_data.c.
 *
 * The session has two phases, as OpenVMM's worker does: initialisation
 * (NetChannel::initialize), which takes only the NDIS configuration and
 * version and the two buffers, and which ends once all of them are there
 * or at the first RNDIS packet after the version, configuration and
 * receive buffer; then the main loop (process_ring_buffer), which takes
 * RNDIS packets and their completions, subchannel requests, data path
 * switches, OID_QUERY_EX and revokes, and none of the initialisation
 * messages again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netvsp.h"

static const uint32_t nvsp_versions[] = { NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
					  NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61 };

/* ------------------------------------------------------------------------ */
/* answers                                                                   */
/* ------------------------------------------------------------------------ */

/* NVSP messages from the host are 40 bytes for 6.1, 32 before (netvsp). */
uint32_t nsp_out_size(struct nsp_state *ns)
{
	return ns->nvsp_ver >= NVSP_VERSION_61 ? NVSP_MSG_SIZE : 32u;
}

/* Room for an answer of @len NVSP bytes in the channel's outgoing ring. */
bool nsp_room_for(struct hs_chan *ch, uint32_t len)
{
	/* descriptor + message, padded, + trailer, strictly less than free */
	uint32_t need = 16 + ((len + 7) & ~7u) + 8 + 8;
	int64_t free = vmbus_ring_writable(vmbus_chan_tx_ring(ch->vc));

	if (free > (int64_t)need)
		return true;
	hs_chan_wait_tx(ch, need);
	return false;
}

static int nsp_complete(struct hs_chan *ch, uint64_t tid, const void *msg, uint32_t len)
{
	union nvsp_msg m;

	memset(&m, 0, sizeof(m));
	memcpy(&m, msg, len);
	return vmbus_chan_send_completion(ch->vc, VMBUS_SEND_MORE, tid, &m,
					  nsp_out_size(nsp_of(ch->dev)));
}

static int nsp_complete_empty(struct hs_chan *ch, uint64_t tid)
{
	return vmbus_chan_send_completion(ch->vc, VMBUS_SEND_MORE, tid, NULL, 0);
}

int nsp_rndis_complete(struct hs_chan *ch, uint64_t tid, uint32_t status)
{
	struct nvsp_rndis_pkt_comp c = { .type = NVSP_MSG_RNDIS_PKT_COMP, .status = status };

	return nsp_complete(ch, tid, &c, sizeof(c));
}

/* ------------------------------------------------------------------------ */
/* messages                                                                  */
/* ------------------------------------------------------------------------ */

static bool version_supported(uint32_t v)
{
	size_t i;

	for (i = 0; i < sizeof(nvsp_versions) / sizeof(nvsp_versions[0]); i++)
		if (nvsp_versions[i] == v)
			return true;
	return false;
}

static int nsp_init(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		    const union nvsp_msg *m)
{
	struct nvsp_init_comp c = { .type = NVSP_MSG_INIT_COMP };

	if (ns->inited || ch->subidx)
		return -EPROTO;
	if (!nsp_room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	/* netvsp checks the first field only, by exact match; hosts with the
	 * old send table predate NVSP 6.1 */
	if (version_supported(m->init.ver_min) &&
	    !(ns->dev->bus->opts.old_send_table && m->init.ver_min > NVSP_VERSION_6)) {
		ns->inited = true;
		ns->nvsp_ver = m->init.ver_min;
		c.status = NVSP_STATUS_SUCCESS;
		c.negotiated_ver = m->init.ver_min == NVSP_VERSION_1 ? NVSP_VERSION_1 : 0xFFFFFFFF;
		c.max_mdl_chain_len = NSP_MAX_MDL_CHAIN;
		hs_debug("%s: NVSP version 0x%x", ns->dev->guid, ns->nvsp_ver);
	} else {
		c.status = NVSP_STATUS_NONE;
	}
	if (pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED)
		return nsp_complete(ch, pkt->tid, &c, sizeof(c));
	return vmbus_chan_send(ch->vc, VMBUS_SEND_MORE, 0, &c, sizeof(c));
}

/* A GPADL the guest created whose creation the host has not read yet. */
static bool nsp_gpadl_pending(struct hs_dev *dev, uint32_t handle)
{
	struct hs_transport *t = dev->bus->tp;

	return t->ops->gpadl_pending && t->ops->gpadl_pending(t, dev, handle);
}

static int nsp_rxbuf(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		     const union nvsp_msg *m)
{
	struct hs_dev *dev = ns->dev;
	struct nvsp_rxbuf_conn_comp c = { .type = NVSP_MSG_RXBUF_CONN_COMP };
	uint32_t count;

	if (ns->rxbuf || (ns->nvsp_ver >= NVSP_VERSION_2 && !ns->have_config))
		return -EPROTO;
	if (m->rxbuf_conn.gpadl != dev->recv_gpadl && nsp_gpadl_pending(dev, m->rxbuf_conn.gpadl))
		return -EAGAIN;
	if (m->rxbuf_conn.gpadl != dev->recv_gpadl) {
		hs_log("%s: receive buffer GPADL %u is not the device's (%u)", dev->guid,
		       m->rxbuf_conn.gpadl, dev->recv_gpadl);
		return -EPROTO;
	}
	if (!nsp_room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	ns->slot_size = 256 + ns->mtu + 36;
	count = (uint32_t)(dev->recv_size / ns->slot_size);
	if (count < NSP_CTL_SLOTS + 1)
		return -EPROTO;
	ns->nslots = count;
	ns->slot_batch = calloc(count, sizeof(*ns->slot_batch));
	ns->batch_len = calloc(count, sizeof(*ns->batch_len));
	ns->slot_queue = calloc(count, sizeof(*ns->slot_queue));
	ns->slot_next = calloc(count, sizeof(*ns->slot_next));
	ns->free_slots = calloc(count, sizeof(*ns->free_slots));
	if (!ns->slot_batch || !ns->batch_len || !ns->slot_queue || !ns->slot_next ||
	    !ns->free_slots)
		return -EPROTO;
	nsp_slots_reset(ns);
	ns->rxbuf = true;
	ns->rxbuf_id = m->rxbuf_conn.id;
	c.status = NVSP_STATUS_SUCCESS;
	c.num_sections = 1;
	c.sections[0].offset = 0;
	c.sections[0].sub_alloc_size = ns->slot_size;
	c.sections[0].num_sub_allocs = count;
	c.sections[0].end_offset = ns->slot_size * count;
	hs_debug("%s: receive buffer: %u slots of %u bytes", dev->guid, count, ns->slot_size);
	return nsp_complete(ch, pkt->tid, &c, sizeof(c));
}

static int nsp_chim(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		    const union nvsp_msg *m)
{
	struct hs_dev *dev = ns->dev;
	struct nvsp_chim_conn_comp c = { .type = NVSP_MSG_CHIM_CONN_COMP };

	if (ns->chim || (ns->nvsp_ver >= NVSP_VERSION_2 && !ns->have_config))
		return -EPROTO;
	if (m->chim_conn.gpadl != dev->send_gpadl && nsp_gpadl_pending(dev, m->chim_conn.gpadl))
		return -EAGAIN;
	if (m->chim_conn.gpadl != dev->send_gpadl) {
		hs_log("%s: send buffer GPADL %u is not the device's (%u)", dev->guid,
		       m->chim_conn.gpadl, dev->send_gpadl);
		return -EPROTO;
	}
	if (!nsp_room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	ns->chim = true;
	ns->nsections = (uint32_t)(dev->send_size / NSP_SECTION_SIZE);
	c.status = NVSP_STATUS_SUCCESS;
	c.section_size = NSP_SECTION_SIZE;
	return nsp_complete(ch, pkt->tid, &c, sizeof(c));
}

static int nsp_subch(struct nsp_state *ns, struct hs_chan *ch, const struct vmbus_pkt *pkt,
		     const union nvsp_msg *m)
{
	struct nvsp_subch_comp c = { .type = NVSP_MSG_SUBCH, .status = NVSP_STATUS_FAILURE };
	uint32_t n = m->subch_req.num_subchannels;

	if (ns->nvsp_ver < NVSP_VERSION_5 || ch->subidx)
		return -EPROTO;
	if (!nsp_room_for(ch, NVSP_MSG_SIZE))
		return -EAGAIN;
	/* granted iff n < max queues and every queue gets a receive slot */
	if (m->subch_req.op == NVSP_SUBCH_OP_ALLOCATE && !ns->subch_total && n &&
	    n < ns->dev->bus->opts.max_queues && ns->rxbuf &&
	    ns->nslots >= NSP_CTL_SLOTS + n + 1) {
		c.status = NVSP_STATUS_SUCCESS;
		c.num_subchannels = n;
		ns->subch_want = n;
		ns->subch_total = n;
		ns->dev->bus->work = true;
	}
	return nsp_complete(ch, pkt->tid, &c, sizeof(c));
}

/* Where hosts up to NVSP 6 put the table: after a whole 40-byte NVSP
 * message (Linux netvsc_send_table: 4 + sizeof(union nvsp_6_message_uber)). */
#define NSP_OLD_TABLE_OFFSET 40u

void nsp_send_indirection_table(struct nsp_state *ns)
{
	struct hs_chan *ch = ns->dev->chans[0];
	uint8_t msg[NSP_OLD_TABLE_OFFSET + 4u * NVSP_SEND_TABLE_SIZE];
	struct nvsp_send_table h = { .type = NVSP_MSG_SEND_INDIRECTION_TABLE,
				     .count = NVSP_SEND_TABLE_SIZE,
				     .offset = sizeof(h) };
	uint32_t at = sizeof(h), i, n = nsp_queues(ns), e;

	/*
	 * netvsp puts the table right after the 12-byte header and says so.
	 * Hosts up to NVSP 6 put it at byte 40 while the offset still said 12
	 * (the host bug Linux's netvsc_send_table works around: "the offset
	 * may be wrong"), so a guest reading at 12 finds 7 zeros first.
	 */
	if (ns->dev->bus->opts.old_send_table)
		at = NSP_OLD_TABLE_OFFSET;
	memset(msg, 0, sizeof(msg));
	memcpy(msg, &h, sizeof(h));
	for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++) {
		e = i % n;
		memcpy(msg + at + 4 * i, &e, 4);
	}
	if (vmbus_chan_send(ch->vc, 0, 0, msg, at + 4u * NVSP_SEND_TABLE_SIZE) == 0)
		ns->send_table_due = false;
}

/* What ends OpenVMM's initialisation (NetChannel::is_ready_to_initialize):
 * the configuration (from NVSP 2), the NDIS version, the receive buffer and,
 * unless an RNDIS packet came first, the send buffer. */
static bool nsp_ready_to_init(const struct nsp_state *ns, bool without_send_buffer)
{
	return (ns->have_config || ns->nvsp_ver < NVSP_VERSION_2) && ns->have_ndis_ver &&
	       ns->rxbuf && (ns->chim || without_send_buffer);
}

/* A protocol violation: says which and whose rule it breaks. */
int nsp_violation(struct nsp_state *ns, struct hs_chan *ch, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ns->protocol_errors++;
	hs_log("%s: channel %u: %s", ns->dev->guid, ch->subidx, why);
	return -EPROTO;
}

/*
 * Whether message @type may come now: only INIT until a version is
 * negotiated; then, during initialisation, the configuration, version,
 * buffers and the RNDIS packet that ends it; afterwards none of those
 * again (OpenVMM: initialize() answers anything else with
 * InvalidPacketData, the main loop with an unexpected-packet error, both
 * ending the worker).
 */
static int nsp_in_order(struct nsp_state *ns, struct hs_chan *ch, uint32_t type)
{
	bool init_msg = type == NVSP_MSG_NDIS_CONFIG || type == NVSP_MSG_NDIS_VER ||
			type == NVSP_MSG_RXBUF_CONN || type == NVSP_MSG_CHIM_CONN;

	if (!ns->inited)
		return type == NVSP_MSG_INIT ?
			       0 :
			       nsp_violation(ns, ch, "NVSP message %u before a version was negotiated "
						 "(OpenVMM: only INIT until then)",
					 type);
	if (type == NVSP_MSG_INIT)
		return nsp_violation(ns, ch, "a second NVSP INIT (OpenVMM: InvalidPacketData)");
	if (ns->ready)
		return init_msg ? nsp_violation(ns, ch, "NVSP message %u after initialisation (OpenVMM "
						    "main loop: unexpected packet)",
					    type) :
				  0;
	if (init_msg)
		return 0;
	if (type != NVSP_MSG_RNDIS_PKT)
		return nsp_violation(ns, ch, "NVSP message %u during initialisation (OpenVMM: "
					 "InvalidPacketData)",
				 type);
	if (!nsp_ready_to_init(ns, true))
		return nsp_violation(ns, ch, "an RNDIS packet before the NDIS %s (OpenVMM: "
					 "UnexpectedRndisPacket)",
				 !ns->have_ndis_ver ? "version" :
				 !ns->rxbuf && (ns->have_config || ns->nvsp_ver < NVSP_VERSION_2) ?
						      "receive buffer" :
						      "configuration");
	/* the first RNDIS packet ends initialisation; the send buffer may be
	 * missing (then no RNDIS packet may name a section) */
	ns->ready = true;
	return 0;
}

/* One packet from the guest (hs_dev_ops.packet). */
int nsp_packet(struct hs_chan *ch, const struct vmbus_pkt *pkt)
{
	struct nsp_state *ns = nsp_of(ch->dev);
	bool wants = pkt->flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED;
	bool malformed = pkt->type == VMBUS_PKT_DATA_GPA_DIRECT && !pkt->gpa_ranges;
	union nvsp_msg m;
	int ret;

	hs_debug("%s: channel %u: packet type %u, %u bytes, tid %" PRIu64, ch->dev->guid, ch->subidx,
		 pkt->type, pkt->len, pkt->tid);
	if (pkt->type == VMBUS_PKT_COMPLETION) {
		/* the guest gives back a receive batch or a control slot */
		if (nsp_slots_release(ns, pkt->tid))
			return nsp_violation(ns, ch, "completion for unknown receive transaction %" PRIu64
						 " (OpenVMM: InvalidRndisPacketCompletion)",
					 pkt->tid);
		ns->dev->bus->work = true;
		return 0;
	}
	if (pkt->type != VMBUS_PKT_DATA_INBAND && pkt->type != VMBUS_PKT_DATA_GPA_DIRECT)
		return nsp_violation(ns, ch, "packet type %u (NetVSP takes in-band and GPA-direct "
					 "data and completions)",
				 pkt->type);
	if (pkt->len < sizeof(uint32_t))
		return nsp_violation(ns, ch, "an NVSP message of %u bytes", pkt->len);
	memset(&m, 0, sizeof(m));
	memcpy(&m, pkt->data, pkt->len < sizeof(m) ? pkt->len : sizeof(m));
	if (ns->revoked)
		return nsp_violation(ns, ch, "NVSP message %u after a buffer revoke (OpenVMM's worker "
					 "ends at BufferRevoked)",
				 m.type);
	ret = nsp_in_order(ns, ch, m.type);
	if (ret)
		return ret;

	switch (m.type) {
	case NVSP_MSG_INIT:
		ret = nsp_init(ns, ch, pkt, &m);
		break;
	case NVSP_MSG_NDIS_CONFIG:
		if (ns->have_config || ns->nvsp_ver < NVSP_VERSION_2 || ch->subidx) {
			ret = nsp_violation(ns, ch, "NDIS configuration %s (OpenVMM: %s)",
					ns->have_config ? "twice" : "below NVSP 2",
					ns->have_config ? "SendNdisConfigExists" : "UnknownType");
			break;
		}
		if (wants && !nsp_room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ns->have_config = true;
		/* netvsp takes 1514..9216, else 1514; ours may be capped lower */
		ns->mtu = m.ndis_config.mtu;
		if (ns->mtu < NSP_MTU_MIN || ns->mtu > NSP_MTU_MAX ||
		    ns->mtu > ch->dev->bus->opts.mtu_max + 14)
			ns->mtu = NSP_MTU_MIN;
		ns->caps = m.ndis_config.caps;
		ret = wants ? nsp_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_NDIS_VER:
		if (ns->have_ndis_ver || ch->subidx) {
			ret = nsp_violation(ns, ch, "NDIS version twice (OpenVMM: SendNdisVersionExists)");
			break;
		}
		if (wants && !nsp_room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ns->have_ndis_ver = true;
		ns->ndis_major = m.ndis_ver.ndis_major;
		ns->ndis_minor = m.ndis_ver.ndis_minor;
		ret = wants ? nsp_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_RXBUF_CONN:
		ret = ch->subidx ? -EPROTO : nsp_rxbuf(ns, ch, pkt, &m);
		if (ret == -EPROTO)
			nsp_violation(ns, ch, "receive buffer refused (OpenVMM: a duplicate, no NDIS "
					  "configuration first, or not the device's GPADL)");
		break;
	case NVSP_MSG_CHIM_CONN:
		ret = ch->subidx ? -EPROTO : nsp_chim(ns, ch, pkt, &m);
		if (ret == -EPROTO)
			nsp_violation(ns, ch, "send buffer refused (OpenVMM: a duplicate or not the "
					  "device's GPADL)");
		break;
	case NVSP_MSG_RXBUF_REVOKE:
	case NVSP_MSG_CHIM_REVOKE:
		/* netvsp's worker ends at a revoke (BufferRevoked), with no
		 * answer: what the guest sends after it, such as the second
		 * revoke Linux sends, is never read, and breaks nothing */
		hs_debug("%s: buffer revoked by the guest", ns->dev->guid);
		ns->revoked = true;
		hs_chan_stop(ch, "the guest revoked its buffers");
		ret = 0;
		break;
	case NVSP_MSG_RNDIS_PKT:
		ret = nsp_rndis_pkt(ns, ch, pkt, &m.rndis_pkt, malformed);
		break;
	case NVSP_MSG_SUBCH:
		if (ns->nvsp_ver < NVSP_VERSION_5 || ch->subidx) {
			ret = nsp_violation(ns, ch, "a subchannel request %s (OpenVMM: %s)",
					ch->subidx ? "on a subchannel" : "below NVSP 5",
					ch->subidx ? "unexpected packet" : "UnknownType");
			break;
		}
		ret = nsp_subch(ns, ch, pkt, &m);
		break;
	case NVSP_MSG_SWITCH_DATA_PATH:
		if (ns->nvsp_ver < NVSP_VERSION_4 || ch->subidx) {
			ret = nsp_violation(ns, ch, "a data path switch %s (OpenVMM: %s)",
					ch->subidx ? "on a subchannel" : "below NVSP 4",
					ch->subidx ? "unexpected packet" : "UnknownType");
			break;
		}
		if (wants && !nsp_room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ret = wants ? nsp_complete_empty(ch, pkt->tid) : 0;
		break;
	case NVSP_MSG_OID_QUERY_EX: {
		/* netvsp answers NOT_SUPPORTED (an RNDIS status), 0 bytes */
		struct nvsp_rndis_pkt_comp c = { .type = NVSP_MSG_OID_QUERY_EX_COMP,
						 .status = RNDIS_STATUS_NOT_SUPPORTED };

		if (ns->nvsp_ver < NVSP_VERSION_5) {
			ret = nsp_violation(ns, ch, "OID_QUERY_EX below NVSP 5 (OpenVMM parse_packet: "
						"UnknownType)");
			break;
		}
		if (!nsp_room_for(ch, NVSP_MSG_SIZE))
			return -EAGAIN;
		ret = wants ? nsp_complete(ch, pkt->tid, &c, sizeof(c)) : 0;
		break;
	}
	default:
		ret = nsp_violation(ns, ch, "unknown NVSP message %u (OpenVMM: UnknownType)", m.type);
		break;
	}
	/* all four there: initialisation is over (OpenVMM initialize()) */
	if (ret == 0 && ns->inited && !ns->ready && nsp_ready_to_init(ns, false))
		ns->ready = true;
	if (ret == -EPROTO) {
		/* in fail mode the guest still learns that it failed */
		if (wants && ch->dev->bus->opts.reaction == HS_REACT_FAIL &&
		    m.type == NVSP_MSG_RNDIS_PKT)
			nsp_rndis_complete(ch, pkt->tid, NVSP_STATUS_FAILURE);
	}
	return ret == -EAGAIN || ret == -EPROTO ? ret : 0;
}
