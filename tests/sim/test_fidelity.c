/* SPDX-License-Identifier: MIT */
/*
 * vmbus-hostsim refuses what real hosts refuse: for every check a scripted
 * guest does the wrong thing and gets the error a host gives (a FAILURE
 * completion, an RNDIS status, or a channel the host stops serving, with
 * the reason and its source in the log), and does the right thing next to
 * it to show the check refuses no more than that.  Then the host variants
 * (--rss-table, --old-send-table, --reply-delay) and the guest memory the
 * host reaches by page number, and the tree it builds: a real guest's.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <genframe.h>

#include "guest.h"

/* The host stopped serving the primary channel, and its log says why. */
static void expect_stopped(struct guest *g, const char *why)
{
	assert_true(sim_wait_stats(&g->sim, "(stopped)", WAIT_MS));
	assert_true(sim_log_has(&g->sim, why, WAIT_MS));
}

static void ndis_config(struct guest *g, uint32_t mtu)
{
	struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = mtu + 14 };

	send_nvsp(g, g->c, &cfg, sizeof(cfg), false);
}

static void ndis_version(struct guest *g)
{
	struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6, .ndis_minor = 30 };

	send_nvsp(g, g->c, &ver, sizeof(ver), false);
}

static void recv_buffer(struct guest *g)
{
	struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN, .gpadl = g->info.recv_gpadl,
				      .id = NVSP_RXBUF_ID };
	struct nvsp_rxbuf_conn_comp rc;
	struct vmbus_pkt pkt;

	request(g, &rx, sizeof(rx), &pkt);
	memcpy(&rc, pkt.data, sizeof(rc));
	assert_int_equal(rc.status, NVSP_STATUS_SUCCESS);
	g->slot_size = rc.sections[0].sub_alloc_size;
}

/* An RNDIS INITIALIZE request, in send section 0. */
static void rndis_init_in_section(struct guest *g)
{
	struct rndis_init_req r = { .type = RNDIS_MSG_INIT, .len = sizeof(r), .rid = g->rid++,
				    .ver_major = 1, .max_xfer = 0x4000 };

	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 0, &r, sizeof(r));
}

/* ------------------------------------------------------------------------ */
/* signalling                                                                */
/* ------------------------------------------------------------------------ */

/* Writes @msg (padded to 40 bytes) into the guest-to-host ring and
 * publishes it, without signalling the host. */
static void put_silently(struct vmbus_chan *c, const void *msg, size_t len, uint64_t tid)
{
	struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2,
				    .len8 = (16 + NVSP_MSG_SIZE) / 8,
				    .flags = VMBUS_PKT_FLAG_COMPLETION_REQUESTED, .trans_id = tid };
	uint8_t m[NVSP_MSG_SIZE] = { 0 };
	struct iovec iov[2] = { { &d, sizeof(d) }, { m, sizeof(m) } };

	memcpy(m, msg, len);
	assert_int_equal(vmbus_ring_write(vmbus_chan_tx_ring(c), iov, 2), 0);
	/* the ring was empty and the host's mask clear: a signal is due */
	assert_int_equal(vmbus_ring_write_commit(vmbus_chan_tx_ring(c)), 1);
}

/*
 * The host waits for the guest's signal from the open on: its mask on the
 * guest-to-host ring is clear, and a packet the guest never signals is
 * never read.  Its signal then brings the answer.
 */
static void test_guest_must_signal(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_init m = { .type = NVSP_MSG_INIT, .ver_min = NVSP_VERSION_61,
			       .ver_max = NVSP_VERSION_61 };
	struct vmbus_pkt pkt;

	(void)state;
	assert_int_equal(vmbus_ring_hdr(vmbus_chan_tx_ring(g->c))->interrupt_mask, 0);
	put_silently(g->c, &m, sizeof(m), 7);
	/* an observation window, not synchronisation: nothing may come */
	assert_int_equal(vmbus_chan_wait(g->c, 300), -ETIMEDOUT);
	assert_int_equal(vmbus_chan_recv(g->c, g->buf, sizeof(g->buf), &pkt), -EAGAIN);
	assert_int_equal(vmbus_chan_signal(g->c), 0);
	assert_true(recv_pkt(g, g->c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_COMPLETION);
	assert_true(pkt.tid == 7);
}

/* ------------------------------------------------------------------------ */
/* NVSP order (OpenVMM: initialize(), then the main loop)                    */
/* ------------------------------------------------------------------------ */

/* An RNDIS packet before the NDIS version ends the service. */
static void test_rndis_before_ndis_version(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	ndis_config(g, 1500);
	recv_buffer(g);
	rndis_init_in_section(g);
	expect_stopped(g, "an RNDIS packet before the NDIS version (OpenVMM: UnexpectedRndisPacket)");
}

/* From NVSP 2 the receive buffer needs the NDIS configuration first. */
static void test_recv_buffer_before_ndis_config(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN, .gpadl = g->info.recv_gpadl,
				      .id = NVSP_RXBUF_ID };

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	ndis_version(g);
	send_nvsp(g, g->c, &rx, sizeof(rx), true);
	expect_stopped(g, "receive buffer refused");
}

/* With the version, configuration and receive buffer, the RNDIS packet
 * that ends initialisation may come before the send buffer; it may not
 * name a send section then: none is connected. */
static void test_control_in_section_without_send_buffer(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	ndis_config(g, 1500);
	ndis_version(g);
	recv_buffer(g);
	rndis_init_in_section(g);
	expect_stopped(g, "no send buffer connected (OpenVMM: InvalidSendBufferIndex)");
}

/* Only the initialisation messages during initialisation: a subchannel
 * request before the buffers ends the service. */
static void test_message_during_initialisation(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_subch_req r = { .type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOCATE,
				    .num_subchannels = 1 };

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	ndis_config(g, 1500);
	send_nvsp(g, g->c, &r, sizeof(r), true);
	expect_stopped(g, "during initialisation (OpenVMM: InvalidPacketData)");
}

