/* SPDX-License-Identifier: MIT */
/*
 * A scripted guest for the sim tests (guest.h).  Compiled once into the
 * tests' helper library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "guest.h"

struct guest *guest_live;

void guest_open(struct guest *g, int index)
{
	char err[512];
	struct vmbus_dev_opts o = { .sz = sizeof(o), .root = g->sim.root, .errbuf = err,
				    .errbuf_len = sizeof(err) };
	int ret = vmbus_dev_open(g->sim.guid[index], &o, &g->dev);

	if (ret)
		fail_msg("open: %s", err);
	g->c = vmbus_dev_primary(g->dev);
	g->info.sz = sizeof(g->info);
	vmbus_dev_info(g->dev, &g->info);
}

struct guest *guest_new(const char *opt1, const char *opt2, const char *opt3)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	guest_live = g;
	assert_int_equal(sim_start(&g->sim, "--link-flap-ms", "0", opt1, opt2, opt3, NULL), 0);
	guest_open(g, 0);
	g->tid = 1;
	g->rid = 1;
	return g;
}

void guest_close(struct guest *g)
{
	vmbus_dev_close(g->dev);
	g->dev = NULL;
}

int guest_free(void **state)
{
	struct guest *g = guest_live;
	int rc;

	(void)state;
	if (!g)
		return 0;
	guest_live = NULL;
	if (g->dev)
		vmbus_dev_close(g->dev);
	rc = sim_stop(&g->sim);
	free(g);
	/* the simulator ran under the sanitizers: a report is a failure */
	return rc == 0 ? 0 : -1;
}

void send_nvsp(struct guest *g, struct vmbus_chan *c, const void *msg, size_t len,
	       bool completion)
{
	uint8_t m[NVSP_MSG_SIZE] = { 0 };

	memcpy(m, msg, len);
	assert_int_equal(vmbus_chan_send(c, completion ? VMBUS_SEND_COMPLETION : 0,
					 completion ? g->tid++ : 0, m, sizeof(m)),
			 0);
}

int recv_pkt(struct guest *g, struct vmbus_chan *c, struct vmbus_pkt *pkt)
{
	int64_t end = sim_now_ms() + WAIT_MS;

	for (;;) {
		int n = vmbus_chan_recv(c, g->buf, sizeof(g->buf), pkt);
		int64_t left = end - sim_now_ms();

		if (n != -EAGAIN)
			return n;
		if (left <= 0)
			return -ETIMEDOUT;
		n = vmbus_chan_wait(c, (int)left);
		if (n && n != -ETIMEDOUT)
			return n;
	}
}

void request(struct guest *g, const void *msg, size_t len, struct vmbus_pkt *pkt)
{
	uint64_t tid = g->tid;

	send_nvsp(g, g->c, msg, len, true);
	assert_true(recv_pkt(g, g->c, pkt) >= 0);
	assert_int_equal(pkt->type, VMBUS_PKT_COMPLETION);
	assert_true(pkt->tid == tid);
}

uint32_t nvsp_init(struct guest *g, uint32_t version)
{
	struct nvsp_init m = { .type = NVSP_MSG_INIT, .ver_min = version, .ver_max = version };
	struct nvsp_init_comp c;
	struct vmbus_pkt pkt;

	request(g, &m, sizeof(m), &pkt);
	assert_true(pkt.len >= sizeof(c));
	memcpy(&c, pkt.data, sizeof(c));
	assert_int_equal(c.type, NVSP_MSG_INIT_COMP);
	if (c.status == NVSP_STATUS_SUCCESS)
		assert_int_equal(c.max_mdl_chain_len, 34);
	return c.status;
}

void nvsp_attach(struct guest *g, uint32_t mtu)
{
	struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = mtu + 14,
					.caps = NVSP_NDIS_CAP_IEEE8021Q };
	struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6, .ndis_minor = 30 };
	struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN, .gpadl = g->info.recv_gpadl,
				      .id = NVSP_RXBUF_ID };
	struct nvsp_chim_conn tx = { .type = NVSP_MSG_CHIM_CONN, .gpadl = g->info.send_gpadl,
				     .id = NVSP_CHIM_ID };
	struct nvsp_rxbuf_conn_comp rc;
	struct nvsp_chim_conn_comp cc;
	struct vmbus_pkt pkt;

	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	send_nvsp(g, g->c, &cfg, sizeof(cfg), false);
	send_nvsp(g, g->c, &ver, sizeof(ver), false);
	request(g, &rx, sizeof(rx), &pkt);
	memcpy(&rc, pkt.data, sizeof(rc));
	assert_int_equal(rc.type, NVSP_MSG_RXBUF_CONN_COMP);
	assert_int_equal(rc.status, NVSP_STATUS_SUCCESS);
	assert_int_equal(rc.num_sections, 1);
	assert_int_equal(rc.sections[0].offset, 0);
	/* netvsp: slots of 256 + MTU (with its 14-byte header) + 36 */
	assert_int_equal(rc.sections[0].sub_alloc_size, 256 + mtu + 14 + 36);
	assert_int_equal(rc.sections[0].num_sub_allocs,
			 g->info.recv_size / rc.sections[0].sub_alloc_size);
	assert_int_equal(rc.sections[0].end_offset,
			 rc.sections[0].num_sub_allocs * rc.sections[0].sub_alloc_size);
	g->slot_size = rc.sections[0].sub_alloc_size;
	request(g, &tx, sizeof(tx), &pkt);
	memcpy(&cc, pkt.data, sizeof(cc));
	assert_int_equal(cc.type, NVSP_MSG_CHIM_CONN_COMP);
	assert_int_equal(cc.status, NVSP_STATUS_SUCCESS);
	assert_int_equal(cc.section_size, 6144);
}

