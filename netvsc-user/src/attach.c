/* SPDX-License-Identifier: MIT */
/*
 * Bringing a synthetic NIC up and down: the NVSP and RNDIS sequences of
 * Linux hv_netvsc (netvsc_connect_vsp, rndis_filter_device_add) and DPDK's
 * hn_attach, control requests and their replies, host indications, and
 * the tear-down order of rndis_filter_device_remove / netvsc_device_remove.
 *
 * Attach runs on the caller's thread and owns every queue while it runs;
 * the control requests after it (keepalive, the detach sequence) belong
 * to queue 0's thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvs.h"
#include "opts.h"

#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_DRAIN_MS 2000
/* Detach's control steps: a host that stopped answering must not hold
 * the caller for a minute. */
#define DETACH_CTL_TIMEOUT_MS 5000

OPTS_CHECK_IN(netvsc_opts);
OPTS_CHECK_IN(netvsc_ops);
OPTS_CHECK_OUT(netvsc_info);

static const uint32_t nvsp_versions[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
					  NVSP_VERSION_4,  NVSP_VERSION_2, NVSP_VERSION_1 };

/*
 * The classic Microsoft Toeplitz key, the one Linux programs: flows hash
 * the same way as on a Linux guest of the same host.
 */
static const uint8_t rss_key[NDIS_RSS_KEY_SIZE] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* errors and state                                                          */
/* ------------------------------------------------------------------------ */

int nv_fail(struct netvsc_dev *nd, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nd->err, sizeof(nd->err), fmt, ap);
	va_end(ap);
	return err;
}

int nv_live(const struct netvsc_dev *nd)
{
	return atomic_load_explicit(&nd->state, memory_order_acquire);
}

/* The device is dead (-ENODEV or -EPROTO): the first to say so explains. */
void nv_dead(struct netvsc_dev *nd, int err, const char *fmt, ...)
{
	int expected = 0;
	va_list ap;

	if (!atomic_compare_exchange_strong(&nd->state, &expected, err))
		return;
	va_start(ap, fmt);
	vsnprintf(nd->err, sizeof(nd->err), fmt, ap);
	va_end(ap);
	if (nd->ops.event && !atomic_flag_test_and_set(&nd->reported)) {
		struct netvsc_event ev = { .type = err == -ENODEV ? NETVSC_EV_GONE : NETVSC_EV_BROKEN,
					   .error = err,
					   .message = nd->err };

		nd->ops.event(nd->ops.arg, &ev);
	}
}

int netvsc_state(const struct netvsc_dev *nd)
{
	return nd ? nv_live(nd) : -EINVAL;
}

const char *netvsc_strerror(const struct netvsc_dev *nd)
{
	return nd ? nd->err : "";
}

/* ------------------------------------------------------------------------ */
/* waiting for the host during attach and detach                             */
/* ------------------------------------------------------------------------ */

/*
 * Services queue 0 (frames are dropped: nobody takes them yet) until
 * @done(@arg) or @timeout_ms.  Returns 0, -ETIMEDOUT, or a device error.
 */
static int wait_for(struct netvsc_dev *nd, bool (*done)(struct netvsc_dev *, const void *),
		    const void *arg, int timeout_ms)
{
	struct nv_queue *q = &nd->q[0];
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		int64_t left;
		int ret = nv_service(q, SINK_DROP, 0, NULL, NULL);

		if (ret < 0)
			return ret;
		if (done(nd, arg))
			return 0;
		left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = vmbus_chan_wait(q->chan, (int)left);
		if (ret && ret != -ETIMEDOUT)
			return nv_chan_error(q, ret, "waiting for the host");
	}
}

static bool txd_done(struct netvsc_dev *nd, const void *arg)
{
	return nd->q[0].txd[*(const uint32_t *)arg].done;
}

static bool ctl_done(struct netvsc_dev *nd, const void *arg)
{
	(void)nd;
	return ((const struct nv_ctl_req *)arg)->done;
}

/* A wait that failed: the message names the step. */
static int step_error(struct netvsc_dev *nd, int err, const char *what, int timeout_ms)
{
	if (err == -ETIMEDOUT)
		return nv_fail(nd, err, "netvsc %s: the host did not answer %s within %d ms",
			       nd->guid, what, timeout_ms);
	if (nv_live(nd))
		return nv_live(nd); /* nd->err says it already */
	return nv_fail(nd, err, "netvsc %s: %s: %s", nd->guid, what, strerror(-err));
}

/* ------------------------------------------------------------------------ */
/* NVSP requests                                                             */
/* ------------------------------------------------------------------------ */

/* Sends an NVSP message that has no answer. */
static int nvsp_notify(struct netvsc_dev *nd, const void *msg, const char *what)
{
	int ret = vmbus_chan_send(nd->q[0].chan, 0, 0, msg, NVSP_MSG_SIZE);

	if (ret < 0)
		return step_error(nd, nv_chan_error(&nd->q[0], ret, what), what, 0);
	return 0;
}

