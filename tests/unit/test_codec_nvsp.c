/* SPDX-License-Identifier: MIT */
/*
 * The NVSP codec (codec_nvsp.c): every builder's bytes, every builder
 * through its parser where both exist, completions and notifications built
 * by hand from proto.h structs, and each rejection at its boundary (off by
 * one on both sides, 32-bit wrap attempts).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "codec_util.h"

/* ======================================================================== */
/* NVSP builders                                                             */
/* ======================================================================== */

/* Builds into a junk-filled buffer; checks the length and the padding. */
#define BUILD40(call)                                                                              \
	do {                                                                                       \
		memset(b, JUNK, sizeof(b));                                                        \
		assert_int_equal((call), NVSP_MSG_SIZE);                                           \
		assert_junk(b, NVSP_MSG_SIZE, sizeof(b));                                          \
	} while (0)

static void test_nvsp_build_layouts(void **state)
{
	uint8_t b[64];
	uint64_t caps;

	(void)state;
	BUILD40(nvsp_build_init(b, sizeof(b), NVSP_VERSION_61));
	assert_int_equal(get32(b, 0), NVSP_MSG_INIT);
	assert_int_equal(get32(b, 4), NVSP_VERSION_61);
	assert_int_equal(get32(b, 8), NVSP_VERSION_61);
	assert_zero(b, 12, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_ndis_config(b, sizeof(b), 1514, NVSP_NDIS_CAP_IEEE8021Q |
								NVSP_NDIS_CAP_SRIOV | (1ull << 40)));
	assert_int_equal(get32(b, 0), NVSP_MSG_NDIS_CONFIG);
	assert_int_equal(get32(b, 4), 1514);
	assert_int_equal(get32(b, 8), 0);
	memcpy(&caps, b + 12, sizeof(caps));
	assert_true(caps == (0xCull | (1ull << 40)));
	assert_zero(b, 20, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_ndis_ver(b, sizeof(b), NDIS_VERSION_6_30));
	assert_int_equal(get32(b, 0), NVSP_MSG_NDIS_VER);
	assert_int_equal(get32(b, 4), 6);
	assert_int_equal(get32(b, 8), 30);
	assert_zero(b, 12, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_rxbuf_conn(b, sizeof(b), 0x1234, NVSP_RXBUF_ID));
	assert_int_equal(get32(b, 0), NVSP_MSG_RXBUF_CONN);
	assert_int_equal(get32(b, 4), 0x1234);
	assert_int_equal(get32(b, 8), NVSP_RXBUF_ID); /* id, then a zero reserved */
	assert_zero(b, 12, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_chim_conn(b, sizeof(b), 0x5678, NVSP_CHIM_ID));
	assert_int_equal(get32(b, 0), NVSP_MSG_CHIM_CONN);
	assert_int_equal(get32(b, 4), 0x5678);
	assert_int_equal(get32(b, 8), NVSP_CHIM_ID);
	assert_zero(b, 12, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_rxbuf_revoke(b, sizeof(b), NVSP_RXBUF_ID));
	assert_int_equal(get32(b, 0), NVSP_MSG_RXBUF_REVOKE);
	assert_int_equal(get32(b, 4), NVSP_RXBUF_ID);
	assert_zero(b, 8, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_chim_revoke(b, sizeof(b), NVSP_CHIM_ID));
	assert_int_equal(get32(b, 0), NVSP_MSG_CHIM_REVOKE);
	assert_int_equal(get32(b, 4), NVSP_CHIM_ID);
	assert_zero(b, 8, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_rndis_pkt(b, sizeof(b), NVSP_CHANNEL_CONTROL, NVSP_CHIM_IDX_NONE, 0));
	assert_int_equal(get32(b, 0), NVSP_MSG_RNDIS_PKT);
	assert_int_equal(get32(b, 4), NVSP_CHANNEL_CONTROL);
	assert_int_equal(get32(b, 8), NVSP_CHIM_IDX_NONE);
	assert_int_equal(get32(b, 12), 0);
	assert_zero(b, 16, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_subch_req(b, sizeof(b), 7));
	assert_int_equal(get32(b, 0), NVSP_MSG_SUBCH);
	assert_int_equal(get32(b, 4), NVSP_SUBCH_OP_ALLOCATE);
	assert_int_equal(get32(b, 8), 7);
	assert_zero(b, 12, NVSP_MSG_SIZE);

	BUILD40(nvsp_build_switch_data_path(b, sizeof(b), NVSP_DATAPATH_VF));
	assert_int_equal(get32(b, 0), NVSP_MSG_SWITCH_DATA_PATH);
	assert_int_equal(get32(b, 4), NVSP_DATAPATH_VF);
	assert_zero(b, 8, NVSP_MSG_SIZE);

	/* The receive completion is short, like Linux's. */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(nvsp_build_rndis_pkt_comp(b, sizeof(b), NVSP_STATUS_SUCCESS), 8);
	assert_int_equal(get32(b, 0), NVSP_MSG_RNDIS_PKT_COMP);
	assert_int_equal(get32(b, 4), NVSP_STATUS_SUCCESS);
	assert_junk(b, 8, sizeof(b));
}

