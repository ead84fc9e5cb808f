/* SPDX-License-Identifier: MIT */
/*
 * The netvsc-user program against vmbus-hostsim: usage and exit codes,
 * info (text and JSON), gen/sink/echo/pcap with contents checked both
 * ways, jumbo frames, rescind with and without --reattach, and a host
 * that corrupts its ring.  The program is the sanitizer build next to the
 * simulator ($NETVSC_USER, else bin/netvsc-user beside $VMBUS_HOSTSIM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <libgen.h>
#include <sys/resource.h>

#include "fixture_tree.h"
#include "harness.h"

#define WAIT_MS 20000

static struct sim *live;

/* A running netvsc-user; its stdout and stderr go to files. */
struct run {
	pid_t pid;
	char out[64], err[64];
};

/* The runs of the current test (static in each test, so they outlive it):
 * a failed assertion leaves them to teardown. */
static struct run *runs[8];
static unsigned int nruns;

static int teardown(void **state)
{
	int rc = 0;
	unsigned int i;

	(void)state;
	for (i = 0; i < nruns; i++) {
		if (runs[i]->pid > 0) {
			kill(runs[i]->pid, SIGKILL);
			waitpid(runs[i]->pid, NULL, 0);
		}
		unlink(runs[i]->out);
		unlink(runs[i]->err);
	}
	nruns = 0;
	if (live) {
		rc = sim_stop(live);
		free(live);
		live = NULL;
	}
	return rc == 0 ? 0 : -1;
}

static const char *prog(void)
{
	static char path[PATH_MAX];
	char dir[PATH_MAX];

	if (getenv("NETVSC_USER"))
		return getenv("NETVSC_USER");
	snprintf(dir, sizeof(dir), "%s", sim_binary());
	snprintf(path, sizeof(path), "%s/netvsc-user", dirname(dir));
	return path;
}

static struct sim *start(const char *o1, const char *o2, const char *o3, const char *o4)
{
	struct sim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	live = s;
	assert_int_equal(sim_start(s, "--link-flap-ms", "0", o1, o2, o3, o4, NULL), 0);
	return s;
}

/* A resource limit for the next spawn (RLIMIT_NOFILE ...), -1: none. */
static int limit_res = -1;
static rlim_t limit_val;

