/* SPDX-License-Identifier: MIT */
/*
 * RNDIS control: requests (INITIALIZE, QUERY, SET, HALT, KEEPALIVE) and
 * their completions matched by request id, what attach asks and sets
 * through them (MAC, MTU, link, offloads, RSS, packet filter), and the
 * messages the host sends unasked (indications, keepalives).  Control
 * messages go by page reference, each from its own page of DMA memory,
 * announced by NVSP on queue 0; the replies come in receive slots and
 * reach nv_rndis_message() from queue 0's service.  Follows Linux's
 * rndis_filter.c and DPDK's hn_rndis.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "priv.h"

/* The key RSS is programmed with (netvsc/proto.h). */
static const uint8_t rss_key[NDIS_RSS_KEY_SIZE] = NDIS_RSS_KEY_DEFAULT;

/* ------------------------------------------------------------------------ */
/* control slots                                                             */
/* ------------------------------------------------------------------------ */

void nv_notice(struct netvsc_dev *nd, const char *fmt, ...)
{
	char *n = nd->info.notice;
	size_t used = strlen(n);
	va_list ap;

	if (used && used + 2 < sizeof(nd->info.notice)) {
		memcpy(n + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof(nd->info.notice))
		return;
	va_start(ap, fmt);
	vsnprintf(n + used, sizeof(nd->info.notice) - used, fmt, ap);
	va_end(ap);
}

/*
 * Where control messages go.  Linux (rndis_filter_send_request: netvsc_send
 * without an skb) and DPDK (hn_nvs_send_rndis_ctrl: NVS_CHIM_IDX_INVALID)
 * send each as a GPA-direct page reference with the invalid section index,
 * never in a send section: so do we, one page of DMA memory per message in
 * flight.  A real guest gets such memory only with hugepages and as root;
 * without it, the messages go in send sections kept for them, which OpenVMM
 * takes once both buffers are connected (its parse_packet reads any
 * RNDIS_PKT's section), and the attach says so.
 */
void nv_rndis_control_setup(struct netvsc_dev *nd)
{
	int ret = vmbus_dma_alloc(nd->dev, (size_t)NV_CTL_SLOTS * VMBUS_HV_PAGE_SIZE, &nd->ctl_dma);

	if (ret) {
		nd->ctl_dma = NULL;
		nd->ctl_sections = NV_CTL_SLOTS;
		nd->info.control_by_page = false;
		nv_notice(nd, "control messages in send sections: no DMA memory for them (%s)",
			  vmbus_dev_strerror(nd->dev));
	} else {
		nd->ctl_sections = 0;
		nd->info.control_by_page = true;
	}
	/* slots: pages of ctl_dma, or the first send sections */
	for (nd->nctl_slot_free = 0; nd->nctl_slot_free < NV_CTL_SLOTS; nd->nctl_slot_free++)
		nd->ctl_slot_free[nd->nctl_slot_free] = NV_CTL_SLOTS - 1 - nd->nctl_slot_free;
}

/*
 * Sends control message @msg in a free control slot.  Returns 0, -EAGAIN
 * (no slot or descriptor free now), or an error.
 */
int nv_rndis_send(struct netvsc_dev *nd, const void *msg, uint32_t len)
{
	struct nv_queue *q = &nd->q[0];
	uint8_t nv[NVSP_MSG_SIZE];
	uint32_t slot;
	int i, ret;

	if (len > (nd->ctl_dma ? VMBUS_HV_PAGE_SIZE : nd->tx_section_size))
		return -EMSGSIZE;
	if (nd->nctl_slot_free == 0)
		return -EAGAIN;
	i = nv_txd_get(q, TXK_CTL);
	if (i < 0)
		return i;
	slot = nd->ctl_slot_free[--nd->nctl_slot_free];
	q->txd[i].section = slot;
	if (nd->ctl_dma) {
		/* one page per message: it never crosses a page boundary (DPDK) */
		uint8_t *page = (uint8_t *)vmbus_dma_addr(nd->ctl_dma) +
				(size_t)slot * VMBUS_HV_PAGE_SIZE;
		struct iovec iov = { nv, sizeof(nv) };
		struct vmbus_gpa_buf buf;
		uint64_t pfn[1];

		memcpy(page, msg, len);
		ret = vmbus_dma_gpa(nd->ctl_dma, page, len, &buf, pfn, 1);
		if (ret >= 0)
			ret = nvsp_build_rndis_pkt(nv, sizeof(nv), NVSP_CHANNEL_CONTROL,
						   NVSP_CHIM_IDX_NONE, 0);
		if (ret >= 0)
			ret = vmbus_chan_send_gpa(q->chan, VMBUS_SEND_COMPLETION, (uint64_t)i + 1u,
						  &buf, 1, &iov, 1);
	} else {
		memcpy(nv_section(nd, slot), msg, len);
		ret = nvsp_build_rndis_pkt(nv, sizeof(nv), NVSP_CHANNEL_CONTROL, slot, len);
		if (ret >= 0)
			ret = vmbus_chan_send(q->chan, VMBUS_SEND_COMPLETION, (uint64_t)i + 1u, nv,
					      sizeof(nv));
	}
	if (ret < 0) {
		nv_txd_put(q, (uint32_t)i);
		if (ret == -EAGAIN)
			return ret;
		return nv_chan_error(q, ret, "sending a control message");
	}
	q->txd[i].state = TXD_INFLIGHT;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* requests                                                                  */
/* ------------------------------------------------------------------------ */

static struct nv_ctl_req *ctl_alloc(struct netvsc_dev *nd)
{
	unsigned int i;

	for (i = 0; i < NV_CTL_REQS; i++) {
		struct nv_ctl_req *r = &nd->ctl[i];

		if (r->rid == 0) {
			/* small integers, never 0, never reused soon */
			if (++nd->next_rid == 0)
				nd->next_rid = 1;
			memset(r, 0, sizeof(*r));
			r->rid = nd->next_rid;
			return r;
		}
	}
	return NULL;
}

static void ctl_free(struct nv_ctl_req *r)
{
	r->rid = 0;
}

static bool ctl_done(struct netvsc_dev *nd, const void *arg)
{
	(void)nd;
	return ((const struct nv_ctl_req *)arg)->done;
}

/*
 * Sends control message @msg (already carrying @r's id) and waits for the
 * reply, which lands in r->buf.
 */
static int ctl_send_wait(struct netvsc_dev *nd, struct nv_ctl_req *r, const void *msg,
			 uint32_t len, int timeout_ms, const char *what)
{
	int64_t end = nv_now_ms() + timeout_ms;
	int ret;

	/* control slots come back with the host's immediate completion */
	while ((ret = nv_rndis_send(nd, msg, len)) == -EAGAIN) {
		if (nv_now_ms() >= end)
			return nv_step_error(nd, -ETIMEDOUT, what, timeout_ms);
		ret = nv_service(&nd->q[0], SINK_DROP, 0, NULL, NULL);
		if (ret < 0)
			return nv_step_error(nd, ret, what, timeout_ms);
		ret = vmbus_chan_wait(nd->q[0].chan, 10);
		if (ret && ret != -ETIMEDOUT)
			return nv_step_error(nd, nv_chan_error(&nd->q[0], ret, what), what,
					     timeout_ms);
	}
	if (ret < 0)
		return nv_step_error(nd, ret, what, timeout_ms);
	ret = nv_wait(nd, ctl_done, r, timeout_ms);
	if (ret)
		return nv_step_error(nd, ret, what, timeout_ms);
	if (r->overflow)
		return nv_fail(nd, -EPROTO, "the reply to %s is larger than any reply", what);
	return 0;
}

/*
 * Runs control request @r: @built is the length of @msg as its builder
 * returned it (negative: the builder's error).  On success the reply is in
 * r->buf and the caller frees @r.  On failure @r is released here, except
 * after a timeout: a late reply may still name its id, so the id stays
 * reserved.
 */
static int ctl_exec(struct netvsc_dev *nd, struct nv_ctl_req *r, const void *msg, int built,
		    int timeout_ms, const char *what)
{
	int ret = built;

	if (ret >= 0)
		ret = ctl_send_wait(nd, r, msg, (uint32_t)ret, timeout_ms, what);
	if (ret < 0 && ret != -ETIMEDOUT)
		ctl_free(r);
	return ret;
}

/*
 * QUERY @oid.  Returns 0 with *status the RNDIS status and, on success, up
 * to @cap bytes of the value in @out (*out_len its full length), or a
 * negative error.
 */
static int ctl_query(struct netvsc_dev *nd, uint32_t oid, const void *in, uint32_t in_len,
		     void *out, uint32_t cap, uint32_t *out_len, uint32_t *status, int timeout_ms,
		     const char *what)
{
	uint8_t msg[256];
	struct rndis_query_info qi;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "too many control requests");
	ret = ctl_exec(nd, r, msg, rndis_build_query(msg, sizeof(msg), r->rid, oid, in, in_len),
		       timeout_ms, what);
	if (ret < 0)
		return ret;
	ret = rndis_parse_query_cmplt(r->buf, r->len, &qi);
	if (ret) {
		ctl_free(r);
		return nv_fail(nd, -EPROTO, "malformed reply to %s", what);
	}
	*status = qi.status;
	*out_len = qi.info_len;
	if (qi.status == RNDIS_STATUS_SUCCESS && out)
		memcpy(out, r->buf + qi.info_off, qi.info_len < cap ? qi.info_len : cap);
	ctl_free(r);
	return 0;
}

/* SET @oid; *status gets the host's RNDIS status. */
static int ctl_set(struct netvsc_dev *nd, uint32_t oid, const void *val, uint32_t len,
		   uint32_t *status, int timeout_ms, const char *what)
{
	uint8_t msg[sizeof(struct rndis_set_req) + NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_MAX)];
	struct rndis_cmplt_info ci;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "too many control requests");
	ret = ctl_exec(nd, r, msg, rndis_build_set(msg, sizeof(msg), r->rid, oid, val, len),
		       timeout_ms, what);
	if (ret < 0)
		return ret;
	ret = rndis_parse_set_cmplt(r->buf, r->len, &ci);
	ctl_free(r);
	if (ret)
		return nv_fail(nd, -EPROTO, "malformed reply to %s", what);
	*status = ci.status;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* what attach asks and sets                                                 */