void send_rndis(struct guest *g, struct vmbus_chan *c, uint32_t type, uint32_t section,
		const void *msg, uint32_t len)
{
	struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT, .channel_type = type,
				    .section_index = section, .section_size = len };

	memcpy((uint8_t *)g->info.send_buf + (size_t)section * 6144, msg, len);
	send_nvsp(g, c, &m, sizeof(m), true);
}

void expect_rndis_complete(struct guest *g, struct vmbus_chan *c, uint32_t status)
{
	struct nvsp_rndis_pkt_comp comp;
	struct vmbus_pkt pkt;

	assert_true(recv_pkt(g, c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_COMPLETION);
	memcpy(&comp, pkt.data, sizeof(comp));
	assert_int_equal(comp.type, NVSP_MSG_RNDIS_PKT_COMP);
	assert_int_equal(comp.status, status);
}

void complete_rx(struct guest *g, struct vmbus_chan *c, uint64_t tid)
{
	struct nvsp_rndis_pkt_comp comp = { .type = NVSP_MSG_RNDIS_PKT_COMP,
					    .status = NVSP_STATUS_SUCCESS };

	(void)g;
	assert_int_equal(vmbus_chan_send_completion(c, 0, tid, &comp, sizeof(comp)), 0);
}

uint32_t recv_control(struct guest *g, void *out, size_t cap)
{
	struct nvsp_rndis_pkt m;
	struct vmbus_pkt pkt;
	uint32_t off, len;

	assert_true(recv_pkt(g, g->c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_XFER_PAGES);
	assert_int_equal(pkt.flags, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	assert_int_equal(pkt.xfer_pageset_id, NVSP_RXBUF_ID);
	assert_true(pkt.tid < 16);
	assert_int_equal(pkt.xfer_range_cnt, 1);
	memcpy(&m, pkt.data, sizeof(m));
	assert_int_equal(m.type, NVSP_MSG_RNDIS_PKT);
	assert_int_equal(m.channel_type, NVSP_CHANNEL_CONTROL);
	assert_int_equal(m.section_index, NVSP_CHIM_IDX_NONE);
	off = pkt.xfer_ranges[0].byte_offset;
	len = pkt.xfer_ranges[0].byte_count;
	assert_int_equal(off, pkt.tid * g->slot_size);
	assert_true(len <= cap);
	memcpy(out, (uint8_t *)g->info.recv_buf + off, len);
	complete_rx(g, g->c, pkt.tid);
	return len;
}

void rndis_init(struct guest *g)
{
	struct rndis_init_req r = { .type = RNDIS_MSG_INIT, .len = sizeof(r), .rid = g->rid++,
				    .ver_major = 1, .ver_minor = 0, .max_xfer = 0x4000 };
	struct rndis_init_cmplt c;

	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 0, &r, sizeof(r));
	/* the host completes the control packet at once */
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_control(g, &c, sizeof(c)), sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_INIT_CMPLT);
	assert_int_equal(c.rid, r.rid);
	assert_int_equal(c.status, RNDIS_STATUS_SUCCESS);
	assert_int_equal(c.ver_major, 1);
	assert_int_equal(c.dev_flags, RNDIS_DF_CONNECTIONLESS);
	assert_int_equal(c.medium, RNDIS_MEDIUM_802_3);
	assert_int_equal(c.max_pkts, 8);
	assert_int_equal(c.max_xfer, 0xEFFFFFFF);
	assert_int_equal(c.align_factor, 3);
}

uint32_t rndis_query(struct guest *g, uint32_t oid, void *val, uint32_t *len)
{
	struct rndis_query_req q = { .type = RNDIS_MSG_QUERY, .len = sizeof(q), .rid = g->rid++,
				     .oid = oid };
	uint8_t out[2048];
	struct rndis_query_cmplt c;
	uint32_t n;

	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 1, &q, sizeof(q));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	n = recv_control(g, out, sizeof(out));
	memcpy(&c, out, sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_QUERY_CMPLT);
	assert_int_equal(c.rid, q.rid);
	assert_int_equal(c.len, n);
	if (c.status == RNDIS_STATUS_SUCCESS) {
		assert_int_equal(c.info_offset, 16);
		assert_true(c.info_len <= n - 24);
		memcpy(val, out + 8 + c.info_offset, c.info_len);
		*len = c.info_len;
	} else {
		assert_int_equal(c.info_len, 0);
	}
	return c.status;
}