static void spawn(struct run *r, struct sim *s, ...)
{
	char *argv[40];
	int argc = 0;
	const char *a;
	va_list ap;

	snprintf(r->out, sizeof(r->out), "/tmp/netvsc-prog-%d-XXXXXX", (int)getpid());
	snprintf(r->err, sizeof(r->err), "/tmp/netvsc-prog-%d-XXXXXX", (int)getpid());
	close(mkstemp(r->out));
	close(mkstemp(r->err));
	argv[argc++] = (char *)prog();
	if (s) {
		argv[argc++] = "--root";
		argv[argc++] = s->root;
	}
	va_start(ap, s);
	while ((a = va_arg(ap, const char *)) && argc < 38)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(NULL);
	r->pid = fork();
	if (r->pid == 0) {
		int o = open(r->out, O_WRONLY | O_TRUNC), e = open(r->err, O_WRONLY | O_TRUNC);

		dup2(o, 1);
		dup2(e, 2);
		if (limit_res >= 0) {
			struct rlimit rl = { limit_val, limit_val };

			/* only the standard descriptors count against it */
			closefrom(3);
			if (setrlimit(limit_res, &rl))
				_exit(126);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	assert_true(r->pid > 0);
	limit_res = -1;
	if (nruns < sizeof(runs) / sizeof(runs[0])) {
		unsigned int i;

		for (i = 0; i < nruns && runs[i] != r; i++)
			;
		if (i == nruns)
			runs[nruns++] = r;
	}
}

/* Waits for the program; returns its exit status (or 128 + signal). */
static int finish(struct run *r, int ms)
{
	int64_t end = sim_now_ms() + ms;
	int status;

	for (;;) {
		pid_t p = waitpid(r->pid, &status, WNOHANG);

		if (p == r->pid) {
			r->pid = 0;
			break;
		}
		if (sim_now_ms() > end) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &status, 0);
			r->pid = 0;
			fail_msg("netvsc-user did not end within %d ms", ms);
		}
		usleep(5000); /* polling the child, bounded by @ms */
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *slurp(const char *path)
{
	static char buf[2][65536];
	static int which;
	FILE *f = fopen(path, "r");
	size_t n = 0;
	char *b = buf[which++ % 2];

	if (f) {
		n = fread(b, 1, sizeof(buf[0]) - 1, f);
		fclose(f);
	}
	b[n] = '\0';
	return b;
}

/* Polls a file until @needle appears @count times, for at most @ms. */
static bool wait_text(const char *path, const char *needle, int count, int ms)
{
	int64_t end = sim_now_ms() + ms;

	do {
		const char *p = slurp(path);
		int n = 0;

		while ((p = strstr(p, needle))) {
			n++;
			p++;
		}
		if (n >= count)
			return true;
		usleep(5000); /* polling a condition, bounded by @ms */
	} while (sim_now_ms() < end);
	fprintf(stderr, "never saw \"%s\" %d times in:\n%s\n", needle, count, slurp(path));
	return false;
}

static void cleanup(struct run *r)
{
	unlink(r->out);
	unlink(r->err);
}

/* Runs to the end; on an unexpected status prints what it said. */
static void expect(struct run *r, int status)
{
	int got = finish(r, WAIT_MS);

	if (got != status) {
		fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", slurp(r->out), slurp(r->err));
		fail_msg("netvsc-user exited %d, expected %d", got, status);
	}
}

static void test_usage(void **state)
{
	static struct run r;

	(void)state;
	spawn(&r, NULL, "--help", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.out), "exit status"));
	assert_non_null(strstr(slurp(r.out), "tap IFNAME"));
	cleanup(&r);
	spawn(&r, NULL, "info", NULL);
	expect(&r, 2);
	assert_non_null(strstr(slurp(r.err), "--device"));
	cleanup(&r);
	spawn(&r, NULL, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "fly", NULL);
	expect(&r, 2);
	assert_non_null(strstr(slurp(r.err), "unknown mode"));
	cleanup(&r);
	spawn(&r, NULL, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "--queues", "0",
	      "info", NULL);
	expect(&r, 2);
	cleanup(&r);
	spawn(&r, NULL, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "tap", NULL);
	expect(&r, 2);
	cleanup(&r);
}

static void test_absent_device(void **state)
{
	struct sim *s = start(NULL, NULL, NULL, NULL);
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "info", NULL);
	expect(&r, 3);
	assert_non_null(strstr(slurp(r.err), "0f0e0d0c-0b0a-0908-0706-050403020100"));
	cleanup(&r);
}

static void test_info(void **state)
{
	struct sim *s = start("--queues", "8", NULL, NULL);
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--queues", "4", "info", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.out), "NVSP 6.1 (0x60001), NDIS 6.30"));
	assert_non_null(strstr(slurp(r.out), "queues        4 (asked 4, host offers up to 8"));
	assert_non_null(strstr(slurp(r.out), "slots of 1806"));
	cleanup(&r);
	spawn(&r, s, "--device", s->guid[0], "--json", "--nvsp-max", "0x40000", "info", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.out), "\"type\":\"info\""));
	assert_non_null(strstr(slurp(r.out), "\"nvsp_version\":\"4\""));
	assert_non_null(strstr(slurp(r.out), "\"ndis_version\":\"6.1\""));
	assert_non_null(strstr(slurp(r.out), "\"mac\":\"02:"));
	cleanup(&r);
}

/* gen out, echoed back, every frame checked; statistics at the end. */
static void test_gen_verify_echo(void **state)
{
	struct sim *s = start(NULL, NULL, NULL, NULL);
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--queues", "2", "--count", "5000", "--size", "700",
	      "--verify", "--json", "gen", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.out), "\"type\":\"final\""));
	assert_non_null(strstr(slurp(r.out), "\"tx_packets\":5000,"));
	assert_non_null(strstr(slurp(r.out), "\"checked\":5000,\"damaged\":0"));
	/* the echoes spread over both queues */
	assert_non_null(strstr(slurp(r.out), "{\"queue\":1,\"rx_packets\":"));
	assert_null(strstr(slurp(r.out), "{\"queue\":1,\"rx_packets\":0,"));
	assert_true(sim_wait_stats(s, "wire echo: 5000 frames from the guest", 5000));
	cleanup(&r);
}