static void test_nvsp_build_rejects(void **state)
{
	uint8_t b[NVSP_MSG_SIZE];

	(void)state;
	/* Capacity: one byte short of each message. */
	assert_int_equal(nvsp_build_init(b, NVSP_MSG_SIZE - 1, NVSP_VERSION_5), -ENOBUFS);
	assert_int_equal(nvsp_build_init(b, NVSP_MSG_SIZE, NVSP_VERSION_5), NVSP_MSG_SIZE);
	assert_int_equal(nvsp_build_ndis_config(b, 39, 1514, 0), -ENOBUFS);
	assert_int_equal(nvsp_build_ndis_ver(b, 39, NDIS_VERSION_6_1), -ENOBUFS);
	assert_int_equal(nvsp_build_rxbuf_conn(b, 39, 1, NVSP_RXBUF_ID), -ENOBUFS);
	assert_int_equal(nvsp_build_chim_conn(b, 39, 1, NVSP_CHIM_ID), -ENOBUFS);
	assert_int_equal(nvsp_build_rxbuf_revoke(b, 39, NVSP_RXBUF_ID), -ENOBUFS);
	assert_int_equal(nvsp_build_chim_revoke(b, 39, NVSP_CHIM_ID), -ENOBUFS);
	assert_int_equal(nvsp_build_rndis_pkt(b, 39, 0, 1, 100), -ENOBUFS);
	assert_int_equal(nvsp_build_rndis_pkt_comp(b, 7, 1), -ENOBUFS);
	assert_int_equal(nvsp_build_rndis_pkt_comp(b, 8, 1), 8);
	assert_int_equal(nvsp_build_subch_req(b, 39, 1), -ENOBUFS);
	assert_int_equal(nvsp_build_switch_data_path(b, 39, 0), -ENOBUFS);
	assert_int_equal(nvsp_build_init(NULL, 100, NVSP_VERSION_5), -EINVAL);

	/* RNDIS_PKT: channel type and a consistent section pair. */
	assert_int_equal(nvsp_build_rndis_pkt(b, sizeof(b), 2, NVSP_CHIM_IDX_NONE, 0), -EINVAL);
	assert_int_equal(nvsp_build_rndis_pkt(b, sizeof(b), 0, NVSP_CHIM_IDX_NONE, 1), -EINVAL);
	assert_int_equal(nvsp_build_rndis_pkt(b, sizeof(b), 0, 3, 0), -EINVAL);
	assert_int_equal(nvsp_build_rndis_pkt(b, sizeof(b), 0, 3, 60), NVSP_MSG_SIZE);

	/* SUBCH: 1 .. 63. */
	assert_int_equal(nvsp_build_subch_req(b, sizeof(b), 0), -EINVAL);
	assert_int_equal(nvsp_build_subch_req(b, sizeof(b), 1), NVSP_MSG_SIZE);
	assert_int_equal(nvsp_build_subch_req(b, sizeof(b), NVSP_MAX_CHANNELS - 1), NVSP_MSG_SIZE);
	assert_int_equal(nvsp_build_subch_req(b, sizeof(b), NVSP_MAX_CHANNELS), -EINVAL);

	assert_int_equal(nvsp_build_switch_data_path(b, sizeof(b), 2), -EINVAL);
	assert_int_equal(nvsp_build_switch_data_path(b, sizeof(b), 0), NVSP_MSG_SIZE);
}

/* ======================================================================== */
/* NVSP parsers                                                              */
/* ======================================================================== */

