/* SPDX-License-Identifier: MIT */
/*
 * A scripted guest drives vmbus-hostsim through the NetVSP sequence by
 * hand (libvmbus for the rings, proto.h for the messages, no netvsc-user
 * logic) and checks each reply against what a real host sends
 * (host-side facts: OpenVMM netvsp), then every error reaction and fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <vmbus/sim.h>

#include "guest.h"

/* ------------------------------------------------------------------------ */

static void test_version_negotiation(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	static const uint32_t unsupported[] = { 0x70000, 0x30000, 0x10000, 0 };
	size_t i;

	(void)state;
	/* unsupported versions: status NONE, and the guest may try again */
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		assert_int_equal(nvsp_init(g, unsupported[i]), NVSP_STATUS_NONE);
	assert_int_equal(nvsp_init(g, NVSP_VERSION_5), NVSP_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "nvsp 0x50000", WAIT_MS));
}

static void test_every_version_accepted(void **state)
{
	static const uint32_t versions[] = { NVSP_VERSION_1, NVSP_VERSION_2, NVSP_VERSION_4,
					     NVSP_VERSION_5, NVSP_VERSION_6, NVSP_VERSION_61 };
	struct guest *g = guest_new(NULL, NULL, NULL);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		/* a new session per version: close and open the device again */
		assert_int_equal(nvsp_init(g, versions[i]), NVSP_STATUS_SUCCESS);
		guest_close(g);
		guest_open(g, 0);
	}
}

static void test_attach_and_control(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint8_t val[1024];
	uint32_t len, u;
	struct ndis_rss_caps caps;

	(void)state;
	nvsp_attach(g, 1500);
	rndis_init(g);
	assert_int_equal(rndis_query(g, RNDIS_OID_802_3_PERMANENT_ADDRESS, val, &len), 0);
	assert_int_equal(len, 6);
	assert_int_equal(val[0] & 3, 2); /* locally administered unicast */
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &u, &len), 0);
	assert_int_equal(u, 1500);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_LINK_SPEED, &u, &len), 0);
	assert_int_equal(u, 10000000000ull / 100);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, &u, &len), 0);
	assert_int_equal(u, NDIS_MEDIA_STATE_CONNECTED);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_VENDOR_ID, &u, &len), 0);
	assert_int_equal(u, 0x155D);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_VENDOR_DESCRIPTION, val, &len), 0);
	assert_int_equal(len, 21);
	assert_memory_equal(val, "Microsoft Corporation", 21);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, &caps, &len), 0);
	assert_int_equal(len, 18);
	assert_int_equal(caps.hdr.type, NDIS_OBJTYPE_RSS_CAPS);
	assert_int_equal(caps.num_rx_queues, 64);
	assert_int_equal(caps.num_indirection, 128);
	assert_int_equal(rndis_query(g, 0x12345678, val, &len), RNDIS_STATUS_NOT_SUPPORTED);
	assert_int_equal(rndis_set(g, 0x12345678, &u, 4), RNDIS_STATUS_NOT_SUPPORTED);
	/* keepalive */
	{
		struct rndis_keepalive_req k = { .type = RNDIS_MSG_KEEPALIVE, .len = sizeof(k),
						 .rid = g->rid++ };
		struct rndis_keepalive_cmplt c;

		send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 3, &k, sizeof(k));
		expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
		assert_int_equal(recv_control(g, &c, sizeof(c)), sizeof(c));
		assert_int_equal(c.type, RNDIS_MSG_KEEPALIVE_CMPLT);
		assert_int_equal(c.rid, k.rid);
	}
}

static void test_jumbo_mtu(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint32_t u, len;

	(void)state;
	nvsp_attach(g, 9000);
	assert_int_equal(g->slot_size, 256 + 9014 + 36);
	rndis_init(g);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &u, &len), 0);
	assert_int_equal(u, 9000);
}

/* An MTU the host does not take falls back to 1500 (netvsp). */
static void test_mtu_out_of_range(void **state)
{
	struct guest *g = guest_new("--mtu-max", "4000", NULL);
	uint32_t u, len;

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	{
		struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = 9014 };
		struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6,
					     .ndis_minor = 30 };
		struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN,
					      .gpadl = g->info.recv_gpadl, .id = NVSP_RXBUF_ID };
		struct nvsp_chim_conn tx = { .type = NVSP_MSG_CHIM_CONN,
					     .gpadl = g->info.send_gpadl, .id = NVSP_CHIM_ID };
		struct nvsp_rxbuf_conn_comp rc;
		struct vmbus_pkt pkt;

		send_nvsp(g, g->c, &cfg, sizeof(cfg), false);
		send_nvsp(g, g->c, &ver, sizeof(ver), false);
		request(g, &rx, sizeof(rx), &pkt);
		memcpy(&rc, pkt.data, sizeof(rc));
		assert_int_equal(rc.sections[0].sub_alloc_size, 256 + 1514 + 36);
		g->slot_size = rc.sections[0].sub_alloc_size;
		request(g, &tx, sizeof(tx), &pkt);
	}
	rndis_init(g);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, &u, &len), 0);
	assert_int_equal(u, 1500);
}