/* Sends an NVSP request and copies its completion to @resp. */
static int nvsp_request(struct netvsc_dev *nd, const void *msg, void *resp, uint32_t *resp_len,
			const char *what)
{
	struct nv_queue *q = &nd->q[0];
	uint32_t i;
	int ret = nv_txd_get(q, TXK_REQ);

	if (ret < 0)
		return nv_fail(nd, -EPROTO, "netvsc %s: no descriptor for %s", nd->guid, what);
	i = (uint32_t)ret;
	ret = vmbus_chan_send(q->chan, VMBUS_SEND_COMPLETION, (uint64_t)i + 1u, msg, NVSP_MSG_SIZE);
	if (ret < 0) {
		nv_txd_put(q, i);
		return step_error(nd, nv_chan_error(q, ret, what), what, 0);
	}
	q->txd[i].state = TXD_INFLIGHT;
	ret = wait_for(nd, txd_done, &i, nd->timeout_ms);
	if (ret) {
		/* the slot stays taken: a late answer must not match anything */
		return step_error(nd, ret, what, nd->timeout_ms);
	}
	*resp_len = q->txd[i].resp_len;
	memcpy(resp, q->txd[i].resp, q->txd[i].resp_len);
	nv_txd_put(q, i);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* RNDIS control requests                                                    */
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

/*
 * Sends control message @msg (already carrying @r's id) and waits for the
 * reply, which lands in r->buf.
 */
static int ctl_send_wait(struct netvsc_dev *nd, struct nv_ctl_req *r, const void *msg,
			 uint32_t len, int timeout_ms, const char *what)
{
	int64_t end = now_ms() + timeout_ms;
	int ret;

	/* control sections come back with the host's immediate completion */
	while ((ret = nv_send_ctl(nd, msg, len)) == -EAGAIN) {
		if (now_ms() >= end)
			return step_error(nd, -ETIMEDOUT, what, timeout_ms);
		ret = nv_service(&nd->q[0], SINK_DROP, 0, NULL, NULL);
		if (ret < 0)
			return step_error(nd, ret, what, timeout_ms);
		ret = vmbus_chan_wait(nd->q[0].chan, 10);
		if (ret && ret != -ETIMEDOUT)
			return step_error(nd, nv_chan_error(&nd->q[0], ret, what), what, timeout_ms);
	}
	if (ret < 0)
		return step_error(nd, ret, what, timeout_ms);
	ret = wait_for(nd, ctl_done, r, timeout_ms);
	if (ret)
		return step_error(nd, ret, what, timeout_ms);
	if (r->overflow)
		return nv_fail(nd, -EPROTO, "netvsc %s: the reply to %s is larger than any reply",
			       nd->guid, what);
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
static int rndis_query(struct netvsc_dev *nd, uint32_t oid, const void *in, uint32_t in_len,
		       void *out, uint32_t cap, uint32_t *out_len, uint32_t *status, int timeout_ms,
		       const char *what)
{
	uint8_t msg[256];
	struct rndis_query_info qi;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "netvsc %s: too many control requests", nd->guid);
	ret = ctl_exec(nd, r, msg, rndis_build_query(msg, sizeof(msg), r->rid, oid, in, in_len),
		       timeout_ms, what);
	if (ret < 0)
		return ret;
	ret = rndis_parse_query_cmplt(r->buf, r->len, &qi);
	if (ret) {
		ctl_free(r);
		return nv_fail(nd, -EPROTO, "netvsc %s: malformed reply to %s", nd->guid, what);
	}
	*status = qi.status;
	*out_len = qi.info_len;
	if (qi.status == RNDIS_STATUS_SUCCESS && out)
		memcpy(out, r->buf + qi.info_off, qi.info_len < cap ? qi.info_len : cap);
	ctl_free(r);
	return 0;
}

/* SET @oid; *status gets the host's RNDIS status. */
static int rndis_set(struct netvsc_dev *nd, uint32_t oid, const void *val, uint32_t len,
		     uint32_t *status, int timeout_ms, const char *what)
{
	uint8_t msg[1024];
	struct rndis_cmplt_info ci;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "netvsc %s: too many control requests", nd->guid);
	ret = ctl_exec(nd, r, msg, rndis_build_set(msg, sizeof(msg), r->rid, oid, val, len),
		       timeout_ms, what);
	if (ret < 0)
		return ret;
	ret = rndis_parse_set_cmplt(r->buf, r->len, &ci);
	ctl_free(r);
	if (ret)
		return nv_fail(nd, -EPROTO, "netvsc %s: malformed reply to %s", nd->guid, what);
	*status = ci.status;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* messages from the host on the control path                                */
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

/* Answers a host keepalive; kept owed while no control section is free
 * (queue 0's poll tries again). */
void nv_keepalive_answer(struct netvsc_dev *nd)
{
	uint8_t msg[sizeof(struct rndis_keepalive_cmplt)];
	int ret = rndis_build_keepalive_cmplt(msg, sizeof(msg), nd->keepalive_rid,
					      RNDIS_STATUS_SUCCESS);

	if (ret > 0 && nv_send_ctl(nd, msg, (uint32_t)ret) == 0)
		nd->keepalive_owed = false;
}

int nv_ctl_message(struct netvsc_dev *nd, const uint8_t *msg, uint32_t len)
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
		nv_keepalive_answer(nd);
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
		nv_keepalive_answer(nd);
	for (k = 0; k < NV_CTL_REQS; k++)
		if (nd->ctl[k].rid && nd->ctl[k].async)
			return -EBUSY;
	r = ctl_alloc(nd);
	if (!r)
		return -EBUSY;
	r->async = true;
	ret = rndis_build_keepalive(msg, sizeof(msg), r->rid);
	if (ret > 0)
		ret = nv_send_ctl(nd, msg, (uint32_t)ret);
	if (ret < 0) {
		ctl_free(r);
		return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* attach                                                                    */
/* ------------------------------------------------------------------------ */

static int negotiate(struct netvsc_dev *nd, uint32_t max)
{
	uint8_t msg[NVSP_MSG_SIZE], resp[NV_RESP_MAX];
	struct nvsp_init_info ii;
	uint32_t rlen;
	size_t k;
	int ret;

	/* one version per try, newest first (Linux, DPDK); the host matches
	 * the first field exactly and answers others with a non-success */
	for (k = 0; k < sizeof(nvsp_versions) / sizeof(nvsp_versions[0]); k++) {
		uint32_t v = nvsp_versions[k];

		if (v > max)
			continue;
		nvsp_build_init(msg, sizeof(msg), v);
		ret = nvsp_request(nd, msg, resp, &rlen, "NVSP INIT");
		if (ret)
			return ret;
		if (nvsp_parse_init_comp(resp, rlen, &ii))
			return nv_fail(nd, -EPROTO, "netvsc %s: malformed answer to NVSP INIT",
				       nd->guid);
		if (ii.status == NVSP_STATUS_SUCCESS) {
			nd->info.nvsp_version = v;
			nd->info.max_mdl_chain_len = ii.max_mdl_chain_len;
			return 0;
		}
	}
	return nv_fail(nd, -EPROTO, "netvsc %s: the host accepts none of our NVSP versions "
				    "(0x%x down to 0x%x)",
		       nd->guid, max < NVSP_VERSION_61 ? max : NVSP_VERSION_61, NVSP_VERSION_1);
}

static int connect_buffers(struct netvsc_dev *nd)
{
	uint8_t msg[NVSP_MSG_SIZE], resp[NV_RESP_MAX];
	struct nvsp_rxbuf_info ri;
	struct nvsp_chim_info ci;
	uint32_t rlen;
	int ret;

	nvsp_build_rxbuf_conn(msg, sizeof(msg), nd->vinfo.recv_gpadl, NVSP_RXBUF_ID);
	ret = nvsp_request(nd, msg, resp, &rlen, "the receive buffer");
	if (ret)
		return ret;
	ret = nvsp_parse_rxbuf_conn_comp(resp, rlen, nd->vinfo.recv_size, &ri);
	if (ret)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host's receive buffer layout is "
					    "unusable (one section at offset 0 inside our %zu "
					    "bytes expected)",
			       nd->guid, nd->vinfo.recv_size);
	if (ri.status != NVSP_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host refused the receive buffer "
					    "(status %u)",
			       nd->guid, ri.status);
	nd->rx_section_size = ri.section_size;
	nd->rx_section_count = ri.section_count;

	nvsp_build_chim_conn(msg, sizeof(msg), nd->vinfo.send_gpadl, NVSP_CHIM_ID);
	ret = nvsp_request(nd, msg, resp, &rlen, "the send buffer");
	if (ret)
		return ret;
	ret = nvsp_parse_chim_conn_comp(resp, rlen, nd->vinfo.send_size, &ci);
	if (ret)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host's send section size does not fit "
					    "our %zu-byte send buffer",
			       nd->guid, nd->vinfo.send_size);
	if (ci.status != NVSP_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host refused the send buffer (status %u)",
			       nd->guid, ci.status);
	if (ci.section_count < NV_CTL_SECTIONS + 1)
		return nv_fail(nd, -ENOTSUP, "netvsc %s: the host's send sections (%u bytes) are "
					     "too small or too few; sending without a send "
					     "buffer is not supported",
			       nd->guid, ci.section_size);
	nd->tx_section_size = ci.section_size;
	nd->tx_section_count = ci.section_count;
	return 0;
}