/* ------------------------------------------------------------------------ */

int nv_rndis_init(struct netvsc_dev *nd)
{
	uint8_t msg[64];
	struct rndis_init_info ii;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "too many control requests");
	ret = ctl_exec(nd, r, msg, rndis_build_init(msg, sizeof(msg), r->rid, RNDIS_GUEST_MAX_XFER),
		       nd->timeout_ms, "RNDIS INITIALIZE");
	if (ret < 0)
		return ret;
	ret = rndis_parse_init_cmplt(r->buf, r->len, &ii);
	ctl_free(r);
	if (ret)
		return nv_fail(nd, -EPROTO, "malformed or unusable RNDIS INITIALIZE completion");
	if (ii.status != RNDIS_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "the host failed RNDIS INITIALIZE (status 0x%x)",
			       ii.status);
	nd->info.rndis_major = ii.ver_major;
	nd->info.rndis_minor = ii.ver_minor;
	nd->agg_pkts = ii.agg_pkts;
	nd->agg_align = ii.agg_align;
	nd->max_xfer = ii.max_xfer;
	nd->info.rndis_max_pkts = ii.max_pkts;
	nd->info.rndis_max_xfer = ii.max_xfer;
	nd->info.rndis_align = ii.agg_align;
	return 0;
}

int nv_rndis_set_filter(struct netvsc_dev *nd, uint32_t filter, int timeout_ms)
{
	uint32_t status;
	int ret = ctl_set(nd, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter),
			  &status, timeout_ms, "setting the packet filter");

	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "the host refused packet filter 0x%x (status 0x%x)",
			       filter, status);
	nd->info.packet_filter = filter;
	return 0;
}