/* No frame reaches the guest before it sets a packet filter. */
static void test_filter_gates_receive(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	uint8_t f[128], got[4][2048];
	uint32_t lens[4], filter = NDIS_PACKET_TYPE_DIRECTED;

	(void)state;
	nvsp_attach(g, 1500);
	rndis_init(g);
	guest_learn_mac(g);
	make_frame(g, f, sizeof(f), 1);
	send_frame(g, g->c, 5, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	/* the echo was dropped by the host: filter 0 */
	assert_true(sim_wait_stats(&g->sim, "rx 0 frames 0 bytes 1 drops", WAIT_MS));
	assert_int_equal(rndis_set(g, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, 4), 0);
	make_frame(g, f, sizeof(f), 2);
	send_frame(g, g->c, 5, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_frames(g, g->c, got, lens, 4), 1);
	assert_int_equal(lens[0], sizeof(f));
	/* the echo swaps the addresses */
	assert_memory_equal(got[0], f + 6, 6);
	assert_memory_equal(got[0] + 6, f, 6);
	assert_memory_equal(got[0] + 12, f + 12, sizeof(f) - 12);
}

/* The filter decides as a virtual switch does: whose address, which kinds. */
static void test_filter_semantics(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	static const struct {
		uint32_t filter;
		uint8_t dst0; /* 0: the NIC's own address, else the first byte */
		bool delivered;
	} rows[] = {
		{ NDIS_PACKET_TYPE_DIRECTED, 0, true },
		{ NDIS_PACKET_TYPE_DIRECTED, 0xff, false }, /* broadcast */
		{ NDIS_PACKET_TYPE_BROADCAST, 0xff, true },
		{ NDIS_PACKET_TYPE_BROADCAST, 0, false },
		{ NDIS_PACKET_TYPE_DIRECTED, 0x01, false }, /* multicast */
		{ NDIS_PACKET_TYPE_ALL_MULTICAST, 0x01, true },
		{ NDIS_PACKET_TYPE_MULTICAST, 0x33, true },
		{ NDIS_PACKET_TYPE_DIRECTED, 0x02, false }, /* someone else */
		{ NDIS_PACKET_TYPE_PROMISCUOUS, 0x02, true },
	};
	unsigned int i, filtered = 0;
	char want[64];

	(void)state;
	nic_up(g, 1500);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t f[64], got[1][2048];
		uint32_t lens[1];

		assert_int_equal(rndis_set(g, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &rows[i].filter,
					   4),
				 0);
		/* the echo sends the frame back to its source address */
		make_frame(g, f, sizeof(f), i);
		if (rows[i].dst0 == 0xff)
			memset(f + 6, 0xff, 6);
		else if (rows[i].dst0 == 0x02)
			f[11] ^= 0xff; /* another unicast address */
		else if (rows[i].dst0)
			f[6] = rows[i].dst0;
		send_frame(g, g->c, 5, f, sizeof(f));
		expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
		if (rows[i].delivered) {
			assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
			assert_memory_equal(got[0], f + 6, 6);
		} else {
			snprintf(want, sizeof(want), "errors; %u filtered", ++filtered);
			assert_true(sim_wait_stats(&g->sim, want, WAIT_MS));
		}
	}
}

/* Many frames in flight: batches, slot recycling on completion, every byte. */
static void test_echo_traffic(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	static uint8_t got[375][2048];
	uint32_t lens[375], seen = 0, sent = 0, i;
	uint8_t f[1514];

	(void)state;
	nic_up(g, 1500);
	while (seen < 3000) {
		/* keep up to 64 frames in flight, one send section each */
		while (sent < 3000 && sent - seen < 64) {
			uint32_t len = 60 + (sent * 97) % 1454;

			make_frame(g, f, len, sent);
			send_frame(g, g->c, 8 + sent % 64, f, len);
			sent++;
		}
		for (;;) {
			struct vmbus_pkt pkt;
			int n = vmbus_chan_peek(g->c, &pkt);

			if (n == -EAGAIN) {
				assert_int_equal(vmbus_chan_wait(g->c, WAIT_MS), 0);
				continue;
			}
			assert_true(n >= 0);
			if (pkt.type == VMBUS_PKT_COMPLETION) {
				vmbus_chan_consume(g->c);
				continue;
			}
			break;
		}
		{
			unsigned int n = recv_frames(g, g->c, got, lens, 375);

			for (i = 0; i < n; i++) {
				uint32_t seq, want = 60 + (seen * 97) % 1454, k;

				memcpy(&seq, got[i] + 14, 4);
				assert_int_equal(seq, seen);
				assert_int_equal(lens[i], want);
				for (k = 18; k < want; k++)
					assert_int_equal(got[i][k], (uint8_t)(seen + k));
				seen++;
			}
		}
	}
	assert_true(sim_wait_stats(&g->sim, "tx 3000 frames", WAIT_MS));
}