/* And none of them again once it is over. */
static void test_initialisation_message_after_it(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	nic_up(g, 1500);
	ndis_config(g, 1500);
	expect_stopped(g, "after initialisation (OpenVMM main loop: unexpected packet)");
}

/* Initialisation at NVSP @version (2 or later), every step of it. */
static void nvsp_attach_at(struct guest *g, uint32_t version)
{
	struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = 1514 };
	struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6, .ndis_minor = 1 };
	struct nvsp_chim_conn tx = { .type = NVSP_MSG_CHIM_CONN, .gpadl = g->info.send_gpadl,
				     .id = NVSP_CHIM_ID };
	struct vmbus_pkt pkt;

	assert_int_equal(nvsp_init(g, version), NVSP_STATUS_SUCCESS);
	send_nvsp(g, g->c, &cfg, sizeof(cfg), false);
	send_nvsp(g, g->c, &ver, sizeof(ver), false);
	recv_buffer(g);
	request(g, &tx, sizeof(tx), &pkt);
}

/* OID_QUERY_EX is an NVSP 5 message: below it, the host does not know it. */
static void test_oid_query_ex_below_nvsp5(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t q[4] = { NVSP_MSG_OID_QUERY_EX, RNDIS_OID_GEN_LINK_SPEED };

	(void)state;
	nvsp_attach_at(g, NVSP_VERSION_4);
	send_nvsp(g, g->c, q, sizeof(q), true);
	expect_stopped(g, "OID_QUERY_EX below NVSP 5 (OpenVMM parse_packet: UnknownType)");
}

/* The other messages of later versions, below them (OpenVMM parse_packet):
 * NDIS configuration below NVSP 2, a data path switch below 4, a
 * subchannel request below 5. */
static void test_ndis_config_below_nvsp2(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_1), NVSP_STATUS_SUCCESS);
	ndis_config(g, 1500);
	expect_stopped(g, "NDIS configuration below NVSP 2 (OpenVMM: UnknownType)");
}

static void test_switch_data_path_below_nvsp4(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t sw[2] = { NVSP_MSG_SWITCH_DATA_PATH, 0 };

	(void)state;
	nvsp_attach_at(g, NVSP_VERSION_2);
	send_nvsp(g, g->c, sw, sizeof(sw), true);
	expect_stopped(g, "a data path switch below NVSP 4 (OpenVMM: UnknownType)");
}

static void test_subchannel_request_below_nvsp5(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t sub[3] = { NVSP_MSG_SUBCH, 1, 1 };

	(void)state;
	nvsp_attach_at(g, NVSP_VERSION_4);
	send_nvsp(g, g->c, sub, sizeof(sub), true);
	expect_stopped(g, "a subchannel request below NVSP 5 (OpenVMM: UnknownType)");
}

/* A completion naming no receive batch or control slot the guest holds
 * (OpenVMM: InvalidRndisPacketCompletion). */
static void test_unknown_completion(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	nic_up(g, 1500);
	complete_rx(g, g->c, 999999);
	expect_stopped(g, "completion for unknown receive transaction 999999 (OpenVMM: "
			  "InvalidRndisPacketCompletion)");
}

/* After a buffer revoke the host serves nothing more (OpenVMM's worker
 * ends at BufferRevoked): what comes next is never answered. */
static void test_message_after_revoke(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t revoke[2] = { NVSP_MSG_RXBUF_REVOKE, NVSP_RXBUF_ID };
	uint32_t q[4] = { NVSP_MSG_OID_QUERY_EX, RNDIS_OID_GEN_LINK_SPEED };
	struct vmbus_pkt pkt;

	(void)state;
	nic_up(g, 1500);
	send_nvsp(g, g->c, revoke, sizeof(revoke), false);
	expect_stopped(g, "the guest revoked its buffers");
	send_nvsp(g, g->c, q, sizeof(q), true);
	/* an observation window, not synchronisation: no answer may come */
	assert_int_equal(vmbus_chan_wait(g->c, 300), -ETIMEDOUT);
	assert_int_equal(vmbus_chan_recv(g->c, g->buf, sizeof(g->buf), &pkt), -EAGAIN);
}

/* From NVSP 5 it is answered: not supported (an RNDIS status, as netvsp). */
static void test_oid_query_ex_nvsp5(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t q[4] = { NVSP_MSG_OID_QUERY_EX, RNDIS_OID_GEN_LINK_SPEED };
	struct nvsp_rndis_pkt_comp c;
	struct vmbus_pkt pkt;

	(void)state;
	nvsp_attach(g, 1500);
	request(g, q, sizeof(q), &pkt);
	memcpy(&c, pkt.data, sizeof(c));
	assert_int_equal(c.type, NVSP_MSG_OID_QUERY_EX_COMP);
	assert_int_equal(c.status, RNDIS_STATUS_NOT_SUPPORTED);
}

/* ------------------------------------------------------------------------ */
/* RNDIS                                                                     */
/* ------------------------------------------------------------------------ */

/* QUERY with @in_len bytes of @in as its input; returns the status. */
static uint32_t query_with_input(struct guest *g, uint32_t oid, const void *in, uint32_t in_len,
				 uint32_t info_offset)
{
	uint8_t msg[256], out[2048];
	struct rndis_query_req q = { .type = RNDIS_MSG_QUERY,
				     .len = (uint32_t)sizeof(q) + in_len,
				     .rid = g->rid++,
				     .oid = oid,
				     .info_len = in_len,
				     .info_offset = info_offset };
	struct rndis_query_cmplt c;

	memcpy(msg, &q, sizeof(q));
	if (in_len)
		memcpy(msg + sizeof(q), in, in_len);
	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 1, msg, q.len);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	recv_control(g, out, sizeof(out));
	memcpy(&c, out, sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_QUERY_CMPLT);
	assert_int_equal(c.rid, q.rid);
	return c.status;
}

