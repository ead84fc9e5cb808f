/* SPDX-License-Identifier: MIT */
/*
 * libnetvsc does what Linux hv_netvsc does where hosts may differ, shown
 * against vmbus-hostsim and its host variants: control messages by page
 * reference, whole objects in capability queries, an RSS table of the
 * host's size and a disable request filled in, attach going on with the
 * subchannels that opened, every receive packet completed, the send table
 * of older hosts, and replies that take seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <netvsc/netvsc.h>

#include "harness.h"
#include "netvsc_util.h"

/* RNDIS control goes by page reference, never in a send section; the
 * host (which checks query input) answers every capability query. */
static void test_control_by_page(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[65536];

	(void)state;
	nt_attach(t, 4, 0);
	assert_true(t->info.control_by_page);
	assert_string_equal(t->info.notice, "");
	assert_true(sim_wait_stats(&t->sim, ", in sections 0), protocol errors 0", 5000));
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "stats", NULL), 0);
	assert_null(strstr(out, "(by page 0,"));
	/* the offload and RSS capability queries were answered */
	assert_true(t->info.offload_caps_known);
	assert_int_equal(netvsc_queues(t->nd), 4);
	assert_true(t->info.rss);
}

/* The table of RSS entries is the host's: 128, or 256 where it says so;
 * the disable before it carries the same parameters. */
static void test_rss_table_from_caps(void **state)
{
	const char *o[] = { "--rss-table", "256", NULL };
	struct nt *t = nt_live = nt_new_opts(o);

	(void)state;
	nt_attach(t, 4, 0);
	assert_true(t->info.rss);
	assert_int_equal(t->info.rss_indirection_size, 256);
	assert_true(sim_wait_stats(&t->sim, "rss on, guest table 256 entries, host table 256", 5000));
	assert_true(sim_wait_stats(&t->sim, "disables 1 (empty 0)", 5000));
	nt_detach(t);
	assert_int_equal(nt_free(t), 0);
	nt_live = t = nt_new(NULL);
	nt_attach(t, 2, 0);
	assert_int_equal(t->info.rss_indirection_size, 128);
	assert_true(sim_wait_stats(&t->sim, "rss on, guest table 128 entries, host table 128", 5000));
	assert_true(sim_wait_stats(&t->sim, "disables 1 (empty 0)", 5000));
}

/* A host that grants subchannels and offers none: one queue, RSS off, and
 * the attach says so rather than failing. */
static void test_granted_subchannels_never_offered(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[4096];

	(void)state;
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "withhold-subchannels", "0",
				 NULL),
			 0);
	assert_int_equal(nt_attach_opts(t, 4, 0, 0, 2000), 0);
	assert_int_equal(netvsc_queues(t->nd), 1);
	assert_int_equal(t->info.subchannels_granted, 3);
	assert_int_equal(t->info.subchannels_opened, 0);
	assert_false(t->info.rss);
	assert_non_null(strstr(t->info.notice, "granted 3 subchannel(s) but 0 opened"));
	assert_non_null(strstr(t->info.notice, "RSS off"));
	/* and it works on its one queue */
	assert_int_equal(nt_send_frames(t, 0, 0, 100, 200, 8), 0);
	{
		uint64_t want = 100;

		assert_int_equal(nt_pump(t, nt_got, &want, NT_WAIT_MS), 0);
	}
}

/* Some offered: the queues up to the first one missing. */
static void test_some_subchannels_offered(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[4096];

	(void)state;
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "withhold-subchannels", "1",
				 NULL),
			 0);
	assert_int_equal(nt_attach_opts(t, 4, 0, 0, 2000), 0);
	assert_int_equal(netvsc_queues(t->nd), 2);
	assert_int_equal(t->info.subchannels_opened, 1);
	assert_true(t->info.rss);
	assert_non_null(strstr(t->info.notice, "granted 3 subchannel(s) but 1 opened"));
}

/* Whether every receive slot of the host is back. */
static bool slots_all_free(struct nt *t, const void *arg)
{
	char out[65536], needle[64];

	(void)arg;
	snprintf(needle, sizeof(needle), "receive slots free %u of %u", t->info.rx_section_count - 16,
		 t->info.rx_section_count - 16);
	return sim_ctl(&t->sim, out, sizeof(out), "stats", NULL) == 0 && strstr(out, needle);
}