static void test_subchannels_and_send_table(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_subch_req req = { .type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOCATE,
				      .num_subchannels = 3 };
	struct nvsp_subch_comp comp;
	struct vmbus_pkt pkt;
	unsigned int i;

	(void)state;
	nic_up(g, 1500);
	request(g, &req, sizeof(req), &pkt);
	memcpy(&comp, pkt.data, sizeof(comp));
	assert_int_equal(comp.type, NVSP_MSG_SUBCH);
	assert_int_equal(comp.status, NVSP_STATUS_SUCCESS);
	assert_int_equal(comp.num_subchannels, 3);
	/* offered asynchronously, found by libvmbus as on a real guest */
	assert_int_equal(vmbus_dev_open_subchans(g->dev, 3, WAIT_MS), 0);
	assert_int_equal(vmbus_dev_nchans(g->dev), 4);
	/* then the send indirection table, in-band, no completion */
	assert_true(recv_pkt(g, g->c, &pkt) >= 0);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	{
		struct nvsp_send_table t;
		uint32_t e;

		memcpy(&t, pkt.data, sizeof(t));
		assert_int_equal(t.type, NVSP_MSG_SEND_INDIRECTION_TABLE);
		assert_int_equal(t.count, 16);
		assert_true(t.offset + 16 * 4 <= pkt.len);
		for (i = 0; i < 16; i++) {
			memcpy(&e, (const uint8_t *)pkt.data + t.offset + 4 * i, 4);
			assert_int_equal(e, i % 4);
		}
	}
	/* every subchannel carries data */
	for (i = 1; i < 4; i++) {
		struct vmbus_chan *c = vmbus_dev_chan(g->dev, i);
		uint8_t f[100];

		make_frame(g, f, sizeof(f), i);
		send_frame(g, c, 10 + i, f, sizeof(f));
		expect_rndis_complete(g, c, NVSP_STATUS_SUCCESS);
	}
	assert_true(sim_wait_stats(&g->sim, "queue 3: rx 0 frames 0 bytes 0 drops 0 batches; tx 1 frames",
				   WAIT_MS));
	/* without RSS their echoes all come back on the primary */
	{
		static uint8_t got[375][2048];
		uint32_t lens[375], n = 0;

		while (n < 3)
			n += recv_frames(g, g->c, got, lens, 375);
		assert_int_equal(n, 3);
	}
	/* a second request in the same session is refused */
	request(g, &req, sizeof(req), &pkt);
	memcpy(&comp, pkt.data, sizeof(comp));
	assert_int_equal(comp.status, NVSP_STATUS_FAILURE);
}

/* A control message on a subchannel fails (netvsp: not on subchannels). */
static void test_control_on_subchannel_fails(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_subch_req req = { .type = NVSP_MSG_SUBCH, .op = NVSP_SUBCH_OP_ALLOCATE,
				      .num_subchannels = 1 };
	struct rndis_keepalive_req k = { .type = RNDIS_MSG_KEEPALIVE, .len = sizeof(k), .rid = 99 };
	struct vmbus_pkt pkt;

	(void)state;
	nic_up(g, 1500);
	request(g, &req, sizeof(req), &pkt);
	assert_int_equal(vmbus_dev_open_subchans(g->dev, 1, WAIT_MS), 0);
	send_rndis(g, vmbus_dev_chan(g->dev, 1), NVSP_CHANNEL_CONTROL, 4, &k, sizeof(k));
	expect_rndis_complete(g, vmbus_dev_chan(g->dev, 1), NVSP_STATUS_FAILURE);
}