/* Jumbo frames: the program sends them by pages. */
static void test_gen_jumbo(void **state)
{
	struct sim *s = start(NULL, NULL, NULL, NULL);
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--mtu", "9000", "--count", "500", "--size", "9014",
	      "--verify", "gen", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.err), "verified 500 frames: all intact"));
	cleanup(&r);
}

/* The host's gen frames, checked by sink. */
static void test_sink_verify(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-count", "3000");
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--count", "3000", "--verify", "sink", NULL);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.err), "verified 3000 frames: all intact"));
	assert_non_null(strstr(slurp(r.out), "-- final after"));
	cleanup(&r);
}

/* echo: the host's gen frames go back to the host. */
static void test_echo_mode(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-count", "2000");
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--count", "2000", "echo", NULL);
	expect(&r, 0);
	assert_true(sim_wait_stats(s, "wire gen: 2000 frames from the guest", 5000));
	cleanup(&r);
}

static void test_pcap_mode(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-count", "100");
	char path[64];
	static struct run r;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/netvsc-prog-%d.pcap", (int)getpid());
	spawn(&r, s, "--device", s->guid[0], "--count", "100", "pcap", path, NULL);
	expect(&r, 0);
	/* the file header and 100 records of 64-byte frames */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 24 + 100 * (16 + 64));
	unlink(path);
	cleanup(&r);
}

/* Frames the simulator's wire took from the guest so far. */
static uint64_t wire_from_guest(struct sim *s)
{
	char out[65536];
	const char *w;

	if (sim_ctl(s, out, sizeof(out), "stats", NULL))
		return 0;
	w = strstr(out, "wire ");
	w = w ? strchr(w, ':') : NULL;
	return w ? strtoull(w + 1, NULL, 10) : 0;
}

/* A rescind without --reattach: the program says so and exits 3. */
static void test_rescind_exit(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-rate", "1000");
	char out[4096];
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "sink", NULL);
	assert_true(wait_text(r.err, "attached:", 1, WAIT_MS));
	assert_int_equal(sim_ctl(s, out, sizeof(out), "rescind", NULL), 0);
	expect(&r, 3);
	assert_non_null(strstr(slurp(r.err), "rescinded"));
	assert_non_null(strstr(slurp(r.out), "-- final after"));
	cleanup(&r);
}

/* With --reattach it waits for the device and attaches anew. */
static void test_reattach(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-rate", "2000");
	char out[4096];
	static struct run r;
	int i;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--queues", "2", "--reattach", "echo", NULL);
	assert_true(wait_text(r.err, "attached:", 1, WAIT_MS));
	for (i = 0; i < 3; i++) {
		assert_int_equal(sim_ctl(s, out, sizeof(out), "rescind", NULL), 0);
		assert_true(wait_text(r.err, "rescinded", i + 1, WAIT_MS));
		assert_int_equal(sim_ctl(s, out, sizeof(out), "offer", s->guid[0], NULL), 0);
		assert_true(wait_text(r.err, "attached again", i + 1, WAIT_MS));
	}
	/* traffic flows again: the host's frames come back from the new session */
	assert_true(sim_wait_stats(s, "filter 0xd, link up, 2 queue(s)", WAIT_MS));
	{
		uint64_t before = wire_from_guest(s);
		int64_t end = sim_now_ms() + WAIT_MS;

		while (wire_from_guest(s) < before + 200 && sim_now_ms() < end)
			usleep(20000); /* polling the counter, bounded by WAIT_MS */
		assert_true(wire_from_guest(s) >= before + 200);
	}
	kill(r.pid, SIGTERM);
	expect(&r, 0);
	assert_non_null(strstr(slurp(r.err), "waiting for the device"));
	/* it detached in order at the end */
	assert_true(sim_wait_stats(s, "closed", WAIT_MS));
	cleanup(&r);
}