/* A capability query carries its object whole, or gets INVALID_DATA. */
static void test_query_input_checked(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct ndis_rss_caps rss;
	struct ndis_offload off;

	(void)state;
	nic_up(g, 1500);
	memset(&rss, 0, sizeof(rss));
	rss.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
	rss.hdr.revision = NDIS_RSS_CAPS_REV_2;
	rss.hdr.size = NDIS_RSS_CAPS_SIZE_REV_2;
	/* the whole zeroed object (Linux, DPDK, FreeBSD): answered */
	assert_int_equal(query_with_input(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rss,
					  NDIS_RSS_CAPS_SIZE_REV_2, 20),
			 RNDIS_STATUS_SUCCESS);
	/* no input: answered (netvsp reads none) */
	assert_int_equal(query_with_input(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL, 0, 20),
			 RNDIS_STATUS_SUCCESS);
	/* only the header, which says 18 bytes: refused */
	assert_int_equal(query_with_input(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rss, 4, 20),
			 RNDIS_STATUS_INVALID_DATA);
	/* another object's type */
	rss.hdr.type = NDIS_OBJTYPE_OFFLOAD;
	assert_int_equal(query_with_input(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rss,
					  NDIS_RSS_CAPS_SIZE_REV_2, 20),
			 RNDIS_STATUS_INVALID_DATA);
	/* input said to lie beyond the message */
	rss.hdr.type = NDIS_OBJTYPE_RSS_CAPS;
	assert_int_equal(query_with_input(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &rss,
					  NDIS_RSS_CAPS_SIZE_REV_2, 64),
			 RNDIS_STATUS_INVALID_DATA);
	/* the offload object, whole at revision 3 or 1, but not cut short */
	memset(&off, 0, sizeof(off));
	off.hdr.type = NDIS_OBJTYPE_OFFLOAD;
	off.hdr.revision = NDIS_OFFLOAD_REV_3;
	off.hdr.size = NDIS_OFFLOAD_SIZE_REV_3;
	assert_int_equal(query_with_input(g, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &off,
					  NDIS_OFFLOAD_SIZE_REV_3, 20),
			 RNDIS_STATUS_SUCCESS);
	off.hdr.revision = NDIS_OFFLOAD_REV_1;
	off.hdr.size = NDIS_OFFLOAD_SIZE_REV_1;
	assert_int_equal(query_with_input(g, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &off,
					  NDIS_OFFLOAD_SIZE_REV_1, 20),
			 RNDIS_STATUS_SUCCESS);
	off.hdr.size = NDIS_OFFLOAD_SIZE_REV_3;
	assert_int_equal(query_with_input(g, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, &off, 4,
					  20),
			 RNDIS_STATUS_INVALID_DATA);
}

/* SET of RSS parameters with @hash_info, a 128-entry table over 1 queue. */
static uint32_t set_rss(struct guest *g, uint16_t flags, uint32_t hash_info)
{
	uint8_t p[NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_ENTRIES)];
	struct ndis_rss_params h;

	memset(p, 0, sizeof(p));
	memset(&h, 0, sizeof(h));
	h.hdr.type = NDIS_OBJTYPE_RSS_PARAMS;
	h.hdr.revision = NDIS_RSS_PARAMS_REV_2;
	h.hdr.size = sizeof(h);
	h.flags = flags;
	h.hash_info = hash_info;
	h.itab_size = 4 * NDIS_RSS_ITAB_ENTRIES;
	h.itab_offset = sizeof(h);
	h.key_size = NDIS_RSS_KEY_SIZE;
	h.key_offset = sizeof(h) + 4 * NDIS_RSS_ITAB_ENTRIES;
	memcpy(p, &h, sizeof(h));
	return rndis_set(g, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, p, sizeof(p));
}

/* Hyper-V answers STATUS_INVALID_PARAMETER to Toeplitz without a hash
 * type it knows (DPDK PR #43). */
static void test_rss_hash_types_checked(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(set_rss(g, 0, NDIS_HASH_FUNCTION_TOEPLITZ), 0xC000000Du);
	assert_int_equal(set_rss(g, 0, NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4 | 0x00800000),
			 0xC000000Du);
	assert_int_equal(set_rss(g, 0, 0x2 | NDIS_HASH_TCP_IPV4), 0xC000000Du);
	assert_true(sim_wait_stats(&g->sim, "rss off", WAIT_MS));
	assert_int_equal(set_rss(g, 0, NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_IPV4 |
					       NDIS_HASH_TCP_IPV4 | NDIS_HASH_UDP_IPV4),
			 RNDIS_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "rss on, guest table 128 entries", WAIT_MS));
	/* disabling needs no hash type; an empty request is counted */
	assert_int_equal(set_rss(g, NDIS_RSS_FLAG_DISABLE, 0), RNDIS_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "disables 1 (empty 1)", WAIT_MS));
}

/* SET of RSS parameters: @entries table entries all @value, a key of
 * @key_size bytes, Toeplitz over TCP/IPv4. */
static uint32_t set_rss_table(struct guest *g, uint32_t entries, uint32_t value, uint32_t key_size)
{
	uint8_t p[NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_ENTRIES)];
	struct ndis_rss_params h;
	uint32_t i;

	memset(p, 0, sizeof(p));
	memset(&h, 0, sizeof(h));
	h.hdr.type = NDIS_OBJTYPE_RSS_PARAMS;
	h.hdr.revision = NDIS_RSS_PARAMS_REV_2;
	h.hdr.size = sizeof(h);
	h.hash_info = NDIS_HASH_FUNCTION_TOEPLITZ | NDIS_HASH_TCP_IPV4;
	h.itab_size = 4 * entries;
	h.itab_offset = sizeof(h);
	h.key_size = key_size;
	h.key_offset = sizeof(h) + 4 * NDIS_RSS_ITAB_ENTRIES;
	memcpy(p, &h, sizeof(h));
	for (i = 0; i < entries && i < NDIS_RSS_ITAB_ENTRIES; i++)
		memcpy(p + sizeof(h) + 4 * i, &value, 4);
	return rndis_set(g, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, p, sizeof(p));
}

