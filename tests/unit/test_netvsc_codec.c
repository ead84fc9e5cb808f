/* SPDX-License-Identifier: MIT */
/*
 * netvsc codec: every builder's bytes, every builder through its parser
 * where both exist, host replies built by hand from proto.h structs, and
 * each rejection at its boundary (off by one on both sides, 32-bit wrap
 * attempts, PPI chains that overrun or do not advance, offsets that point
 * back into a header).
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

#define JUNK 0xA5u

static uint32_t get32(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)p + off, sizeof(v));
	return v;
}

static void set32(void *p, size_t off, uint32_t v)
{
	memcpy((uint8_t *)p + off, &v, sizeof(v));
}

static void assert_zero(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		assert_int_equal(p[i], 0);
}

static void assert_junk(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		assert_int_equal(p[i], JUNK);
}

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

/* ======================================================================== */
/* RNDIS builders                                                            */
/* ======================================================================== */

static void test_rndis_build_control(void **state)
{
	uint8_t b[128];
	const uint8_t info[5] = { 1, 2, 3, 4, 5 };
	struct ndis_object_hdr oh = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 2, NDIS_RSS_CAPS_SIZE_REV_2);

	(void)state;
	memset(b, JUNK, sizeof(b));
	assert_int_equal(rndis_build_init(b, sizeof(b), 7, RNDIS_GUEST_MAX_XFER), 24);
	assert_int_equal(get32(b, 0), RNDIS_MSG_INIT);
	assert_int_equal(get32(b, 4), 24);
	assert_int_equal(get32(b, 8), 7);
	assert_int_equal(get32(b, 12), 1);
	assert_int_equal(get32(b, 16), 0);
	assert_int_equal(get32(b, 20), RNDIS_GUEST_MAX_XFER);
	assert_junk(b, 24, sizeof(b));
	assert_int_equal(rndis_build_init(b, 23, 7, 0x4000), -ENOBUFS);
	assert_int_equal(rndis_build_init(b, sizeof(b), 0, 0x4000), -EINVAL);
	assert_int_equal(rndis_build_init(NULL, sizeof(b), 1, 0x4000), -EINVAL);

	/* QUERY with an NDIS object header as input. */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(rndis_build_query(b, sizeof(b), 9, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES,
					   &oh, sizeof(oh)),
			 32);
	assert_int_equal(get32(b, 0), RNDIS_MSG_QUERY);
	assert_int_equal(get32(b, 4), 32);
	assert_int_equal(get32(b, 8), 9);
	assert_int_equal(get32(b, 12), RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES);
	assert_int_equal(get32(b, 16), 4);
	assert_int_equal(get32(b, 20), 20); /* from the rid field: right after */
	assert_int_equal(get32(b, 24), 0);
	assert_memory_equal(b + 28, &oh, 4);
	assert_junk(b, 32, sizeof(b));
	/* Without input. */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(rndis_build_query(b, sizeof(b), 9, RNDIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0),
			 28);
	assert_int_equal(get32(b, 4), 28);
	assert_int_equal(get32(b, 16), 0);
	assert_junk(b, 28, sizeof(b));
	assert_int_equal(rndis_build_query(b, 31, 9, 1, &oh, 4), -ENOBUFS);
	assert_int_equal(rndis_build_query(b, 32, 9, 1, &oh, 4), 32);
	assert_int_equal(rndis_build_query(b, sizeof(b), 9, 1, NULL, 4), -EINVAL);
	assert_int_equal(rndis_build_query(b, sizeof(b), 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(rndis_build_query(b, SIZE_MAX, 9, 1, info, UINT32_MAX), -EINVAL);

	memset(b, JUNK, sizeof(b));
	assert_int_equal(rndis_build_set(b, sizeof(b), 10, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, info,
					 sizeof(info)),
			 33);
	assert_int_equal(get32(b, 0), RNDIS_MSG_SET);
	assert_int_equal(get32(b, 4), 33);
	assert_int_equal(get32(b, 8), 10);
	assert_int_equal(get32(b, 12), RNDIS_OID_GEN_CURRENT_PACKET_FILTER);
	assert_int_equal(get32(b, 16), 5);
	assert_int_equal(get32(b, 20), 20);
	assert_int_equal(get32(b, 24), 0);
	assert_memory_equal(b + 28, info, 5);
	assert_junk(b, 33, sizeof(b));
	assert_int_equal(rndis_build_set(b, 32, 10, 1, info, 5), -ENOBUFS);
	assert_int_equal(rndis_build_set(b, sizeof(b), 0, 1, info, 5), -EINVAL);

	memset(b, JUNK, sizeof(b));
	assert_int_equal(rndis_build_halt(b, sizeof(b), 3), 12);
	assert_int_equal(get32(b, 0), RNDIS_MSG_HALT);
	assert_int_equal(get32(b, 4), 12);
	assert_int_equal(get32(b, 8), 3);
	assert_junk(b, 12, sizeof(b));
	assert_int_equal(rndis_build_halt(b, 11, 3), -ENOBUFS);
	assert_int_equal(rndis_build_halt(b, sizeof(b), 0), -EINVAL);

	assert_int_equal(rndis_build_keepalive(b, sizeof(b), 4), 12);
	assert_int_equal(get32(b, 0), RNDIS_MSG_KEEPALIVE);
	assert_int_equal(rndis_build_keepalive(b, sizeof(b), 0), -EINVAL);
	assert_int_equal(rndis_build_keepalive(b, 11, 4), -ENOBUFS);
	assert_int_equal(rndis_build_keepalive_cmplt(b, sizeof(b), 0, 0), 16);
	assert_int_equal(rndis_build_keepalive_cmplt(b, 15, 0, 0), -ENOBUFS);
}

static void test_rndis_keepalive_roundtrip(void **state)
{
	struct rndis_cmplt_info c;
	uint8_t b[32];
	uint32_t rid;

	(void)state;
	assert_int_equal(rndis_build_keepalive(b, sizeof(b), 0x42), 12);
	assert_int_equal(rndis_parse_keepalive(b, 12, &rid), 0);
	assert_int_equal(rid, 0x42);
	assert_int_equal(rndis_parse_keepalive(b, 11, &rid), -EBADMSG);
	assert_int_equal(rid, 0);
	set32(b, 4, 11);
	assert_int_equal(rndis_parse_keepalive(b, 12, &rid), -EBADMSG);

	assert_int_equal(rndis_build_keepalive_cmplt(b, sizeof(b), 0x42, RNDIS_STATUS_SUCCESS), 16);
	assert_int_equal(rndis_parse_keepalive_cmplt(b, 16, &c), 0);
	assert_int_equal(c.rid, 0x42);
	assert_int_equal(c.status, RNDIS_STATUS_SUCCESS);
	assert_int_equal(rndis_parse_keepalive_cmplt(b, 15, &c), -EBADMSG);
	assert_int_equal(rndis_parse_keepalive(b, 16, &rid), -EPROTO);
}

static void check_packet_roundtrip(const struct rndis_tx_meta *meta, unsigned int nppi)
{
	uint8_t b[512];
	struct rndis_rx_info r;
	int hdr;

	memset(b, JUNK, sizeof(b));
	hdr = rndis_build_packet(b, sizeof(b), 60, meta);
	assert_int_equal(hdr, 44 + 16 * nppi);
	assert_int_equal(get32(b, 0), RNDIS_MSG_PACKET);
	assert_int_equal(get32(b, 4), hdr + 60);
	assert_int_equal(get32(b, 8), hdr - 8);
	assert_int_equal(get32(b, 12), 60);
	assert_zero(b, 16, 28); /* no OOB */
	assert_int_equal(get32(b, 28), nppi ? 36 : 0);
	assert_int_equal(get32(b, 32), 16 * nppi);
	assert_zero(b, 36, 44); /* vc handle, reserved */
	assert_junk(b, (size_t)hdr, sizeof(b));
	memset(b + hdr, 0x11, 60);

	assert_int_equal(rndis_parse_packet(b, (size_t)hdr + 60, &r), 0);
	assert_int_equal(r.msg_len, hdr + 60);
	assert_int_equal(r.data_off, hdr);
	assert_int_equal(r.data_len, 60);
	assert_int_equal(r.ppi_count, nppi);
	if (meta && (meta->flags & RNDIS_TX_VLAN)) {
		assert_true(r.have & RNDIS_RX_HAVE_VLAN);
		assert_int_equal(r.vlan_tci, meta->vlan_tci);
	}
	if (meta && (meta->flags & RNDIS_TX_HASH)) {
		assert_true(r.have & RNDIS_RX_HAVE_HASH_VALUE);
		assert_int_equal(r.hash_value, meta->hash);
	}
	if (meta && (meta->flags & RNDIS_TX_CSUM)) {
		assert_true(r.have & RNDIS_RX_HAVE_CSUM);
		assert_int_equal(r.csum, meta->csum | (uint32_t)meta->l4_offset << 16);
	}
	if (meta && (meta->flags & RNDIS_TX_LSO)) {
		assert_true(r.have & RNDIS_RX_HAVE_LSO);
		assert_int_equal(r.lso & NDIS_LSO2_MSS_MASK, meta->mss);
		assert_int_equal((r.lso & NDIS_LSO2_L4_OFFSET_MASK) >> 20, meta->l4_offset);
		assert_true(r.lso & NDIS_LSO2_V2);
		assert_int_equal(!!(r.lso & NDIS_LSO2_IPV6), meta->lso_ipv6);
	}
	if (!meta || !meta->flags)
		assert_int_equal(r.have, 0);
}

static void test_rndis_packet_roundtrip(void **state)
{
	struct rndis_tx_meta m;
	uint8_t b[256];

	(void)state;
	check_packet_roundtrip(NULL, 0);
	memset(&m, 0, sizeof(m));
	check_packet_roundtrip(&m, 0);

	/* VLAN 0xABC, priority 5, DEI set: every TCI bit survives. */
	m.flags = RNDIS_TX_VLAN;
	m.vlan_tci = (uint16_t)(5u << 13 | 1u << 12 | 0xABCu);
	check_packet_roundtrip(&m, 1);
	memset(b, 0, sizeof(b));
	assert_int_equal(rndis_build_packet(b, sizeof(b), 14, &m), 60);
	assert_int_equal(get32(b, 44), 16); /* size */
	assert_int_equal(get32(b, 48), RNDIS_PPI_8021Q);
	assert_int_equal(get32(b, 52), 12); /* offset */
	assert_int_equal(get32(b, 56), 5u | NDIS_VLAN_CFI | 0xABCu << 4);

	m.flags = RNDIS_TX_CSUM;
	m.csum = NDIS_TXCSUM_IPV4 | NDIS_TXCSUM_TCP | NDIS_TXCSUM_IP_HDR;
	m.l4_offset = 34;
	check_packet_roundtrip(&m, 1);

	m.flags = RNDIS_TX_HASH | RNDIS_TX_VLAN | RNDIS_TX_CSUM;
	m.hash = 3;
	m.l4_offset = 1023;
	check_packet_roundtrip(&m, 3);
	/* Order: hash, VLAN, checksum. */
	assert_int_equal(rndis_build_packet(b, sizeof(b), 14, &m), 92);
	assert_int_equal(get32(b, 48), RNDIS_PPI_HASH_VALUE);
	assert_int_equal(get32(b, 64), RNDIS_PPI_8021Q);
	assert_int_equal(get32(b, 80), RNDIS_PPI_CSUM);

	m.flags = RNDIS_TX_HASH | RNDIS_TX_VLAN | RNDIS_TX_LSO;
	m.mss = NDIS_LSO2_MSS_MASK;
	m.lso_ipv6 = true;
	m.l4_offset = 54;
	check_packet_roundtrip(&m, 3);
	m.mss = 1;
	m.lso_ipv6 = false;
	check_packet_roundtrip(&m, 3);
	assert_int_equal(rndis_build_packet(b, sizeof(b), 14, &m), 92);
	assert_int_equal(get32(b, 80), RNDIS_PPI_LSO);
	assert_int_equal(RNDIS_TX_HDR_MAX, 92);
}

static void test_rndis_packet_build_rejects(void **state)
{
	struct rndis_tx_meta m;
	uint8_t b[256];

	(void)state;
	memset(&m, 0, sizeof(m));
	/* Frame length: an Ethernet header at least, no 32-bit overflow. */
	assert_int_equal(rndis_build_packet(b, sizeof(b), 13, NULL), -EINVAL);
	assert_int_equal(rndis_build_packet(b, sizeof(b), 14, NULL), 44);
	assert_int_equal(rndis_build_packet(b, sizeof(b), UINT32_MAX - 44, NULL), 44);
	assert_int_equal(get32(b, 4), UINT32_MAX);
	assert_int_equal(rndis_build_packet(b, sizeof(b), UINT32_MAX - 43, NULL), -EINVAL);
	m.flags = RNDIS_TX_VLAN;
	assert_int_equal(rndis_build_packet(b, sizeof(b), UINT32_MAX - 60, &m), 60);
	assert_int_equal(rndis_build_packet(b, sizeof(b), UINT32_MAX - 59, &m), -EINVAL);
	/* Capacity: the header only (the frame is the caller's). */
	assert_int_equal(rndis_build_packet(b, 59, 100, &m), -ENOBUFS);
	assert_int_equal(rndis_build_packet(b, 60, 100, &m), 60);
	assert_int_equal(rndis_build_packet(NULL, 60, 100, &m), -EINVAL);

	m.flags = 0x10;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.flags = RNDIS_TX_CSUM | RNDIS_TX_LSO;
	m.mss = 1460;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.flags = RNDIS_TX_LSO;
	m.mss = 0;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.mss = NDIS_LSO2_MSS_MASK + 1;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.mss = NDIS_LSO2_MSS_MASK;
	m.l4_offset = 1024;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.l4_offset = 1023;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), 60);
	m.flags = RNDIS_TX_CSUM;
	m.csum = 0x20;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.csum = NDIS_TXCSUM_UDP;
	m.l4_offset = 1024;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), -EINVAL);
	m.l4_offset = 1023;
	assert_int_equal(rndis_build_packet(b, sizeof(b), 60, &m), 60);
}