static void test_nvsp_roundtrips(void **state)
{
	struct nvsp_rndis_pkt_info pi;
	uint8_t b[NVSP_MSG_SIZE];
	uint32_t v;

	(void)state;
	assert_int_equal(nvsp_build_rndis_pkt(b, sizeof(b), NVSP_CHANNEL_DATA, 9, 1500), 40);
	assert_int_equal(nvsp_parse_rndis_pkt(b, sizeof(b), &pi), 0);
	assert_int_equal(pi.channel_type, NVSP_CHANNEL_DATA);
	assert_int_equal(pi.section_index, 9);
	assert_int_equal(pi.section_size, 1500);

	assert_int_equal(nvsp_build_rndis_pkt_comp(b, sizeof(b), NVSP_STATUS_FAILURE), 8);
	assert_int_equal(nvsp_parse_rndis_pkt_comp(b, 8, &v), 0);
	assert_int_equal(v, NVSP_STATUS_FAILURE);
	assert_int_equal(nvsp_parse_rndis_pkt_comp(b, 7, &v), -EBADMSG);
	assert_int_equal(v, 0);

	assert_int_equal(nvsp_build_switch_data_path(b, sizeof(b), NVSP_DATAPATH_VF), 40);
	assert_int_equal(nvsp_parse_switch_data_path(b, sizeof(b), &v), 0);
	assert_int_equal(v, NVSP_DATAPATH_VF);
	assert_int_equal(nvsp_parse_switch_data_path(b, 7, &v), -EBADMSG);
	set32(b, 4, 2);
	assert_int_equal(nvsp_parse_switch_data_path(b, 8, &v), -EPROTO);
}

static void test_nvsp_msg_type(void **state)
{
	static const uint32_t host_types[] = {
		NVSP_MSG_INIT_COMP,	 NVSP_MSG_RXBUF_CONN_COMP,	  NVSP_MSG_CHIM_CONN_COMP,
		NVSP_MSG_RNDIS_PKT,	 NVSP_MSG_RNDIS_PKT_COMP,	  NVSP_MSG_VF_ASSOC,
		NVSP_MSG_SWITCH_DATA_PATH, NVSP_MSG_SUBCH, NVSP_MSG_SEND_INDIRECTION_TABLE,
	};
	union nvsp_msg m;
	uint32_t t;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (size_t len = 0; len < 4; len++)
		assert_int_equal(nvsp_msg_type(&m, len, &t), -EBADMSG);
	for (size_t i = 0; i < sizeof(host_types) / sizeof(host_types[0]); i++) {
		size_t min = nvsp_min_len(host_types[i]);

		m.type = host_types[i];
		assert_true(min >= 8 && min <= NVSP_MSG_SIZE);
		assert_int_equal(nvsp_msg_type(&m, min - 1, &t), -EBADMSG);
		assert_int_equal(nvsp_msg_type(&m, min, &t), 0);
		assert_int_equal(t, host_types[i]);
	}
	assert_int_equal(nvsp_min_len(NVSP_MSG_RXBUF_CONN_COMP), 28);
	assert_int_equal(nvsp_min_len(NVSP_MSG_RNDIS_PKT_COMP), 8);
	/* Guest requests and unknown types are not host messages. */
	m.type = NVSP_MSG_INIT;
	assert_int_equal(nvsp_msg_type(&m, NVSP_MSG_SIZE, &t), -ENOMSG);
	m.type = NVSP_MSG_RXBUF_CONN;
	assert_int_equal(nvsp_msg_type(&m, NVSP_MSG_SIZE, &t), -ENOMSG);
	m.type = 0xFFFFFFFFu;
	assert_int_equal(nvsp_msg_type(&m, NVSP_MSG_SIZE, &t), -ENOMSG);
	assert_int_equal(nvsp_msg_type(NULL, 40, &t), -EINVAL);
}

