/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: every NVSP parser on one host message, with the
 * guest-side limits a few different ways, plus the properties a caller
 * relies on when a parser says 0 (results inside the bounds it was given)
 * and builder -> parser round trips where both exist.
 *
 * The input is the NVSP message itself, so a seed is a plain message.
 * libFuzzer hands over an exact-size heap copy: any read past the message
 * is an ASan report.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"

static int known_rc(int rc)
{
	return rc == 0 || rc == -EBADMSG || rc == -EPROTO;
}

static void rxbuf(const uint8_t *data, size_t size, uint64_t bufsz)
{
	struct nvsp_rxbuf_info r;
	int rc = nvsp_parse_rxbuf_conn_comp(data, size, bufsz, &r);

	CHECK(known_rc(rc));
	if (rc || r.status != NVSP_STATUS_SUCCESS)
		return;
	CHECK(r.section_size >= NETVSC_MIN_SECTION_SIZE && r.section_count >= 1);
	CHECK((uint64_t)r.section_size * r.section_count <= bufsz);
}

static void chim(const uint8_t *data, size_t size, uint64_t bufsz)
{
	struct nvsp_chim_info r;
	int rc = nvsp_parse_chim_conn_comp(data, size, bufsz, &r);

	CHECK(known_rc(rc));
	if (rc || r.status != NVSP_STATUS_SUCCESS)
		return;
	CHECK(r.section_size > 0 && r.section_size <= bufsz);
	CHECK((uint64_t)r.section_size * r.section_count <= bufsz);
	CHECK(r.section_count == 0 || r.section_size >= NETVSC_MIN_SECTION_SIZE);
}

static void send_table(const uint8_t *data, size_t size, uint32_t ver, uint32_t nchan)
{
	struct nvsp_send_table_info r;
	int rc = nvsp_parse_send_table(data, size, ver, nchan, &r);

	CHECK(known_rc(rc));
	if (rc)
		return;
	CHECK(r.offset >= sizeof(struct nvsp_send_table));
	CHECK((uint64_t)r.offset + NVSP_SEND_TABLE_SIZE * 4 <= size);
	CHECK(memcmp(r.entry, data + r.offset, sizeof(r.entry)) == 0);
	for (unsigned int i = 0; nchan && i < NVSP_SEND_TABLE_SIZE; i++)
		CHECK(r.entry[i] < nchan);
}

/* A parsed message a builder can make again must come back the same. */
static void roundtrips(const uint8_t *data, size_t size)
{
	uint8_t b[NVSP_MSG_SIZE];
	struct nvsp_rndis_pkt_info p, p2;
	uint32_t v, v2;

	if (nvsp_parse_rndis_pkt(data, size, &p) == 0 &&
	    nvsp_build_rndis_pkt(b, sizeof(b), p.channel_type, p.section_index, p.section_size) > 0) {
		CHECK(nvsp_parse_rndis_pkt(b, sizeof(b), &p2) == 0);
		CHECK(memcmp(&p, &p2, sizeof(p)) == 0);
	}
	if (nvsp_parse_rndis_pkt_comp(data, size, &v) == 0) {
		CHECK(nvsp_build_rndis_pkt_comp(b, sizeof(b), v) == 8);
		CHECK(nvsp_parse_rndis_pkt_comp(b, 8, &v2) == 0 && v2 == v);
	}
	if (nvsp_parse_switch_data_path(data, size, &v) == 0) {
		CHECK(nvsp_build_switch_data_path(b, sizeof(b), v) == NVSP_MSG_SIZE);
		CHECK(nvsp_parse_switch_data_path(b, sizeof(b), &v2) == 0 && v2 == v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nvsp_init_info ii;
	struct nvsp_rndis_pkt_info pi;
	struct nvsp_subch_info si;
	struct nvsp_vf_info vi;
	struct vmbus_pkt pkt;
	uint32_t type = 0, v, req;
	int rc, trc;

	trc = nvsp_msg_type(data, size, &type);
	CHECK(trc == 0 || trc == -EBADMSG || trc == -ENOMSG);

	/* A length nvsp_msg_type accepts is enough for the fixed parsers. */
	rc = nvsp_parse_init_comp(data, size, &ii);
	CHECK(known_rc(rc) && (trc || type != NVSP_MSG_INIT_COMP || rc == 0));
	rc = nvsp_parse_rndis_pkt(data, size, &pi);
	CHECK(known_rc(rc) && (trc || type != NVSP_MSG_RNDIS_PKT || rc == 0));
	rc = nvsp_parse_rndis_pkt_comp(data, size, &v);
	CHECK(known_rc(rc) && (trc || type != NVSP_MSG_RNDIS_PKT_COMP || rc == 0));
	rc = nvsp_parse_vf_assoc(data, size, &vi);
	CHECK(known_rc(rc) && (trc || type != NVSP_MSG_VF_ASSOC || rc == 0));
	rc = nvsp_parse_switch_data_path(data, size, &v);
	CHECK(known_rc(rc));

	rxbuf(data, size, 16u << 20);
	rxbuf(data, size, 0);
	rxbuf(data, size, UINT32_MAX);
	rxbuf(data, size, UINT64_MAX);
	chim(data, size, 16u << 20);
	chim(data, size, 0);
	chim(data, size, UINT64_MAX);

	/* Requested counts from the message length: 0 .. 63. */
	req = (uint32_t)(size % NVSP_MAX_CHANNELS);
	rc = nvsp_parse_subch_comp(data, size, req, &si);
	CHECK(known_rc(rc));
	if (rc == 0)
		CHECK(si.count <= req && (si.status == NVSP_STATUS_SUCCESS || si.count == 0));

	send_table(data, size, NVSP_VERSION_5, 0);
	send_table(data, size, NVSP_VERSION_6, 8);
	send_table(data, size, NVSP_VERSION_61, 64);

	/* The same bytes as the in-band part of a receive packet. */
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = VMBUS_PKT_DATA_XFER_PAGES;
	pkt.xfer_pageset_id = NVSP_RXBUF_ID;
	pkt.data = data;
	pkt.len = (uint32_t)size;
	rc = nvsp_parse_xfer(&pkt, &pi);
	CHECK(known_rc(rc));

	/* Consecutive (count, offset) pairs as transfer ranges. */
	for (size_t off = 0; off + sizeof(struct vmbus_xfer_range) <= size && off < 64; off += 8) {
		struct vmbus_xfer_range rg;

		memcpy(&rg, data + off, sizeof(rg));
		rc = nvsp_check_range(&rg, 1u << 20, 1806);
		CHECK(rc == 0 || rc == -EBADMSG);
		if (rc == 0)
			CHECK(rg.byte_count && rg.byte_count <= 1806 &&
			      (uint64_t)rg.byte_offset + rg.byte_count <= (1u << 20));
	}

	roundtrips(data, size);
	return 0;
}
