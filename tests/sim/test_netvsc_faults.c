/* SPDX-License-Identifier: MIT */
/*
 * libnetvsc against a misbehaving host: every fault vmbus-hostsim can
 * inject gives a clean error or a skipped packet, never a crash or a leak
 * (this program and the simulator run under ASan and UBSan); a host that
 * stops answering gives a timeout; rescind in the middle of traffic, 100
 * times in a row, each followed by a fresh attach; a second opener is
 * refused while the first keeps going.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <netvsc/netvsc.h>

#include "fixture_tree.h"
#include "harness.h"
#include "netvsc_util.h"

static bool all_back(struct nt *t, const void *arg)
{
	return t->rx_frames >= *(const uint64_t *)arg;
}

/* Sends frames and polls until the device reports an error (or @ms pass). */
static int traffic_until_error(struct nt *t, int ms)
{
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	int64_t end = sim_now_ms() + ms;
	uint8_t f[256];
	uint32_t seq = 0;

	while (sim_now_ms() < end) {
		int ret;

		nt_frame(f, sizeof(f), t->info.mac, peer, seq++ % NT_MAX_SEQ, 0);
		ret = netvsc_send(t->nd, 0, f, sizeof(f), NULL, 0);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
		ret = netvsc_poll(t->nd, 0, 0);
		if (ret < 0)
			return ret;
		ret = netvsc_wait(t->nd, 0, -1, 1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The host corrupts its ring index, or writes a bad descriptor: -EPROTO. */
static void corrupt_ring(const char *fault)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[4096];
	int ret;

	nt_attach(t, 1, 0);
	assert_int_equal(nt_send_frames(t, 0, 0, 50, 200, 1), 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", fault, NULL), 0);
	ret = traffic_until_error(t, NT_WAIT_MS);
	assert_int_equal(ret, -EPROTO);
	assert_int_equal(netvsc_state(t->nd), -EPROTO);
	assert_non_null(strstr(netvsc_strerror(t->nd), "corrupted"));
	assert_non_null(strstr(netvsc_strerror(t->nd), t->sim.guid[0]));
	assert_int_equal(t->broken, 1);
	/* everything after says so, nothing crashes */
	assert_int_equal(netvsc_poll(t->nd, 0, 0), -EPROTO);
	assert_int_equal(netvsc_send(t->nd, 0, out, 64, NULL, 0), -EPROTO);
	assert_int_equal(netvsc_wait(t->nd, 0, -1, 0), -EPROTO);
	assert_int_equal(netvsc_keepalive(t->nd), -EPROTO);
	nt_detach(t);
}

static void test_fault_ring_index(void **state)
{
	(void)state;
	corrupt_ring("ring-index");
}

static void test_fault_bad_descriptor(void **state)
{
	(void)state;
	corrupt_ring("bad-descriptor");
}

/* A receive range beyond the buffer: that packet is refused and returned,
 * the rest goes on. */
static void test_fault_bad_xfer_range(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	struct netvsc_queue_stats st = { .sz = sizeof(st) };
	char out[65536];
	uint64_t want;

	(void)state;
	nt_attach(t, 1, 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "bad-xfer-range", NULL), 0);
	assert_int_equal(nt_send_frames(t, 0, 0, 1, 200, 1), 0);
	assert_true(sim_wait_stats(&t->sim, "tx 1 frames", 5000));
	/* the frame of the bad packet is lost; the next ones arrive */
	assert_int_equal(nt_send_frames(t, 0, 1, 200, 200, 1), 0);
	want = 200;
	assert_int_equal(nt_pump(t, all_back, &want, NT_WAIT_MS), 0);
	assert_int_equal(t->seen[0], 0);
	netvsc_stats(t->nd, 0, &st);
	assert_true(st.rx_errors >= 1);
	assert_int_equal(netvsc_state(t->nd), 0);
	/* the host got its slots back: no protocol error, nothing held */
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "stats", NULL), 0);
	assert_non_null(strstr(out, "protocol errors 0"));
	assert_true(sim_wait_stats(&t->sim, "receive slots free 17982 of 17982", 5000));
}