static void test_nvsp_init_comp(void **state)
{
	struct nvsp_init_info r;
	union nvsp_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.init_comp.type = NVSP_MSG_INIT_COMP;
	m.init_comp.negotiated_ver = 0xFFFFFFFFu;
	m.init_comp.max_mdl_chain_len = 34;
	m.init_comp.status = NVSP_STATUS_SUCCESS;
	assert_int_equal(nvsp_parse_init_comp(&m, 16, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_SUCCESS);
	assert_int_equal(r.max_mdl_chain_len, 34);
	assert_int_equal(nvsp_parse_init_comp(&m, 15, &r), -EBADMSG);
	assert_int_equal(r.status, 0);
	assert_int_equal(nvsp_parse_init_comp(&m, 3, &r), -EBADMSG);
	/* A version the host does not speak: status NONE, not an error. */
	m.init_comp.status = NVSP_STATUS_NONE;
	assert_int_equal(nvsp_parse_init_comp(&m, 40, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_NONE);
	m.init_comp.type = NVSP_MSG_RXBUF_CONN_COMP;
	assert_int_equal(nvsp_parse_init_comp(&m, 40, &r), -EPROTO);
	assert_int_equal(nvsp_parse_init_comp(NULL, 40, &r), -EINVAL);
	assert_int_equal(nvsp_parse_init_comp(&m, 40, NULL), -EINVAL);
}

static void rxbuf_comp(union nvsp_msg *m, uint32_t nsec, uint32_t off, uint32_t size,
		       uint32_t count)
{
	memset(m, 0, sizeof(*m));
	m->rxbuf_conn_comp.type = NVSP_MSG_RXBUF_CONN_COMP;
	m->rxbuf_conn_comp.status = NVSP_STATUS_SUCCESS;
	m->rxbuf_conn_comp.num_sections = nsec;
	m->rxbuf_conn_comp.sections[0].offset = off;
	m->rxbuf_conn_comp.sections[0].sub_alloc_size = size;
	m->rxbuf_conn_comp.sections[0].num_sub_allocs = count;
	m->rxbuf_conn_comp.sections[0].end_offset = off + size * count;
}

static void test_nvsp_rxbuf_comp(void **state)
{
	const uint64_t bufsz = 16u << 20;
	const uint32_t slot = 1806, count = (uint32_t)(bufsz / 1806);
	struct nvsp_rxbuf_info r;
	union nvsp_msg m;

	(void)state;
	/* What OpenVMM sends for a 16 MiB buffer at MTU 1514. */
	rxbuf_comp(&m, 1, 0, slot, count);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 28, bufsz, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_SUCCESS);
	assert_int_equal(r.section_size, slot);
	assert_int_equal(r.section_count, count);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 27, bufsz, &r), -EBADMSG);
	assert_int_equal(r.section_count, 0);

	/* size * count: exactly the buffer passes, one byte less does not. */
	rxbuf_comp(&m, 1, 0, 4096, 16);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, 65536, &r), 0);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, 65535, &r), -EPROTO);
	/* A product that wraps to 0 in 32 bits must not pass. */
	rxbuf_comp(&m, 1, 0, 0x80000000u, 2);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
	rxbuf_comp(&m, 1, 0, 0x10000u, 0x10000u);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, 0xFFFFFFFFu, &r), -EPROTO);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, 0x100000000ull, &r), 0);

	/* Exactly one section, at offset 0. */
	rxbuf_comp(&m, 0, 0, slot, 100);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
	rxbuf_comp(&m, 2, 0, slot, 100);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
	rxbuf_comp(&m, 1, 1, slot, 100);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);

	/* Section size: the minimum passes, one less does not; count >= 1. */
	rxbuf_comp(&m, 1, 0, NETVSC_MIN_SECTION_SIZE, 100);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), 0);
	rxbuf_comp(&m, 1, 0, NETVSC_MIN_SECTION_SIZE - 1, 100);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
	rxbuf_comp(&m, 1, 0, slot, 0);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
	rxbuf_comp(&m, 1, 0, slot, 1);
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), 0);

	/* A failure carries no layout: nothing else is looked at. */
	rxbuf_comp(&m, 7, 99, 0, 0);
	m.rxbuf_conn_comp.status = NVSP_STATUS_FAILURE;
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_FAILURE);
	assert_int_equal(r.section_size, 0);
	assert_int_equal(r.section_count, 0);

	m.type = NVSP_MSG_CHIM_CONN_COMP;
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(&m, 40, bufsz, &r), -EPROTO);
}

static void chim_comp(union nvsp_msg *m, uint32_t status, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->chim_conn_comp.type = NVSP_MSG_CHIM_CONN_COMP;
	m->chim_conn_comp.status = status;
	m->chim_conn_comp.section_size = size;
}