static void test_link_indications(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[4096];
	struct rndis_indicate ind;
	uint32_t u, len;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "link-down", NULL), 0);
	assert_int_equal(recv_control(g, &ind, sizeof(ind)), sizeof(ind));
	assert_int_equal(ind.type, RNDIS_MSG_INDICATE);
	assert_int_equal(ind.status, RNDIS_STATUS_MEDIA_DISCONNECT);
	assert_int_equal(rndis_query(g, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, &u, &len), 0);
	assert_int_equal(u, NDIS_MEDIA_STATE_DISCONNECTED);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "link-up", NULL), 0);
	assert_int_equal(recv_control(g, &ind, sizeof(ind)), sizeof(ind));
	assert_int_equal(ind.status, RNDIS_STATUS_MEDIA_CONNECT);
}

/* --- error reactions ------------------------------------------------------ */

/* Default (OpenVMM): a protocol violation ends the channel's service. */
static void test_violation_stops_channel(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_rxbuf_conn rx = { .type = NVSP_MSG_RXBUF_CONN, .gpadl = 12345,
				      .id = NVSP_RXBUF_ID };

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	{
		struct nvsp_ndis_config cfg = { .type = NVSP_MSG_NDIS_CONFIG, .mtu = 1514 };

		send_nvsp(g, g->c, &cfg, sizeof(cfg), false);
	}
	/* a GPADL that is not the device's */
	send_nvsp(g, g->c, &rx, sizeof(rx), true);
	assert_true(sim_wait_stats(&g->sim, "channel 0 relid 1: guest signals", WAIT_MS));
	assert_true(sim_wait_stats(&g->sim, "stopped", WAIT_MS));
	/* no answer ever comes; the channel is silent until closed */
	{
		struct vmbus_pkt pkt;

		assert_int_equal(vmbus_chan_recv(g->c, g->buf, sizeof(g->buf), &pkt), -EAGAIN);
	}
}

static void test_message_before_init_stops(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct nvsp_ndis_ver ver = { .type = NVSP_MSG_NDIS_VER, .ndis_major = 6, .ndis_minor = 30 };

	(void)state;
	send_nvsp(g, g->c, &ver, sizeof(ver), false);
	assert_true(sim_wait_stats(&g->sim, "stopped", WAIT_MS));
}

static void test_rndis_init_twice_stops(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct rndis_init_req r = { .type = RNDIS_MSG_INIT, .len = sizeof(r), .rid = 77,
				    .ver_major = 1 };

	(void)state;
	nvsp_attach(g, 1500);
	rndis_init(g);
	send_rndis(g, g->c, NVSP_CHANNEL_CONTROL, 0, &r, sizeof(r));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_true(sim_wait_stats(&g->sim, "stopped", WAIT_MS));
}

/* A bad RNDIS data packet gets a FAILURE completion; service goes on. */
static void test_bad_data_packet_fails(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = sizeof(pk) + 64,
				   .data_offset = sizeof(pk) - 8, .data_len = 0 };
	uint8_t msg[sizeof(pk) + 64] = { 0 }, f[64], got[1][2048];
	uint32_t lens[1];

	(void)state;
	nic_up(g, 1500);
	memcpy(msg, &pk, sizeof(pk));
	send_rndis(g, g->c, NVSP_CHANNEL_DATA, 6, msg, sizeof(msg));
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	/* data beyond the message */
	pk.data_len = 65;
	memcpy(msg, &pk, sizeof(pk));
	send_rndis(g, g->c, NVSP_CHANNEL_DATA, 6, msg, sizeof(msg));
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	/* a good one still goes through */
	make_frame(g, f, sizeof(f), 7);
	send_frame(g, g->c, 6, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
}

/* With --on-error fail, a violation is failed and the channel goes on. */
static void test_fail_mode_goes_on(void **state)
{
	struct guest *g = guest_new("--on-error", "fail", NULL);
	struct nvsp_rndis_pkt bad = { .type = NVSP_MSG_RNDIS_PKT,
				      .channel_type = NVSP_CHANNEL_DATA,
				      .section_index = 100000, .section_size = 64 };
	uint8_t f[64], got[1][2048];
	uint32_t lens[1];

	(void)state;
	nic_up(g, 1500);
	/* a send section that does not exist: fatal under OpenVMM */
	send_nvsp(g, g->c, &bad, sizeof(bad), true);
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	make_frame(g, f, sizeof(f), 9);
	send_frame(g, g->c, 6, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
}

/* A corrupt ring written by the guest: the host stops serving the channel. */
static void test_guest_corrupts_ring(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct vmbus_ring_hdr *h = vmbus_ring_hdr(vmbus_chan_tx_ring(g->c));

	(void)state;
	assert_int_equal(nvsp_init(g, NVSP_VERSION_61), NVSP_STATUS_SUCCESS);
	__atomic_store_n(&h->write_index, 13, __ATOMIC_RELEASE);
	assert_int_equal(vmbus_chan_signal(g->c), 0);
	assert_true(sim_wait_stats(&g->sim, "stopped", WAIT_MS));
	/* the host survives it: other commands still work */
	assert_true(sim_wait_stats(&g->sim, "device", WAIT_MS));
}

/* A raw connection to the device's socket as an interrupt listener of ours. */
static int raw_listener(struct guest *g)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	int32_t status = 1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "%sraw-%d",
			 VMBUS_SIM_LISTENER_TAG, (int)getpid());

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)),
			 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dev/uio%u", g->sim.root, g->info.uio_index);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(recv(fd, &status, sizeof(status), 0), 4);
	assert_int_equal(status, 0);
	return fd;
}