static int query_u32(struct netvsc_dev *nd, uint32_t oid, uint32_t *v, const char *what)
{
	uint32_t status, len = 0;
	int ret = ctl_query(nd, oid, NULL, 0, v, sizeof(*v), &len, &status, nd->timeout_ms, what);

	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS || len < sizeof(*v))
		return 1; /* not answered: the caller keeps its default */
	return 0;
}

/* MAC address, MTU, link state and speed. */
int nv_rndis_query_facts(struct netvsc_dev *nd)
{
	uint8_t mac[16];
	uint32_t status, len = 0, v;
	int ret;

	ret = ctl_query(nd, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0, mac, sizeof(mac), &len,
			&status, nd->timeout_ms, "the MAC address query");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS || len < NETVSC_ETH_ALEN)
		return nv_fail(nd, -EPROTO, "the host gave no MAC address (status 0x%x, %u bytes)",
			       status, len);
	memcpy(nd->info.mac, mac, NETVSC_ETH_ALEN);

	ret = query_u32(nd, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &v, "the MTU query");
	if (ret < 0)
		return ret;
	if (ret == 0) {
		nd->info.mtu_host = v;
		if (v < NETVSC_ETH_HLEN + 54)
			return nv_fail(nd, -EPROTO, "the host's MTU %u is absurd", v);
		if (v < nd->info.mtu)
			nd->info.mtu = v;
	}
	ret = query_u32(nd, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, &v, "the link state query");
	if (ret < 0)
		return ret;
	atomic_store(&nd->link_up, ret == 1 || v == NDIS_MEDIA_STATE_CONNECTED);
	ret = query_u32(nd, RNDIS_OID_GEN_LINK_SPEED, &v, "the link speed query");
	if (ret < 0)
		return ret;
	if (ret == 0)
		atomic_store(&nd->link_speed_bps, (uint64_t)v * 100u);
	return 0;
}