/* OpenVMM oid_set_rss_parameters: a 40-byte key, a table of whole entries
 * (a multiple of 4 bytes, not empty), each naming a queue the host has;
 * else INVALID_DATA. */
static void test_rss_parameters_checked(void **state)
{
	struct guest *g = guest_new("--queues", "4", NULL);

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(set_rss_table(g, 128, 0, 20), RNDIS_STATUS_INVALID_DATA);
	assert_int_equal(set_rss_table(g, 0, 0, NDIS_RSS_KEY_SIZE), RNDIS_STATUS_INVALID_DATA);
	assert_int_equal(set_rss_table(g, 128, 4, NDIS_RSS_KEY_SIZE), RNDIS_STATUS_INVALID_DATA);
	assert_true(sim_wait_stats(&g->sim, "rss off", WAIT_MS));
	assert_int_equal(set_rss_table(g, 128, 3, NDIS_RSS_KEY_SIZE), RNDIS_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "rss on, guest table 128 entries", WAIT_MS));
}

/* RNDIS RESET (and SET_EX, INDICATE) from the guest: netvsp implements
 * none, and its worker ends (RndisMessageTypeNotImplemented). */
static void test_rndis_reset(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t reset[3] = { RNDIS_MSG_RESET, 12, 0 };

	(void)state;
	nic_up(g, 1500);
	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 1, reset, sizeof(reset));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	expect_stopped(g, "RNDIS message type 0x6 from the guest (OpenVMM: "
			  "RndisMessageTypeNotImplemented)");
}

/* Sends @n frames as RNDIS packets concatenated in one message. */
static void send_frames_in_one(struct guest *g, uint32_t section, unsigned int n)
{
	uint8_t msg[6144];
	uint32_t off = 0, len = 60;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = sizeof(pk) + 64,
					   .data_offset = sizeof(pk) - 8, .data_len = len };

		memset(msg + off, 0, pk.len);
		memcpy(msg + off, &pk, sizeof(pk));
		make_frame(g, msg + off + sizeof(pk), len, i);
		off += pk.len;
	}
	send_rndis(g, g->c, NVSP_CHANNEL_DATA, section, msg, off);
}

/* No more RNDIS packets per message than INIT_CMPLT announced (8). */
static void test_packets_per_message(void **state)
{
	struct guest *g = guest_new("--wire", "sink", NULL);

	(void)state;
	nic_up(g, 1500);
	send_frames_in_one(g, 10, 8);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "tx 8 frames", WAIT_MS));
	send_frames_in_one(g, 11, 9);
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	/* none of the nine went out */
	assert_true(sim_wait_stats(&g->sim, "tx 8 frames", WAIT_MS));
}

/* A packet that asks for no completion is not taken (OpenVMM:
 * MissingTransactionId): its frame never leaves. */
static void test_rndis_packet_without_completion(void **state)
{
	struct guest *g = guest_new("--wire", "sink", NULL);
	struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = sizeof(pk) + 60,
				   .data_offset = sizeof(pk) - 8, .data_len = 60 };
	struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT, .channel_type = NVSP_CHANNEL_DATA,
				    .section_index = 12, .section_size = sizeof(pk) + 60 };
	uint8_t *sec;

	(void)state;
	nic_up(g, 1500);
	sec = (uint8_t *)g->info.send_buf + 12 * 6144;
	memcpy(sec, &pk, sizeof(pk));
	make_frame(g, sec + sizeof(pk), 60, 1);
	send_nvsp(g, g->c, &m, sizeof(m), false);
	/* then one that asks: only its frame goes out */
	send_frame(g, g->c, 13, sec + sizeof(pk), 60);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "tx 1 frames", WAIT_MS));
}

/*
 * The hash PPI of the receive slot at @off: its value, or -1 if none.
 * (The host is ours: the slot's layout is trusted here.)
 */
static int64_t slot_hash(struct guest *g, uint32_t off)
{
	const uint8_t *s = (const uint8_t *)g->info.recv_buf + off;
	struct rndis_packet pk;
	uint32_t p, end;

	memcpy(&pk, s, sizeof(pk));
	assert_int_equal(pk.type, RNDIS_MSG_PACKET);
	p = RNDIS_PACKET_OFFSET_BASE + pk.ppi_offset;
	end = p + pk.ppi_len;
	while (p + sizeof(struct rndis_ppi) <= end) {
		struct rndis_ppi ppi;
		uint32_t v;

		memcpy(&ppi, s + p, sizeof(ppi));
		assert_true(ppi.size >= sizeof(ppi));
		if (ppi.type == RNDIS_PPI_HASH_VALUE) {
			memcpy(&v, s + p + ppi.offset, sizeof(v));
			return v;
		}
		p += ppi.size;
	}
	return -1;
}

/*
 * Frames still waiting for receive slots when RSS comes on leave with the
 * Toeplitz hash of their addresses and ports, as those that come after.
 */