static void test_nvsp_chim_comp(void **state)
{
	const uint64_t bufsz = 16u << 20;
	struct nvsp_chim_info r;
	union nvsp_msg m;

	(void)state;
	chim_comp(&m, NVSP_STATUS_SUCCESS, 6144);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.section_size, 6144);
	assert_int_equal(r.section_count, bufsz / 6144);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 11, bufsz, &r), -EBADMSG);

	chim_comp(&m, NVSP_STATUS_SUCCESS, 0);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), -EPROTO);
	/* The whole buffer as one section passes; beyond it does not. */
	chim_comp(&m, NVSP_STATUS_SUCCESS, (uint32_t)bufsz);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.section_count, 1);
	chim_comp(&m, NVSP_STATUS_SUCCESS, (uint32_t)bufsz + 1);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), -EPROTO);
	/* Too small to hold a packet: accepted as "no send buffer". */
	chim_comp(&m, NVSP_STATUS_SUCCESS, 1);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.section_size, 1);
	assert_int_equal(r.section_count, 0);
	chim_comp(&m, NVSP_STATUS_SUCCESS, NETVSC_MIN_SECTION_SIZE - 1);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.section_count, 0);
	chim_comp(&m, NVSP_STATUS_SUCCESS, NETVSC_MIN_SECTION_SIZE);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.section_count, bufsz / NETVSC_MIN_SECTION_SIZE);

	chim_comp(&m, NVSP_STATUS_FAILURE, 0);
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 12, bufsz, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_FAILURE);
	assert_int_equal(r.section_count, 0);
	m.type = NVSP_MSG_RXBUF_CONN_COMP;
	assert_int_equal(nvsp_parse_chim_conn_comp(&m, 40, bufsz, &r), -EPROTO);
}

static void test_nvsp_subch_comp(void **state)
{
	struct nvsp_subch_info r;
	union nvsp_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.subch_comp.type = NVSP_MSG_SUBCH;
	m.subch_comp.status = NVSP_STATUS_SUCCESS;
	m.subch_comp.num_subchannels = 7;
	assert_int_equal(nvsp_parse_subch_comp(&m, 12, 7, &r), 0);
	assert_int_equal(r.count, 7);
	assert_int_equal(nvsp_parse_subch_comp(&m, 12, 8, &r), 0);
	assert_int_equal(nvsp_parse_subch_comp(&m, 12, 6, &r), -EPROTO);
	assert_int_equal(r.count, 0);
	assert_int_equal(nvsp_parse_subch_comp(&m, 11, 7, &r), -EBADMSG);
	m.subch_comp.num_subchannels = 0xFFFFFFFFu;
	assert_int_equal(nvsp_parse_subch_comp(&m, 12, 63, &r), -EPROTO);
	/* A refusal: whatever count it carries, none were granted. */
	m.subch_comp.status = NVSP_STATUS_FAILURE;
	assert_int_equal(nvsp_parse_subch_comp(&m, 12, 7, &r), 0);
	assert_int_equal(r.status, NVSP_STATUS_FAILURE);
	assert_int_equal(r.count, 0);
}

/* A send table message of @len bytes, table at @tab_at, header saying @off. */
static void send_table(uint8_t *b, size_t len, uint32_t count, uint32_t off, size_t tab_at)
{
	struct nvsp_send_table h = { NVSP_MSG_SEND_INDIRECTION_TABLE, count, off };

	memset(b, 0, len);
	memcpy(b, &h, sizeof(h));
	for (uint32_t i = 0; i < NVSP_SEND_TABLE_SIZE && tab_at + 4 * (i + 1) <= len; i++)
		set32(b, tab_at + 4 * i, (i % 4) + 1);
}