/* The host corrupts the ring: exit 4 with the reason. */
static void test_protocol_error_exit(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-rate", "1000");
	char out[4096];
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "sink", NULL);
	assert_true(wait_text(r.err, "attached:", 1, WAIT_MS));
	assert_int_equal(sim_ctl(s, out, sizeof(out), "fault", "ring-index", NULL), 0);
	expect(&r, 4);
	assert_non_null(strstr(slurp(r.err), "corrupted"));
	cleanup(&r);
}

/* --verify catches what the host failed to bring back. */
static void test_verify_fails(void **state)
{
	struct sim *s = start("--wire", "sink", NULL, NULL);
	static struct run r;

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "--count", "100", "--verify", "--timeout", "1000",
	      "gen", NULL);
	expect(&r, 5);
	assert_non_null(strstr(slurp(r.err), "verification failed: 0 of 100"));
	cleanup(&r);
}

/*
 * A queue's thread that cannot go on (here: no descriptor left for its
 * interrupt listener) ends the program with a message and exit 1; it does
 * not leave the others waiting forever.
 */
static void test_queue_error_ends_program(void **state)
{
	struct sim *s = start("--queues", "8", NULL, NULL);
	static struct run r;
	int fds;

	(void)state;
	/* the fewest descriptors that attach 8 queues: too few to wait on all
	 * (--time ends a run that would have enough) */
	for (fds = 6; fds <= 32; fds++) {
		limit_res = RLIMIT_NOFILE;
		limit_val = (rlim_t)fds;
		spawn(&r, s, "--device", s->guid[0], "--queues", "8", "--time", "20", "sink", NULL);
		expect(&r, 1);
		if (strstr(slurp(r.err), "attached:"))
			break;
		cleanup(&r);
	}
	assert_true(fds <= 32);
	assert_non_null(strstr(slurp(r.err), "stopped while waiting for the host: Too many open "
					     "files"));
	assert_non_null(strstr(slurp(r.err), s->guid[0]));
	assert_non_null(strstr(slurp(r.out), "-- final after"));
	cleanup(&r);
}

/* --time takes a finite number of seconds: NaN would never end. */
static void test_time_checked(void **state)
{
	static const char *const bad[] = { "nan", "inf", "-inf", "", " 5", "5s", "0", "-1", "1e9" };
	static struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spawn(&r, NULL, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "--time", bad[i],
		      "sink", NULL);
		expect(&r, 2);
		assert_non_null(strstr(slurp(r.err), "--time takes seconds"));
		cleanup(&r);
	}
}

/* The capture is created only once the device is attached. */
static void test_pcap_kept_when_attach_fails(void **state)
{
	struct sim *s = start(NULL, NULL, NULL, NULL);
	static struct run r;
	char path[64];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/netvsc-prog-%d.pcap", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("an earlier capture", f);
	fclose(f);
	spawn(&r, s, "--device", "0f0e0d0c-0b0a-0908-0706-050403020100", "pcap", path, NULL);
	expect(&r, 3);
	assert_string_equal(slurp(path), "an earlier capture");
	unlink(path);
	cleanup(&r);
}

/* A write error on the capture ends the program at once, saying so. */
static void test_pcap_write_error(void **state)
{
	struct sim *s = start("--wire", "gen", "--gen-rate", "1000");
	static struct run r;
	char path[64];

	(void)state;
	spawn(&r, s, "--device", s->guid[0], "pcap", "/dev/full", NULL);
	expect(&r, 1);
	assert_non_null(strstr(slurp(r.err), "cannot write /dev/full: No space left on device"));
	cleanup(&r);
	/*
	 * room for the header and a few records, not for the frames that
	 * follow; the program's stderr is a file under the same limit, and its
	 * messages fit
	 */
	snprintf(path, sizeof(path), "/tmp/netvsc-prog-%d.pcap", (int)getpid());
	limit_res = RLIMIT_FSIZE;
	limit_val = 4096;
	spawn(&r, s, "--device", s->guid[0], "pcap", path, NULL);
	expect(&r, 1);
	assert_non_null(strstr(slurp(r.err), "File too large"));
	assert_non_null(strstr(slurp(r.err), path));
	unlink(path);
	cleanup(&r);
}