static void test_rss_on_while_frames_wait(void **state)
{
	/* 36 slots of 1806 bytes: 16 for control, 20 for data */
	struct guest *g = guest_new("--recv-buf", "65536", NULL);
	static const uint8_t key[NDIS_RSS_KEY_SIZE] = NDIS_RSS_KEY_DEFAULT;
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	uint64_t held[20];
	unsigned int nheld = 0, got = 0, hashed = 0, comps = 0, i, m;
	struct vmbus_pkt pkt;

	(void)state;
	nic_up(g, 1500);
	/* 32 IPv4/UDP frames in 4 messages; 20 fit the slots, 12 wait */
	for (m = 0; m < 4; m++) {
		uint8_t msg[8 * 128];
		uint32_t off = 0;

		for (i = 0; i < 8; i++) {
			struct rndis_packet pk = { .type = RNDIS_MSG_PACKET,
						   .len = sizeof(pk) + 64,
						   .data_offset = sizeof(pk) - 8,
						   .data_len = 64 };

			memset(msg + off, 0, pk.len);
			memcpy(msg + off, &pk, sizeof(pk));
			genframe_ipv4_udp(msg + off + sizeof(pk), 64, peer, g->mac,
					  10u << 24 | (m * 8 + i), 10u << 24 | 1u,
					  (uint16_t)(1000 + m * 8 + i), 9);
			off += pk.len;
		}
		send_rndis(g, g->c, NVSP_CHANNEL_DATA, 20 + m, msg, off);
	}
	/* take the 20 without completing them, and the 4 send completions */
	while (got < 20 || comps < 4) {
		assert_true(recv_pkt(g, g->c, &pkt) >= 0);
		if (pkt.type == VMBUS_PKT_COMPLETION) {
			comps++;
			continue;
		}
		assert_int_equal(pkt.type, VMBUS_PKT_DATA_XFER_PAGES);
		assert_true(nheld < 20);
		held[nheld++] = pkt.tid;
		for (i = 0; i < pkt.xfer_range_cnt; i++)
			assert_int_equal(slot_hash(g, pkt.xfer_ranges[i].byte_offset), -1);
		got += pkt.xfer_range_cnt;
	}
	assert_int_equal(got, 20);
	assert_true(sim_wait_stats(&g->sim, "12 waiting", WAIT_MS));
	/* RSS on: the default key, every table entry queue 0 */
	{
		uint8_t p[NDIS_RSS_PARAMS_TOEPLITZ_SIZE(NDIS_RSS_ITAB_ENTRIES)];
		struct ndis_rss_params h = { .hdr = { NDIS_OBJTYPE_RSS_PARAMS,
						      NDIS_RSS_PARAMS_REV_2, sizeof(h) },
					     .hash_info = NDIS_HASH_FUNCTION_TOEPLITZ |
							  NDIS_HASH_IPV4 | NDIS_HASH_TCP_IPV4,
					     .itab_size = 4 * NDIS_RSS_ITAB_ENTRIES,
					     .itab_offset = sizeof(h),
					     .key_size = NDIS_RSS_KEY_SIZE,
					     .key_offset = sizeof(h) + 4 * NDIS_RSS_ITAB_ENTRIES };

		memset(p, 0, sizeof(p));
		memcpy(p, &h, sizeof(h));
		memcpy(p + h.key_offset, key, sizeof(key));
		assert_int_equal(rndis_set(g, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, p, sizeof(p)),
				 RNDIS_STATUS_SUCCESS);
	}
	assert_true(sim_wait_stats(&g->sim, "rss on", WAIT_MS));
	for (i = 0; i < nheld; i++)
		complete_rx(g, g->c, held[i]);
	/* the 12 that waited: each with its hash */
	got = 0;
	while (got < 12) {
		assert_true(recv_pkt(g, g->c, &pkt) >= 0);
		assert_int_equal(pkt.type, VMBUS_PKT_DATA_XFER_PAGES);
		for (i = 0; i < pkt.xfer_range_cnt; i++) {
			uint32_t off = pkt.xfer_ranges[i].byte_offset;
			const uint8_t *f = (const uint8_t *)g->info.recv_buf + off + 256;

			assert_int_equal(slot_hash(g, off), sim_toeplitz(key, f + 26, 12));
			hashed++;
		}
		got += pkt.xfer_range_cnt;
		complete_rx(g, g->c, pkt.tid);
	}
	assert_int_equal(hashed, 12);
}

/* ------------------------------------------------------------------------ */
/* host variants                                                             */
/* ------------------------------------------------------------------------ */

/* A host with a 256-entry table says so, and takes a table of 256. */
static void test_rss_table_256(void **state)
{
	struct guest *g = guest_new("--rss-table", "256", NULL);
	struct ndis_rss_caps caps;
	uint32_t len;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &caps, &len), 0);
	assert_int_equal(caps.num_indirection, 256);
	assert_int_equal(caps.caps, NDIS_RSS_CAP_IPV4 | NDIS_RSS_CAP_IPV6 |
					    NDIS_HASH_FUNCTION_TOEPLITZ);
	{
		uint8_t p[NDIS_RSS_PARAMS_TOEPLITZ_SIZE(256)];
		struct ndis_rss_params h = { .hdr = { NDIS_OBJTYPE_RSS_PARAMS,
						      NDIS_RSS_PARAMS_REV_2, sizeof(h) },
					     .hash_info = NDIS_HASH_FUNCTION_TOEPLITZ |
							  NDIS_HASH_TCP_IPV4,
					     .itab_size = 1024,
					     .itab_offset = sizeof(h),
					     .key_size = NDIS_RSS_KEY_SIZE,
					     .key_offset = sizeof(h) + 1024 };

		memset(p, 0, sizeof(p));
		memcpy(p, &h, sizeof(h));
		assert_int_equal(rndis_set(g, RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS, p, sizeof(p)),
				 RNDIS_STATUS_SUCCESS);
	}
	assert_true(sim_wait_stats(&g->sim, "rss on, guest table 256 entries, host table 256",
				   WAIT_MS));
}

/* Hosts up to NVSP 6 put the send table at byte 40 while its offset field
 * says 12; they do not speak NVSP 6.1. */