/* Offload capabilities, then the parameters for what the host offers. */
int nv_rndis_offloads(struct netvsc_dev *nd, bool off)
{
	struct ndis_offload in, caps;
	struct ndis_offload_params p;
	uint8_t buf[sizeof(struct ndis_offload) + 64], msg[64];
	uint32_t status, len = 0, rev, in_size;
	bool v630 = nd->ndis_version >= NDIS_VERSION_6_30;
	int ret;

	/* the whole object, zeroed, its revision by the NVSP version (Linux
	 * rndis_filter_query_device; DPDK hn_rndis_query_hwcaps) */
	memset(&in, 0, sizeof(in));
	if (nd->info.nvsp_version >= NVSP_VERSION_5) {
		rev = NDIS_OFFLOAD_REV_3;
		in_size = NDIS_OFFLOAD_SIZE_REV_3;
	} else if (nd->info.nvsp_version >= NVSP_VERSION_4) {
		rev = NDIS_OFFLOAD_REV_2;
		in_size = NDIS_OFFLOAD_SIZE_REV_2;
	} else {
		rev = NDIS_OFFLOAD_REV_1;
		in_size = NDIS_OFFLOAD_SIZE_REV_1;
	}
	in.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, (uint8_t)rev, (uint16_t)in_size);
	ret = ctl_query(nd, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &in, in_size, buf,
			sizeof(buf), &len, &status, nd->timeout_ms, "the offload query");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS)
		return 0; /* nothing offered: nothing to set */
	if (ndis_parse_offload_caps(buf, len < sizeof(buf) ? len : sizeof(buf), &caps))
		return 0; /* Linux ignores capabilities it cannot read */
	nd->info.offload_caps_known = true;
	if (caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_IP4)
		nd->info.tx_csum |= NETVSC_TX_CSUM_IP4;
	if (caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_TCP4)
		nd->info.tx_csum |= NETVSC_TX_CSUM_TCP;
	if (caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_UDP4)
		nd->info.tx_csum |= NETVSC_TX_CSUM_UDP;
	if ((caps.csum.ip6_txcsum & (NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6)) ==
	    (NDIS_TXCSUM_CAP_TCP6 | NDIS_TXCSUM_CAP_UDP6))
		nd->info.tx_csum |= NETVSC_TX_IPV6;
	nd->info.rx_csum = (caps.csum.ip4_rxcsum & (NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4)) != 0;
	nd->info.lsov2_max_size = caps.lsov2.ip4_max_size;
	if (off) {
		nd->info.tx_csum = 0;
		return 0;
	}

	/* checksums both ways where offered; LSO and RSC off: frames we send
	 * are never larger than the MTU, and we do not merge segments */
	memset(&p, 0, sizeof(p));
