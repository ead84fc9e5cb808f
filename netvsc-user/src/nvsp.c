/* SPDX-License-Identifier: MIT */
/*
 * NVSP, the network service's own protocol: version negotiation and the
 * NDIS configuration, the receive and send buffers (connect and revoke),
 * the subchannel request, and the notifications the host sends in band
 * (the transmit indirection table).  Requests and their completions follow
 * Linux hv_netvsc (netvsc_connect_vsp, netvsc_init_buf, netvsc_revoke_*)
 * and DPDK's hn_nvs.c; RNDIS messages travel inside NVSP too, but their
 * protocol is rndis.c's.
 */
#include <errno.h>
#include <string.h>

#include "priv.h"

static const uint32_t nvsp_versions[] = { NVSP_VERSION_61, NVSP_VERSION_6, NVSP_VERSION_5,
					  NVSP_VERSION_4,  NVSP_VERSION_2, NVSP_VERSION_1 };

/* ------------------------------------------------------------------------ */
/* requests                                                                  */
/* ------------------------------------------------------------------------ */

/* Sends an NVSP message that has no answer. */
static int nvsp_notify(struct netvsc_dev *nd, const void *msg, const char *what)
{
	int ret = vmbus_chan_send(nd->q[0].chan, 0, 0, msg, NVSP_MSG_SIZE);

	if (ret < 0)
		return nv_step_error(nd, nv_chan_error(&nd->q[0], ret, what), what, 0);
	return 0;
}

static bool txd_done(struct netvsc_dev *nd, const void *arg)
{
	return nd->q[0].txd[*(const uint32_t *)arg].done;
}

/* Sends an NVSP request and copies its completion to @resp. */
static int nvsp_request(struct netvsc_dev *nd, const void *msg, void *resp, uint32_t *resp_len,
			const char *what)
{
	struct nv_queue *q = &nd->q[0];
	uint32_t i;
	int ret = nv_txd_get(q, TXK_REQ);

	if (ret < 0)
		return nv_fail(nd, -EPROTO, "no descriptor for %s", what);
	i = (uint32_t)ret;
	ret = vmbus_chan_send(q->chan, VMBUS_SEND_COMPLETION, (uint64_t)i + 1u, msg, NVSP_MSG_SIZE);
	if (ret < 0) {
		nv_txd_put(q, i);
		return nv_step_error(nd, nv_chan_error(q, ret, what), what, 0);
	}
	q->txd[i].state = TXD_INFLIGHT;
	ret = nv_wait(nd, txd_done, &i, nd->timeout_ms);
	if (ret) {
		/* the slot stays taken: a late answer must not match anything */
		return nv_step_error(nd, ret, what, nd->timeout_ms);
	}
	*resp_len = q->txd[i].resp_len;
	memcpy(resp, q->txd[i].resp, q->txd[i].resp_len);
	nv_txd_put(q, i);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* the session                                                               */
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
			return nv_fail(nd, -EPROTO, "malformed answer to NVSP INIT");
		if (ii.status == NVSP_STATUS_SUCCESS) {
			nd->info.nvsp_version = v;
			nd->info.max_mdl_chain_len = ii.max_mdl_chain_len;
			return 0;
		}
	}
	return nv_fail(nd, -EPROTO, "the host accepts none of our NVSP versions (0x%x down to "
				    "0x%x)",
		       max < NVSP_VERSION_61 ? max : NVSP_VERSION_61, NVSP_VERSION_1);
}

/*
 * Negotiates the highest version both sides speak (at most @max), then
 * tells the host our NDIS configuration and version.
 */
int nv_nvsp_init(struct netvsc_dev *nd, uint32_t max)
{
	uint8_t msg[NVSP_MSG_SIZE];
	uint64_t caps;
	int ret;

	ret = negotiate(nd, max);
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
	return nvsp_notify(nd, msg, "NDIS version");
}