/* A receive whose RNDIS message claims more than its range: skipped. */
static void test_fault_truncated_rndis(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	struct netvsc_queue_stats st = { .sz = sizeof(st) };
	char out[4096];
	uint64_t want = 100;

	(void)state;
	nt_attach(t, 1, 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "truncated-rndis", NULL), 0);
	assert_int_equal(nt_send_frames(t, 0, 0, 101, 300, 1), 0);
	assert_int_equal(nt_pump(t, all_back, &want, NT_WAIT_MS), 0);
	assert_int_equal(t->rx_bad, 0);
	assert_int_equal(t->seen[0], 0);
	netvsc_stats(t->nd, 0, &st);
	assert_int_equal(st.rx_errors, 1);
	assert_int_equal(netvsc_state(t->nd), 0);
	assert_true(sim_wait_stats(&t->sim, "receive slots free 17982 of 17982", 5000));
}

static bool tx_completed(struct nt *t, const void *arg)
{
	struct netvsc_queue_stats st = { .sz = sizeof(st) };

	netvsc_stats(t->nd, 0, &st);
	return st.tx_packets >= *(const uint64_t *)arg && t->rx_frames >= *(const uint64_t *)arg;
}

/* Slow completions: nothing lost, everything completed in the end. */
static void test_fault_delay_completions(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	struct netvsc_queue_stats st = { .sz = sizeof(st) };
	char out[4096];
	uint64_t want = 3000;
	int64_t t0;

	(void)state;
	nt_attach(t, 1, 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "delay-completions", "300",
				 NULL),
			 0);
	t0 = sim_now_ms();
	/* one section per frame: more than the host holds back at once */
	assert_int_equal(nt_send_frames(t, 0, 0, 3000, 100, 1), 0);
	assert_int_equal(nt_pump(t, tx_completed, &want, NT_WAIT_MS), 0);
	assert_true(sim_now_ms() - t0 >= 300);
	netvsc_stats(t->nd, 0, &st);
	assert_int_equal(st.tx_drops, 0);
	assert_int_equal(st.tx_inflight, 0);
	assert_int_equal(t->rx_dup, 0);
}

/* Completions never come: back-pressure, and detach still returns. */
static void test_fault_drop_completions(void **state)
{
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct nt *t = nt_live = nt_new(NULL);
	struct netvsc_queue_stats st = { .sz = sizeof(st) };
	char out[4096];
	uint8_t f[128];
	uint32_t taken = 0, i;
	int64_t t0;

	(void)state;
	nt_attach(t, 1, 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "drop-completions", NULL), 0);
	for (i = 0; i < 4000; i++) {
		int ret;

		nt_frame(f, sizeof(f), t->info.mac, peer, i, 0);
		ret = netvsc_send(t->nd, 0, f, sizeof(f), NULL, 0);
		if (ret == 0)
			taken++;
		else
			assert_int_equal(ret, -EAGAIN);
		assert_true(netvsc_poll(t->nd, 0, 0) >= 0);
	}
	/* every section is in flight: the rest was refused, not lost */
	netvsc_stats(t->nd, 0, &st);
	assert_true(taken < 4000);
	assert_int_equal(st.tx_inflight, taken);
	assert_int_equal(st.tx_busy, 4000 - taken);
	assert_int_equal(st.tx_packets, 0);
	assert_int_equal(netvsc_state(t->nd), 0);
	t0 = sim_now_ms();
	nt_detach(t);
	/* the drain gives up after its time, then the tear-down goes on */
	assert_true(sim_now_ms() - t0 < 2000 + 5000);
	assert_true(sim_wait_stats(&t->sim, "closed", 5000));
}