#define CSUM_PARAM(tx, rx)                                                                         \
	((tx) && (rx) ? NDIS_OFFLOAD_PARAM_TXRX :                                                  \
	 (tx)	      ? NDIS_OFFLOAD_PARAM_TX :                                                    \
	 (rx)	      ? NDIS_OFFLOAD_PARAM_RX :                                                    \
			NDIS_OFFLOAD_PARAM_NOCHG)
	p.ip4_csum = CSUM_PARAM(caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_IP4,
				caps.csum.ip4_rxcsum & NDIS_TXCSUM_CAP_IP4);
	p.tcp4_csum = CSUM_PARAM(caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_TCP4,
				 caps.csum.ip4_rxcsum & NDIS_TXCSUM_CAP_TCP4);
	p.udp4_csum = CSUM_PARAM(caps.csum.ip4_txcsum & NDIS_TXCSUM_CAP_UDP4,
				 caps.csum.ip4_rxcsum & NDIS_TXCSUM_CAP_UDP4);
	p.tcp6_csum = CSUM_PARAM(caps.csum.ip6_txcsum & NDIS_TXCSUM_CAP_TCP6,
				 caps.csum.ip6_rxcsum & NDIS_TXCSUM_CAP_TCP6);
	p.udp6_csum = CSUM_PARAM(caps.csum.ip6_txcsum & NDIS_TXCSUM_CAP_UDP6,
				 caps.csum.ip6_rxcsum & NDIS_TXCSUM_CAP_UDP6);
#undef CSUM_PARAM
	p.lsov2_ip4 = NDIS_OFFLOAD_LSO_OFF;
	p.lsov2_ip6 = NDIS_OFFLOAD_LSO_OFF;
	if (v630) {
		rev = NDIS_OFFLOAD_PARAMS_REV_3;
		p.rsc_ip4 = NDIS_OFFLOAD_RSC_OFF;
		p.rsc_ip6 = NDIS_OFFLOAD_RSC_OFF;
	} else {
		/* NDIS 6.1 hosts get the older object, without UDP changes
		 * (Linux does the same for NVSP <= 4) */
		rev = NDIS_OFFLOAD_PARAMS_REV_2;
		p.udp4_csum = p.udp6_csum = NDIS_OFFLOAD_PARAM_NOCHG;
	}
	ret = ndis_build_offload_params(msg, sizeof(msg), (uint8_t)rev, &p);
	if (ret < 0)
		return ret;
	ret = ctl_set(nd, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, msg, (uint32_t)ret, &status,
		      nd->timeout_ms, "setting offload parameters");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS) {
		/* not fatal: we just do not use them */
		nd->info.tx_csum = 0;
		nd->info.rx_csum = false;
	}
	if (!v630)
		nd->info.tx_csum &= ~NETVSC_TX_CSUM_UDP;
	return 0;
}

/*
 * The host's RSS capabilities (NDIS 6.30).  Returns 0 with *rc filled, 1
 * if the host offers no RSS, or an error.
 */
int nv_rndis_rss_caps(struct netvsc_dev *nd, struct ndis_rss_caps_info *rc)
{
	struct ndis_rss_caps in;
	uint8_t buf[64];
	uint32_t status, len = 0;
	int ret;

	/* the whole object, zeroed (Linux rndis_filter_query_device) */
	memset(&in, 0, sizeof(in));
	in.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, NDIS_RSS_CAPS_REV_2,
			      (uint16_t)NDIS_RSS_CAPS_SIZE_REV_2);
	ret = ctl_query(nd, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &in, NDIS_RSS_CAPS_SIZE_REV_2,
			buf, sizeof(buf), &len, &status, nd->timeout_ms, "the RSS capability query");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS ||
	    ndis_parse_rss_caps(buf, len < sizeof(buf) ? len : sizeof(buf), rc))
		return 1;
	/* Linux rndis_filter_device_add: the host's table size when it gives
	 * one up to ITAB_NUM_MAX, else ITAB_NUM */
	if (rc->num_indirection == 0 || rc->num_indirection > NDIS_RSS_ITAB_MAX)
		rc->num_indirection = NDIS_RSS_ITAB_ENTRIES;
	return 0;
}

