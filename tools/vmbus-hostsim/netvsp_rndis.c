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

static void nsp_ctl_queue(struct nsp_state *ns, const void *msg, uint32_t len)
{
	struct nsp_ctl_msg *m;

	if (ns->ctl_count == NSP_CTLQ_CAP || len > sizeof(m->buf)) {
		hs_log("%s: control reply dropped (queue full)", ns->dev->guid);
		return;
	}
	m = &ns->ctlq[(ns->ctl_head + ns->ctl_count) % NSP_CTLQ_CAP];
	m->len = len;
	memcpy(m->buf, msg, len);
	ns->ctl_count++;
	ns->dev->bus->work = true;
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
	nsp_ctl_queue(ns, msg, ind.len);
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

static uint32_t set_rss(struct nsp_state *ns, const uint8_t *buf, uint32_t len)
{
	struct ndis_rss_params p;
	uint32_t i, n;

	if (len < NDIS_RSS_PARAMS_SIZE_REV_1)
		return RNDIS_STATUS_INVALID_DATA;
	memcpy(&p, buf, len < sizeof(p) ? len : sizeof(p));
	if ((p.flags & NDIS_RSS_FLAG_DISABLE) ||
	    (p.hash_info & NDIS_HASH_FUNCTION_MASK) == 0) {
		ns->rss_on = false;
		hs_debug("%s: RSS off", ns->dev->guid);
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
		if (e >= ns->dev->bus->opts.max_queues)
			return RNDIS_STATUS_INVALID_DATA;
	}
	memcpy(ns->rss_key, buf + p.key_offset, NDIS_RSS_KEY_SIZE);
	/* a shorter table is repeated to fill all entries */
	for (i = 0; i < NDIS_RSS_ITAB_ENTRIES; i++)
		memcpy(&ns->rss_itab[i], buf + p.itab_offset + 4 * (i % n), 4);
	ns->rss_hash_info = p.hash_info;
	ns->rss_on = true;
	{
		/* which queues the table spreads frames over */
		char used[128] = "";
		size_t ul = 0;
		unsigned int q;

		for (q = 0; q < ns->dev->bus->opts.max_queues && ul < sizeof(used) - 12; q++) {
			unsigned int c = 0;

			for (i = 0; i < NDIS_RSS_ITAB_ENTRIES; i++)
				c += ns->rss_itab[i] == q;
			if (c)
				ul += (size_t)snprintf(used + ul, sizeof(used) - ul, " q%u:%u", q, c);
		}
		hs_debug("%s: RSS on, %u table entries;%s", ns->dev->guid, n, used);
	}
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

/* One RNDIS control message (a private copy). -EPROTO ends the service. */
int nsp_rndis_control(struct nsp_state *ns, const uint8_t *msg, uint32_t len)
{
	struct rndis_msg_hdr h;
	uint32_t rid;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, msg, sizeof(h));
	if (h.len < sizeof(h) || h.len > len)
		return -EPROTO;
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
		ns->rndis_inited = true;
		nsp_ctl_queue(ns, &c, sizeof(c));
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
		n = query_oid(ns, q.oid, out + sizeof(c), sizeof(out) - sizeof(c));
		if (n < 0) {
			c.status = (uint32_t)-n;
			n = 0;
		}
		c.info_len = (uint32_t)n;
		c.info_offset = n ? sizeof(c) - RNDIS_INFO_OFFSET_BASE : 0;
		c.len = (uint32_t)(sizeof(c) + (size_t)n);
		memcpy(out, &c, sizeof(c));
		nsp_ctl_queue(ns, out, c.len);
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
		nsp_ctl_queue(ns, &c, sizeof(c));
		return 0;
	}
	case RNDIS_MSG_KEEPALIVE: {
		struct rndis_keepalive_cmplt c = { .type = RNDIS_MSG_KEEPALIVE_CMPLT,
						   .len = sizeof(c), .rid = rid,
						   .status = RNDIS_STATUS_SUCCESS };

		nsp_ctl_queue(ns, &c, sizeof(c));
		return 0;
	}
	default:
		/* RESET, SET_EX, INDICATE from the guest, or unknown: fatal */
		return -EPROTO;
	}
}