/* Connects the receive and send buffers the UIO driver made GPADLs of. */
int nv_nvsp_connect_buffers(struct netvsc_dev *nd)
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
		return nv_fail(nd, -EPROTO, "the host's receive buffer layout is unusable (one "
					    "section at offset 0 inside our %zu bytes expected)",
			       nd->vinfo.recv_size);
	if (ri.status != NVSP_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "the host refused the receive buffer (status %u)",
			       ri.status);
	nd->rx_section_size = ri.section_size;
	nd->rx_section_count = ri.section_count;

	nvsp_build_chim_conn(msg, sizeof(msg), nd->vinfo.send_gpadl, NVSP_CHIM_ID);
	ret = nvsp_request(nd, msg, resp, &rlen, "the send buffer");
	if (ret)
		return ret;
	ret = nvsp_parse_chim_conn_comp(resp, rlen, nd->vinfo.send_size, &ci);
	if (ret)
		return nv_fail(nd, -EPROTO, "the host's send section size does not fit our "
					    "%zu-byte send buffer",
			       nd->vinfo.send_size);
	if (ci.status != NVSP_STATUS_SUCCESS)
		return nv_fail(nd, -EPROTO, "the host refused the send buffer (status %u)",
			       ci.status);
	if (ci.section_count < NV_CTL_SLOTS + 1)
		return nv_fail(nd, -ENOTSUP, "the host's send sections (%u bytes) are too small or "
					     "too few; sending without a send buffer is not "
					     "supported",
			       ci.section_size);
	nd->tx_section_size = ci.section_size;
	nd->tx_section_count = ci.section_count;
	return 0;
}

/* Revokes both buffers (no answer comes): the host's order of things
 * before the channels close. */
void nv_nvsp_revoke_buffers(struct netvsc_dev *nd)
{
	uint8_t msg[NVSP_MSG_SIZE];
	unsigned int i;

	for (i = 0; i < nd->nq; i++)
		vmbus_chan_flush(nd->q[i].chan);
	nvsp_build_rxbuf_revoke(msg, sizeof(msg), NVSP_RXBUF_ID);
	vmbus_chan_send(nd->q[0].chan, VMBUS_SEND_MORE, 0, msg, sizeof(msg));
	nvsp_build_chim_revoke(msg, sizeof(msg), NVSP_CHIM_ID);
	vmbus_chan_send(nd->q[0].chan, 0, 0, msg, sizeof(msg));
}

/*
 * Asks for @n subchannels, once per NVSP session (NVSP 5).  Returns 0 with
 * *granted the number the host granted (0 if it refused), or an error.
 */
int nv_nvsp_subchannels(struct netvsc_dev *nd, uint32_t n, uint32_t *granted)
{
	uint8_t msg[NVSP_MSG_SIZE], resp[NV_RESP_MAX];
	struct nvsp_subch_info si;
	uint32_t rlen;
	int ret;

	*granted = 0;
	nvsp_build_subch_req(msg, sizeof(msg), n);
	ret = nvsp_request(nd, msg, resp, &rlen, "the subchannel request");
	if (ret)
		return ret;
	if (nvsp_parse_subch_comp(resp, rlen, n, &si))
		return nv_fail(nd, -EPROTO, "malformed answer to the subchannel request (or more "
					    "than the %u asked for)",
			       n);
	if (si.status == NVSP_STATUS_SUCCESS)
		*granted = si.count;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* notifications from the host                                               */
/* ------------------------------------------------------------------------ */

/* An in-band NVSP message from the host: notifications only. */
void nv_nvsp_notification(struct nv_queue *q, const struct vmbus_pkt *pkt)
{
	struct netvsc_dev *nd = q->nd;
	struct nvsp_send_table_info t;
	uint32_t type;
	unsigned int i;

	if (nvsp_msg_type(pkt->data, pkt->len, &type) || q->idx != 0) {
		NV_STAT_ADD(q, rx_errors, 1);
		return;
	}
	switch (type) {
	case NVSP_MSG_SEND_INDIRECTION_TABLE:
		/* entries are checked against the queues when used: the table
		 * may come before every subchannel is open */
		if (nvsp_parse_send_table(pkt->data, pkt->len, nd->info.nvsp_version, 0, &t)) {
			NV_STAT_ADD(q, rx_errors, 1);
			return;
		}
		for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
			atomic_store_explicit(&nd->send_table[i], t.entry[i], memory_order_relaxed);
		atomic_store(&nd->send_table_valid, true);
		if (nd->ops.event && nd->attached) {
			struct netvsc_event ev = { .type = NETVSC_EV_SEND_TABLE };

			nd->ops.event(nd->ops.arg, &ev);
		}
		return;
	case NVSP_MSG_VF_ASSOC:
	case NVSP_MSG_SWITCH_DATA_PATH:
		/* we never offer SR-IOV: the data path stays synthetic */
		return;
	default:
		NV_STAT_ADD(q, rx_errors, 1);
		return;
	}
}