/* ======================================================================== */
/* RNDIS parsers                                                             */
/* ======================================================================== */

static void test_rndis_hdr(void **state)
{
	struct rndis_hdr_info h;
	uint8_t b[64];

	(void)state;
	memset(b, 0, sizeof(b));
	set32(b, 0, RNDIS_MSG_INDICATE);
	set32(b, 4, 20);
	assert_int_equal(rndis_parse_hdr(b, 20, &h), 0);
	assert_int_equal(h.type, RNDIS_MSG_INDICATE);
	assert_int_equal(h.msg_len, 20);
	assert_int_equal(rndis_parse_hdr(b, 64, &h), 0); /* a whole slot */
	assert_int_equal(rndis_parse_hdr(b, 19, &h), -EBADMSG);
	assert_int_equal(h.msg_len, 0);
	assert_int_equal(rndis_parse_hdr(b, 7, &h), -EBADMSG);
	set32(b, 4, 8);
	assert_int_equal(rndis_parse_hdr(b, 8, &h), 0);
	set32(b, 4, 7);
	assert_int_equal(rndis_parse_hdr(b, 64, &h), -EBADMSG);
	set32(b, 4, 0);
	assert_int_equal(rndis_parse_hdr(b, 64, &h), -EBADMSG);
	set32(b, 4, 0xFFFFFFFFu);
	assert_int_equal(rndis_parse_hdr(b, 64, &h), -EBADMSG);
	assert_int_equal(rndis_parse_hdr(NULL, 64, &h), -EINVAL);

	/* A buffer of exactly 7 bytes: nothing past it is read (ASan). */
	uint8_t *seven = malloc(7);
	assert_non_null(seven);
	memset(seven, 0, 7);
	assert_int_equal(rndis_parse_hdr(seven, 7, &h), -EBADMSG);
	assert_int_equal(rndis_parse_packet(seven, 7, &(struct rndis_rx_info){ 0 }), -EBADMSG);
	free(seven);
}