static void test_old_send_table(void **state)
{
	struct guest *g = guest_new("--old-send-table", NULL, NULL);
	struct nvsp_subch_req r = { .type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOCATE,
				    .num_subchannels = 1 };
	struct nvsp_send_table t;
	struct vmbus_pkt pkt;
	uint32_t e[NVSP_SEND_TABLE_SIZE], i;

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_NONE);
	assert_int_equal(nvsp_init(g, NVSP_VERSION_6), NVSP_STATUS_SUCCESS);
	ndis_config(g, 1500);
	ndis_version(g);
	recv_buffer(g);
	{
		struct nvsp_chim_conn tx = { .type = NVSP_MSG_CHIM_CONN,
					     .gpadl = g->info.send_gpadl, .id = NVSP_CHIM_ID };

		request(g, &tx, sizeof(tx), &pkt);
	}
	request(g, &r, sizeof(r), &pkt);
	assert_int_equal(vmbus_dev_open_subchans(g->dev, 1, WAIT_MS), 0);
	assert_true(recv_pkt(g, g->c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(pkt.len, 40 + 4 * NVSP_SEND_TABLE_SIZE);
	memcpy(&t, pkt.data, sizeof(t));
	assert_int_equal(t.type, NVSP_MSG_SEND_INDIRECTION_TABLE);
	assert_int_equal(t.count, NVSP_SEND_TABLE_SIZE);
	assert_int_equal(t.offset, 12);
	memcpy(e, (const uint8_t *)pkt.data + 40, sizeof(e));
	for (i = 0; i < NVSP_SEND_TABLE_SIZE; i++)
		assert_int_equal(e[i], i % 2);
	/* where the offset points: zeros first */
	memcpy(e, (const uint8_t *)pkt.data + 12, 4);
	assert_int_equal(e[0], 0);
}

/* A slow host answers each control request late, in order. */
static void test_reply_delay(void **state)
{
	struct guest *g = guest_new("--reply-delay", "1000", NULL);
	struct rndis_init_req r = { .type = RNDIS_MSG_INIT, .len = sizeof(r), .rid = g->rid++,
				    .ver_major = 1, .max_xfer = 0x4000 };
	struct rndis_init_cmplt c;

	(void)state;
	nvsp_attach(g, 1500);
	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 0, &r, sizeof(r));
	/* the NVSP completion comes at once ... */
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	/* ... the reply not (an observation window well inside the delay) */
	assert_int_equal(vmbus_chan_wait(g->c, 200), -ETIMEDOUT);
	assert_int_equal(recv_control(g, &c, sizeof(c)), sizeof(c));
	assert_int_equal(c.type, RNDIS_MSG_INIT_CMPLT);
	assert_int_equal(c.rid, r.rid);
}

/* ------------------------------------------------------------------------ */
/* the tree: a real guest's                                                  */
/* ------------------------------------------------------------------------ */

#define VMBUS_PARENT "sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00"

static void pth(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A path (or short text) into a PATH_MAX buffer; never cut short. */
static void pth(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < PATH_MAX);
}

static void real(const char *path, char *out)
{
	if (!realpath(path, out))
		fail_msg("%s does not resolve: %s", path, strerror(errno));
}

/* @path is a symbolic link that resolves to @want. */
static void expect_link(const char *path, const char *want)
{
	struct stat st;
	char got[PATH_MAX], w[PATH_MAX];

	if (lstat(path, &st) || !S_ISLNK(st.st_mode))
		fail_msg("%s is not a symbolic link", path);
	real(path, got);
	real(want, w);
	if (strcmp(got, w))
		fail_msg("%s leads to %s, not %s", path, got, w);
}

/* Every name in @names is a regular file in @dir, one line of text. */
static void expect_files(const char *dir, const char *const *names)
{
	char p[PATH_MAX], buf[4096];
	struct stat st;
	ssize_t n;
	int fd;

	for (; *names; names++) {
		pth(p, "%s/%s", dir, *names);
		if (stat(p, &st) || !S_ISREG(st.st_mode))
			fail_msg("%s is missing", p);
		if (!strcmp(*names, "ring"))
			continue;
		fd = open(p, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0 || buf[n - 1] != '\n')
			fail_msg("%s is not a line of text", p);
	}
}

static void expect_absent(const char *dir, const char *const *names)
{
	char p[PATH_MAX];
	struct stat st;

	for (; *names; names++) {
		pth(p, "%s/%s", dir, *names);
		if (lstat(p, &st) == 0)
			fail_msg("%s is there, but an unmonitored channel has none", p);
	}
}

static void expect_text(const char *path, const char *want)
{
	char buf[256] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, want))
		fail_msg("%s says \"%s\", not \"%s\"", path, buf, want);
}

static const char *const dev_attrs[] = {
	"id", "state", "class_id", "device_id", "modalias", "numa_node", "out_intr_mask",
	"out_read_index", "out_write_index", "out_read_bytes_avail", "out_write_bytes_avail",
	"in_intr_mask", "in_read_index", "in_write_index", "in_read_bytes_avail",
	"in_write_bytes_avail", "channel_vp_mapping", "vendor", "device", "driver_override",
	"uevent", "power/control", "power/runtime_status", NULL
};
static const char *const dev_monitor_attrs[] = {
	"monitor_id", "server_monitor_pending", "client_monitor_pending", "server_monitor_latency",
	"client_monitor_latency", "server_monitor_conn_id", "client_monitor_conn_id", NULL
};
static const char *const chan_attrs[] = {
	"out_mask", "in_mask", "read_avail", "write_avail", "cpu", "interrupts", "events",
	"intr_in_full", "intr_out_empty", "out_full_first", "out_full_total", "subchannel_id",
	"ring", NULL
};
static const char *const chan_monitor_attrs[] = { "pending", "latency", "monitor_id", NULL };
static const char *const uio_attrs[] = { "name", "version", "event", "dev", "uevent",
					 "power/control", NULL };
static const char *const map_attrs[] = { "name", "addr", "size", "offset", NULL };

/*
 * The device as the kernel lays it out: a directory under the VMBus ACPI
 * device with every attribute hv_vmbus gives it, the UIO device inside it,
 * and the bus, driver, class and dev/char entries links to them.
 */