/* The next 16-byte reply on @conn, past event counts. */
static void recv_reply(int conn, void *reply)
{
	ssize_t n;

	do
		n = recv(conn, reply, 16, 0);
	while (n == 4);
	assert_int_equal(n, 16);
}

/* Sends @len bytes with @nfds copies of @fd attached. */
static void send_with_fds(int conn, const void *msg, size_t len, int fd, int nfds)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int i;

	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cm) + (size_t)i * sizeof(int), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(conn, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * The memory the host shares is sealed: nobody can shrink it under the
 * other side (a truncated map SIGBUSes whoever touches it next), and the
 * host takes guest memory only sealed the same way.  Whatever else the
 * guest sends on the socket, the host answers or ignores it, and keeps
 * no descriptor of it.
 */
static void test_shared_memory_sealed(void **state)
{
	struct guest *g = guest_new("--queues", "4", NULL);
	struct vmbus_sim_memreg reg = { .magic = VMBUS_SIM_MEMREG_MAGIC,
					.version = VMBUS_SIM_MEMREG_VERSION,
					.size = 4 * VMBUS_HV_PAGE_SIZE };
	struct vmbus_sim_memreply rep;
	struct vmbus_sim_mapreq req = { .magic = VMBUS_SIM_MAPREQ_MAGIC,
					.version = VMBUS_SIM_MAPREQ_VERSION };
	char path[PATH_MAX];
	uint8_t junk[200];
	unsigned int i;
	int conn, mfd, fds;

	(void)state;
	/* every map and ring file names a sealed memfd: no truncating it */
	for (i = 0; i < 5; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/dev/uio%u.map%u", g->sim.root, g->info.uio_index, i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		assert_true(fd >= 0);
		errno = 0;
		assert_int_not_equal(ftruncate(fd, 0), 0);
		assert_int_equal(errno, EPERM);
		assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK);
		close(fd);
	}
	nvsp_attach(g, 1500);
	/* the host still serves: the maps are whole on both sides */
	((volatile uint8_t *)g->info.recv_buf)[g->info.recv_size - 1] = 0;
	rndis_init(g);

	fds = sim_count_fds(g->sim.pid);
	conn = raw_listener(g);
	/* guest memory that could shrink under the host is refused */
	mfd = memfd_create("unsealed", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, (off_t)reg.size), 0);
	send_with_fds(conn, &reg, sizeof(reg), mfd, 1);
	recv_reply(conn, &rep);
	assert_int_equal(rep.status, -EINVAL);
	/* garbage: sizes, kinds, descriptors the host must close */
	memset(junk, 0xa5, sizeof(junk));
	send_with_fds(conn, junk, 3, -1, 0);
	send_with_fds(conn, junk, sizeof(junk), -1, 0);
	send_with_fds(conn, junk, 4, mfd, 1);
	send_with_fds(conn, &reg, sizeof(reg), mfd, 3);
	send_with_fds(conn, junk, 16, mfd, 2);
	/* map requests: a bad version, no such map, no such ring */
	req.version = 99;
	send_with_fds(conn, &req, sizeof(req), -1, 0);
	req.version = VMBUS_SIM_MAPREQ_VERSION;
	req.map = 7;
	send_with_fds(conn, &req, sizeof(req), -1, 0);
	req.map = VMBUS_SIM_MAP_RING;
	req.relid = 0xfffffff0u;
	send_with_fds(conn, &req, sizeof(req), -1, 0);
	for (i = 0; i < 3; i++) {
		struct vmbus_sim_mapreply mr;

		recv_reply(conn, &mr);
		assert_true(mr.status == -EINVAL || mr.status == -ENOENT);
	}
	close(mfd);
	close(conn);
	/* alive, serving, and holding no descriptor of the guest's */
	assert_true(sim_wait_stats(&g->sim, "device", WAIT_MS));
	{
		int64_t end = sim_now_ms() + WAIT_MS;

		while (sim_count_fds(g->sim.pid) != fds && sim_now_ms() < end)
			usleep(2000); /* the host closes the connection on its loop */
		assert_int_equal(sim_count_fds(g->sim.pid), fds);
	}
	guest_close(g);
}