/*
 * A receive slot as OpenVMM fills it: message length = the slot, frame at
 * byte 256, a checksum PPI and a VLAN PPI right after the header.
 */
#define SLOT 1806u
static void host_packet(uint8_t *b, uint32_t frame_len)
{
	struct rndis_packet p;
	struct rndis_ppi e = { RNDIS_PPI_U32_SIZE, RNDIS_PPI_CSUM, 12 };

	memset(b, 0, SLOT);
	memset(&p, 0, sizeof(p));
	p.type = RNDIS_MSG_PACKET;
	p.len = SLOT;
	p.data_offset = 248;
	p.data_len = frame_len;
	p.ppi_offset = 36;
	p.ppi_len = 32;
	memcpy(b, &p, sizeof(p));
	memcpy(b + 44, &e, sizeof(e));
	set32(b, 56, NDIS_RXCSUM_TCP_OK | NDIS_RXCSUM_IP_OK);
	e.type = RNDIS_PPI_8021Q;
	memcpy(b + 60, &e, sizeof(e));
	set32(b, 72, 100u << NDIS_VLAN_ID_SHIFT | 3u);
	memset(b + 256, 0xEE, frame_len);
}

#define P_TYPE 0
#define P_LEN 4
#define P_DOFF 8
#define P_DLEN 12
#define P_OOBOFF 16
#define P_OOBLEN 20
#define P_OOBN 24
#define P_POFF 28
#define P_PLEN 32

static void test_rndis_packet_host(void **state)
{
	uint8_t *b = malloc(SLOT);
	struct rndis_rx_info r;

	(void)state;
	assert_non_null(b);
	host_packet(b, 1514);
	assert_int_equal(rndis_parse_packet(b, SLOT, &r), 0);
	assert_int_equal(r.msg_len, SLOT);
	assert_int_equal(r.data_off, 256);
	assert_int_equal(r.data_len, 1514);
	assert_int_equal(r.have, RNDIS_RX_HAVE_CSUM | RNDIS_RX_HAVE_VLAN);
	assert_int_equal(r.csum, NDIS_RXCSUM_TCP_OK | NDIS_RXCSUM_IP_OK);
	assert_int_equal(r.vlan_tci, 3u << 13 | 100u);
	assert_int_equal(r.ppi_count, 2);

	/* The range may be longer than the message, never shorter. */
	assert_int_equal(rndis_parse_packet(b, SLOT + 0u, &r), 0);
	assert_int_equal(rndis_parse_packet(b, SLOT - 1u, &r), -EBADMSG);
	assert_int_equal(r.data_len, 0);
	assert_int_equal(rndis_parse_packet(b, 7, &r), -EBADMSG);

	/* OOB fields are ignored (documented in codec.h). */
	set32(b, P_OOBOFF, 0xFFFFFFF0u);
	set32(b, P_OOBLEN, 0x20);
	set32(b, P_OOBN, 7);
	assert_int_equal(rndis_parse_packet(b, SLOT, &r), 0);
	free(b);
}