static void test_tree_is_a_guests(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char dev[PATH_MAX], p[PATH_MAX], q[PATH_MAX], text[PATH_MAX];
	unsigned int k;
	struct stat st;

	(void)state;
	pth(dev, "%s/" VMBUS_PARENT "/%s", g->sim.root, g->sim.guid[0]);
	assert_int_equal(lstat(dev, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	pth(p, "%s/sys/bus/vmbus/devices/%s", g->sim.root, g->sim.guid[0]);
	expect_link(p, dev);
	pth(p, "%s/sys/bus/vmbus/drivers/hv_uio/%s", g->sim.root, g->sim.guid[0]);
	expect_link(p, dev);
	pth(p, "%s/driver", dev);
	pth(q, "%s/sys/bus/vmbus/drivers/hv_uio", g->sim.root);
	expect_link(p, q);
	pth(p, "%s/subsystem", dev);
	pth(q, "%s/sys/bus/vmbus", g->sim.root);
	expect_link(p, q);
	expect_files(dev, dev_attrs);
	expect_files(dev, dev_monitor_attrs);
	pth(p, "%s/class_id", dev);
	expect_text(p, "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n");
	pth(p, "%s/modalias", dev);
	expect_text(p, "vmbus:635161f83edfc546913ff2d2f965ed0e\n");
	pth(p, "%s/client_monitor_conn_id", dev);
	pth(text, "%u\n", 0x2000u | g->info.relid);
	expect_text(p, text);
	pth(p, "%s/channels/%u", dev, g->info.relid);
	expect_files(p, chan_attrs);
	expect_files(p, chan_monitor_attrs);

	/* the UIO device lives in the device; the class and dev/char link to it */
	pth(p, "%s/uio/uio0", dev);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	expect_files(p, uio_attrs);
	pth(q, "%s/sys/class/uio/uio0", g->sim.root);
	expect_link(q, p);
	pth(q, "%s/sys/dev/char/243:0", g->sim.root);
	expect_link(q, p);
	pth(q, "%s/device", p);
	expect_link(q, dev);
	pth(q, "%s/subsystem", p);
	{
		char cls[PATH_MAX];

		pth(cls, "%s/sys/class/uio", g->sim.root);
		expect_link(q, cls);
	}
	pth(q, "%s/dev", p);
	expect_text(q, "243:0\n");
	for (k = 0; k < 5; k++) {
		pth(q, "%s/maps/map%u", p, k);
		expect_files(q, map_attrs);
	}
	pth(q, "%s/maps/map3/name", p);
	pth(text, "recv:%u\n", g->info.recv_gpadl);
	expect_text(q, text);

	/* a subchannel gets its directory the same way */
	nvsp_attach(g, 1500);
	{
		struct nvsp_subch_req r = { .type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOCATE,
					    .num_subchannels = 1 };
		struct vmbus_pkt pkt;
		struct vmbus_chan *sc;

		request(g, &r, sizeof(r), &pkt);
		assert_int_equal(vmbus_dev_open_subchans(g->dev, 1, WAIT_MS), 0);
		sc = vmbus_dev_chan(g->dev, 1);
		assert_non_null(sc);
		pth(p, "%s/channels/%u", dev, vmbus_chan_relid(sc));
		expect_files(p, chan_attrs);
		pth(p, "%s/channels/%u/subchannel_id", dev, vmbus_chan_relid(sc));
		expect_text(p, "1\n");
	}

	/* rescind takes every entry away */
	guest_close(g);
	assert_int_equal(sim_ctl(&g->sim, q, sizeof(q), "rescind", NULL), 0);
	pth(p, "%s/sys/bus/vmbus/devices/%s", g->sim.root, g->sim.guid[0]);
	assert_int_equal(lstat(p, &st), -1);
	pth(p, "%s/sys/class/uio/uio0", g->sim.root);
	assert_int_equal(lstat(p, &st), -1);
	pth(p, "%s/sys/dev/char/243:0", g->sim.root);
	assert_int_equal(lstat(p, &st), -1);
	pth(p, "%s/sys/bus/vmbus/drivers/hv_uio/%s", g->sim.root, g->sim.guid[0]);
	assert_int_equal(lstat(p, &st), -1);
	assert_int_equal(lstat(dev, &st), -1);
}

/* Without a monitor id, the monitor attributes are hidden (vmbus_drv.c's
 * vmbus_dev_attr_is_visible, vmbus_chan_attr_is_visible). */
static void test_tree_without_monitor(void **state)
{
	struct guest *g = guest_new("--no-monitor", NULL, NULL);
	char dev[PATH_MAX], p[PATH_MAX];

	(void)state;
	pth(dev, "%s/sys/bus/vmbus/devices/%s", g->sim.root, g->sim.guid[0]);
	expect_files(dev, dev_attrs);
	expect_absent(dev, dev_monitor_attrs);
	pth(p, "%s/channels/%u", dev, g->info.relid);
	expect_files(p, chan_attrs);
	expect_absent(p, chan_monitor_attrs);
}

/* ------------------------------------------------------------------------ */
/* guest memory by page number                                               */
/* ------------------------------------------------------------------------ */

/* Sends a frame GPA-direct: its RNDIS packet at @mem, page @pfn. */
static void send_frame_by_page(struct guest *g, uint8_t *mem, uint64_t pfn, uint64_t tid)
{
	struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = sizeof(pk) + 200,
				   .data_offset = sizeof(pk) - 8, .data_len = 200 };
	struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT, .channel_type = NVSP_CHANNEL_DATA,
				    .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t nv[NVSP_MSG_SIZE] = { 0 };
	struct iovec iov = { nv, sizeof(nv) };
	struct vmbus_gpa_buf b = { .len = pk.len, .offset = 64, .pfn = &pfn };

	memcpy(mem + 64, &pk, sizeof(pk));
	make_frame(g, mem + 64 + sizeof(pk), 200, 77);
	memcpy(nv, &m, sizeof(m));
	assert_int_equal(vmbus_chan_send_gpa(g->c, VMBUS_SEND_COMPLETION, tid, &b, 1, &iov, 1), 0);
}

/* A page outside the memory the guest registered: FAILURE, and -v says why. */
static void test_page_refusal_logged(void **state)
{
	struct guest *g = guest_new("-v", NULL, NULL);
	struct vmbus_dma *dma;
	uint8_t page[4096];

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(vmbus_dma_alloc(g->dev, 8192, &dma), 0);
	send_frame_by_page(g, page, 0x12345, 900);
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	assert_true(sim_log_has(&g->sim, "guest page 0x12345 (+64, 244 bytes) refused: in none of "
					 "the 1 memory region(s) the guest registered",
				WAIT_MS));
	vmbus_dma_free(dma);
}

/* Registered memory has page numbers below 2^32, from 4 GiB on. */
static void test_registered_pages_below_4g(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct vmbus_dma *a, *b;
	struct vmbus_gpa_buf buf;
	uint64_t pfn[2];

	(void)state;
	assert_int_equal(vmbus_dma_alloc(g->dev, 8192, &a), 0);
	assert_int_equal(vmbus_dma_alloc(g->dev, 8192, &b), 0);
	assert_int_equal(vmbus_dma_gpa(a, vmbus_dma_addr(a), 8192, &buf, pfn, 2), 2);
	assert_true(pfn[0] == 0x100000);
	assert_true(pfn[1] == 0x100001);
	assert_int_equal(vmbus_dma_gpa(b, vmbus_dma_addr(b), 4096, &buf, pfn, 2), 1);
	assert_true(pfn[0] == 0x200000);
	vmbus_dma_free(a);
	vmbus_dma_free(b);
}

/* This process's physical frame number of @addr, or 0 if hidden. */
static uint64_t own_pfn(void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	size_t sys = (size_t)sysconf(_SC_PAGESIZE);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / sys * sizeof(e))) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ull << 63)))
		return 0;
	return (e & ((1ull << 55) - 1)) * (sys / 4096) + ((uintptr_t)addr % sys) / 4096;
}