uint32_t rndis_set(struct guest *g, uint32_t oid, const void *val, uint32_t vlen)
{
	uint8_t msg[2048];
	struct rndis_set_req s = { .type = RNDIS_MSG_SET, .len = (uint32_t)sizeof(s) + vlen,
				   .rid = g->rid++, .oid = oid, .info_len = vlen,
				   .info_offset = sizeof(s) - 8 };
	struct rndis_set_cmplt c;

	assert_true(vlen <= sizeof(msg) - sizeof(s));
	memcpy(msg, &s, sizeof(s));
	memcpy(msg + sizeof(s), val, vlen);
	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 2, msg, s.len);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_control(g, &c, sizeof(c)), sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_SET_CMPLT);
	assert_int_equal(c.rid, s.rid);
	return c.status;
}

void guest_learn_mac(struct guest *g)
{
	uint32_t len;

	assert_int_equal(rndis_query(g, RNDIS_OID_802_3_PERMANENT_ADDRESS, g->mac, &len), 0);
	assert_int_equal(len, 6);
}

void nic_up(struct guest *g, uint32_t mtu)
{
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;

	nvsp_attach(g, mtu);
	rndis_init(g);
	guest_learn_mac(g);
	assert_int_equal(rndis_set(g, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4),
			 RNDIS_STATUS_SUCCESS);
}

size_t make_frame(const struct guest *g, uint8_t *f, size_t len, uint32_t seq)
{
	size_t i;

	memset(f, 0, 14);
	f[0] = 0x02;
	f[5] = 0xaa;
	memcpy(f + 6, g->mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 14, &seq, 4);
	for (i = 18; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	return len;
}

void send_frame(struct guest *g, struct vmbus_chan *c, uint32_t section, const uint8_t *f,
		uint32_t len)
{
	uint8_t msg[6144];
	struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = (uint32_t)sizeof(pk) + len,
				   .data_offset = sizeof(pk) - 8, .data_len = len };

	memcpy(msg, &pk, sizeof(pk));
	memcpy(msg + sizeof(pk), f, len);
	send_rndis(g, c, NVSP_CHANNEL_DATA, section, msg, pk.len);
}

unsigned int recv_frames(struct guest *g, struct vmbus_chan *c, uint8_t frames[][2048],
			 uint32_t *lens, unsigned int max)
{
	struct nvsp_rndis_pkt m;
	struct vmbus_pkt pkt;
	uint64_t tid;
	unsigned int i, n;

	assert_true(recv_pkt(g, c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_XFER_PAGES);
	memcpy(&m, pkt.data, sizeof(m));
	assert_int_equal(m.channel_type, NVSP_CHANNEL_DATA);
	tid = pkt.tid;
	n = pkt.xfer_range_cnt;
	assert_true(n >= 1 && n <= 375 && n <= max);
	/* the transaction id is the batch's first slot, a data slot */
	assert_true(tid >= 16);
	for (i = 0; i < n; i++) {
		const struct vmbus_xfer_range *r = &pkt.xfer_ranges[i];
		struct rndis_packet pk;
		const uint8_t *slot = (const uint8_t *)g->info.recv_buf + r->byte_offset;

		assert_int_equal(r->byte_offset % g->slot_size, 0);
		assert_true(r->byte_offset / g->slot_size >= tid);
		/* the range is the whole slot, not the frame */
		assert_int_equal(r->byte_count, g->slot_size);
		memcpy(&pk, slot, sizeof(pk));
		assert_int_equal(pk.type, RNDIS_MSG_PACKET);
		assert_int_equal(pk.len, g->slot_size);
		assert_int_equal(pk.data_offset, 248);
		assert_true(pk.data_len <= g->slot_size - 256);
		assert_int_equal(pk.ppi_offset, 36);
		memcpy(frames[i], slot + 256, pk.data_len);
		lens[i] = pk.data_len;
	}
	complete_rx(g, c, tid);
	return n;
}