static void test_rndis_packet_rejects(void **state)
{
	uint8_t *b = malloc(SLOT);
	struct rndis_rx_info r;

	(void)state;
	assert_non_null(b);
#define EXPECT(rc) assert_int_equal(rndis_parse_packet(b, SLOT, &r), (rc))

	host_packet(b, 1514);
	set32(b, P_TYPE, RNDIS_MSG_INDICATE);
	EXPECT(-EPROTO);

	/* Message length: the 44-byte header at least, the range at most. */
	host_packet(b, 14);
	set32(b, P_LEN, 43);
	EXPECT(-EBADMSG);
	set32(b, P_LEN, SLOT + 1);
	EXPECT(-EBADMSG);
	/* A message exactly the header + frame: data_offset 36. */
	set32(b, P_LEN, 44 + 14);
	set32(b, P_DOFF, 36);
	set32(b, P_PLEN, 0);
	EXPECT(0);
	assert_int_equal(r.data_off, 44);
	set32(b, P_LEN, 44 + 13);
	EXPECT(-EBADMSG);

	/* data_offset: not back into the header (36 is the first byte after). */
	host_packet(b, 14);
	set32(b, P_DOFF, 35);
	EXPECT(-EBADMSG);
	set32(b, P_DOFF, 36);
	EXPECT(0);
	/* ... and the frame within msg_len: last possible place passes. */
	set32(b, P_DOFF, SLOT - 8 - 14);
	EXPECT(0);
	assert_int_equal(r.data_off, SLOT - 14);
	set32(b, P_DOFF, SLOT - 8 - 13);
	EXPECT(-EBADMSG);
	set32(b, P_DOFF, SLOT - 8);
	EXPECT(-EBADMSG);
	set32(b, P_DOFF, SLOT - 7);
	EXPECT(-EBADMSG);
	/* u32 wrap: 0xFFFFFFF0 + 8 + 0x20. */
	set32(b, P_DOFF, 0xFFFFFFF0u);
	set32(b, P_DLEN, 0x20);
	EXPECT(-EBADMSG);
	set32(b, P_DOFF, 0xFFFFFFF8u);
	EXPECT(-EBADMSG);
	set32(b, P_DOFF, 248);
	set32(b, P_DLEN, 0xFFFFFFFFu);
	EXPECT(-EBADMSG);
	set32(b, P_DLEN, SLOT - 256);
	EXPECT(0);
	set32(b, P_DLEN, SLOT - 256 + 1);
	EXPECT(-EBADMSG);

	/* A frame shorter than an Ethernet header. */
	set32(b, P_DLEN, 13);
	EXPECT(-EBADMSG);
	set32(b, P_DLEN, 0);
	EXPECT(-EBADMSG);
	set32(b, P_DLEN, 14);
	EXPECT(0);

	/* PPI area: offset past the header, aligned, within msg_len. */
	set32(b, P_POFF, 35);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 0);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 37);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 38);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 36);
	EXPECT(0);
	/* A valid element, but at an unaligned place. */
	memcpy(b + 1002, b + 44, 32);
	set32(b, P_POFF, 1002 - 8);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 1004 - 8);
	memcpy(b + 1004, b + 44, 32);
	EXPECT(0);
	assert_int_equal(r.have, RNDIS_RX_HAVE_CSUM | RNDIS_RX_HAVE_VLAN);
	/* An offset back into the packet header that forms a valid element. */
	set32(b, 36, 20); /* vc_handle: the element's size */
	set32(b, 40, 0x77); /* reserved: its type; offset = 16 (the next word) */
	set32(b, P_POFF, 28);
	set32(b, P_PLEN, 20);
	EXPECT(-EBADMSG);
	set32(b, 36, 0);
	set32(b, 40, 0);
	set32(b, P_PLEN, 32);
	set32(b, P_POFF, 1000 - 8);
	EXPECT(-EBADMSG); /* in bounds but zeros: a zero-size element */
	set32(b, P_POFF, 0xFFFFFFF0u);
	set32(b, P_PLEN, 0x20);
	EXPECT(-EBADMSG);
	set32(b, P_POFF, 36);
	set32(b, P_PLEN, SLOT - 44 + 1);
	EXPECT(-EBADMSG);
	set32(b, P_PLEN, 0xFFFFFFFFu);
	EXPECT(-EBADMSG);
	/* No PPI bytes: the offset is not looked at. */
	set32(b, P_POFF, 0xFFFFFFFFu);
	set32(b, P_PLEN, 0);
	EXPECT(0);
	assert_int_equal(r.have, 0);
	/* PPI area that ends exactly at msg_len (1804: 4-aligned). */
	host_packet(b, 14);
	set32(b, P_LEN, 1804);
	memcpy(b + 1804 - 16, b + 44, 16);
	set32(b, P_POFF, 1804 - 16 - 8);
	set32(b, P_PLEN, 16);
	EXPECT(0);
	assert_int_equal(r.have, RNDIS_RX_HAVE_CSUM);
	set32(b, P_PLEN, 17);
	EXPECT(-EBADMSG);
#undef EXPECT
	assert_int_equal(rndis_parse_packet(NULL, SLOT, &r), -EINVAL);
	assert_int_equal(rndis_parse_packet(b, SLOT, NULL), -EINVAL);
	free(b);
}

/* Appends a PPI element of @size bytes, payload at @off, value @v. */
static size_t ppi(uint8_t *b, size_t at, uint32_t size, uint32_t type, uint32_t off, uint32_t v)
{
	struct rndis_ppi e = { size, type, off };

	memcpy(b + at, &e, sizeof(e));
	/* Only a payload that lies inside the element is written. */
	if (off >= sizeof(e) && (uint64_t)off + 4 <= size)
		set32(b, at + off, v);
	return at + size;
}

static void test_rndis_ppi_walk(void **state)
{
	struct rndis_rx_info r;
	struct rndis_pktinfo_id id = { RNDIS_PKTINFO_ID_V1,
				       RNDIS_PKTINFO_SUBALLOC | RNDIS_PKTINFO_LAST_FRAG, 0x1234 };
	uint8_t b[256];
	size_t n;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(rndis_parse_ppi(b, 0, &r), 0);
	assert_int_equal(r.ppi_count, 0);

	/* Every known type; an unknown one; a bigger-than-needed element. */
	n = ppi(b, 0, 16, RNDIS_PPI_HASH_VALUE, 12, 0xDEADBEEF);
	n = ppi(b, n, 16, RNDIS_PPI_HASH_INFO, 12, NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4);
	n = ppi(b, n, 20, 0x55, 12, 0);
	n = ppi(b, n, 32, RNDIS_PPI_CSUM, 16, NDIS_RXCSUM_UDP_OK);
	n = ppi(b, n, 16, RNDIS_PPI_LSO, 12, 0x40001234);
	n = ppi(b, n, 16, RNDIS_PPI_INTERNAL | RNDIS_PPI_PKTINFO_ID, 12, 0);
	memcpy(b + n - 4, &id, sizeof(id));
	/* Internal flag on a public number: not VLAN, skipped. */
	n = ppi(b, n, 16, RNDIS_PPI_INTERNAL | RNDIS_PPI_8021Q, 12, 0x10);
	/* A public 1 (IPsec) is not the internal packet id. */
	n = ppi(b, n, 16, RNDIS_PPI_PKTINFO_ID, 12, 0xFFFFFFFF);
	assert_int_equal(rndis_parse_ppi(b, n, &r), 0);
	assert_int_equal(r.ppi_count, 8);
	assert_int_equal(r.have, RNDIS_RX_HAVE_HASH_VALUE | RNDIS_RX_HAVE_HASH_INFO |
					 RNDIS_RX_HAVE_CSUM | RNDIS_RX_HAVE_LSO |
					 RNDIS_RX_HAVE_PKTINFO_ID);
	assert_int_equal(r.hash_value, 0xDEADBEEF);
	assert_int_equal(r.hash_info, NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4);
	assert_int_equal(r.csum, NDIS_RXCSUM_UDP_OK);
	assert_int_equal(r.lso, 0x40001234);
	assert_int_equal(r.frag_flags, RNDIS_PKTINFO_SUBALLOC | RNDIS_PKTINFO_LAST_FRAG);
	assert_int_equal(r.frag_id, 0x1234);

	/* A type seen twice keeps its first value. */
	n = ppi(b, 0, 16, RNDIS_PPI_8021Q, 12, 7u << NDIS_VLAN_ID_SHIFT);
	n = ppi(b, n, 16, RNDIS_PPI_8021Q, 12, 9u << NDIS_VLAN_ID_SHIFT);
	assert_int_equal(rndis_parse_ppi(b, n, &r), 0);
	assert_int_equal(r.vlan_tci, 7);
	assert_int_equal(r.ppi_count, 2);

	/* Unknown type with a 1-byte payload: fine, it is skipped. */
	n = ppi(b, 0, 16, 0x77, 15, 0);
	assert_int_equal(rndis_parse_ppi(b, n, &r), 0);
}