/* --- faults --------------------------------------------------------------- */

static void test_fault_ring_index(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	struct vmbus_pkt pkt;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "ring-index", NULL), 0);
	assert_int_equal(recv_pkt(g, g->c, &pkt), -EPROTO);
	assert_non_null(vmbus_chan_broken(g->c));
}

static void test_fault_bad_descriptor(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	struct vmbus_pkt pkt;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "bad-descriptor", NULL), 0);
	assert_int_equal(recv_pkt(g, g->c, &pkt), -EPROTO);
	assert_non_null(strstr(vmbus_chan_broken(g->c), "offset8"));
}

static void test_fault_bad_xfer_range(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	struct vmbus_pkt pkt;
	uint8_t f[64];

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "bad-xfer-range", NULL), 0);
	make_frame(g, f, sizeof(f), 1);
	send_frame(g, g->c, 6, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	/* libvmbus refuses a range beyond the receive buffer, but the packet
	 * stays identifiable so the guest can return it */
	assert_int_equal(recv_pkt(g, g->c, &pkt), -EBADMSG);
	assert_true(pkt.tid >= 16);
	complete_rx(g, g->c, pkt.tid);
	assert_null(vmbus_chan_broken(g->c));
}

static void test_fault_truncated_rndis(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	struct vmbus_pkt pkt;
	struct rndis_packet pk;
	uint8_t f[64];

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "truncated-rndis", NULL), 0);
	make_frame(g, f, sizeof(f), 1);
	send_frame(g, g->c, 6, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_true(recv_pkt(g, g->c, &pkt) >= 0);
	memcpy(&pk, (uint8_t *)g->info.recv_buf + pkt.xfer_ranges[0].byte_offset, sizeof(pk));
	/* the message claims more data than fits in its range */
	assert_true(pk.data_offset + pk.data_len > pkt.xfer_ranges[0].byte_count - 8);
	complete_rx(g, g->c, pkt.tid);
}

static void test_fault_delayed_completions(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	uint8_t f[64];
	int64_t t0;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "delay-completions", "300",
				 NULL),
			 0);
	make_frame(g, f, sizeof(f), 1);
	t0 = sim_now_ms();
	send_frame(g, g->c, 6, f, sizeof(f));
	/* the echo comes first, the completion later */
	{
		uint8_t got[1][2048];
		uint32_t lens[1];

		assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
	}
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_true(sim_now_ms() - t0 >= 300);
}

static void test_fault_dropped_completions(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024];
	struct vmbus_pkt pkt;
	uint8_t f[64], got[1][2048];
	uint32_t lens[1];

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "drop-completions", NULL), 0);
	make_frame(g, f, sizeof(f), 1);
	send_frame(g, g->c, 6, f, sizeof(f));
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
	/* the frame was handled, its completion never comes */
	assert_true(sim_wait_stats(&g->sim, "tx 1 frames", WAIT_MS));
	assert_int_equal(vmbus_chan_recv(g->c, g->buf, sizeof(g->buf), &pkt), -EAGAIN);
}

static void test_fault_rescind_in_traffic(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	static uint8_t got[375][2048];
	uint32_t lens[375];
	char out[1024];
	uint8_t f[64];
	uint32_t i;
	int ret = 0;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "fault", "rescind-in-traffic", "3",
				 NULL),
			 0);
	/* frames are echoed until the host pulls the device after the third */
	for (i = 0; i < 10 && ret != -ENODEV; i++) {
		struct vmbus_pkt pkt;
		struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT,
					    .channel_type = NVSP_CHANNEL_DATA,
					    .section_index = 6 };
		uint8_t msg[NVSP_MSG_SIZE] = { 0 };
		struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .len = sizeof(pk) + sizeof(f),
					   .data_offset = sizeof(pk) - 8, .data_len = sizeof(f) };

		make_frame(g, f, sizeof(f), i);
		memcpy((uint8_t *)g->info.send_buf + 6 * 6144, &pk, sizeof(pk));
		memcpy((uint8_t *)g->info.send_buf + 6 * 6144 + sizeof(pk), f, sizeof(f));
		m.section_size = pk.len;
		memcpy(msg, &m, sizeof(m));
		ret = vmbus_chan_send(g->c, VMBUS_SEND_COMPLETION, g->tid++, msg, sizeof(msg));
		while (ret == 0) {
			ret = recv_pkt(g, g->c, &pkt);
			if (ret >= 0 && pkt.type == VMBUS_PKT_DATA_XFER_PAGES) {
				complete_rx(g, g->c, pkt.tid);
				break;
			}
		}
	}
	assert_int_equal(ret, -ENODEV);
	assert_true(i >= 3);
	assert_true(vmbus_dev_rescinded(g->dev));
	(void)got;
	(void)lens;
}