/*
 * RSS over the queues in use: the key and an even table of the host's
 * size.  Disabled first with the very same parameters, as Linux does
 * (rndis_filter_set_rss_param: rndis_set_rss_param_msg with
 * NDIS_RSS_PARAM_FLAG_DISABLE_RSS, then without), and DPDK since
 * b604e80632.
 */
int nv_rndis_program_rss(struct netvsc_dev *nd)
{
	uint32_t itab[NDIS_RSS_ITAB_MAX], n = nd->info.rss_indirection_size, status, hash;
	uint8_t msg[NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_MAX)];
	unsigned int i;
	int ret, size;

	if (n == 0 || n > NDIS_RSS_ITAB_MAX)
		n = NDIS_RSS_ITAB_ENTRIES;
	hash = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 |
	       NDIS_HASH_TCP_IPV6;
	for (i = 0; i < n; i++)
		itab[i] = i % nd->nq;
	size = ndis_build_rss_params(msg, sizeof(msg), NDIS_RSS_FLAG_DISABLE, hash, itab, n, rss_key);
	if (size < 0)
		return size;
	ret = ctl_set(nd, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, msg, (uint32_t)size, &status,
		      nd->timeout_ms, "disabling RSS");
	if (ret)
		return ret;
	size = ndis_build_rss_params(msg, sizeof(msg), NDIS_RSS_FLAG_NONE, hash, itab, n, rss_key);
	if (size < 0)
		return size;
	ret = ctl_set(nd, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, msg, (uint32_t)size, &status,
		      nd->timeout_ms, "setting RSS parameters");
	if (ret)
		return ret;
	if (status == RNDIS_STATUS_SUCCESS) {
		nd->info.rss = true;
		nd->info.rss_hash_info = hash;
		nd->info.rss_indirection_size = n;
	} else {
		/* refused: frames all arrive on queue 0, sending still spreads */
		nv_notice(nd, "the host refused the RSS parameters (status 0x%x): every frame "
			      "arrives on queue 0",
			  status);
	}
	return 0;
}

/* HALT (no answer comes): the last control message of a session. */
void nv_rndis_halt(struct netvsc_dev *nd)
{
	uint8_t msg[NVSP_MSG_SIZE];
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret = r ? rndis_build_halt(msg, sizeof(msg), r->rid) : -EBUSY;

	if (ret > 0)
		nv_rndis_send(nd, msg, (uint32_t)ret);
	if (r)
		ctl_free(r);
}

/* ------------------------------------------------------------------------ */
/* messages from the host                                                    */
/* ------------------------------------------------------------------------ */

static void link_event(struct netvsc_dev *nd, bool up)
{
	atomic_store(&nd->link_up, up);
	if (nd->ops.event && nd->attached) {
		struct netvsc_event ev = { .type = NETVSC_EV_LINK, .link_up = up };

		nd->ops.event(nd->ops.arg, &ev);
	}
}

static int indication(struct netvsc_dev *nd, const uint8_t *msg, uint32_t len)
{
	struct rndis_indicate_info ii;
	uint32_t v;

	if (rndis_parse_indicate(msg, len, &ii))
		return -EBADMSG;
	switch (ii.status) {
	case RNDIS_STATUS_MEDIA_CONNECT:
		link_event(nd, true);
		return 0;
	case RNDIS_STATUS_MEDIA_DISCONNECT:
		link_event(nd, false);
		return 0;
	case RNDIS_STATUS_NETWORK_CHANGE:
		/* Linux takes the link down and up, so stacks renew addresses */
		link_event(nd, false);
		link_event(nd, true);
		return 0;
	case RNDIS_STATUS_LINK_SPEED_CHANGE:
		if (ii.buf_len < sizeof(v))
			return -EBADMSG;
		memcpy(&v, msg + ii.buf_off, sizeof(v));
		atomic_store(&nd->link_speed_bps, (uint64_t)v * 100u);
		if (nd->ops.event && nd->attached) {
			struct netvsc_event ev = { .type = NETVSC_EV_LINK_SPEED,
						   .link_up = atomic_load(&nd->link_up),
						   .speed_bps = (uint64_t)v * 100u };

			nd->ops.event(nd->ops.arg, &ev);
		}
		return 0;
	default:
		/* TASK_OFFLOAD_CURRENT_CONFIG and the like: informational */
		return 0;
	}
}