/*
 * A guest that registered no memory names pages of its own by physical
 * frame number (as DPDK does): the host reads them from the process
 * holding the device open, as a real host reads any guest page.
 */
static void test_unregistered_guest_memory(void **state)
{
	struct guest *g;
	uint8_t *page;
	uint8_t got[1][2048];
	uint32_t lens[1];
	uint64_t pfn;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: frame numbers and another process's memory need root\n");
		skip();
	}
	g = guest_new("-v", NULL, NULL);
	nic_up(g, 1500);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		    -1, 0);
	assert_true(page != MAP_FAILED);
	assert_int_equal(mlock(page, 4096), 0);
	memset(page, 0, 4096);
	pfn = own_pfn(page);
	assert_true(pfn != 0);
	send_frame_by_page(g, page, pfn, 901);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	/* the echo sends the very bytes back */
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
	assert_int_equal(lens[0], 200);
	assert_memory_equal(got[0] + 12, page + 64 + sizeof(struct rndis_packet) + 12, 200 - 12);
	/* a frame number this process does not have */
	send_frame_by_page(g, page, 1, 902);
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	assert_true(sim_log_has(&g->sim, "guest page 0x1 (+64, 244 bytes) refused: no such page in "
					 "the guest process",
				WAIT_MS));
	munmap(page, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guest_must_signal, guest_free),
		cmocka_unit_test_teardown(test_rndis_before_ndis_version, guest_free),
		cmocka_unit_test_teardown(test_recv_buffer_before_ndis_config, guest_free),
		cmocka_unit_test_teardown(test_control_in_section_without_send_buffer, guest_free),
		cmocka_unit_test_teardown(test_message_during_initialisation, guest_free),
		cmocka_unit_test_teardown(test_initialisation_message_after_it, guest_free),
		cmocka_unit_test_teardown(test_oid_query_ex_below_nvsp5, guest_free),
		cmocka_unit_test_teardown(test_oid_query_ex_nvsp5, guest_free),
		cmocka_unit_test_teardown(test_ndis_config_below_nvsp2, guest_free),
		cmocka_unit_test_teardown(test_switch_data_path_below_nvsp4, guest_free),
		cmocka_unit_test_teardown(test_subchannel_request_below_nvsp5, guest_free),
		cmocka_unit_test_teardown(test_unknown_completion, guest_free),
		cmocka_unit_test_teardown(test_message_after_revoke, guest_free),
		cmocka_unit_test_teardown(test_query_input_checked, guest_free),
		cmocka_unit_test_teardown(test_rss_hash_types_checked, guest_free),
		cmocka_unit_test_teardown(test_rss_parameters_checked, guest_free),
		cmocka_unit_test_teardown(test_rndis_reset, guest_free),
		cmocka_unit_test_teardown(test_packets_per_message, guest_free),
		cmocka_unit_test_teardown(test_rndis_packet_without_completion, guest_free),
		cmocka_unit_test_teardown(test_rss_on_while_frames_wait, guest_free),
		cmocka_unit_test_teardown(test_rss_table_256, guest_free),
		cmocka_unit_test_teardown(test_old_send_table, guest_free),
		cmocka_unit_test_teardown(test_reply_delay, guest_free),
		cmocka_unit_test_teardown(test_tree_is_a_guests, guest_free),
		cmocka_unit_test_teardown(test_tree_without_monitor, guest_free),
		cmocka_unit_test_teardown(test_page_refusal_logged, guest_free),
		cmocka_unit_test_teardown(test_registered_pages_below_4g, guest_free),
		cmocka_unit_test_teardown(test_unregistered_guest_memory, guest_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