/* A host that does not ask for receive completions still gets them: its
 * slots come back, so many times more frames than slots arrive. */
static void test_receive_completed_unasked(void **state)
{
	const char *o[] = { "--recv-buf", "1048576", NULL };
	struct nt *t = nt_live = nt_new_opts(o);
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct netvsc_txbuf b[32];
	uint8_t f[32][100];
	uint64_t want;
	char out[4096];
	int64_t end;
	unsigned int i;

	(void)state;
	nt_attach(t, 1, 0);
	assert_true(t->info.rx_section_count < 1000);
	want = 4u * t->info.rx_section_count;
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "rx-no-completion-flag", NULL),
			 0);
	for (i = 0; i < 32; i++) {
		nt_frame(f[i], sizeof(f[i]), t->info.mac, peer, i, 0);
		b[i] = (struct netvsc_txbuf){ .data = f[i], .len = sizeof(f[i]) };
	}
	end = sim_now_ms() + NT_WAIT_MS;
	while (t->rx_frames < want && sim_now_ms() < end) {
		int n = netvsc_send_burst(t->nd, 0, b, 32);

		assert_true(n >= 0);
		assert_true(netvsc_poll(t->nd, 0, 0) >= 0);
		if (n == 0)
			netvsc_wait(t->nd, 0, -1, 2);
	}
	assert_true(t->rx_frames >= want);
	assert_int_equal(t->rx_bad, 0);
	/* once the guest has caught up, the host holds no slot of it */
	assert_int_equal(nt_pump(t, slots_all_free, NULL, NT_WAIT_MS), 0);
}

/* Hosts up to NVSP 6 put the send table elsewhere than its offset says:
 * the guest reads it where it is (Linux netvsc_send_table). */
static void test_old_send_table(void **state)
{
	const char *o[] = { "--old-send-table", NULL };
	struct nt *t = nt_live = nt_new_opts(o);
	struct netvsc_info in = { .sz = sizeof(in) };
	unsigned int i;

	(void)state;
	nt_attach(t, 2, 0);
	assert_int_equal(t->info.nvsp_version, NVSP_VERSION_6);
	for (i = 0; i < 1000 && !in.send_table_valid; i++) {
		assert_true(nt_poll_all(t) >= 0);
		netvsc_info(t->nd, &in);
		if (!in.send_table_valid)
			netvsc_wait(t->nd, 0, -1, 10);
	}
	assert_true(in.send_table_valid);
	for (i = 0; i < 16; i++)
		assert_int_equal(in.send_table[i], i % 2);
}

/* A host that takes a second for every control reply: attach waits for
 * each, as long as its timeout allows ... */
static void test_slow_host(void **state)
{
	const char *o[] = { "--reply-delay", "700", NULL };
	struct nt *t = nt_live = nt_new_opts(o);

	(void)state;
	assert_int_equal(nt_attach_opts(t, 1, 0, 0, 5000), 0);
	assert_true(t->info.link_up);
	assert_true(t->info.offload_caps_known);
}

/* ... and says which step it gave up on when it does not. */
static void test_slow_host_timeout(void **state)
{
	const char *o[] = { "--reply-delay", "3000", NULL };
	struct nt *t = nt_live = nt_new_opts(o);

	(void)state;
	assert_int_equal(nt_attach_opts(t, 1, 0, 0, 1000), -ETIMEDOUT);
	assert_non_null(strstr(t->err, "did not answer RNDIS INITIALIZE within 1000 ms"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_control_by_page, nt_teardown),
		cmocka_unit_test_teardown(test_rss_table_from_caps, nt_teardown),
		cmocka_unit_test_teardown(test_granted_subchannels_never_offered, nt_teardown),
		cmocka_unit_test_teardown(test_some_subchannels_offered, nt_teardown),
		cmocka_unit_test_teardown(test_receive_completed_unasked, nt_teardown),
		cmocka_unit_test_teardown(test_old_send_table, nt_teardown),
		cmocka_unit_test_teardown(test_slow_host, nt_teardown),
		cmocka_unit_test_teardown(test_slow_host_timeout, nt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