/* Answers a host keepalive; kept owed while no control slot is free
 * (queue 0's poll tries again). */
void nv_rndis_keepalive_answer(struct netvsc_dev *nd)
{
	uint8_t msg[sizeof(struct rndis_keepalive_cmplt)];
	int ret = rndis_build_keepalive_cmplt(msg, sizeof(msg), nd->keepalive_rid,
					      RNDIS_STATUS_SUCCESS);

	if (ret > 0 && nv_rndis_send(nd, msg, (uint32_t)ret) == 0)
		nd->keepalive_owed = false;
}

/*
 * A control message from the host (a private copy): a completion of one of
 * our requests, an indication or a keepalive.  Returns 0 or -EBADMSG.
 */
int nv_rndis_message(struct netvsc_dev *nd, const uint8_t *msg, uint32_t len)
{
	struct rndis_hdr_info h;
	uint32_t rid, k;

	if (rndis_parse_hdr(msg, len, &h))
		return -EBADMSG;
	len = h.msg_len;
	switch (h.type) {
	case RNDIS_MSG_INDICATE:
		return indication(nd, msg, len);
	case RNDIS_MSG_KEEPALIVE:
		if (rndis_parse_keepalive(msg, len, &rid))
			return -EBADMSG;
		nd->keepalive_rid = rid;
		nd->keepalive_owed = true;
		nv_rndis_keepalive_answer(nd);
		return 0;
	case RNDIS_MSG_INIT_CMPLT:
	case RNDIS_MSG_QUERY_CMPLT:
	case RNDIS_MSG_SET_CMPLT:
	case RNDIS_MSG_RESET_CMPLT:
	case RNDIS_MSG_KEEPALIVE_CMPLT:
		/* Linux: the id must be there before it is read */
		if (len < 12)
			return -EBADMSG;
		memcpy(&rid, msg + 8, sizeof(rid));
		for (k = 0; k < NV_CTL_REQS; k++) {
			struct nv_ctl_req *r = &nd->ctl[k];

			if (r->rid != rid || rid == 0 || r->done)
				continue;
			if (r->async) {
				/* our keepalive was answered */
				ctl_free(r);
				if (nd->ops.event) {
					struct netvsc_event ev = { .type = NETVSC_EV_KEEPALIVE,
								   .link_up =
									   atomic_load(&nd->link_up) };

					nd->ops.event(nd->ops.arg, &ev);
				}
				return 0;
			}
			if (len > sizeof(r->buf)) {
				r->overflow = true;
				len = sizeof(r->buf);
			}
			memcpy(r->buf, msg, len);
			r->len = len;
			r->done = true;
			return 0;
		}
		return -EBADMSG; /* an answer to nothing we asked */
	default:
		return -EBADMSG;
	}
}

int netvsc_keepalive(struct netvsc_dev *nd)
{
	uint8_t msg[sizeof(struct rndis_keepalive_req)];
	struct nv_ctl_req *r;
	unsigned int k;
	int ret;

	if (!nd)
		return -EINVAL;
	ret = nv_live(nd);
	if (ret)
		return ret;
	if (nd->keepalive_owed)
		nv_rndis_keepalive_answer(nd);
	for (k = 0; k < NV_CTL_REQS; k++)
		if (nd->ctl[k].rid && nd->ctl[k].async)
			return -EBUSY;
	r = ctl_alloc(nd);
	if (!r)
		return -EBUSY;
	r->async = true;
	ret = rndis_build_keepalive(msg, sizeof(msg), r->rid);
	if (ret > 0)
		ret = nv_rndis_send(nd, msg, (uint32_t)ret);
	if (ret < 0) {
		ctl_free(r);
		return ret;
	}
	return 0;
}