static void test_rndis_ppi_rejects(void **state)
{
	struct rndis_rx_info r;
	uint8_t b[256];
	size_t n;

	(void)state;
	memset(b, 0, sizeof(b));
	/* Zero size: rejected, not an endless loop. */
	assert_int_equal(rndis_parse_ppi(b, 64, &r), -EBADMSG);
	assert_int_equal(r.ppi_count, 0);
	/* Sizes: 12 is the smallest element, 4-byte multiples only. */
	ppi(b, 0, 11, RNDIS_PPI_CSUM, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 16, &r), -EBADMSG);
	ppi(b, 0, 12, 0x77, 12, 0); /* offset == size: no payload */
	assert_int_equal(rndis_parse_ppi(b, 12, &r), -EBADMSG);
	ppi(b, 0, 12, 0x77, 11, 0); /* offset into the element header */
	assert_int_equal(rndis_parse_ppi(b, 12, &r), -EBADMSG);
	ppi(b, 0, 18, 0x77, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 20, &r), -EBADMSG);
	/* An unaligned size, even with a valid element right after it. */
	n = ppi(b, 0, 18, 0x77, 12, 0);
	ppi(b, n, 16, RNDIS_PPI_8021Q, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, n + 16, &r), -EBADMSG);
	ppi(b, 0, 8, 0x77, 4, 0);
	assert_int_equal(rndis_parse_ppi(b, 8, &r), -EBADMSG);
	ppi(b, 0, 4, 0x77, 0, 0);
	assert_int_equal(rndis_parse_ppi(b, 16, &r), -EBADMSG);
	ppi(b, 0, 20, 0x77, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 20, &r), 0);
	/* Element size beyond what remains: exact fit passes, +4 does not. */
	assert_int_equal(rndis_parse_ppi(b, 19, &r), -EBADMSG);
	n = ppi(b, 0, 16, RNDIS_PPI_CSUM, 12, 0);
	ppi(b, n, 24, RNDIS_PPI_8021Q, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 40, &r), 0);
	assert_int_equal(rndis_parse_ppi(b, 36, &r), -EBADMSG);
	/* A huge size that would wrap a 32-bit position. */
	ppi(b, n, 0xFFFFFFF0u, RNDIS_PPI_8021Q, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 40, &r), -EBADMSG);
	/* Offset at or past the element's end, or wrapping. */
	ppi(b, n, 16, RNDIS_PPI_8021Q, 16, 0);
	assert_int_equal(rndis_parse_ppi(b, 32, &r), -EBADMSG);
	ppi(b, n, 16, RNDIS_PPI_8021Q, 0xFFFFFFFCu, 0);
	assert_int_equal(rndis_parse_ppi(b, 32, &r), -EBADMSG);
	ppi(b, n, 16, RNDIS_PPI_8021Q, 0, 0);
	assert_int_equal(rndis_parse_ppi(b, 32, &r), -EBADMSG);
	/* Trailing bytes that cannot hold an element header. */
	ppi(b, n, 16, RNDIS_PPI_8021Q, 12, 0);
	assert_int_equal(rndis_parse_ppi(b, 32, &r), 0);
	assert_int_equal(rndis_parse_ppi(b, 32 + 4, &r), -EBADMSG);
	assert_int_equal(rndis_parse_ppi(b, 32 + 11, &r), -EBADMSG);
	/* Payload too small for a type that needs 4 bytes. */
	static const uint32_t u32_types[] = {
		RNDIS_PPI_CSUM, RNDIS_PPI_8021Q, RNDIS_PPI_HASH_VALUE, RNDIS_PPI_HASH_INFO,
		RNDIS_PPI_LSO, RNDIS_PPI_INTERNAL | RNDIS_PPI_PKTINFO_ID,
	};
	for (size_t i = 0; i < sizeof(u32_types) / sizeof(u32_types[0]); i++) {
		ppi(b, 0, 16, u32_types[i], 13, 0);
		assert_int_equal(rndis_parse_ppi(b, 16, &r), -EBADMSG);
		ppi(b, 0, 16, u32_types[i], 12, 0);
		assert_int_equal(rndis_parse_ppi(b, 16, &r), 0);
	}
	assert_int_equal(rndis_parse_ppi(NULL, 16, &r), -EINVAL);
}

static void init_cmplt(struct rndis_init_cmplt *m, uint32_t status, uint32_t max_pkts,
		       uint32_t max_xfer, uint32_t factor)
{
	memset(m, 0, sizeof(*m));
	m->type = RNDIS_MSG_INIT_CMPLT;
	m->len = sizeof(*m);
	m->rid = 5;
	m->status = status;
	m->ver_major = 1;
	m->dev_flags = RNDIS_DF_CONNECTIONLESS;
	m->medium = RNDIS_MEDIUM_802_3;
	m->max_pkts = max_pkts;
	m->max_xfer = max_xfer;
	m->align_factor = factor;
}

