/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz harnesses: a few valid host messages
 * of each kind, laid out with proto.h the way a host (OpenVMM, Hyper-V)
 * sends them, and, for the harnesses that take a script of operations,
 * scripts that walk the protocols the right way (so the fuzzer starts
 * deep).  tests/fuzz/run rebuilds them with FUZZ_REGEN=1.
 *
 *   gen_corpus DIR      writes DIR/<harness>/... for nvsp, rndis, packet,
 *                       netvsc, netvsp, sysfs, hostsim_socket
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmbus/sim.h>

#include "codec.h"

static const char *root;

static void put(const char *sub, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void nvsp(void)
{
	union nvsp_msg m;
	uint8_t b[128];

	memset(&m, 0, sizeof(m));
	m.init_comp = (struct nvsp_init_comp){ NVSP_MSG_INIT_COMP, 0xFFFFFFFFu, 34,
					       NVSP_STATUS_SUCCESS };
	put("nvsp", "init_comp", &m, 32);

	memset(&m, 0, sizeof(m));
	m.rxbuf_conn_comp.type = NVSP_MSG_RXBUF_CONN_COMP;
	m.rxbuf_conn_comp.status = NVSP_STATUS_SUCCESS;
	m.rxbuf_conn_comp.num_sections = 1;
	m.rxbuf_conn_comp.sections[0] = (struct nvsp_rxbuf_section){ 0, 1806, 9289, 1806 * 9289 };
	put("nvsp", "rxbuf_conn_comp", &m, 32);

	memset(&m, 0, sizeof(m));
	m.chim_conn_comp = (struct nvsp_chim_conn_comp){ NVSP_MSG_CHIM_CONN_COMP,
							 NVSP_STATUS_SUCCESS, 6144 };
	put("nvsp", "chim_conn_comp", &m, 32);

	memset(&m, 0, sizeof(m));
	m.rndis_pkt = (struct nvsp_rndis_pkt){ NVSP_MSG_RNDIS_PKT, NVSP_CHANNEL_CONTROL,
					       NVSP_CHIM_IDX_NONE, 0 };
	put("nvsp", "rndis_pkt", &m, 32);

	memset(&m, 0, sizeof(m));
	m.rndis_pkt_comp = (struct nvsp_rndis_pkt_comp){ NVSP_MSG_RNDIS_PKT_COMP,
							 NVSP_STATUS_SUCCESS };
	put("nvsp", "rndis_pkt_comp", &m, 8);

	memset(&m, 0, sizeof(m));
	m.subch_comp = (struct nvsp_subch_comp){ NVSP_MSG_SUBCH, NVSP_STATUS_SUCCESS, 3 };
	put("nvsp", "subch_comp", &m, 32);

	memset(&m, 0, sizeof(m));
	m.vf_assoc = (struct nvsp_vf_assoc){ NVSP_MSG_VF_ASSOC, 1, 0x1234 };
	put("nvsp", "vf_assoc", &m, 32);

	memset(&m, 0, sizeof(m));
	m.switch_data_path = (struct nvsp_switch_data_path){ NVSP_MSG_SWITCH_DATA_PATH,
							     NVSP_DATAPATH_SYNTHETIC };
	put("nvsp", "switch_data_path", &m, 32);

	/* OpenVMM: the table right after the header. */
	memset(b, 0, sizeof(b));
	memcpy(b, &(struct nvsp_send_table){ NVSP_MSG_SEND_INDIRECTION_TABLE, 16, 12 }, 12);
	for (uint32_t i = 0; i < 16; i++)
		memcpy(b + 12 + 4 * i, &(uint32_t){ i % 4 }, 4);
	put("nvsp", "send_table_12", b, 76);
	/* Hosts <= NVSP 6: after a full message, with a wrong offset. */
	memset(b, 0, sizeof(b));
	memcpy(b, &(struct nvsp_send_table){ NVSP_MSG_SEND_INDIRECTION_TABLE, 16, 4 }, 12);
	for (uint32_t i = 0; i < 16; i++)
		memcpy(b + 40 + 4 * i, &(uint32_t){ i % 2 }, 4);
	put("nvsp", "send_table_40", b, 104);
}

/* A receive slot: frame at 256 (OpenVMM) or right after the PPIs. */
static size_t data_packet(uint8_t *b, size_t slot, uint32_t frame, int vlan)
{
	struct rndis_packet p;
	struct rndis_ppi e = { 16, RNDIS_PPI_CSUM, 12 };
	uint32_t v;

	memset(b, 0, slot);
	memset(&p, 0, sizeof(p));
	p.type = RNDIS_MSG_PACKET;
	p.len = (uint32_t)slot;
	p.data_offset = 248;
	p.data_len = frame;
	p.ppi_offset = RNDIS_PACKET_MIN_OFFSET;
	p.ppi_len = vlan ? 32 : 16;
	memcpy(b, &p, sizeof(p));
	memcpy(b + 44, &e, sizeof(e));
	v = NDIS_RXCSUM_TCP_OK | NDIS_RXCSUM_IP_OK;
	memcpy(b + 56, &v, 4);
	if (vlan) {
		e.type = RNDIS_PPI_8021Q;
		memcpy(b + 60, &e, sizeof(e));
		v = 5u << NDIS_VLAN_ID_SHIFT | 1u;
		memcpy(b + 72, &v, 4);
	}
	memset(b + 256, 0xEE, frame);
	return slot;
}

static void rndis(void)
{
	uint8_t b[512];
	size_t n;
	int len;

	n = data_packet(b, 320, 60, 1);
	put("rndis", "packet_vlan", b, n);
	n = data_packet(b, 300, 42, 0);
	put("rndis", "packet_csum", b, n);

	/* A guest packet with every PPI the builder makes (hash, VLAN, LSO). */
	len = rndis_build_packet(b, sizeof(b), 64,
				 &(struct rndis_tx_meta){ .flags = RNDIS_TX_HASH | RNDIS_TX_VLAN |
								   RNDIS_TX_LSO,
							  .vlan_tci = 0x2064,
							  .mss = 1460,
							  .l4_offset = 34,
							  .hash = 3 });
	memset(b + len, 0x11, 64);
	put("rndis", "packet_built", b, (size_t)len + 64);

	/* Hash PPIs and a receive fragment id, as RSC hosts send. */
	{
		struct rndis_packet p = { RNDIS_MSG_PACKET, 44 + 48 + 20, 36 + 48, 20, 0, 0, 0,
					  36, 48, 0, 0 };
		struct rndis_ppi e1 = { 16, RNDIS_PPI_HASH_VALUE, 12 };
		struct rndis_ppi e2 = { 16, RNDIS_PPI_HASH_INFO, 12 };
		struct rndis_ppi e3 = { 16, RNDIS_PPI_INTERNAL | RNDIS_PPI_PKTINFO_ID, 12 };
		struct rndis_pktinfo_id id = { 1, RNDIS_PKTINFO_SUBALLOC | RNDIS_PKTINFO_FIRST_FRAG,
					       7 };
		uint32_t v;

		memset(b, 0, sizeof(b));
		memcpy(b, &p, sizeof(p));
		memcpy(b + 44, &e1, 12);
		v = 0x12345678;
		memcpy(b + 56, &v, 4);
		memcpy(b + 60, &e2, 12);
		v = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4;
		memcpy(b + 72, &v, 4);
		memcpy(b + 76, &e3, 12);
		memcpy(b + 88, &id, 4);
		put("rndis", "packet_hash_rsc", b, p.len);
	}

	{
		struct rndis_init_cmplt m = { RNDIS_MSG_INIT_CMPLT, 52, 1, RNDIS_STATUS_SUCCESS, 1, 0,
					      RNDIS_DF_CONNECTIONLESS, RNDIS_MEDIUM_802_3, 8,
					      0xEFFFFFFFu, 3, 0, 0 };
		put("rndis", "init_cmplt", &m, sizeof(m));
	}
	{
		struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, 30, 2, 0, 6, 16 };
		static const uint8_t mac[6] = { 0x00, 0x15, 0x5d, 0x12, 0x34, 0x56 };

		memcpy(b, &m, sizeof(m));
		memcpy(b + 24, mac, 6);
		put("rndis", "query_cmplt_mac", b, 30);
	}
	{
		struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, 24 + 156, 3, 0, 156, 16 };
		struct ndis_offload o;

		memset(&o, 0, sizeof(o));
		o.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, NDIS_OFFLOAD_REV_3, NDIS_OFFLOAD_SIZE_REV_3);
		o.csum.ip4_txenc = NDIS_OFFLOAD_ENCAP_8023;
		o.csum.ip4_txcsum = NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4;
		o.lsov2.ip4_encap = NDIS_OFFLOAD_ENCAP_8023;
		o.lsov2.ip4_max_size = 0xF53C;
		o.lsov2.ip4_min_segs = 2;
		memcpy(b, &m, sizeof(m));
		memcpy(b + 24, &o, sizeof(o));
		put("rndis", "query_cmplt_offload", b, 24 + sizeof(o));
	}
	{
		struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, 24 + 18, 4, 0, 18, 16 };
		struct ndis_rss_caps c;

		memset(&c, 0, sizeof(c));
		c.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 2, NDIS_RSS_CAPS_SIZE_REV_2);
		c.caps = NDIS_RSS_CAP_IPV4 | NDIS_RSS_CAP_IPV6 | NDIS_HASH_FUNCTION_TOEPLITZ;
		c.num_msi = 1;
		c.num_rx_queues = 8;
		c.num_indirection = 128;
		memcpy(b, &m, sizeof(m));
		memcpy(b + 24, &c, 18);
		put("rndis", "query_cmplt_rss_caps", b, 24 + 18);
	}
	{
		struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, 24 + 40, 5, 0, 40, 16 };
		struct ndis_link_state s;

		memset(&s, 0, sizeof(s));
		s.hdr = ndis_obj_hdr(NDIS_OBJTYPE_DEFAULT, NDIS_LINK_STATE_REV_1, sizeof(s));
		s.xmit_speed = s.rcv_speed = 10000000000ull;
		memcpy(b, &m, sizeof(m));
		memcpy(b + 24, &s, sizeof(s));
		put("rndis", "query_cmplt_link_state", b, 24 + sizeof(s));
	}
	{
		struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, 24, 6,
					       RNDIS_STATUS_NOT_SUPPORTED, 0, 0 };
		put("rndis", "query_cmplt_unsupported", &m, sizeof(m));
	}
	{
		struct rndis_set_cmplt m = { RNDIS_MSG_SET_CMPLT, 16, 7, RNDIS_STATUS_SUCCESS };
		put("rndis", "set_cmplt", &m, sizeof(m));
	}
	{
		struct rndis_indicate m = { RNDIS_MSG_INDICATE, 20, RNDIS_STATUS_MEDIA_DISCONNECT, 0,
					    0 };
		put("rndis", "indicate_disconnect", &m, sizeof(m));
		m.len = 24;
		m.status = RNDIS_STATUS_NETWORK_CHANGE;
		m.buf_len = 4;
		m.buf_offset = 12;
		memset(b, 0, 24);
		memcpy(b, &m, sizeof(m));
		put("rndis", "indicate_buffer", b, 24);
	}
	{
		struct rndis_keepalive_req m = { RNDIS_MSG_KEEPALIVE, 12, 8 };
		struct rndis_keepalive_cmplt c = { RNDIS_MSG_KEEPALIVE_CMPLT, 16, 9, 0 };
		struct rndis_reset_cmplt r = { RNDIS_MSG_RESET_CMPLT, 16, 0, 1 };

		put("rndis", "keepalive", &m, sizeof(m));
		put("rndis", "keepalive_cmplt", &c, sizeof(c));
		put("rndis", "reset_cmplt", &r, sizeof(r));
	}
}

