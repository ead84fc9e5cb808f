/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz harnesses: a few valid host messages
 * of each kind, laid out with proto.h the way a host (OpenVMM, Hyper-V)
 * sends them.  tests/fuzz/run rebuilds them with FUZZ_REGEN=1.
 *
 *   gen_corpus DIR      writes DIR/nvsp/... and DIR/rndis/...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	nvsp();
	rndis();
	return 0;
}