static void test_rndis_init_cmplt(void **state)
{
	struct rndis_init_cmplt m;
	struct rndis_init_info r;

	(void)state;
	/* OpenVMM's answer. */
	init_cmplt(&m, RNDIS_STATUS_SUCCESS, 8, 0xEFFFFFFFu, 3);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.rid, 5);
	assert_int_equal(r.ver_major, 1);
	assert_int_equal(r.max_pkts, 8);
	assert_int_equal(r.agg_pkts, 8);
	assert_int_equal(r.max_xfer, 0xEFFFFFFFu);
	assert_int_equal(r.agg_align, 8);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m) - 1, &r), -EBADMSG);
	m.len = sizeof(m) - 1;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EBADMSG);

	/* Alignment: raised to 4, at most a page, never a wild shift. */
	init_cmplt(&m, RNDIS_STATUS_SUCCESS, 8, 0x4000, 0);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.agg_align, 4);
	m.align_factor = 2;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.agg_align, 4);
	m.align_factor = NETVSC_RNDIS_MAX_ALIGN_SHIFT;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.agg_align, 4096);
	m.align_factor = NETVSC_RNDIS_MAX_ALIGN_SHIFT + 1;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);
	assert_int_equal(r.agg_align, 0);
	m.align_factor = 32;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);
	m.align_factor = 0xFFFFFFFFu;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);

	/* Packets per message: 0 means 1. */
	init_cmplt(&m, RNDIS_STATUS_SUCCESS, 0, 0x4000, 3);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.max_pkts, 0);
	assert_int_equal(r.agg_pkts, 1);

	/* Transfer size: a data header and an Ethernet header at least. */
	init_cmplt(&m, RNDIS_STATUS_SUCCESS, 8, 44 + 14, 3);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	m.max_xfer = 44 + 13;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);
	m.max_xfer = 0;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);

	/* A failure: only id and status, nothing else judged. */
	init_cmplt(&m, RNDIS_STATUS_FAILURE, 0, 0, 99);
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), 0);
	assert_int_equal(r.rid, 5);
	assert_int_equal(r.status, RNDIS_STATUS_FAILURE);
	assert_int_equal(r.agg_align, 0);
	assert_int_equal(r.agg_pkts, 0);

	m.type = RNDIS_MSG_QUERY_CMPLT;
	assert_int_equal(rndis_parse_init_cmplt(&m, sizeof(m), &r), -EPROTO);
}

/* A query completion with @n info bytes at info_offset @off (from byte 8). */
static size_t query_cmplt(uint8_t *b, uint32_t msg_len, uint32_t status, uint32_t off, uint32_t n)
{
	struct rndis_query_cmplt m = { RNDIS_MSG_QUERY_CMPLT, msg_len, 11, status, n, off };

	memset(b, 0, msg_len);
	memcpy(b, &m, sizeof(m));
	return msg_len;
}

static void test_rndis_query_cmplt(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 };
	struct rndis_query_info r;
	uint8_t b[64];

	(void)state;
	/* A MAC address right after the completion (OpenVMM: offset 16). */
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 16, 6);
	memcpy(b + 24, mac, 6);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), 0);
	assert_int_equal(r.rid, 11);
	assert_int_equal(r.status, RNDIS_STATUS_SUCCESS);
	assert_int_equal(r.info_off, 24);
	assert_int_equal(r.info_len, 6);
	assert_memory_equal(b + r.info_off, mac, 6);
	/* The info buffer ends exactly at msg_len; one more byte does not fit. */
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 16, 7);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	assert_int_equal(r.rid, 0);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 17, 6);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 17, 5);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), 0);
	/* Offset back into the completion's own fields. */
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 15, 6);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 0, 6);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	/* Offset at / past the end, and a u32 wrap attempt. */
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 22, 1);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 23, 1);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 0xFFFFFFF0u, 0x20);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 16, 0xFFFFFFFFu);
	assert_int_equal(rndis_parse_query_cmplt(b, 30, &r), -EBADMSG);
	/* The range is longer than msg_len: bounds follow msg_len. */
	query_cmplt(b, 30, RNDIS_STATUS_SUCCESS, 16, 7);
	assert_int_equal(rndis_parse_query_cmplt(b, 64, &r), -EBADMSG);

	/* No info: the offset is not used (unsupported OIDs come like that). */
	query_cmplt(b, 24, RNDIS_STATUS_NOT_SUPPORTED, 0xFFFFFFFFu, 0);
	assert_int_equal(rndis_parse_query_cmplt(b, 24, &r), 0);
	assert_int_equal(r.status, RNDIS_STATUS_NOT_SUPPORTED);
	assert_int_equal(r.info_off, 0);
	assert_int_equal(r.info_len, 0);
	assert_int_equal(rndis_parse_query_cmplt(b, 23, &r), -EBADMSG);
	set32(b, 4, 23);
	assert_int_equal(rndis_parse_query_cmplt(b, 24, &r), -EBADMSG);
	set32(b, 4, 24);
	set32(b, 0, RNDIS_MSG_SET_CMPLT);
	assert_int_equal(rndis_parse_query_cmplt(b, 24, &r), -EPROTO);
}

static void test_rndis_small_cmplts(void **state)
{
	struct rndis_set_cmplt s = { RNDIS_MSG_SET_CMPLT, 16, 12, RNDIS_STATUS_INVALID_DATA };
	struct rndis_reset_cmplt rs = { RNDIS_MSG_RESET_CMPLT, 16, RNDIS_STATUS_SUCCESS, 1 };
	struct rndis_cmplt_info c;
	struct rndis_reset_info ri;

	(void)state;
	assert_int_equal(rndis_parse_set_cmplt(&s, 16, &c), 0);
	assert_int_equal(c.rid, 12);
	assert_int_equal(c.status, RNDIS_STATUS_INVALID_DATA);
	assert_int_equal(rndis_parse_set_cmplt(&s, 15, &c), -EBADMSG);
	s.len = 15;
	assert_int_equal(rndis_parse_set_cmplt(&s, 16, &c), -EBADMSG);
	s.len = 16;
	s.type = RNDIS_MSG_QUERY_CMPLT;
	assert_int_equal(rndis_parse_set_cmplt(&s, 16, &c), -EPROTO);

	assert_int_equal(rndis_parse_reset_cmplt(&rs, 16, &ri), 0);
	assert_int_equal(ri.status, RNDIS_STATUS_SUCCESS);
	assert_int_equal(ri.addressing_reset, 1);
	assert_int_equal(rndis_parse_reset_cmplt(&rs, 15, &ri), -EBADMSG);
	rs.len = 15;
	assert_int_equal(rndis_parse_reset_cmplt(&rs, 16, &ri), -EBADMSG);
	rs.len = 16;
	rs.type = RNDIS_MSG_RESET;
	assert_int_equal(rndis_parse_reset_cmplt(&rs, 16, &ri), -EPROTO);
}

