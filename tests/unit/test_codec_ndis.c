/* SPDX-License-Identifier: MIT */
/*
 * The NDIS objects of the codec (codec_ndis.c): the RSS and offload
 * parameters the guest builds, and the capabilities and link state the
 * host answers, built by hand from proto.h structs, each rejection at its
 * boundary.
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
/* NDIS objects                                                              */
/* ======================================================================== */

static void test_ndis_rss_params(void **state)
{
	uint32_t itab[NDIS_RSS_ITAB_MAX];
	uint8_t key[NDIS_RSS_KEY_SIZE], b[1200];

	(void)state;
	for (unsigned int i = 0; i < NDIS_RSS_ITAB_MAX; i++)
		itab[i] = i % 4;
	for (unsigned int i = 0; i < NDIS_RSS_KEY_SIZE; i++)
		key[i] = (uint8_t)(0x6d + i);
	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), NDIS_RSS_FLAG_NONE,
					       NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4, itab,
					       128, key),
			 592);
	assert_junk(b, 592, sizeof(b));
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
	assert_memory_equal(b + 40, itab, 512);
	assert_memory_equal(b + 552, key, sizeof(key));

	/* A host with 256 entries gets a table of 256: the key moves along. */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), NDIS_RSS_FLAG_NONE,
					       NDIS_HASH_FUNCTION_TOEPLITZ, itab, 256, key),
			 1104);
	assert_junk(b, 1104, sizeof(b));
	assert_int_equal(get32(b, 12), 1024);
	assert_int_equal(get32(b, 16), 40);
	assert_int_equal(get32(b, 24), 1064);
	assert_memory_equal(b + 40, itab, 1024);
	assert_memory_equal(b + 1064, key, sizeof(key));

	/* Disabling carries the same table and key, only the flag differs
	 * (Linux fills the disable request in). */
	memset(b, JUNK, sizeof(b));
	assert_int_equal(ndis_build_rss_params(b, 592, NDIS_RSS_FLAG_DISABLE,
					       NDIS_HASH_FUNCTION_TOEPLITZ, itab, 128, key),
			 592);
	assert_int_equal(get32(b, 4), NDIS_RSS_FLAG_DISABLE);
	assert_memory_equal(b + 40, itab, 512);
	assert_memory_equal(b + 552, key, sizeof(key));
	/* NULL table and key: zeros */
	assert_int_equal(ndis_build_rss_params(b, 592, NDIS_RSS_FLAG_DISABLE, 0, NULL, 128, NULL),
			 592);
	assert_zero(b, 40, 592);
	assert_int_equal(ndis_build_rss_params(b, 591, 0, 0, NULL, 128, NULL), -ENOBUFS);
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, 0, key), -EINVAL);
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, 257, key), -EINVAL);
	itab[77] = NVSP_MAX_CHANNELS;
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, 128, key), -EINVAL);
	itab[77] = NVSP_MAX_CHANNELS - 1;
	assert_int_equal(ndis_build_rss_params(b, sizeof(b), 0, 0, itab, 128, key), 592);
	assert_int_equal(ndis_build_rss_params(NULL, sizeof(b), 0, 0, itab, 128, key), -EINVAL);
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

	/* The indirection size as the host gives it (the attach applies
	 * Linux's rule: up to 256, else 128). */
	m.num_indirection = 1;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.num_indirection, 1);
	m.num_indirection = 256;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.num_indirection, 256);
	m.num_indirection = 0;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.num_indirection, 0);
	m.num_indirection = 0xFFFF;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), 0);
	assert_int_equal(r.num_indirection, 0xFFFF);
	/* A revision 2 object must carry the field. */
	m.num_indirection = 128;
	m.hdr.size = 17;
	assert_int_equal(ndis_parse_rss_caps(&m, 18, &r), -EBADMSG);

	/* Revision 1: 16 bytes, no size said. */
	m.hdr = ndis_obj_hdr(NDIS_OBJTYPE_RSS_CAPS, 1, NDIS_RSS_CAPS_SIZE_REV_1);
	m.num_indirection = 3; /* not part of a revision 1 object */
	assert_int_equal(ndis_parse_rss_caps(&m, 16, &r), 0);
	assert_int_equal(r.num_indirection, 0);
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
static void test_ndis_null_args(void **state)
{
	uint8_t b[64] = { 0 };

	(void)state;
	assert_int_equal(ndis_parse_offload_caps(b, 64, NULL), -EINVAL);
	assert_int_equal(ndis_parse_rss_caps(NULL, 64, &(struct ndis_rss_caps_info){ 0 }), -EINVAL);
	assert_int_equal(ndis_parse_link_state(b, 64, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndis_rss_params),
		cmocka_unit_test(test_ndis_offload_params),
		cmocka_unit_test(test_ndis_offload_caps),
		cmocka_unit_test(test_ndis_rss_caps),
		cmocka_unit_test(test_ndis_link_state),
		cmocka_unit_test(test_ndis_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