/* --- lifecycle ------------------------------------------------------------ */

static void test_rescind_and_offer_again(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	char out[1024], path[PATH_MAX];
	struct stat st;

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "rescind", NULL), 0);
	{
		int ret, n = 0;

		/* interrupts already counted come first, then the hang-up */
		while ((ret = vmbus_dev_wait(g->dev, WAIT_MS)) > 0 && n++ < 100)
			;
		assert_int_equal(ret, -ENODEV);
	}
	snprintf(path, sizeof(path), "%s/sys/bus/vmbus/devices/%s", g->sim.root, g->sim.guid[0]);
	assert_int_equal(stat(path, &st), -1);
	guest_close(g);
	/* the same device offered again attaches anew */
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "offer", g->sim.guid[0], NULL), 0);
	assert_non_null(strstr(out, g->sim.guid[0]));
	guest_open(g, 0);
	nic_up(g, 1500);
}

static void test_reopen_resets_session(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);

	(void)state;
	nic_up(g, 1500);
	guest_close(g);
	assert_true(sim_wait_stats(&g->sim, "closed", WAIT_MS));
	guest_open(g, 0);
	/* a fresh NVSP session: INIT is accepted again */
	nic_up(g, 1500);
}

static void test_two_nics_on_a_switch(void **state)
{
	struct guest *g = guest_new("--nic", "2", NULL);
	struct guest *h = calloc(1, sizeof(*h));
	uint8_t f[100], got[1][2048], mac[6];
	uint32_t lens[1], len;

	(void)state;
	assert_non_null(h);
	guest_close(g);
	/* restart with the switch wire */
	assert_int_equal(sim_stop(&g->sim), 0);
	assert_int_equal(sim_start(&g->sim, "--nic", "2", "--wire", "switch", NULL), 0);
	guest_open(g, 0);
	h->sim = g->sim;
	guest_open(h, 1);
	h->tid = h->rid = 1;
	nic_up(g, 1500);
	nic_up(h, 1500);
	assert_int_equal(rndis_query(h, RNDIS_OID_802_3_PERMANENT_ADDRESS, mac, &len), 0);
	make_frame(g, f, sizeof(f), 42);
	memcpy(f, mac, 6);
	send_frame(g, g->c, 6, f, sizeof(f));
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_frames(h, h->c, got, lens, 1), 1);
	assert_memory_equal(got[0], f, sizeof(f));
	vmbus_dev_close(h->dev);
	free(h);
}

/* GPA-direct transmit from registered guest memory (jumbo frames). */
static void test_gpa_direct_transmit(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct vmbus_dma *dma;
	struct rndis_packet pk = { .type = RNDIS_MSG_PACKET, .data_offset = sizeof(pk) - 8 };
	struct nvsp_rndis_pkt m = { .type = NVSP_MSG_RNDIS_PKT, .channel_type = NVSP_CHANNEL_DATA,
				    .section_index = NVSP_CHIM_IDX_NONE };
	uint8_t nv[NVSP_MSG_SIZE] = { 0 };
	struct iovec iov = { nv, sizeof(nv) };
	struct vmbus_gpa_buf bufs[2];
	uint64_t pfns[2][8];
	uint8_t *mem;
	static uint8_t got[1][2048];
	uint32_t lens[1];

	(void)state;
	nic_up(g, 1500);
	assert_int_equal(vmbus_dma_alloc(g->dev, 64 * 1024, &dma), 0);
	mem = vmbus_dma_addr(dma);
	/* the RNDIS header in one range, the frame in another that spans pages */
	pk.len = sizeof(pk) + 1400;
	pk.data_len = 1400;
	memcpy(mem, &pk, sizeof(pk));
	make_frame(g, mem + 8192 - 100, 1400, 5);
	assert_int_equal(vmbus_dma_gpa(dma, mem, sizeof(pk), &bufs[0], pfns[0], 8), 1);
	assert_int_equal(vmbus_dma_gpa(dma, mem + 8192 - 100, 1400, &bufs[1], pfns[1], 8), 2);
	memcpy(nv, &m, sizeof(m));
	assert_int_equal(vmbus_chan_send_gpa(g->c, VMBUS_SEND_COMPLETION, 500, bufs, 2, &iov, 1), 0);
	expect_rndis_complete(g, g->c, NVSP_STATUS_SUCCESS);
	assert_int_equal(recv_frames(g, g->c, got, lens, 1), 1);
	assert_int_equal(lens[0], 1400);
	assert_memory_equal(got[0] + 12, mem + 8192 - 100 + 12, 1400 - 12);
	/* page numbers outside the registered memory: a FAILURE completion */
	pfns[1][0] = 0x12345;
	assert_int_equal(vmbus_chan_send_gpa(g->c, VMBUS_SEND_COMPLETION, 501, bufs, 2, &iov, 1), 0);
	expect_rndis_complete(g, g->c, NVSP_STATUS_FAILURE);
	vmbus_dma_free(dma);
}