static void test_rndis_indicate(void **state)
{
	struct rndis_indicate m = { RNDIS_MSG_INDICATE, 20, RNDIS_STATUS_MEDIA_CONNECT, 0, 0 };
	struct rndis_indicate_info r;
	uint8_t b[64];

	(void)state;
	assert_int_equal(rndis_parse_indicate(&m, 20, &r), 0);
	assert_int_equal(r.status, RNDIS_STATUS_MEDIA_CONNECT);
	assert_int_equal(r.buf_len, 0);
	assert_int_equal(rndis_parse_indicate(&m, 19, &r), -EBADMSG);
	assert_int_equal(r.status, 0);

	/* A 4-byte status buffer right after the indication: offset 12. */
	m.len = 24;
	m.buf_len = 4;
	m.buf_offset = 12;
	memset(b, 0, sizeof(b));
	memcpy(b, &m, sizeof(m));
	set32(b, 20, 0xCAFE);
	assert_int_equal(rndis_parse_indicate(b, 24, &r), 0);
	assert_int_equal(r.buf_off, 20);
	assert_int_equal(r.buf_len, 4);
	assert_int_equal(get32(b, r.buf_off), 0xCAFE);
	set32(b, 16, 11); /* back into the indication */
	assert_int_equal(rndis_parse_indicate(b, 24, &r), -EBADMSG);
	set32(b, 16, 13);
	assert_int_equal(rndis_parse_indicate(b, 24, &r), -EBADMSG);
	set32(b, 16, 0xFFFFFFF0u);
	set32(b, 12, 0x20);
	assert_int_equal(rndis_parse_indicate(b, 24, &r), -EBADMSG);
	set32(b, 16, 12);
	set32(b, 12, 5);
	assert_int_equal(rndis_parse_indicate(b, 64, &r), -EBADMSG);
	set32(b, 12, 4);
	set32(b, 0, RNDIS_MSG_PACKET);
	assert_int_equal(rndis_parse_indicate(b, 24, &r), -EPROTO);
}

/* ======================================================================== */
/* NDIS objects                                                              */
/* ======================================================================== */

static void test_ndis_rss_params(void **state)
{
	struct ndis_rss_params_toeplitz *p;
	uint32_t itab[NDIS_RSS_ITAB_ENTRIES];
	uint8_t key[NDIS_RSS_KEY_SIZE], b[600];

	(void)state;
	for (unsigned int i = 0; i < NDIS_RSS_ITAB_ENTRIES; i++)
		itab[i] = i % 4;
	for (unsigned int i = 0; i < NDIS_RSS_KEY_SIZE; i++)
		key[i] = (uint8_t)(0x6d + i);
	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), NDIS_RSS_FLAG_NONE,
					       NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4, itab,
					       key),
			 592);
	assert_junk(b, 592, sizeof(b));
	p = (struct ndis_rss_params_toeplitz *)b;
	assert_int_equal(b[0], NDIS_OBJTYPE_RSS_PARAMS);
	assert_int_equal(b[1], 2);
	assert_int_equal(get32(b, 0) >> 16, 40);
	assert_int_equal(get32(b, 4), 0); /* flags, base cpu */
	assert_int_equal(get32(b, 8), NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4);
	assert_int_equal(get32(b, 12), 512); /* itab size, pad */
	assert_int_equal(get32(b, 16), 40);
	assert_int_equal(get32(b, 20), 40); /* key size, pad */
	assert_int_equal(get32(b, 24), 552);
	assert_zero(b, 28, 40);
	assert_memory_equal(b + 40, itab, sizeof(itab));
	assert_memory_equal(p->key, key, sizeof(key));

	/* The disable request: zeros for table and key. */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_rss_params(b, 592, NDIS_RSS_FLAG_DISABLE, 0, NULL, NULL), 592);
	assert_int_equal(get32(b, 4), NDIS_RSS_FLAG_DISABLE);
	assert_zero(b, 40, 592);
	assert_int_equal(ndis_build_rss_params(b, 591, 0, 0, NULL, NULL), -ENOBUFS);
	itab[77] = NVSP_MAX_CHANNELS;
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, key), -EINVAL);
	itab[77] = NVSP_MAX_CHANNELS - 1;
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, key), 592);
	assert_int_equal(ndis_build_rss_params(NULL, sizeof(b), 0, 0, itab, key), -EINVAL);
}

static void test_ndis_offload_params(void **state)
{
	struct ndis_offload_params p;
	uint8_t b[40];

	(void)state;
	memset(&p, 0xFF, sizeof(p)); /* junk in header and padding */
	p.ip4_csum = NDIS_OFFLOAD_PARAM_TXRX;
	p.tcp4_csum = NDIS_OFFLOAD_PARAM_TXRX;
	p.lsov2_ip4 = NDIS_OFFLOAD_LSO_ON;
	p.flags = 0;
	p.rsc_ip4 = NDIS_OFFLOAD_RSC_ON;

	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_offload_params(b, sizeof(b), NDIS_OFFLOAD_PARAMS_REV_3, &p), 28);
	assert_int_equal(b[0], NDIS_OBJTYPE_DEFAULT);
	assert_int_equal(b[1], 3);
	assert_int_equal(get32(b, 0) >> 16, 28);
	assert_int_equal(b[4], NDIS_OFFLOAD_PARAM_TXRX);
	assert_int_equal(b[11], NDIS_OFFLOAD_LSO_ON);
	assert_int_equal(b[15], 0); /* pad */
	assert_int_equal(b[22], NDIS_OFFLOAD_RSC_ON);
	assert_zero(b, 26, 28);
	assert_junk(b, 28, sizeof(b));

	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_offload_params(b, sizeof(b), NDIS_OFFLOAD_PARAMS_REV_2, &p), 22);
	assert_int_equal(b[1], 2);
	assert_int_equal(get32(b, 0) >> 16, 22);
	assert_junk(b, 22, sizeof(b));
	assert_int_equal(ndis_build_offload_params(b, 21, NDIS_OFFLOAD_PARAMS_REV_2, &p), -ENOBUFS);
	assert_int_equal(ndis_build_offload_params(b, 27, NDIS_OFFLOAD_PARAMS_REV_3, &p), -ENOBUFS);
	assert_int_equal(ndis_build_offload_params(b, sizeof(b), 1, &p), -EINVAL);
	assert_int_equal(ndis_build_offload_params(b, sizeof(b), 4, &p), -EINVAL);
	assert_int_equal(ndis_build_offload_params(b, sizeof(b), 3, NULL), -EINVAL);
}

