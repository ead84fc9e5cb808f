/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: every RNDIS and NDIS parser on one message (a receive
 * range as the guest copies it out), the properties a caller relies on when
 * a parser says 0 (what it points at lies inside the message, which the
 * harness reads to let ASan check), and two round trips:
 *   - a parsed data packet, built again from its parse result, parses to
 *     the same frame and per-packet info;
 *   - a packet built from fuzzer-chosen metadata parses back to it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"

static volatile uint8_t sink;

static int known_rc(int rc)
{
	return rc == 0 || rc == -EBADMSG || rc == -EPROTO;
}

/* Reads every byte of [off, off + n) so ASan vets the bounds. */
static void touch(const uint8_t *data, size_t size, uint64_t off, uint64_t n)
{
	uint8_t x = 0;

	CHECK(off <= size && n <= size - off);
	for (uint64_t i = 0; i < n; i++)
		x ^= data[off + i];
	sink = x;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#define TXCSUM_BITS 0x1Fu

/* Builds a packet from @m with a @data_len-byte frame, parses it, compares. */
static void build_and_parse(const struct rndis_tx_meta *m, uint32_t data_len, int expect_ok)
{
	size_t total = RNDIS_TX_HDR_MAX + (size_t)data_len;
	uint8_t *b = malloc(total);
	struct rndis_rx_info r;
	unsigned int n = 0;
	int hdr;

	CHECK(b);
	hdr = rndis_build_packet(b, RNDIS_TX_HDR_MAX, data_len, m);
	CHECK(hdr > 0 || !expect_ok);
	if (hdr < 0) {
		CHECK(hdr == -EINVAL);
		free(b);
		return;
	}
	memset(b + hdr, 0x5A, data_len);
	CHECK(rndis_parse_packet(b, (size_t)hdr + data_len, &r) == 0);
	CHECK(r.data_off == (uint32_t)hdr && r.data_len == data_len);
	if (m->flags & RNDIS_TX_VLAN) {
		CHECK(r.vlan_tci == m->vlan_tci);
		n++;
	}
	if (m->flags & RNDIS_TX_HASH) {
		CHECK(r.hash_value == m->hash);
		n++;
	}
	if (m->flags & RNDIS_TX_CSUM) {
		CHECK(r.csum == (m->csum | (uint32_t)m->l4_offset << NDIS_TXCSUM_L4_OFFSET_SHIFT));
		n++;
	}
	if (m->flags & RNDIS_TX_LSO) {
		CHECK((r.lso & NDIS_LSO2_MSS_MASK) == m->mss);
		CHECK(((r.lso & NDIS_LSO2_L4_OFFSET_MASK) >> NDIS_LSO2_L4_OFFSET_SHIFT) ==
		      m->l4_offset);
		CHECK(!!(r.lso & NDIS_LSO2_IPV6) == m->lso_ipv6 && (r.lso & NDIS_LSO2_V2));
		n++;
	}
	CHECK(r.ppi_count == n);
	free(b);
}

static void packet(const uint8_t *data, size_t size)
{
	struct rndis_rx_info r;
	struct rndis_tx_meta m;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = rndis_parse_packet(data, size, &r);
	CHECK(known_rc(rc));
	if (rc) {
		/* a failed parse leaves nothing half filled */
		static const struct rndis_rx_info zero;

		CHECK(!data || !memcmp(&r, &zero, sizeof(r)));
		return;
	}
	CHECK(r.msg_len <= size && r.data_len >= NETVSC_ETH_HLEN);
	CHECK(r.data_off >= sizeof(struct rndis_packet));
	CHECK((uint64_t)r.data_off + r.data_len <= r.msg_len);
	touch(data, size, r.data_off, r.data_len);

	/* Build it again from what was parsed. */
	memset(&m, 0, sizeof(m));
	if (r.have & RNDIS_RX_HAVE_VLAN) {
		m.flags |= RNDIS_TX_VLAN;
		m.vlan_tci = r.vlan_tci;
	}
	if (r.have & RNDIS_RX_HAVE_HASH_VALUE) {
		m.flags |= RNDIS_TX_HASH;
		m.hash = r.hash_value;
	}
	if ((r.have & RNDIS_RX_HAVE_CSUM) &&
	    !(r.csum & ~(TXCSUM_BITS | NDIS_TXCSUM_L4_OFFSET_MASK))) {
		m.flags |= RNDIS_TX_CSUM;
		m.csum = r.csum & TXCSUM_BITS;
		m.l4_offset = (uint16_t)((r.csum & NDIS_TXCSUM_L4_OFFSET_MASK) >>
					 NDIS_TXCSUM_L4_OFFSET_SHIFT);
	} else if ((r.have & RNDIS_RX_HAVE_LSO) && (r.lso & NDIS_LSO2_MSS_MASK) &&
		   (r.lso & NDIS_LSO2_V2)) {
		m.flags |= RNDIS_TX_LSO;
		m.mss = r.lso & NDIS_LSO2_MSS_MASK;
		m.l4_offset = (uint16_t)((r.lso & NDIS_LSO2_L4_OFFSET_MASK) >>
					 NDIS_LSO2_L4_OFFSET_SHIFT);
		m.lso_ipv6 = !!(r.lso & NDIS_LSO2_IPV6);
	}
	build_and_parse(&m, r.data_len, 1);
}

/* The first 20 bytes choose metadata for a packet the guest would send. */
static void builder(const uint8_t *data, size_t size)
{
	struct rndis_tx_meta m;
	uint32_t data_len;
	uint16_t v16;
	int valid = 1;

	if (size < 20)
		return;
	memset(&m, 0, sizeof(m));
	m.flags = data[0] & 0x1Fu;
	memcpy(&m.vlan_tci, data + 1, 2);
	m.csum = u32_at(data + 3);
	memcpy(&v16, data + 7, 2);
	m.l4_offset = v16;
	m.mss = u32_at(data + 9);
	m.lso_ipv6 = data[13] & 1;
	m.hash = u32_at(data + 14);
	memcpy(&v16, data + 18, 2);
	data_len = v16 % 2048u;

	/* What rndis_build_packet must refuse, stated independently. */
	if (m.flags & ~0xFu || data_len < NETVSC_ETH_HLEN)
		valid = 0;
	if ((m.flags & RNDIS_TX_CSUM) && (m.flags & RNDIS_TX_LSO))
		valid = 0;
	if ((m.flags & RNDIS_TX_CSUM) && ((m.csum & ~TXCSUM_BITS) || m.l4_offset > 1023))
		valid = 0;
	if ((m.flags & RNDIS_TX_LSO) && (m.mss == 0 || m.mss >= (1u << 20) || m.l4_offset > 1023))
		valid = 0;
	if (valid) {
		build_and_parse(&m, data_len, 1);
	} else {
		uint8_t b[RNDIS_TX_HDR_MAX];

		CHECK(rndis_build_packet(b, sizeof(b), data_len, &m) == -EINVAL);
	}
}

static void control(const uint8_t *data, size_t size)
{
	struct rndis_init_info ii;
	struct rndis_query_info qi;
	struct rndis_cmplt_info ci;
	struct rndis_reset_info ri;
	struct rndis_indicate_info si;
	uint8_t b[32];
	uint32_t rid;
	int rc;

	rc = rndis_parse_init_cmplt(data, size, &ii);
	CHECK(known_rc(rc));
	if (rc == 0 && ii.status == RNDIS_STATUS_SUCCESS) {
		CHECK(ii.agg_pkts >= 1 && ii.agg_align >= NETVSC_RNDIS_MIN_ALIGN);
		CHECK(ii.agg_align <= (1u << NETVSC_RNDIS_MAX_ALIGN_SHIFT));
		CHECK((ii.agg_align & (ii.agg_align - 1)) == 0);
		CHECK(ii.max_xfer >= sizeof(struct rndis_packet) + NETVSC_ETH_HLEN);
	}

	rc = rndis_parse_query_cmplt(data, size, &qi);
	CHECK(known_rc(rc));
	if (rc == 0) {
		CHECK(qi.info_len ? qi.info_off >= sizeof(struct rndis_query_cmplt) : !qi.info_off);
		touch(data, size, qi.info_off, qi.info_len);
		/* What a query typically carries: an NDIS object. */
		if (qi.info_len) {
			struct ndis_offload oc;
			struct ndis_rss_caps_info rc_info;
			struct ndis_link_state ls;

			CHECK(known_rc(ndis_parse_offload_caps(data + qi.info_off, qi.info_len, &oc)));
			CHECK(known_rc(ndis_parse_rss_caps(data + qi.info_off, qi.info_len, &rc_info)));
			CHECK(known_rc(ndis_parse_link_state(data + qi.info_off, qi.info_len, &ls)));
		}
	}

	CHECK(known_rc(rndis_parse_set_cmplt(data, size, &ci)));
	CHECK(known_rc(rndis_parse_keepalive_cmplt(data, size, &ci)));
	CHECK(known_rc(rndis_parse_reset_cmplt(data, size, &ri)));

	rc = rndis_parse_indicate(data, size, &si);
	CHECK(known_rc(rc));
	if (rc == 0) {
		CHECK(si.buf_len ? si.buf_off >= sizeof(struct rndis_indicate) : !si.buf_off);
		touch(data, size, si.buf_off, si.buf_len);
	}

	rc = rndis_parse_keepalive(data, size, &rid);
	CHECK(known_rc(rc));
	if (rc == 0) {
		CHECK(rndis_build_keepalive_cmplt(b, sizeof(b), rid, RNDIS_STATUS_SUCCESS) == 16);
		CHECK(rndis_parse_keepalive_cmplt(b, 16, &ci) == 0 && ci.rid == rid);
	}
}

static void objects(const uint8_t *data, size_t size)
{
	struct ndis_offload oc;
	struct ndis_rss_caps_info rc_info;
	struct ndis_link_state ls;
	int rc;

	rc = ndis_parse_offload_caps(data, size, &oc);
	CHECK(known_rc(rc));
	if (rc == 0)
		CHECK(oc.hdr.size >= NDIS_OFFLOAD_SIZE_REV_1 && oc.hdr.size <= size);
	rc = ndis_parse_rss_caps(data, size, &rc_info);
	CHECK(known_rc(rc));
	/* the table size is the host's to say (the caller checks it); only a
	 * revision 2 object of the full size says it */
	if (rc == 0 && rc_info.num_indirection)
		CHECK(size >= NDIS_RSS_CAPS_SIZE_REV_2);
	CHECK(known_rc(ndis_parse_link_state(data, size, &ls)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rndis_hdr_info h;
	struct rndis_rx_info r;
	int rc;

	rc = rndis_parse_hdr(data, size, &h);
	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc == 0)
		CHECK(h.msg_len >= 8 && h.msg_len <= size);

	packet(data, size);
	rc = rndis_parse_ppi(data, size, &r);
	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc == 0)
		CHECK((uint64_t)r.ppi_count * 16 <= size);
	control(data, size);
	objects(data, size);
	builder(data, size);
	return 0;
}