/* The host's rules on its own rings: signals on empty-to-non-empty only. */
static void test_host_signals_sparingly(void **state)
{
	struct guest *g = guest_new(NULL, NULL, NULL);
	struct vmbus_chan_stats st = { .sz = sizeof(st) };
	char out[65536];
	uint8_t f[64];
	int i;

	(void)state;
	nic_up(g, 1500);
	vmbus_chan_mask(g->c);
	/* with the guest's mask set, nothing the host writes raises an interrupt */
	assert_int_equal(sim_ctl(&g->sim, out, sizeof(out), "stats", NULL), 0);
	for (i = 0; i < 10; i++) {
		make_frame(g, f, sizeof(f), (uint32_t)i);
		send_frame(g, g->c, 20 + (uint32_t)i, f, sizeof(f));
	}
	assert_true(sim_wait_stats(&g->sim, "tx 10 frames", WAIT_MS));
	vmbus_chan_stats(g->c, &st);
	(void)st;
	{
		char out2[65536];
		const char *a, *b;

		assert_int_equal(sim_ctl(&g->sim, out2, sizeof(out2), "stats", NULL), 0);
		a = strstr(out, "interrupts ");
		b = strstr(out2, "interrupts ");
		assert_non_null(a);
		assert_non_null(b);
		/* no interrupt while masked */
		assert_int_equal(atoi(a + 11), atoi(b + 11));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_version_negotiation, guest_free),
		cmocka_unit_test_teardown(test_every_version_accepted, guest_free),
		cmocka_unit_test_teardown(test_attach_and_control, guest_free),
		cmocka_unit_test_teardown(test_jumbo_mtu, guest_free),
		cmocka_unit_test_teardown(test_mtu_out_of_range, guest_free),
		cmocka_unit_test_teardown(test_filter_gates_receive, guest_free),
		cmocka_unit_test_teardown(test_filter_semantics, guest_free),
		cmocka_unit_test_teardown(test_echo_traffic, guest_free),
		cmocka_unit_test_teardown(test_subchannels_and_send_table, guest_free),
		cmocka_unit_test_teardown(test_control_on_subchannel_fails, guest_free),
		cmocka_unit_test_teardown(test_link_indications, guest_free),
		cmocka_unit_test_teardown(test_violation_stops_channel, guest_free),
		cmocka_unit_test_teardown(test_message_before_init_stops, guest_free),
		cmocka_unit_test_teardown(test_rndis_init_twice_stops, guest_free),
		cmocka_unit_test_teardown(test_bad_data_packet_fails, guest_free),
		cmocka_unit_test_teardown(test_fail_mode_goes_on, guest_free),
		cmocka_unit_test_teardown(test_guest_corrupts_ring, guest_free),
		cmocka_unit_test_teardown(test_shared_memory_sealed, guest_free),
		cmocka_unit_test_teardown(test_fault_ring_index, guest_free),
		cmocka_unit_test_teardown(test_fault_bad_descriptor, guest_free),
		cmocka_unit_test_teardown(test_fault_bad_xfer_range, guest_free),
		cmocka_unit_test_teardown(test_fault_truncated_rndis, guest_free),
		cmocka_unit_test_teardown(test_fault_delayed_completions, guest_free),
		cmocka_unit_test_teardown(test_fault_dropped_completions, guest_free),
		cmocka_unit_test_teardown(test_fault_rescind_in_traffic, guest_free),
		cmocka_unit_test_teardown(test_rescind_and_offer_again, guest_free),
		cmocka_unit_test_teardown(test_reopen_resets_session, guest_free),
		cmocka_unit_test_teardown(test_two_nics_on_a_switch, guest_free),
		cmocka_unit_test_teardown(test_gpa_direct_transmit, guest_free),
		cmocka_unit_test_teardown(test_host_signals_sparingly, guest_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