static int rndis_init(struct netvsc_dev *nd)
{
	uint8_t msg[64];
	struct rndis_init_info ii;
	struct nv_ctl_req *r = ctl_alloc(nd);
	int ret;

	if (!r)
		return nv_fail(nd, -EBUSY, "netvsc %s: too many control requests", nd->guid);
	ret = ctl_exec(nd, r, msg, rndis_build_init(msg, sizeof(msg), r->rid, RNDIS_GUEST_MAX_XFER),
		       nd->timeout_ms, "RNDIS INITIALIZE");
	if (ret < 0)
		return ret;
	ret = rndis_parse_init_cmplt(r->buf, r->len, &ii);
	ctl_free(r);
	if (ret)
		return nv_fail(nd, -EPROTO, "netvsc %s: malformed or unusable RNDIS INITIALIZE "
					    "completion",
			       nd->guid);
	if (ii.status != RNDIS_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host failed RNDIS INITIALIZE "
					    "(status 0x%x)",
			       nd->guid, ii.status);
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

static int set_filter(struct netvsc_dev *nd, uint32_t filter, int timeout_ms)
{
	uint32_t status;
	int ret = rndis_set(nd, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter),
			    &status, timeout_ms, "setting the packet filter");

	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host refused packet filter 0x%x "
					    "(status 0x%x)",
			       nd->guid, filter, status);
	nd->info.packet_filter = filter;
	return 0;
}