static void test_fault_rescind_in_traffic(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[4096];

	(void)state;
	nt_attach(t, 2, 0);
	assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "rescind-in-traffic", "20",
				 NULL),
			 0);
	assert_int_equal(traffic_until_error(t, NT_WAIT_MS), -ENODEV);
	assert_int_equal(netvsc_state(t->nd), -ENODEV);
	assert_non_null(strstr(netvsc_strerror(t->nd), "rescinded"));
	assert_int_equal(t->gone, 1);
	assert_int_equal(netvsc_poll(t->nd, 1, 0), -ENODEV);
	nt_detach(t);
}

/*
 * Rescind in the middle of traffic, 100 times in a row: each time the
 * device is pulled after a different number of frames, noticed, freed,
 * offered again and attached anew.
 */
static void test_rescind_100_times(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	char out[4096], n[16];
	int round;

	(void)state;
	for (round = 0; round < 100; round++) {
		int ret;

		nt_attach(t, 1 + round % 2, 0);
		snprintf(n, sizeof(n), "%d", 1 + round * 7 % 40);
		assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "fault", "rescind-in-traffic", n,
					 NULL),
				 0);
		ret = traffic_until_error(t, NT_WAIT_MS);
		if (ret != -ENODEV)
			fail_msg("round %d: %d (%s)", round, ret, netvsc_strerror(t->nd));
		assert_int_equal(t->gone, round + 1);
		nt_detach(t);
		assert_int_equal(sim_ctl(&t->sim, out, sizeof(out), "offer", t->sim.guid[0], NULL), 0);
	}
	/* and a last one that stays */
	nt_attach(t, 2, 0);
	assert_int_equal(nt_send_frames(t, 1, 0, 100, 300, 8), 0);
	{
		uint64_t want = 100;

		assert_int_equal(nt_pump(t, all_back, &want, NT_WAIT_MS), 0);
	}
}

/*
 * A host that stops answering: the attach gives up with a clear message.
 * The host is the fixture's, which answers the open and the map requests
 * and never reads the ring.
 */
static void test_host_silent(void **state)
{
	struct fx_device d = fx_nic_6_1();
	char *root = fx_root(), err[512];
	struct fx_host *h;
	struct netvsc_opts o = { .sz = sizeof(o), .timeout_ms = 300, .errbuf = err,
				 .errbuf_len = sizeof(err) };
	struct netvsc_dev *nd = (void *)1;
	int64_t t0;

	(void)state;
	fx_build(root, &d);
	h = fx_host_start(root, 0);
	o.root = root;
	t0 = sim_now_ms();
	assert_int_equal(netvsc_attach(FX_NIC_GUID, &o, &nd), -ETIMEDOUT);
	assert_true(sim_now_ms() - t0 >= 300);
	assert_non_null(strstr(err, "did not answer NVSP INIT within 300 ms"));
	assert_null(nd);
	fx_host_stop(h);
	fx_rm_rf(root);
	free(root);
}

/* Tries to open the device from another process; its exit code says how it went. */
static int open_elsewhere(struct nt *t, bool hold, pid_t *child, int *ready)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vmbus_dev_opts vo = { .sz = sizeof(vo), .root = t->sim.root };
		struct vmbus_device *dev;
		char err[512];
		int ret;

		vo.errbuf = err;
		vo.errbuf_len = sizeof(err);
		ret = vmbus_dev_open(t->sim.guid[0], &vo, &dev);
		if (hold) {
			if (ret || write(p[1], "x", 1) != 1)
				_exit(1);
			pause(); /* until killed: a guest that dies holding the device */
		}
		_exit(ret == -EBUSY && strstr(err, "in use") && strstr(err, t->sim.guid[0]) ? 0 : 1);
	}
	close(p[1]);
	*child = pid;
	*ready = p[0];
	return 0;
}

/*
 * One user at a time: while this process has the device attached, another
 * opener, here or in another process, gets -EBUSY naming the device, and
 * the user is undisturbed; a user killed with the device open does not
 * keep it from the next one.
 */