/* Strings from the host or its sysfs tree are escaped in --json output. */
static void test_json_escapes_host_strings(void **state)
{
	struct sim *s = start(NULL, NULL, NULL, NULL);
	static struct run r;
	char path[PATH_MAX];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/sys/class/uio/uio0/name", s->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hv\"uio\\\x01\xff\xc3\xa9\n", f);
	fclose(f);
	spawn(&r, s, "--device", s->guid[0], "--json", "info", NULL);
	expect(&r, 0);
	if (!strstr(slurp(r.out), "\"uio\":\"hv\\\"uio\\\\\\u0001\\ufffd\xc3\xa9\","))
		fail_msg("not escaped: %s", slurp(r.out));
	cleanup(&r);
}

/*
 * Whatever layer finds the host's garbage, the exit code is 4: sysfs
 * attributes that do not parse, maps too small for what they hold, a
 * simulated host answering outside its protocol.
 */
static void test_host_garbage_exits_4(void **state)
{
	static const struct {
		const char *file, *text;
	} edits[] = {
		{ "sys/bus/vmbus/devices/%s/id", "fourteen\n" },
		{ "sys/class/uio/uio0/maps/map0/size", "0x0000000000002000\n" },
		{ "sys/class/uio/uio0/maps/map1/size", "0x0000000000000010\n" },
	};
	struct fx_device d = fx_nic_6_1();
	static struct run r;
	char *root;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct sim *s = start(NULL, NULL, NULL, NULL);
		char rel[256], path[PATH_MAX];

		snprintf(rel, sizeof(rel), edits[i].file, s->guid[0]);
		snprintf(path, sizeof(path), "%s/%s", s->root, rel);
		fx_write(path, edits[i].text);
		spawn(&r, s, "--device", s->guid[0], "info", NULL);
		expect(&r, 4);
		assert_non_null(strstr(slurp(r.err), s->guid[0]));
		cleanup(&r);
		assert_int_equal(sim_stop(s), 0);
		free(s);
		live = NULL;
	}
	/* a host whose open status is no errno at all */
	root = fx_root();
	fx_build(root, &d);
	{
		struct fx_host *h = fx_host_start(root, -5000);

		spawn(&r, NULL, "--root", root, "--device", FX_NIC_GUID, "info", NULL);
		expect(&r, 4);
		assert_non_null(strstr(slurp(r.err), "status -5000"));
		cleanup(&r);
		fx_host_stop(h);
	}
	fx_rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_usage, teardown),
		cmocka_unit_test_teardown(test_absent_device, teardown),
		cmocka_unit_test_teardown(test_info, teardown),
		cmocka_unit_test_teardown(test_gen_verify_echo, teardown),
		cmocka_unit_test_teardown(test_gen_jumbo, teardown),
		cmocka_unit_test_teardown(test_sink_verify, teardown),
		cmocka_unit_test_teardown(test_echo_mode, teardown),
		cmocka_unit_test_teardown(test_pcap_mode, teardown),
		cmocka_unit_test_teardown(test_rescind_exit, teardown),
		cmocka_unit_test_teardown(test_reattach, teardown),
		cmocka_unit_test_teardown(test_protocol_error_exit, teardown),
		cmocka_unit_test_teardown(test_verify_fails, teardown),
		cmocka_unit_test_teardown(test_queue_error_ends_program, teardown),
		cmocka_unit_test_teardown(test_time_checked, teardown),
		cmocka_unit_test_teardown(test_pcap_kept_when_attach_fails, teardown),
		cmocka_unit_test_teardown(test_pcap_write_error, teardown),
		cmocka_unit_test_teardown(test_json_escapes_host_strings, teardown),
		cmocka_unit_test_teardown(test_host_garbage_exits_4, teardown),
	};

	if (getenv("NT_FILTER"))
		cmocka_set_test_filter(getenv("NT_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
