/* SPDX-License-Identifier: MIT */
/*
 * The RNDIS codec (codec_rndis.c): every builder's bytes, every builder
 * through its parser where both exist, host messages built by hand from
 * proto.h structs, and each rejection at its boundary (off by one on both
 * sides, 32-bit wrap attempts, PPI chains that overrun or do not advance,
 * offsets that point back into a header).
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

/* Every parser refuses NULL arguments rather than crashing. */
static void test_rndis_null_args(void **state)
{
	uint8_t b[64] = { 0 };

	(void)state;
	assert_int_equal(rndis_parse_hdr(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_ppi(b, 0, NULL), -EINVAL);
	assert_int_equal(rndis_parse_init_cmplt(NULL, 64, &(struct rndis_init_info){ 0 }), -EINVAL);
	assert_int_equal(rndis_parse_query_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_set_cmplt(NULL, 64, &(struct rndis_cmplt_info){ 0 }), -EINVAL);
	assert_int_equal(rndis_parse_keepalive_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_keepalive(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_reset_cmplt(b, 64, NULL), -EINVAL);
	assert_int_equal(rndis_parse_indicate(NULL, 64, &(struct rndis_indicate_info){ 0 }), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
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
		cmocka_unit_test(test_rndis_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