static void test_second_opener_refused(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	struct vmbus_dev_opts vo = { .sz = sizeof(vo) };
	struct vmbus_device *raw = (void *)1;
	uint64_t want = 100;
	char err[512], c;
	pid_t child;
	int status, ready;

	(void)state;
	nt_attach(t, 2, 0);
	vo.root = t->sim.root;
	vo.errbuf = err;
	vo.errbuf_len = sizeof(err);
	assert_int_equal(vmbus_dev_open(t->sim.guid[0], &vo, &raw), -EBUSY);
	assert_null(raw);
	assert_non_null(strstr(err, "in use"));
	assert_non_null(strstr(err, t->sim.guid[0]));
	open_elsewhere(t, false, &child, &ready);
	assert_int_equal(waitpid(child, &status, 0), child);
	close(ready);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the user's traffic goes on */
	assert_int_equal(nt_send_frames(t, 1, 0, 100, 300, 8), 0);
	assert_int_equal(nt_pump(t, all_back, &want, NT_WAIT_MS), 0);
	nt_detach(t);

	/* a holder killed with the device open: the next opener gets it */
	open_elsewhere(t, true, &child, &ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_int_equal(vmbus_dev_open(t->sim.guid[0], &vo, &raw), -EBUSY);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	nt_attach(t, 1, 0);
	assert_int_equal(netvsc_state(t->nd), 0);
}

static void test_attach_errors(void **state)
{
	struct nt *t = nt_live = nt_new(NULL);
	struct netvsc_opts o = { .sz = sizeof(o), .root = t->sim.root, .errbuf = t->err,
				 .errbuf_len = sizeof(t->err) };
	struct netvsc_dev *nd = (void *)1;

	(void)state;
	assert_int_equal(netvsc_attach("0f0e0d0c-0b0a-0908-0706-050403020100", &o, &nd), -ENOENT);
	assert_null(nd);
	assert_non_null(strstr(t->err, "0f0e0d0c-0b0a-0908-0706-050403020100"));
	assert_int_equal(netvsc_attach("not-a-guid", &o, &nd), -EINVAL);
	o.queues = 65;
	assert_int_equal(netvsc_attach(t->sim.guid[0], &o, &nd), -EINVAL);
	o.queues = 1;
	o.mtu = 9500;
	assert_int_equal(netvsc_attach(t->sim.guid[0], &o, &nd), -EINVAL);
	assert_int_equal(netvsc_attach(t->sim.guid[0], &o, NULL), -EINVAL);
	/* a rescinded device is gone for attach too */
	assert_int_equal(sim_ctl(&t->sim, t->err, sizeof(t->err), "rescind", NULL), 0);
	o.mtu = 0;
	assert_true(netvsc_attach(t->sim.guid[0], &o, &nd) == -ENOENT);
	netvsc_detach(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_fault_ring_index, nt_teardown),
		cmocka_unit_test_teardown(test_fault_bad_descriptor, nt_teardown),
		cmocka_unit_test_teardown(test_fault_bad_xfer_range, nt_teardown),
		cmocka_unit_test_teardown(test_fault_truncated_rndis, nt_teardown),
		cmocka_unit_test_teardown(test_fault_delay_completions, nt_teardown),
		cmocka_unit_test_teardown(test_fault_drop_completions, nt_teardown),
		cmocka_unit_test_teardown(test_fault_rescind_in_traffic, nt_teardown),
		cmocka_unit_test_teardown(test_rescind_100_times, nt_teardown),
		cmocka_unit_test_teardown(test_host_silent, nt_teardown),
		cmocka_unit_test_teardown(test_second_opener_refused, nt_teardown),
		cmocka_unit_test_teardown(test_attach_errors, nt_teardown),
	};

	if (getenv("NT_FILTER"))
		cmocka_set_test_filter(getenv("NT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