static void test_nvsp_send_table(void **state)
{
	struct nvsp_send_table_info r;
	uint8_t b[160];

	(void)state;
	/* OpenVMM: the table right after the 12-byte header, offset 12. */
	send_table(b, 76, 16, 12, 12);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 5, &r), 0);
	assert_false(r.offset_fixed);
	assert_int_equal(r.offset, 12);
	for (unsigned int i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
		assert_int_equal(r.entry[i], (i % 4) + 1);
	/* One byte short of the table. */
	assert_int_equal(nvsp_parse_send_table(b, 75, NVSP_VERSION_5, 5, &r), -EBADMSG);
	assert_int_equal(nvsp_parse_send_table(b, 11, NVSP_VERSION_5, 5, &r), -EBADMSG);
	assert_int_equal(nvsp_parse_send_table(b, 12, NVSP_VERSION_5, 5, &r), -EBADMSG);

	/* Hosts <= NVSP 6: table after a full message, offset field wrong. */
	send_table(b, 104, 16, 4, 40);
	assert_int_equal(nvsp_parse_send_table(b, 104, NVSP_VERSION_6, 5, &r), 0);
	assert_true(r.offset_fixed);
	assert_int_equal(r.offset, 40);
	assert_int_equal(r.entry[0], 1);
	assert_int_equal(r.entry[15], 4);
	/* Too short for the fixed place: the offset is used (and too small). */
	assert_int_equal(nvsp_parse_send_table(b, 103, NVSP_VERSION_6, 5, &r), -EBADMSG);
	/* Newer sessions trust the offset: 4 points into the header. */
	assert_int_equal(nvsp_parse_send_table(b, 104, NVSP_VERSION_61, 5, &r), -EBADMSG);
	set32(b, 8, 40);
	assert_int_equal(nvsp_parse_send_table(b, 104, NVSP_VERSION_61, 5, &r), 0);
	assert_false(r.offset_fixed);

	/* Offset bounds: the last byte of the message is the table's last. */
	send_table(b, 140, 16, 140 - 64, 140 - 64);
	assert_int_equal(nvsp_parse_send_table(b, 140, NVSP_VERSION_61, 5, &r), 0);
	set32(b, 8, 140 - 64 + 1);
	assert_int_equal(nvsp_parse_send_table(b, 140, NVSP_VERSION_61, 5, &r), -EBADMSG);
	set32(b, 8, 0xFFFFFFF0u);
	assert_int_equal(nvsp_parse_send_table(b, 140, NVSP_VERSION_61, 5, &r), -EBADMSG);
	set32(b, 8, 11); /* back into the header */
	assert_int_equal(nvsp_parse_send_table(b, 140, NVSP_VERSION_61, 5, &r), -EBADMSG);
	set32(b, 8, 12);
	assert_int_equal(nvsp_parse_send_table(b, 140, NVSP_VERSION_61, 0, &r), 0);

	/* Count must be 16. */
	send_table(b, 76, 15, 12, 12);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 5, &r), -EPROTO);
	send_table(b, 76, 17, 12, 12);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 5, &r), -EPROTO);

	/* Entries name channels we have: < nchan (0: unchecked). */
	send_table(b, 76, 16, 12, 12);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 5, &r), 0);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 4, &r), -EPROTO);
	set32(b, 12 + 4 * 9, 0xFFFFFFFFu);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 64, &r), -EPROTO);
	assert_int_equal(nvsp_parse_send_table(b, 76, NVSP_VERSION_5, 0, &r), 0);
	assert_int_equal(r.entry[9], 0xFFFFFFFFu);
}

static void test_nvsp_vf_assoc(void **state)
{
	struct nvsp_vf_info r;
	union nvsp_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.vf_assoc.type = NVSP_MSG_VF_ASSOC;
	m.vf_assoc.allocated = 1;
	m.vf_assoc.serial = 0x1234;
	assert_int_equal(nvsp_parse_vf_assoc(&m, 12, &r), 0);
	assert_true(r.allocated);
	assert_int_equal(r.serial, 0x1234);
	assert_int_equal(nvsp_parse_vf_assoc(&m, 11, &r), -EBADMSG);
	assert_false(r.allocated);
	m.vf_assoc.allocated = 0;
	assert_int_equal(nvsp_parse_vf_assoc(&m, 12, &r), 0);
	assert_false(r.allocated);
	m.vf_assoc.allocated = 2; /* any non-zero value means allocated */
	assert_int_equal(nvsp_parse_vf_assoc(&m, 12, &r), 0);
	assert_true(r.allocated);
	m.type = NVSP_MSG_SUBCH;
	assert_int_equal(nvsp_parse_vf_assoc(&m, 12, &r), -EPROTO);
}