static int query_u32(struct netvsc_dev *nd, uint32_t oid, uint32_t *v, const char *what)
{
	uint32_t status, len = 0;
	int ret = rndis_query(nd, oid, NULL, 0, v, sizeof(*v), &len, &status, nd->timeout_ms, what);

	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS || len < sizeof(*v))
		return 1; /* not answered: the caller keeps its default */
	return 0;
}

static int query_facts(struct netvsc_dev *nd)
{
	uint8_t mac[16];
	uint32_t status, len = 0, v;
	int ret;

	ret = rndis_query(nd, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0, mac, sizeof(mac), &len,
			  &status, nd->timeout_ms, "the MAC address query");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS || len < NETVSC_ETH_ALEN)
		return nv_fail(nd, -EPROTO, "netvsc %s: the host gave no MAC address (status 0x%x, "
					    "%u bytes)",
			       nd->guid, status, len);
	memcpy(nd->info.mac, mac, NETVSC_ETH_ALEN);

	ret = query_u32(nd, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &v, "the MTU query");
	if (ret < 0)
		return ret;
	if (ret == 0) {
		nd->info.mtu_host = v;
		if (v < NETVSC_ETH_HLEN + 54)
			return nv_fail(nd, -EPROTO, "netvsc %s: the host's MTU %u is absurd",
				       nd->guid, v);
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
static int offloads(struct netvsc_dev *nd, bool off)
{
	struct ndis_object_hdr in;
	struct ndis_offload caps;
	struct ndis_offload_params p;
	uint8_t buf[sizeof(struct ndis_offload) + 64], msg[64];
	uint32_t status, len = 0, rev;
	bool v630 = nd->ndis_version >= NDIS_VERSION_6_30;
	int ret;

	in = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, v630 ? NDIS_OFFLOAD_REV_3 : NDIS_OFFLOAD_REV_2,
			  (uint16_t)(v630 ? NDIS_OFFLOAD_SIZE_REV_3 : NDIS_OFFLOAD_SIZE_REV_2));
	ret = rndis_query(nd, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &in, sizeof(in), buf,
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
	ret = rndis_set(nd, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, msg, (uint32_t)ret, &status,
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

/* Subchannels (NVSP 5) for the queues wanted, then RSS over them. */
static int subchannels(struct netvsc_dev *nd, unsigned int want)
{
	uint8_t msg[NVSP_MSG_SIZE], resp[NV_RESP_MAX], buf[64];
	struct ndis_rss_caps_info rc;
	struct nvsp_subch_info si;
	struct ndis_object_hdr in;
	uint32_t status, len = 0, rlen;
	unsigned int n, i;
	int ret;

	if (nd->info.nvsp_version < NVSP_VERSION_5 || nd->ndis_version < NDIS_VERSION_6_30)
		return 0;
	in = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, NDIS_RSS_CAPS_REV_2,
			  (uint16_t)NDIS_RSS_CAPS_SIZE_REV_2);
	ret = rndis_query(nd, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &in, sizeof(in), buf,
			  sizeof(buf), &len, &status, nd->timeout_ms, "the RSS capability query");
	if (ret)
		return ret;
	if (status != RNDIS_STATUS_SUCCESS ||
	    ndis_parse_rss_caps(buf, len < sizeof(buf) ? len : sizeof(buf), &rc))
		return 0; /* no RSS: one queue */
	nd->info.queues_host_max = rc.num_rx_queues;
	nd->info.rss_indirection_size = rc.num_indirection;
	n = want;
	if (n > rc.num_rx_queues)
		n = rc.num_rx_queues;
	if (n > rc.num_indirection)
		n = rc.num_indirection;
	if (n > NETVSC_MAX_QUEUES)
		n = NETVSC_MAX_QUEUES;
	if (n <= 1)
		return 0;

	/* once per NVSP session: the host may grant fewer */
	nvsp_build_subch_req(msg, sizeof(msg), n - 1);
	ret = nvsp_request(nd, msg, resp, &rlen, "the subchannel request");
	if (ret)
		return ret;
	if (nvsp_parse_subch_comp(resp, rlen, n - 1, &si))
		return nv_fail(nd, -EPROTO, "netvsc %s: malformed answer to the subchannel "
					    "request (or more than the %u asked for)",
			       nd->guid, n - 1);
	if (si.status != NVSP_STATUS_SUCCESS || si.count == 0)
		return 0;
	nd->info.subchannels_granted = si.count;
	ret = vmbus_dev_open_subchans(nd->dev, si.count, nd->timeout_ms);
	if (ret == -ENODEV)
		return nv_chan_error(&nd->q[0], ret, "opening subchannels");
	if (ret && ret != -ETIMEDOUT)
		return nv_fail(nd, ret, "netvsc %s: %s", nd->guid, vmbus_dev_strerror(nd->dev));
	/* queues are subchannel ids: use them up to the first one missing */
	for (i = 1; i <= si.count && vmbus_dev_chan(nd->dev, i); i++)
		;
	nd->nq = i;
	if (nd->nq == 1)
		return nv_fail(nd, -ETIMEDOUT, "netvsc %s: the host granted %u subchannel(s) but "
					       "offered none within %d ms",
			       nd->guid, si.count, nd->timeout_ms);
	return 0;
}

static int program_rss(struct netvsc_dev *nd)
{
	uint32_t itab[NDIS_RSS_ITAB_ENTRIES], status, hash;
	uint8_t msg[sizeof(struct ndis_rss_params_toeplitz)];
	unsigned int i;
	int ret;

	/* disable first, then the real parameters (Linux, DPDK b604e80632) */
	ret = ndis_build_rss_params(msg, sizeof(msg), NDIS_RSS_FLAG_DISABLE, 0, NULL, NULL);
	if (ret < 0)
		return ret;
	ret = rndis_set(nd, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, msg, (uint32_t)ret, &status,
			nd->timeout_ms, "disabling RSS");
	if (ret)
		return ret;
	hash = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4 | NDIS_HASH_IPV6 |
	       NDIS_HASH_TCP_IPV6;
	for (i = 0; i < NDIS_RSS_ITAB_ENTRIES; i++)
		itab[i] = i % nd->nq;
	ret = ndis_build_rss_params(msg, sizeof(msg), NDIS_RSS_FLAG_NONE, hash, itab, rss_key);
	if (ret < 0)
		return ret;
	ret = rndis_set(nd, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, msg, (uint32_t)ret, &status,
			nd->timeout_ms, "setting RSS parameters");
	if (ret)
		return ret;
	if (status == RNDIS_STATUS_SUCCESS) {
		nd->info.rss = true;
		nd->info.rss_hash_info = hash;
	}
	/* refused: frames all arrive on queue 0, sending still spreads */
	return 0;
}

/* Splits the data sections between the queues (no lock on the hot path). */
static int setup_queues(struct netvsc_dev *nd)
{
	uint32_t data = nd->tx_section_count - NV_CTL_SECTIONS, per = data / nd->nq, first;
	unsigned int i;
	int ret;

	for (i = 0; i < nd->nq; i++) {
		first = NV_CTL_SECTIONS + i * per;
		ret = nv_queue_init(&nd->q[i], nd, i, first, per);
		if (ret)
			return nv_fail(nd, ret, "netvsc %s: out of memory", nd->guid);
	}
	return 0;
}

static void fill_info(struct netvsc_dev *nd)
{
	struct netvsc_info *in = &nd->info;

	memcpy(in->guid, nd->guid, sizeof(in->guid));
	in->ndis_version = nd->ndis_version;
	in->rx_buf_size = nd->vinfo.recv_size;
	in->rx_section_size = nd->rx_section_size;
	in->rx_section_count = nd->rx_section_count;
	in->tx_buf_size = nd->vinfo.send_size;
	in->tx_section_size = nd->tx_section_size;
	in->tx_section_count = nd->tx_section_count;
	in->relid = nd->vinfo.relid;
	in->monitored = nd->vinfo.monitor_id != VMBUS_MONITOR_ID_NONE;
	in->simulated = nd->vinfo.simulated;
	snprintf(in->uio_name, sizeof(in->uio_name), "%s", nd->vinfo.uio_name);
	in->ring_size = nd->vinfo.ring_size;
}

static int bring_up(struct netvsc_dev *nd, const struct netvsc_opts *o)
{
	uint8_t msg[NVSP_MSG_SIZE];
	uint32_t filter;
	unsigned int want = o->queues ? o->queues : 1;
	uint64_t caps;
	int ret;

	ret = negotiate(nd, o->nvsp_max ? o->nvsp_max : NVSP_VERSION_61);
	if (ret)
		return ret;
	if (nd->info.nvsp_version >= NVSP_VERSION_2) {
		/* DPDK: VLAN; Linux also teaming from NVSP 5 (link speed
		 * updates).  No SR-IOV (we drive no VF) and no RSC (we do not
		 * merge segments), so the host keeps frames whole and synthetic. */
		caps = NVSP_NDIS_CAP_IEEE8021Q;
		if (nd->info.nvsp_version >= NVSP_VERSION_5)
			caps |= NVSP_NDIS_CAP_TEAMING;
		nvsp_build_ndis_config(msg, sizeof(msg), nd->info.mtu_requested + NETVSC_ETH_HLEN,
				       caps);
		ret = nvsp_notify(nd, msg, "NDIS configuration");
		if (ret)
			return ret;
	}
	/* NDIS 6.30 above NVSP 4, 6.1 up to it (Linux, DPDK, FreeBSD) */
	nd->ndis_version = nd->info.nvsp_version >= NVSP_VERSION_5 ? NDIS_VERSION_6_30 :
								     NDIS_VERSION_6_1;
	nvsp_build_ndis_ver(msg, sizeof(msg), nd->ndis_version);
	ret = nvsp_notify(nd, msg, "NDIS version");
	if (ret)
		return ret;
	ret = connect_buffers(nd);
	if (ret)
		return ret;
	nd->buffers = true;
	/* control sections: the first few, for queue 0's control path */
	for (nd->nctl_sec_free = 0; nd->nctl_sec_free < NV_CTL_SECTIONS; nd->nctl_sec_free++)
		nd->ctl_sec_free[nd->nctl_sec_free] = NV_CTL_SECTIONS - 1 - nd->nctl_sec_free;
	/* receive copies are sized by the host's slots */
	free(nd->q[0].copy);
	nd->q[0].copy_slot = nd->rx_section_size;
	nd->q[0].copy = calloc(NETVSC_RECV_MAX + 1, nd->q[0].copy_slot);
	free(nd->q[0].owed);
	nd->q[0].owed_cap = nd->rx_section_count + 64;
	nd->q[0].nowed = 0;
	nd->q[0].owed = calloc(nd->q[0].owed_cap, sizeof(*nd->q[0].owed));
	if (!nd->q[0].copy || !nd->q[0].owed)
		return nv_fail(nd, -ENOMEM, "netvsc %s: out of memory", nd->guid);

	ret = rndis_init(nd);
	if (ret)
		return ret;
	/* DPDK: some hosts keep the filter of a previous session */
	ret = set_filter(nd, NDIS_PACKET_TYPE_NONE, nd->timeout_ms);
	if (ret)
		return ret;
	ret = query_facts(nd);
	if (ret)
		return ret;
	/* also for one queue: what the host offers is a fact worth showing */
	ret = subchannels(nd, want);
	if (ret)
		return ret;
	ret = setup_queues(nd);
	if (ret)
		return ret;
	if (nd->nq > 1) {
		ret = program_rss(nd);
		if (ret)
			return ret;
	}
	ret = offloads(nd, o->no_offload);
	if (ret)
		return ret;
	filter = o->packet_filter ? o->packet_filter :
				    NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST |
					    NDIS_PACKET_TYPE_BROADCAST;
	ret = set_filter(nd, filter, nd->timeout_ms);
	if (ret)
		return ret;
	nd->info.queues = nd->nq;
	return 0;
}

/* The caller's options, each field it has or its default (0, NULL). */
static void opts_take(struct netvsc_opts *o, const struct netvsc_opts *opts)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->root = OPTS_GET(opts, root, NULL);
	o->queues = OPTS_GET(opts, queues, 0);
	o->mtu = OPTS_GET(opts, mtu, 0);
	o->nvsp_max = OPTS_GET(opts, nvsp_max, 0);
	o->packet_filter = OPTS_GET(opts, packet_filter, 0);
	o->timeout_ms = OPTS_GET(opts, timeout_ms, 0);
	o->drain_ms = OPTS_GET(opts, drain_ms, 0);
	o->no_offload = OPTS_GET(opts, no_offload, false);
	o->ops = OPTS_GET(opts, ops, NULL);
	o->errbuf = OPTS_GET(opts, errbuf, NULL);
	o->errbuf_len = OPTS_GET(opts, errbuf_len, 0);
}

int netvsc_attach(const char *guid, const struct netvsc_opts *opts, struct netvsc_dev **out)
{
	struct netvsc_opts o;
	struct vmbus_dev_opts vo = { .sz = sizeof(vo) };
	struct netvsc_dev *nd;
	char verr[512] = "";
	const char *why;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	opts_take(&o, opts);
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	snprintf(nd->guid, sizeof(nd->guid), "%.36s", guid ? guid : "(null)");
	ret = OPTS_VALID(opts, netvsc_opts, &why);
	if (ret) {
		nv_fail(nd, ret, "netvsc %s: struct netvsc_opts: %s", nd->guid, why);
		goto fail;
	}
	ret = OPTS_VALID(o.ops, netvsc_ops, &why);
	if (ret) {
		nv_fail(nd, ret, "netvsc %s: struct netvsc_ops: %s", nd->guid, why);
		goto fail;
	}
	nd->ops.sz = sizeof(nd->ops);
	nd->ops.rx = OPTS_GET(o.ops, rx, NULL);
	nd->ops.tx_done = OPTS_GET(o.ops, tx_done, NULL);
	nd->ops.event = OPTS_GET(o.ops, event, NULL);
	nd->ops.arg = OPTS_GET(o.ops, arg, NULL);
	nd->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	nd->drain_ms = o.drain_ms > 0 ? o.drain_ms : DEFAULT_DRAIN_MS;
	nd->info.queues_requested = o.queues ? o.queues : 1;
	nd->info.mtu_requested = o.mtu ? o.mtu : 1500;
	nd->info.mtu = nd->info.mtu_requested;
	nd->nq = 1;
	if (o.queues > NETVSC_MAX_QUEUES || (o.mtu && (o.mtu < 68 || o.mtu > 9202))) {
		ret = nv_fail(nd, -EINVAL, "netvsc %s: queues must be 1..%u and the MTU 68..9202",
			      nd->guid, NETVSC_MAX_QUEUES);
		goto fail;
	}

	vo.root = o.root;
	vo.errbuf = verr;
	vo.errbuf_len = sizeof(verr);
	ret = vmbus_dev_open(guid, &vo, &nd->dev);
	if (ret) {
		nv_fail(nd, ret, "%s", verr);
		goto fail;
	}
	nd->vinfo.sz = sizeof(nd->vinfo);
	vmbus_dev_info(nd->dev, &nd->vinfo);
	vmbus_guid_format(&nd->vinfo.device_id, nd->guid);
	if (strcmp(vmbus_class_name(&nd->vinfo.class_id) ? vmbus_class_name(&nd->vinfo.class_id) :
							    "",
		   "network")) {
		ret = nv_fail(nd, -ENOTSUP, "netvsc %s: not a network adapter (class %s)",
			      nd->guid,
			      vmbus_class_name(&nd->vinfo.class_id) ?
				      vmbus_class_name(&nd->vinfo.class_id) :
				      "unknown");
		goto fail;
	}
	if (nd->vinfo.nmaps < 5 || !nd->vinfo.recv_buf || !nd->vinfo.send_buf) {
		ret = nv_fail(nd, -ENOTSUP, "netvsc %s: the UIO driver exposes no receive and send "
					    "buffers (%u maps)",
			      nd->guid, nd->vinfo.nmaps);
		goto fail;
	}
	/* queue 0 first, with descriptors for the attach requests only */
	ret = nv_queue_init(&nd->q[0], nd, 0, 0, 0);
	if (ret) {
		nv_fail(nd, ret, "netvsc %s: out of memory", nd->guid);
		goto fail;
	}
	ret = bring_up(nd, &o);
	if (ret)
		goto fail;
	fill_info(nd);
	nd->attached = true;
	*out = nd;
	return 0;
fail:
	if (o.errbuf && o.errbuf_len)
		snprintf(o.errbuf, o.errbuf_len, "%s", nd->err);
	netvsc_detach(nd);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* detach                                                                    */
/* ------------------------------------------------------------------------ */

static bool drained(const struct netvsc_dev *nd)
{
	unsigned int i;

	for (i = 0; i < nd->nq; i++)
		if (nd->q[i].inflight_frames || nd->q[i].npend || nd->q[i].open >= 0)
			return false;
	return true;
}

/* Sends what is queued and waits for the host to complete it. */
static void drain(struct netvsc_dev *nd)
{
	int64_t end = now_ms() + nd->drain_ms;
	unsigned int i;

	for (i = 0; i < nd->nq; i++)
		netvsc_flush(nd, i);
	while (!nv_live(nd) && !drained(nd) && now_ms() < end) {
		for (i = 0; i < nd->nq && !nv_live(nd); i++) {
			struct nv_queue *q = &nd->q[i];

			if (nv_service(q, SINK_DROP, 0, NULL, NULL) < 0)
				return;
			netvsc_flush(nd, i);
			if (q->inflight_frames)
				vmbus_chan_wait(q->chan, 5);
		}
	}
}

/* Takes every receive packet left in the rings, so the host gets its
 * slots back before the buffers go. */
static void return_receives(struct netvsc_dev *nd)
{
	unsigned int i, round;

	for (round = 0; round < 4; round++)
		for (i = 0; i < nd->nq && !nv_live(nd); i++)
			nv_service(&nd->q[i], SINK_DROP, 0, NULL, NULL);
}

void netvsc_detach(struct netvsc_dev *nd)
{
	unsigned int i, k;

	if (!nd)
		return;
	if (nd->dev && !nv_live(nd) && nd->attached) {
		uint8_t msg[NVSP_MSG_SIZE];
		int ret;

		drain(nd);
		/* Linux closes with filter none, so the host stops receiving */
		if (!nv_live(nd))
			set_filter(nd, NDIS_PACKET_TYPE_NONE,
				   nd->timeout_ms < DETACH_CTL_TIMEOUT_MS ? nd->timeout_ms :
									      DETACH_CTL_TIMEOUT_MS);
		if (!nv_live(nd)) {
			struct nv_ctl_req *r = ctl_alloc(nd);

			ret = r ? rndis_build_halt(msg, sizeof(msg), r->rid) : -EBUSY;
			if (ret > 0)
				nv_send_ctl(nd, msg, (uint32_t)ret); /* no answer */
			if (r)
				ctl_free(r);
		}
		return_receives(nd);
	}
	if (nd->dev && !nv_live(nd) && nd->buffers) {
		/* revoke (no answer), then close: the host's order of things */
		uint8_t msg[NVSP_MSG_SIZE];

		for (i = 0; i < nd->nq; i++)
			vmbus_chan_flush(nd->q[i].chan);
		nvsp_build_rxbuf_revoke(msg, sizeof(msg), NVSP_RXBUF_ID);
		vmbus_chan_send(nd->q[0].chan, VMBUS_SEND_MORE, 0, msg, sizeof(msg));
		nvsp_build_chim_revoke(msg, sizeof(msg), NVSP_CHIM_ID);
		vmbus_chan_send(nd->q[0].chan, 0, 0, msg, sizeof(msg));
	}
	/* pages the host never completed: their owners may reuse them now */
	for (i = 0; i < nd->nq; i++) {
		struct nv_queue *q = &nd->q[i];

		for (k = 0; k < q->ntxd && nd->ops.tx_done; k++)
			if (q->txd[k].state == TXD_INFLIGHT && q->txd[k].kind == TXK_PAGES)
				nd->ops.tx_done(nd->ops.arg, i, q->txd[k].cookie,
						nv_live(nd) ? nv_live(nd) : -ECANCELED);
	}
	if (nd->dev)
		vmbus_dev_close(nd->dev);
	for (i = 0; i < NETVSC_MAX_QUEUES; i++)
		if (nd->q[i].nd)
			nv_queue_fini(&nd->q[i]);
	free(nd);
}

/* ------------------------------------------------------------------------ */
/* facts                                                                     */
/* ------------------------------------------------------------------------ */

int netvsc_info(const struct netvsc_dev *nd, struct netvsc_info *out)
{
	struct netvsc_info in;
	unsigned int i;
	int ret;

	memset(&in, 0, sizeof(in));
	if (!nd) {
		ret = OPTS_FILL(out, &in, netvsc_info);
		return ret ? ret : -EINVAL;
	}
	in = nd->info;
	in.link_up = atomic_load(&nd->link_up);
	in.link_speed_bps = atomic_load(&nd->link_speed_bps);
	in.send_table_valid = atomic_load(&nd->send_table_valid);
	for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
		in.send_table[i] = atomic_load_explicit(&nd->send_table[i], memory_order_relaxed);
	return OPTS_FILL(out, &in, netvsc_info);
}

unsigned int netvsc_queues(const struct netvsc_dev *nd)
{
	return nd ? nd->nq : 0;
}

bool netvsc_link_up(const struct netvsc_dev *nd)
{
	return nd && atomic_load(&nd->link_up);
}

unsigned int netvsc_tx_queue(const struct netvsc_dev *nd, uint32_t hash)
{
	uint32_t e;

	if (!nd || nd->nq <= 1)
		return 0;
	if (atomic_load(&nd->send_table_valid)) {
		e = atomic_load_explicit(&nd->send_table[hash % NVSP_SEND_TABLE_SIZE],
					 memory_order_relaxed);
		if (e < nd->nq)
			return e;
	}
	return hash % nd->nq;
}

struct vmbus_device *netvsc_vmbus(struct netvsc_dev *nd)
{
	return nd ? nd->dev : NULL;
}
