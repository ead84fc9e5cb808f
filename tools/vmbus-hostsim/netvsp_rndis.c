/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: RNDIS control (OpenVMM's netvsp).  Control requests are
 * completed at once and answered in a reserved receive slot (transaction
 * id = the slot), which the guest completes; a reply leaves only with 144
 * bytes of ring space.  Queries answer what a Hyper-V host answers, sets
 * take what it takes, and indications (link, offload configuration) queue
 * like replies.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "netvsp.h"

/* ------------------------------------------------------------------------ */
/* control replies                                                           */
/* ------------------------------------------------------------------------ */

/* Sends queued control replies while a control slot and ring space are free. */
void nsp_ctl_flush(struct nsp_state *ns)
{
	struct hs_chan *ch = ns->dev->chans[0];
	struct nvsp_rndis_pkt msg = { .type = NVSP_MSG_RNDIS_PKT,
				      .channel_type = NVSP_CHANNEL_CONTROL,
				      .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t out[NVSP_MSG_SIZE];
	struct iovec iov = { out, nsp_out_size(ns) };

	if (!ch || !ch->open || ch->stopped || ch->tx_blocked || !ns->rxbuf)
		return;
	memset(out, 0, sizeof(out));
	memcpy(out, &msg, sizeof(msg));
	while (ns->ctl_count) {
		struct nsp_ctl_msg *m = &ns->ctlq[ns->ctl_head];
		struct vmbus_xfer_range r;
		uint32_t s;
		int ret;

		/* a slow host (--reply-delay): in order, each when due */
		if (m->due_ns > hs_now_ns())
			break;

		for (s = 0; s < NSP_CTL_SLOTS && (ns->ctl_busy & (1u << s)); s++)
			;
		if (s == NSP_CTL_SLOTS)
			return; /* the guest holds every control slot */
		/* a reply is sent only with 144 bytes of ring space (netvsp) */
		if (!nsp_room_for(ch, 144))
			return;
		memcpy((uint8_t *)ns->dev->recv_buf + (size_t)s * ns->slot_size, m->buf, m->len);
		r.byte_offset = s * ns->slot_size;
		r.byte_count = m->len; /* control replies carry their exact length */
		ret = vmbus_chan_send_xfer(ch->vc, VMBUS_SEND_COMPLETION | VMBUS_SEND_MORE, s,
					   ns->rxbuf_id, &r, 1, &iov, 1);
		if (ret == -EAGAIN) {
			hs_chan_wait_tx(ch, 144);
			return;
		}
		if (ret) {
			hs_log("%s: cannot send a control reply: %s", ns->dev->guid, strerror(-ret));
			return;
		}
		ns->ctl_busy |= (uint16_t)(1u << s);
		ns->ctl_head = (ns->ctl_head + 1) % NSP_CTLQ_CAP;
		ns->ctl_count--;
	}
	vmbus_chan_flush(ch->vc);
}

/* Queues a control message for the guest; a reply to a request waits
 * the --reply-delay first (Azure's VSP can take seconds: DPDK d564751748
 * raised its RNDIS timeout from 5 to 60 s for it). */
static void nsp_ctl_queue(struct nsp_state *ns, const void *msg, uint32_t len, bool reply)
{
	struct nsp_ctl_msg *m;

	if (ns->ctl_count == NSP_CTLQ_CAP || len > sizeof(m->buf)) {
		hs_log("%s: control reply dropped (queue full)", ns->dev->guid);
		return;
	}
	m = &ns->ctlq[(ns->ctl_head + ns->ctl_count) % NSP_CTLQ_CAP];
	m->len = len;
	m->due_ns = reply ? hs_now_ns() + (uint64_t)ns->dev->bus->opts.reply_delay_ms * 1000000u : 0;
	memcpy(m->buf, msg, len);
	ns->ctl_count++;
	ns->dev->bus->work = true;
	if (m->due_ns)
		ns->dev->timed_work = true;
}

void nsp_indicate(struct nsp_state *ns, uint32_t status, const void *buf, uint32_t len)
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
	nsp_ctl_queue(ns, msg, ind.len, false);
}

/* ------------------------------------------------------------------------ */
/* requests                                                                  */
/* ------------------------------------------------------------------------ */

static void fill_offload(struct ndis_offload *o)
{
	memset(o, 0, sizeof(*o));
	o->hdr.type = NDIS_OBJTYPE_OFFLOAD;
	o->hdr.revision = NDIS_OFFLOAD_REV_3;
	o->hdr.size = (uint16_t)NDIS_OFFLOAD_SIZE_REV_3;
	/*
	 * Receive checksums always validated; transmit checksums and large
	 * sends done here (netvsp_offload.c).  With each checksum netvsp also
	 * announces IP and TCP options (IPv6 extension headers) supported,
	 * and Linux's hv_netvsc uses TCP checksum offload and TSO only when
	 * they are (NDIS_TXCSUM_ALL_TCP4, NDIS_LSOV2_CAP_IP6).
	 */
	o->csum.ip4_txenc = o->csum.ip4_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o->csum.ip6_txenc = o->csum.ip6_rxenc = NDIS_OFFLOAD_ENCAP_8023;
	o->csum.ip4_txcsum = NDIS_TXCSUM_CAP_IP4OPT | NDIS_TXCSUM_CAP_TCP4OPT |
			     NDIS_TXCSUM_CAP_IP4 | NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4;
	o->csum.ip4_rxcsum = o->csum.ip4_txcsum;
	o->csum.ip6_txcsum = NDIS_TXCSUM_CAP_IP6EXT | NDIS_TXCSUM_CAP_TCP6OPT |
			     NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6;
	o->csum.ip6_rxcsum = o->csum.ip6_txcsum;
	o->lsov2.ip4_encap = o->lsov2.ip6_encap = NDIS_OFFLOAD_ENCAP_8023;
	o->lsov2.ip4_max_size = o->lsov2.ip6_max_size = 0xF53C;
	o->lsov2.ip4_min_segs = o->lsov2.ip6_min_segs = 2;
	o->lsov2.ip6_opts = NDIS_LSOV2_CAP_IP6EXT | NDIS_LSOV2_CAP_TCP6OPT;
}

/* Answers a QUERY: @info gets the value, returns its length or -status. */
static int64_t query_oid(struct nsp_state *ns, uint32_t oid, uint8_t *info, size_t cap)
{
	struct hs_dev *dev = ns->dev;
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
		u = ns->mtu - 14;
		PUT(u);
	case RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
	case RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE:
	case RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE:
		u = ns->mtu;
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
		u = ns->link_want ? NDIS_MEDIA_STATE_CONNECTED : NDIS_MEDIA_STATE_DISCONNECTED;
		PUT(u);
	case RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS:
		u = 0xFFFFFFFF;
		PUT(u);
	case RNDIS_OID_802_3_PERMANENT_ADDRESS:
	case RNDIS_OID_802_3_CURRENT_ADDRESS:
		if (cap < 6)
			return -(int64_t)RNDIS_STATUS_BUFFER_TOO_SHORT;
		memcpy(info, ns->mac, 6);
		return 6;
	case RNDIS_OID_GEN_LINK_STATE: {
		struct ndis_link_state ls = { .hdr = { NDIS_OBJTYPE_DEFAULT, NDIS_LINK_STATE_REV_1,
						       sizeof(ls) } };

		ls.media_connect_state = ns->link_want ? NDIS_MEDIA_STATE_CONNECTED :
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

		if (ns->ndis_minor < 30 && ns->ndis_major == 6)
			break; /* RSS caps only with NDIS 6.30 */
		memset(&c, 0, sizeof(c));
		c.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
		c.hdr.revision = NDIS_RSS_CAPS_REV_2;
		c.hdr.size = (uint16_t)NDIS_RSS_CAPS_SIZE_REV_2;
		/* netvsp: hash types TCP over IPv4 and IPv6 (the capability
		 * bits NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4/6), Toeplitz */
		c.caps = NDIS_RSS_CAP_IPV4 | NDIS_RSS_CAP_IPV6 | NDIS_HASH_FUNCTION_TOEPLITZ;
		c.num_msi = 1;
		c.num_rx_queues = dev->bus->opts.max_queues;
		/* netvsp: the backend's size, or 128 ("DPDK gets confused if
		 * zero"); hosts with 256 exist (--rss-table) */
		c.num_indirection = (uint16_t)dev->bus->opts.rss_table;
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

/* The hash types NDIS defines (IPv4 .. UDP over IPv6 with extensions). */
#define NSP_HASH_TYPES_KNOWN 0x0001FF00u
/* NTSTATUS STATUS_INVALID_PARAMETER: what Hyper-V answers to RSS
 * parameters it cannot use (below). */
#define NSP_STATUS_INVALID_PARAMETER 0xC000000Du

static uint32_t set_rss(struct nsp_state *ns, const uint8_t *buf, uint32_t len)
{
	struct ndis_rss_params p;
	uint32_t i, n, rows = ns->dev->bus->opts.rss_table;

	if (len < NDIS_RSS_PARAMS_SIZE_REV_1)
		return RNDIS_STATUS_INVALID_DATA;
	memcpy(&p, buf, len < sizeof(p) ? len : sizeof(p));
	if ((p.flags & NDIS_RSS_FLAG_DISABLE) ||
	    (p.hash_info & NDIS_HASH_FUNCTION_MASK) == 0) {
		/* netvsp reads nothing else of a disable request; count the
		 * ones that carry no parameters (Linux fills them in) */
		ns->rss_disables++;
		if ((p.hash_info & NDIS_HASH_TYPE_MASK) == 0 || p.itab_size == 0 || p.key_size == 0)
			ns->rss_disables_empty++;
		ns->rss_on = false;
		hs_debug("%s: RSS off", ns->dev->guid);
		return RNDIS_STATUS_SUCCESS;
	}
	/*
	 * Toeplitz, and at least one hash type Hyper-V knows: Hyper-V answers
	 * 0xC000000D to Toeplitz without a hash type it can use (DPDK PR #43:
	 * "hn_rndis_set(): RNDIS set 0x10204 failed: status 0xc000000d" for a
	 * UDP-only rss_hf mapped to no NDIS hash type).  OpenVMM does not look
	 * at the hash types.
	 */
	if ((p.hash_info & NDIS_HASH_FUNCTION_MASK) != NDIS_HASH_FUNCTION_TOEPLITZ ||
	    (p.hash_info & NDIS_HASH_TYPE_MASK) == 0 ||
	    (p.hash_info & NDIS_HASH_TYPE_MASK & ~NSP_HASH_TYPES_KNOWN)) {
		hs_debug("%s: RSS hash information 0x%x: not Toeplitz over known hash types: "
			 "0x%x",
			 ns->dev->guid, p.hash_info, NSP_STATUS_INVALID_PARAMETER);
		return NSP_STATUS_INVALID_PARAMETER;
	}
	/* netvsp oid_set_rss_parameters: key of 40, table a multiple of 4,
	 * entries below the queue count; a shorter table is repeated */
	if (p.key_size != NDIS_RSS_KEY_SIZE || p.key_offset > len ||
	    p.key_size > len - p.key_offset)
		return RNDIS_STATUS_INVALID_DATA;
	if (p.itab_size == 0 || p.itab_size % 4 || p.itab_offset > len ||
	    p.itab_size > len - p.itab_offset)
		return RNDIS_STATUS_INVALID_DATA;
	n = p.itab_size / 4;
	if (n > rows)
		n = rows; /* netvsp takes at most its own table's size */
	for (i = 0; i < n; i++) {
		uint32_t e;

		memcpy(&e, buf + p.itab_offset + 4 * i, 4);
		if (e >= ns->dev->bus->opts.max_queues)
			return RNDIS_STATUS_INVALID_DATA;
	}
	memcpy(ns->rss_key, buf + p.key_offset, NDIS_RSS_KEY_SIZE);
	ns->rss_tab_ok = false;
	for (i = 0; i < rows; i++)
		memcpy(&ns->rss_itab[i], buf + p.itab_offset + 4 * (i % n), 4);
	ns->rss_hash_info = p.hash_info;
	ns->rss_entries = p.itab_size / 4;
	ns->rss_on = true;
	hs_debug("%s: RSS on, %u table entries", ns->dev->guid, ns->rss_entries);
	return RNDIS_STATUS_SUCCESS;
}

static uint32_t set_oid(struct nsp_state *ns, uint32_t oid, const uint8_t *buf, uint32_t len)
{
	switch (oid) {
	case RNDIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (len < 4)
			return RNDIS_STATUS_INVALID_DATA;
		memcpy(&ns->filter, buf, 4);
		hs_debug("%s: packet filter 0x%x", ns->dev->guid, ns->filter);
		ns->dev->bus->work = true;
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
		nsp_indicate(ns, RNDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG, &o, sizeof(o));
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
		return set_rss(ns, buf, len);
	default:
		return RNDIS_STATUS_NOT_SUPPORTED;
	}
}

/*
 * Checks a query's input.  Its buffer must lie in the message, and the
 * object a capability query carries must be whole: type, revision and a
 * size no larger than what was sent, no smaller than the object's first
 * revision (OpenVMM validate_ndis_object_header, which netvsp applies to
 * the objects of sets; Linux, DPDK and FreeBSD send query objects whole,
 * zeroed).  No input at all is taken (netvsp reads none).  Returns 0 or an
 * RNDIS status.
 */
static uint32_t check_query_input(struct nsp_state *ns, const struct rndis_query_req *q,
				  const uint8_t *msg, uint32_t len)
{
	uint64_t start = (uint64_t)RNDIS_INFO_OFFSET_BASE + q->info_offset;
	struct ndis_object_hdr h;
	uint8_t type;
	uint32_t min;

	if (q->info_len == 0)
		return 0;
	if (start < sizeof(*q) || start > len || q->info_len > len - start) {
		hs_debug("%s: query of OID 0x%x: input of %u bytes at %u lies outside the "
			 "%u-byte message: INVALID_DATA",
			 ns->dev->guid, q->oid, q->info_len, q->info_offset, len);
		return RNDIS_STATUS_INVALID_DATA;
	}
	if (q->oid == RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES) {
		type = NDIS_OBJTYPE_RSS_CAPS;
		min = NDIS_RSS_CAPS_SIZE_REV_1;
	} else if (q->oid == RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES) {
		type = NDIS_OBJTYPE_OFFLOAD;
		min = NDIS_OFFLOAD_SIZE_REV_1;
	} else {
		return 0;
	}
	if (q->info_len < sizeof(h))
		return RNDIS_STATUS_INVALID_DATA;
	memcpy(&h, msg + start, sizeof(h));
	if (h.type != type || h.revision < 1 || h.size > q->info_len || h.size < min) {
		hs_debug("%s: query of OID 0x%x: input object type 0x%x revision %u size %u, "
			 "%u bytes sent: not a whole object: INVALID_DATA",
			 ns->dev->guid, q->oid, h.type, h.revision, h.size, q->info_len);
		return RNDIS_STATUS_INVALID_DATA;
	}
	return 0;
}

/* One RNDIS control message (a private copy). -EPROTO ends the service. */
int nsp_rndis_control(struct nsp_state *ns, const uint8_t *msg, uint32_t len)
{
	struct rndis_msg_hdr h;
	uint32_t rid;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, msg, sizeof(h));
	if (h.len < sizeof(h) || h.len > len)
		return nsp_violation(ns, ns->dev->chans[0], "RNDIS message of %u bytes in %u "
							    "(OpenVMM: a failed read)",
				     h.len, len);
	len = h.len;
	ns->ctl_requests++;
	if (h.type == RNDIS_MSG_HALT)
		return 0; /* no reply */
	if (len < 12)
		return -EPROTO;
	memcpy(&rid, msg + 8, 4);

	switch (h.type) {
	case RNDIS_MSG_INIT: {
		struct rndis_init_cmplt c;

		if (ns->rndis_inited)
			return nsp_violation(ns, ns->dev->chans[0], "RNDIS INITIALIZE twice (OpenVMM: "
									"InvalidRndisState)");
		memset(&c, 0, sizeof(c));
		c.type = RNDIS_MSG_INIT_CMPLT;
		c.len = sizeof(c);
		c.rid = rid;
		c.status = RNDIS_STATUS_SUCCESS;
		c.ver_major = RNDIS_VERSION_MAJOR;
		c.ver_minor = RNDIS_VERSION_MINOR;
		c.dev_flags = RNDIS_DF_CONNECTIONLESS;
		c.medium = RNDIS_MEDIUM_802_3;
		c.max_pkts = NSP_MAX_PKTS;
		c.max_xfer = 0xEFFFFFFF;
		c.align_factor = 3;
		ns->rndis_inited = true;
		nsp_ctl_queue(ns, &c, sizeof(c), true);
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
		c.status = check_query_input(ns, &q, msg, len);
		n = c.status ? -(int64_t)c.status :
			       query_oid(ns, q.oid, out + sizeof(c), sizeof(out) - sizeof(c));
		if (n < 0) {
			c.status = (uint32_t)-n;
			n = 0;
		}
		c.info_len = (uint32_t)n;
		c.info_offset = n ? sizeof(c) - RNDIS_INFO_OFFSET_BASE : 0;
		c.len = (uint32_t)(sizeof(c) + (size_t)n);
		memcpy(out, &c, sizeof(c));
		nsp_ctl_queue(ns, out, c.len, true);
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
		c.status = set_oid(ns, s.oid, msg + sizeof(s), s.info_len < avail ? s.info_len : avail);
		nsp_ctl_queue(ns, &c, sizeof(c), true);
		return 0;
	}
	case RNDIS_MSG_KEEPALIVE: {
		struct rndis_keepalive_cmplt c = { .type = RNDIS_MSG_KEEPALIVE_CMPLT,
						   .len = sizeof(c), .rid = rid,
						   .status = RNDIS_STATUS_SUCCESS };

		nsp_ctl_queue(ns, &c, sizeof(c), true);
		return 0;
	}
	default:
		/* RESET, SET_EX, INDICATE from the guest, or unknown: fatal */
		return nsp_violation(ns, ns->dev->chans[0],
				     "RNDIS message type 0x%x from the guest (OpenVMM: %s)", h.type,
				     h.type == RNDIS_MSG_RESET || h.type == RNDIS_MSG_INDICATE ||
						     h.type == RNDIS_MSG_SET_EX ?
					     "RndisMessageTypeNotImplemented" :
					     "UnknownRndisMessageType");
	}
}