/* ------------------------------------------------------------------------ */
/* scripts: [op][len][len bytes] records after a few leading bytes          */
/* ------------------------------------------------------------------------ */

struct script {
	uint8_t b[8192];
	size_t n;
};

static void s_raw(struct script *s, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (s->n + n > sizeof(s->b)) {
		fprintf(stderr, "gen_corpus: script too long\n");
		exit(1);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void s_op(struct script *s, uint8_t op, const void *p, size_t n)
{
	uint8_t h[2] = { op, (uint8_t)n };

	if (n > 254) {
		fprintf(stderr, "gen_corpus: record too long\n");
		exit(1);
	}
	s_raw(s, h, 2);
	s_raw(s, p, n);
}

/* Writes @len bytes of @p at @off through [op][len][offset][bytes] records. */
static void s_poke(struct script *s, uint8_t op, unsigned int offlen, uint32_t off, const uint8_t *p,
		   size_t len)
{
	while (len) {
		uint8_t r[254];
		size_t k = len < 200 ? len : 200;

		memcpy(r, &off, offlen);
		memcpy(r + offlen, p, k);
		s_op(s, op, r, offlen + k);
		off += (uint32_t)k;
		p += k;
		len -= k;
	}
}

/* Packet descriptors (fuzz_packet): [limit][packet]. */
static void packets(void)
{
	uint8_t b[256];
	struct vmbus_pkt_desc d;
	struct vmbus_xfer_page_hdr x;
	struct vmbus_gpa_hdr g;
	struct vmbus_xfer_range r[2] = { { 1806, 0 }, { 1806, 1806 } };
	struct vmbus_gpa_range gr;
	uint64_t pfn[3] = { 0x1234, 0x1235, 0x1236 };
	uint8_t nvsp_msg[40];

	memset(nvsp_msg, 0, sizeof(nvsp_msg));
	nvsp_build_rndis_pkt(nvsp_msg, sizeof(nvsp_msg), NVSP_CHANNEL_DATA, NVSP_CHIM_IDX_NONE, 0);

	b[0] = 2;
	d = (struct vmbus_pkt_desc){ VMBUS_PKT_DATA_INBAND, 2, 7, 1, 5 };
	memcpy(b + 1, &d, 16);
	memcpy(b + 17, nvsp_msg, 40);
	put("packet", "inband", b, 57);

	d = (struct vmbus_pkt_desc){ VMBUS_PKT_COMPLETION, 2, 3, 0, 9 };
	memset(b + 1, 0, 24);
	memcpy(b + 1, &d, 16);
	nvsp_build_rndis_pkt_comp(b + 17, 8, NVSP_STATUS_SUCCESS);
	put("packet", "completion", b, 25);

	memset(&x, 0, sizeof(x));
	x.desc = (struct vmbus_pkt_desc){ VMBUS_PKT_DATA_XFER_PAGES, 5, 10, 1, 3 };
	x.xfer_pageset_id = NVSP_RXBUF_ID;
	x.range_cnt = 2;
	memcpy(b + 1, &x, sizeof(x));
	memcpy(b + 1 + sizeof(x), r, sizeof(r));
	memcpy(b + 41, nvsp_msg, 40);
	put("packet", "xfer_pages", b, 81);

	memset(&g, 0, sizeof(g));
	g.desc = (struct vmbus_pkt_desc){ VMBUS_PKT_DATA_GPA_DIRECT, 8, 13, 1, 4 };
	g.range_cnt = 2;
	memcpy(b + 1, &g, sizeof(g));
	gr = (struct vmbus_gpa_range){ 100, 0 };
	memcpy(b + 25, &gr, 8);
	memcpy(b + 33, pfn, 8);
	gr = (struct vmbus_gpa_range){ 5000, 100 };
	memcpy(b + 41, &gr, 8);
	memcpy(b + 49, pfn + 1, 16);
	memcpy(b + 65, nvsp_msg, 40);
	put("packet", "gpa_direct", b, 105);
}

/* libnetvsc's queue (fuzz_netvsc): ops of fuzz_netvsc.c. */
enum { NC_PKT, NC_XFER, NC_RXBUF, NC_COMP, NC_INBAND, NC_SEND, NC_KEEP, NC_SERVICE, NC_INDEX };

static void nc_xfer(struct script *s, uint32_t off, uint32_t len, uint16_t tid)
{
	uint8_t r[10];
	struct vmbus_xfer_range x = { len, off };

	memcpy(r, &x, 8);
	memcpy(r + 8, &tid, 2);
	s_op(s, NC_XFER, r, sizeof(r));
}

static void netvsc(void)
{
	struct script s;
	uint8_t b[1024], svc = 0;
	size_t n;

	/* frames in two slots, one packet */
	memset(&s, 0, sizeof(s));
	s_raw(&s, "\0\0", 2);
	n = data_packet(b, 320, 60, 1);
	s_poke(&s, NC_RXBUF, 4, 0, b, n);
	n = data_packet(b, 300, 200, 0);
	s_poke(&s, NC_RXBUF, 4, 1806, b, n);
	{
		uint8_t r[18];
		struct vmbus_xfer_range x[2] = { { 320, 0 }, { 300, 1806 } };
		uint16_t tid = 3;

		memcpy(r, x, 16);
		memcpy(r + 16, &tid, 2);
		s_op(&s, NC_XFER, r, sizeof(r));
	}
	s_op(&s, NC_SERVICE, &svc, 1);
	put("netvsc", "frames", s.b, s.n);

	/* a host keepalive, then a link indication */
	memset(&s, 0, sizeof(s));
	s_raw(&s, "\0\0", 2);
	{
		struct rndis_keepalive_req m = { RNDIS_MSG_KEEPALIVE, 12, 8 };
		struct rndis_indicate ind = { RNDIS_MSG_INDICATE, 20, RNDIS_STATUS_MEDIA_DISCONNECT,
					      0, 0 };

		s_poke(&s, NC_RXBUF, 4, 4 * 1806, (const uint8_t *)&m, sizeof(m));
		nc_xfer(&s, 4 * 1806, sizeof(m), 0);
		s_poke(&s, NC_RXBUF, 4, 5 * 1806, (const uint8_t *)&ind, sizeof(ind));
		nc_xfer(&s, 5 * 1806, sizeof(ind), 1);
	}
	svc = 2;
	s_op(&s, NC_SERVICE, &svc, 1);
	put("netvsc", "control", s.b, s.n);

	/* frames sent, completed by the host */
	memset(&s, 0, sizeof(s));
	s_raw(&s, "\0\0", 2);
	s_op(&s, NC_SEND, "\x10\x02", 2);
	{
		uint8_t c[9] = { 1 };

		nvsp_build_rndis_pkt_comp(c + 1, 8, NVSP_STATUS_SUCCESS);
		s_op(&s, NC_COMP, c, sizeof(c));
	}
	svc = 0;
	s_op(&s, NC_SERVICE, &svc, 1);
	put("netvsc", "completions", s.b, s.n);

	/* our keepalive, answered; a send table from the host */
	memset(&s, 0, sizeof(s));
	s_raw(&s, "\0\0", 2);
	s_op(&s, NC_KEEP, "", 0);
	{
		struct rndis_keepalive_cmplt c = { RNDIS_MSG_KEEPALIVE_CMPLT, 16, 1, 0 };

		s_poke(&s, NC_RXBUF, 4, 0, (const uint8_t *)&c, sizeof(c));
		nc_xfer(&s, 0, sizeof(c), 2);
	}
	memset(b, 0, sizeof(b));
	memcpy(b, &(struct nvsp_send_table){ NVSP_MSG_SEND_INDIRECTION_TABLE, 16, 12 }, 12);
	s_op(&s, NC_INBAND, b, 76);
	svc = 1;
	s_op(&s, NC_SERVICE, &svc, 1);
	put("netvsc", "keepalive_table", s.b, s.n);
}

/* vmbus-hostsim's NetVSP (fuzz_netvsp): ops of fuzz_netvsp.c. */
enum { NP_NVSP, NP_RAW, NP_GPA, NP_SECTION, NP_GMEM, NP_COMP, NP_CHAN, NP_IRQ, NP_STEP };

static void np_nvsp(struct script *s, int len)
{
	uint8_t m[NVSP_MSG_SIZE];

	(void)len;
	memcpy(m, s->b + sizeof(s->b) - NVSP_MSG_SIZE, NVSP_MSG_SIZE);
	s_op(s, NP_NVSP, m, NVSP_MSG_SIZE);
}

/* The NVSP attach of Linux: INIT, NDIS configuration and version, buffers. */
static void np_attach(struct script *s)
{
	uint8_t *m = s->b + sizeof(s->b) - NVSP_MSG_SIZE;

	s_raw(s, "\0", 1);
	np_nvsp(s, nvsp_build_init(m, NVSP_MSG_SIZE, NVSP_VERSION_61));
	np_nvsp(s, nvsp_build_ndis_config(m, NVSP_MSG_SIZE, 1514, 0));
	np_nvsp(s, nvsp_build_ndis_ver(m, NVSP_MSG_SIZE, NDIS_VERSION_6_30));
	/* the GPADL handles a fresh bus gives its first adapter */
	np_nvsp(s, nvsp_build_rxbuf_conn(m, NVSP_MSG_SIZE, 0xe1e10, NVSP_RXBUF_ID));
	np_nvsp(s, nvsp_build_chim_conn(m, NVSP_MSG_SIZE, 0xe1e11, NVSP_CHIM_ID));
	s_op(s, NP_STEP, "", 0);
}

/* An RNDIS control message in send section @sec, announced. */
static void np_rndis(struct script *s, uint32_t sec, const uint8_t *msg, size_t len,
		     uint32_t channel)
{
	uint8_t *m = s->b + sizeof(s->b) - NVSP_MSG_SIZE;

	s_poke(s, NP_SECTION, 3, sec * 6144u, msg, len);
	np_nvsp(s, nvsp_build_rndis_pkt(m, NVSP_MSG_SIZE, channel, sec, (uint32_t)len));
	s_op(s, NP_STEP, "", 0);
}

static void netvsp(void)
{
	struct script s;
	uint8_t b[512];
	uint32_t filter = NDIS_PACKET_TYPE_DIRECTED;
	int len;

	memset(&s, 0, sizeof(s));
	np_attach(&s);
	put("netvsp", "nvsp_attach", s.b, s.n);

	len = rndis_build_init(b, sizeof(b), 1, 65536);
	np_rndis(&s, 0, b, (size_t)len, NVSP_CHANNEL_CONTROL);
	len = rndis_build_query(b, sizeof(b), 2, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0);
	np_rndis(&s, 1, b, (size_t)len, NVSP_CHANNEL_CONTROL);
	len = rndis_build_set(b, sizeof(b), 3, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4);
	np_rndis(&s, 2, b, (size_t)len, NVSP_CHANNEL_CONTROL);
	put("netvsp", "rndis_up", s.b, s.n);

	/* a frame in a section, and one from guest pages */
	len = rndis_build_packet(b, sizeof(b), 60, NULL);
	memset(b + len, 0x42, 60);
	np_rndis(&s, 5, b, (size_t)len + 60, NVSP_CHANNEL_DATA);
	s_poke(&s, NP_GMEM, 2, 0, b, (size_t)len + 60);
	{
		uint8_t g[45];
		uint16_t blen = (uint16_t)(len + 60);

		memset(g, 0, sizeof(g));
		nvsp_build_rndis_pkt(g, 40, NVSP_CHANNEL_DATA, NVSP_CHIM_IDX_NONE, 0);
		memcpy(g + 40, &blen, 2);
		g[42] = 0;
		g[43] = 0;
		g[44] = 0;
		s_op(&s, NP_GPA, g, sizeof(g));
	}
	s_op(&s, NP_STEP, "", 0);
	put("netvsp", "frames", s.b, s.n);

	/* subchannels, then traffic on one */
	memset(&s, 0, sizeof(s));
	np_attach(&s);
	np_nvsp(&s, nvsp_build_subch_req(s.b + sizeof(s.b) - NVSP_MSG_SIZE, NVSP_MSG_SIZE, 2));
	s_op(&s, NP_STEP, "", 0);
	s_op(&s, NP_CHAN, "\x01", 1);
	len = rndis_build_packet(b, sizeof(b), 60, NULL);
	memset(b + len, 0x42, 60);
	np_rndis(&s, 6, b, (size_t)len + 60, NVSP_CHANNEL_DATA);
	put("netvsp", "subchannels", s.b, s.n);
}

/* A whole tree (fuzz_sysfs): [which][len][bytes] edits. */
static void sysfs(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	s_op(&s, 2, "14\n", 3); /* id */
	put("sysfs", "nic_6_1", s.b, s.n);
	memset(&s, 0, sizeof(s));
	s_op(&s, 22, "uio3", 4); /* the uio directory */
	s_op(&s, 23, "1\n", 2); /* a subchannel "1\n" with its ring */
	s_op(&s, 24, "../../../bus/vmbus/drivers/hv_netvsc", 37);
	s_op(&s, 25, "eth7", 4);
	put("sysfs", "renamed", s.b, s.n);
	memset(&s, 0, sizeof(s));
	s_op(&s, 3, NULL, 0);
	s.b[s.n - 1] = 255; /* monitor_id gone: an unmonitored channel */
	s_op(&s, 27, "15\n", 3); /* another device */
	put("sysfs", "no_monitor", s.b, s.n);
}

/* The UIO socket (fuzz_hostsim_socket): ops of fuzz_hostsim_socket.c. */
enum { HS_OPEN, HS_MSG, HS_MEMREG, HS_MAPREQ, HS_IRQ, HS_CLOSE, HS_STEP };

static void hostsim_socket(void)
{
	struct script s;
	uint8_t reg[17] = { 0 };
	struct vmbus_sim_memreg r = { VMBUS_SIM_MEMREG_MAGIC, VMBUS_SIM_MEMREG_VERSION, 8192 };

	memcpy(reg, &r, sizeof(r));
	memset(&s, 0, sizeof(s));
	s_op(&s, HS_OPEN, "\0", 1);
	s_op(&s, HS_MAPREQ, "\0\x01", 2);
	s_op(&s, HS_MAPREQ, "\x03\x01", 2);
	s_op(&s, HS_STEP, "", 0);
	s_op(&s, HS_IRQ, "\x01\0\0\0", 4);
	s_op(&s, HS_OPEN, "\x01", 1);
	s_op(&s, HS_MEMREG, reg, sizeof(reg));
	s_op(&s, HS_STEP, "", 0);
	s_op(&s, HS_CLOSE, "", 0);
	s_op(&s, HS_STEP, "", 0);
	put("hostsim_socket", "open_map_register", s.b, s.n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	nvsp();
	rndis();
	packets();
	netvsc();
	netvsp();
	sysfs();
	hostsim_socket();
	return 0;
}