static void test_nvsp_xfer(void **state)
{
	struct nvsp_rndis_pkt_info r;
	struct vmbus_pkt pkt;
	union nvsp_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.rndis_pkt.type = NVSP_MSG_RNDIS_PKT;
	m.rndis_pkt.channel_type = NVSP_CHANNEL_CONTROL;
	m.rndis_pkt.section_index = NVSP_CHIM_IDX_NONE;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = VMBUS_PKT_DATA_XFER_PAGES;
	pkt.xfer_pageset_id = NVSP_RXBUF_ID;
	pkt.data = &m;
	pkt.len = 32;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), 0);
	assert_int_equal(r.channel_type, NVSP_CHANNEL_CONTROL);
	assert_int_equal(r.section_index, NVSP_CHIM_IDX_NONE);

	pkt.len = 15;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), -EBADMSG);
	pkt.len = 16;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), 0);
	pkt.xfer_pageset_id = NVSP_RXBUF_ID + 1;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), -EPROTO);
	pkt.xfer_pageset_id = NVSP_RXBUF_ID;
	pkt.type = VMBUS_PKT_DATA_INBAND;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), -EPROTO);
	pkt.type = VMBUS_PKT_DATA_XFER_PAGES;
	m.type = NVSP_MSG_RNDIS_PKT_COMP;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), -EPROTO);
	pkt.data = NULL;
	assert_int_equal(nvsp_parse_xfer(&pkt, &r), -EBADMSG);
	assert_int_equal(nvsp_parse_xfer(NULL, &r), -EINVAL);
}

static void test_nvsp_check_range(void **state)
{
	const uint64_t bufsz = 1u << 20;
	struct vmbus_xfer_range rg;

	(void)state;
	rg.byte_offset = 1806;
	rg.byte_count = 1806;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), 0);
	/* No longer than a slot. */
	rg.byte_count = 1807;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), -EBADMSG);
	rg.byte_count = 0;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), -EBADMSG);
	/* Ending exactly at the end passes; one byte further does not. */
	rg.byte_offset = (uint32_t)bufsz - 100;
	rg.byte_count = 100;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), 0);
	rg.byte_count = 101;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), -EBADMSG);
	rg.byte_offset = (uint32_t)bufsz;
	rg.byte_count = 1;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), -EBADMSG);
	/* u32 wrap: 0xFFFFFFF0 + 0x20 = 0x10. */
	rg.byte_offset = 0xFFFFFFF0u;
	rg.byte_count = 0x20;
	assert_int_equal(nvsp_check_range(&rg, bufsz, 1806), -EBADMSG);
	assert_int_equal(nvsp_check_range(NULL, bufsz, 1806), -EINVAL);
}

/* Every parser refuses NULL arguments rather than crashing. */
static void test_nvsp_null_args(void **state)
{
	uint8_t b[64] = { 0 };
	uint32_t v;
	struct vmbus_xfer_range rg = { 1, 0 };

	(void)state;
	assert_int_equal(nvsp_parse_rxbuf_conn_comp(NULL, 40, 1, &(struct nvsp_rxbuf_info){ 0 }),
			 -EINVAL);
	assert_int_equal(nvsp_parse_chim_conn_comp(b, 40, 1, NULL), -EINVAL);
	assert_int_equal(nvsp_parse_rndis_pkt(b, 40, NULL), -EINVAL);
	assert_int_equal(nvsp_parse_rndis_pkt_comp(NULL, 40, &v), -EINVAL);
	assert_int_equal(nvsp_parse_subch_comp(b, 40, 1, NULL), -EINVAL);
	assert_int_equal(nvsp_parse_send_table(b, 40, 0, 0, NULL), -EINVAL);
	assert_int_equal(nvsp_parse_vf_assoc(NULL, 40, &(struct nvsp_vf_info){ 0 }), -EINVAL);
	assert_int_equal(nvsp_parse_switch_data_path(b, 40, NULL), -EINVAL);
	assert_int_equal(nvsp_check_range(&rg, 16, 16), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvsp_build_layouts),
		cmocka_unit_test(test_nvsp_build_rejects),
		cmocka_unit_test(test_nvsp_roundtrips),
		cmocka_unit_test(test_nvsp_msg_type),
		cmocka_unit_test(test_nvsp_init_comp),
		cmocka_unit_test(test_nvsp_rxbuf_comp),
		cmocka_unit_test(test_nvsp_chim_comp),
		cmocka_unit_test(test_nvsp_subch_comp),
		cmocka_unit_test(test_nvsp_send_table),
		cmocka_unit_test(test_nvsp_vf_assoc),
		cmocka_unit_test(test_nvsp_xfer),
		cmocka_unit_test(test_nvsp_check_range),
		cmocka_unit_test(test_nvsp_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