static void test_ndis_offload_caps(void **state)
{
	struct ndis_offload m, r;
	uint8_t b[200];

	(void)state;
	memset(&m, 0, sizeof(m));
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, NDIS_OFFLOAD_REV_3, NDIS_OFFLOAD_SIZE_REV_3);
	m.csum.ip4_txcsum = NDIS_TXCSUM_CAP_TCP4 | NDIS_TXCSUM_CAP_UDP4;
	m.lsov2.ip4_max_size = 0xF53C;
	m.lsov2.ip4_min_segs = 2;
	m.rsc.ip4 = 1;
	m.encap_gre.max_hdr = 77;
	assert_int_equal(ndis_parse_offload_caps(&m, sizeof(m), &r), 0);
	assert_memory_equal(&r, &m, sizeof(m));
	assert_int_equal(ndis_parse_offload_caps(&m, sizeof(m) - 1, &r), -EBADMSG);
	assert_int_equal(r.lsov2.ip4_max_size, 0);

	/* Revision 1: 112 bytes; what it lacks reads as zero. */
	memset(b, 0xEE, sizeof(b));
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, NDIS_OFFLOAD_REV_1, NDIS_OFFLOAD_SIZE_REV_1);
	memcpy(b, &m, NDIS_OFFLOAD_SIZE_REV_1);
	assert_int_equal(ndis_parse_offload_caps(b, NDIS_OFFLOAD_SIZE_REV_1, &r), 0);
	assert_int_equal(r.lsov2.ip4_max_size, 0xF53C);
	assert_int_equal(r.rsc.ip4, 0);
	assert_int_equal(r.encap_gre.max_hdr, 0);
	assert_int_equal(r.ipsecv2.encap, 0);
	/* ... also when the buffer is longer than the object. */
	assert_int_equal(ndis_parse_offload_caps(b, sizeof(b), &r), 0);
	assert_int_equal(r.rsc.ip4, 0);
	assert_int_equal(r.ipsecv2.encap, 0);
	m.hdr.size = NDIS_OFFLOAD_SIZE_REV_1 - 1;
	memcpy(b, &m, 4);
	assert_int_equal(ndis_parse_offload_caps(b, sizeof(b), &r), -EBADMSG);
	/* A bigger, newer object: what we know of it is read. */
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, 5, 200);
	memcpy(b, &m, sizeof(m));
	assert_int_equal(ndis_parse_offload_caps(b, 200, &r), 0);
	assert_int_equal(r.encap_gre.max_hdr, 77);
	assert_int_equal(ndis_parse_offload_caps(b, 199, &r), -EBADMSG);
	/* Type and revision. */
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_DEFAULT, 3, 156);
	assert_int_equal(ndis_parse_offload_caps(&m, sizeof(m), &r), -EPROTO);
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, 0, 156);
	assert_int_equal(ndis_parse_offload_caps(&m, sizeof(m), &r), -EPROTO);
	assert_int_equal(ndis_parse_offload_caps(&m, 3, &r), -EBADMSG);
}

static void test_ndis_rss_caps(void **state)
{
	struct ndis_rss_caps m;
	struct ndis_rss_caps_info r;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 2, NDIS_RSS_CAPS_SIZE_REV_2);
	m.caps = NDIS_RSS_CAP_IPV4 | NDIS_RSS_CAP_IPV6 | NDIS_HASH_FUNCTION_TOEPLITZ;
	m.num_msi = 1;
	m.num_rx_queues = 16;
	m.num_indirection = 128;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.caps, m.caps);
	assert_int_equal(r.num_rx_queues, 16);
	assert_int_equal(r.num_indirection, 128);
	assert_int_equal(ndis_parse_rss_caps(&m, 17, &r), -EBADMSG);
	assert_int_equal(r.num_rx_queues, 0);

	/* Indirection size: a power of 2 in 1 .. 128. */
	m.num_indirection = 1;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.num_indirection, 1);
	m.num_indirection = 64;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	m.num_indirection = 0;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
	m.num_indirection = 96;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
	m.num_indirection = 256;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
	m.num_indirection = 0xFFFF;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
	/* A revision 2 object must carry the field. */
	m.num_indirection = 128;
	m.hdr.size = 17;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EBADMSG);

	/* Revision 1: 16 bytes, 128 entries implied. */
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 1, NDIS_RSS_CAPS_SIZE_REV_1);
	m.num_indirection = 3; /* not part of a revision 1 object */
	assert_int_equal(ndis_parse_rss_caps(&m, 16, &r), 0);
	assert_int_equal(r.num_indirection, 128);
	m.hdr.size = 15;
	assert_int_equal(ndis_parse_rss_caps(&m, 16, &r), -EBADMSG);
	m.hdr.size = 17;
	assert_int_equal(ndis_parse_rss_caps(&m, 16, &r), -EBADMSG);
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_PARAMS, 2, 18);
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 0, 18);
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EPROTO);
}

static void test_ndis_link_state(void **state)
{
	struct ndis_link_state m, r;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_DEFAULT, NDIS_LINK_STATE_REV_1, sizeof(m));
	m.media_connect_state = NDIS_MEDIA_STATE_CONNECTED;
	m.media_duplex_state = NDIS_MEDIA_DUPLEX_FULL;
	m.xmit_speed = 10000000000ull;
	m.rcv_speed = 10000000000ull;
	assert_int_equal(ndis_parse_link_state(&m, sizeof(m), &r), 0);
	assert_memory_equal(&r, &m, sizeof(m));
	assert_int_equal(ndis_parse_link_state(&m, sizeof(m) - 1, &r), -EBADMSG);
	m.hdr.size = sizeof(m) - 1;
	assert_int_equal(ndis_parse_link_state(&m, sizeof(m), &r), -EBADMSG);
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_OFFLOAD, 1, sizeof(m));
	assert_int_equal(ndis_parse_link_state(&m, sizeof(m), &r), -EPROTO);
}

/* Every parser refuses NULL arguments rather than crashing. */
static void test_null_args(void **state)
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
	assert_int_equal(rndis_parse_hdr(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_ppi(b, 0, NULL), -EINVAL);
	assert_int_equal(rndis_parse_init_cmplt(NULL, 64, &(struct rndis_init_info){ 0 }), -EINVAL);
	assert_int_equal(rndis_parse_query_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_set_cmplt(NULL, 64, &(struct rndis_cmplt_info){ 0 }), -EINVAL);
	assert_int_equal(rndis_parse_keepalive_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_keepalive(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_reset_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_indicate(NULL, 64, &(struct rndis_indicate_info){ 0 }), -EINVAL);
	assert_int_equal(ndis_parse_offload_caps(b, 64, NULL), -EINVAL);
	assert_int_equal(ndis_parse_rss_caps(NULL, 64, &(struct ndis_rss_caps_info){ 0 }), -EINVAL);
	assert_int_equal(ndis_parse_link_state(b, 64, NULL), -EINVAL);
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
		cmocka_unit_test(test_rndis_build_control),
		cmocka_unit_test(test_rndis_keepalive_roundtrip),
		cmocka_unit_test(test_rndis_packet_roundtrip),
		cmocka_unit_test(test_rndis_packet_build_rejects),
		cmocka_unit_test(test_rndis_hdr),
		cmocka_unit_test(test_rndis_packet_host),
		cmocka_unit_test(test_rndis_packet_rejects),
		cmocka_unit_test(test_rndis_ppi_walk),
		cmocka_unit_test(test_rndis_ppi_rejects),
		cmocka_unit_test(test_rndis_init_cmplt),
		cmocka_unit_test(test_rndis_query_cmplt),
		cmocka_unit_test(test_rndis_small_cmplts),
		cmocka_unit_test(test_rndis_indicate),
		cmocka_unit_test(test_ndis_rss_params),
		cmocka_unit_test(test_ndis_offload_params),
		cmocka_unit_test(test_ndis_offload_caps),
		cmocka_unit_test(test_ndis_rss_caps),
		cmocka_unit_test(test_ndis_link_state),
		cmocka_unit_test(test_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
