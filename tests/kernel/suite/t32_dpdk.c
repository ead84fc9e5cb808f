/* SPDX-License-Identifier: MIT */
/*
 * DPDK 22.11's netvsc PMD, unmodified (Debian's librte-bus-vmbus23 and
 * librte-net-netvsc23, loaded as plugins), on the UIO driver under test,
 * served by vmbus-hostsim over the kernel transport with an echoing wire.
 * The program netvsc-dpdk (tests/sim/dpdk: the rte_eth_* API) probes the
 * device through the guest's real /sys/bus/vmbus and /dev/uioN, attaches
 * (NVSP, RNDIS: control messages by guest page reference), waits for the
 * link, sends frames of 60 to 1514 bytes (those above DPDK's tx_copybreak
 * of 512 bytes by page reference, the others in send sections) and checks
 * that every one comes back once and unchanged; then stops and closes the
 * port.  It runs with one queue, then two (a subchannel the driver opens
 * as the host offers it).  The host counts every frame each way (those of
 * the first queue on the primary channel) and every control message; the
 * device is then closed, and the host rescinds it: it goes from the guest.
 *
 * DPDK's memory is huge pages named by physical address (IOVA as PA,
 * /proc/self/pagemap): the test reserves 64 pages of 2 MiB and gives them
 * back.  DPDK's files are in the guest only when the build machine has
 * DPDK (tools/setup-deps dpdk).  Each run takes a few seconds under TCG, so
 * the test runs in every generation (from 6.15 on, the subchannels' ring
 * files are hv_vmbus's).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "../../sim/dpdk/hugepages.h"

#define DPDK_PROG "/bin/netvsc-dpdk"
#define HUGE_DIR "/tmp/dpdk-huge"
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define HUGE_PAGES 64
#define FRAMES 256
/* EAL's start under TCG is slow; a run that takes longer is stuck */
#define DPDK_TIMEOUT_MS 75000

static long hugepages_before = -1;
static bool huge_mounted;
static pid_t dpdk_pid;

/* At exit, also after a failed check: DPDK stopped, huge pages given back. */
static void dpdk_cleanup(void)
{
	char v[32];

	if (dpdk_pid > 0) {
		kill(dpdk_pid, SIGKILL);
		waitpid(dpdk_pid, NULL, 0);
		dpdk_pid = 0;
	}
	if (huge_mounted && umount(HUGE_DIR) == 0)
		rmdir(HUGE_DIR);
	huge_mounted = false;
	if (hugepages_before >= 0) {
		snprintf(v, sizeof(v), "%ld", hugepages_before);
		kt_write(NR_HUGEPAGES, v);
		hugepages_before = -1;
	}
}

static void reserve_hugepages(void)
{
	char v[32];

	hugepages_before = (long)kt_read_u64(NR_HUGEPAGES);
	snprintf(v, sizeof(v), "%ld", hugepages_before + HUGE_PAGES);
	KT_ASSERT(kt_write(NR_HUGEPAGES, v) == 0, "reserve %d huge pages", HUGE_PAGES);
	KT_ASSERT(free_hugepages() >= HUGE_PAGES, "%d free huge pages of 2 MiB (have %ld)",
		  HUGE_PAGES, free_hugepages());
	KT_ASSERT(mkdir(HUGE_DIR, 0700) == 0 || errno == EEXIST, "mkdir " HUGE_DIR);
	KT_ASSERT(mount("none", HUGE_DIR, "hugetlbfs", 0, "pagesize=2M") == 0,
		  "mount hugetlbfs on " HUGE_DIR ": %s", strerror(errno));
	huge_mounted = true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs netvsc-dpdk with @queues queues; its output (also shown on the
 * console, indented) in @out.  Returns its exit status.
 */
static int run_dpdk(unsigned int queues, char *out, size_t outlen)
{
	char q[8], frames[8];
	const char *argv[] = { DPDK_PROG, "-l", "0", "--in-memory", "--huge-dir", HUGE_DIR,
			       "--iova-mode=pa", "--no-pci", "--log-level=pmd.net.netvsc.*:debug",
			       "--log-level=bus.vmbus:debug",
			       "--", "--queues", q, "--frames", frames, NULL };
	int64_t end = now_ms() + DPDK_TIMEOUT_MS;
	size_t len = 0, shown = 0;
	int fd, status;

	snprintf(q, sizeof(q), "%u", queues);
	snprintf(frames, sizeof(frames), "%u", FRAMES);
	dpdk_pid = kt_spawn(argv, &fd, true);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;

		KT_ASSERT(left > 0, "netvsc-dpdk (%u queues) ended within %d s", queues,
			  DPDK_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, out + len, outlen - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		/* show whole lines as they come */
		while (shown < len && strchr(out + shown, '\n')) {
			char *nl = strchr(out + shown, '\n');

			printf("#   %.*s\n", (int)(nl - (out + shown)), out + shown);
			shown = (size_t)(nl - out) + 1;
		}
		KT_ASSERT(len < outlen - 1, "netvsc-dpdk's output fits %zu bytes", outlen);
	}
	out[len] = '\0';
	close(fd);
	KT_ASSERT(waitpid(dpdk_pid, &status, 0) == dpdk_pid, "waitpid");
	dpdk_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * What the host counted: frames from the guest (tx) and to it (rx) on the
 * primary channel's queue, the wire's totals, the control messages.  A
 * subchannel's queue is in the host's figures only while it is open: after
 * the program, the wire's totals less queue 0's are its frames.
 */
struct host_counts {
	uint64_t rx0, tx0;
	uint64_t ctl, ctl_by_page, ctl_in_sections, proto_errors;
	uint64_t wire_out, wire_in;
	bool open;
};

static void host_counts(struct host_counts *c)
{
	char out[8192], *l;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = kt_hostsim_ctl_out(out, sizeof(out), "stats", NULL);
	KT_ASSERT(rc == 0, "vmbus-hostsim ctl stats exited %d", rc);
	for (l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		sscanf(l, " queue 0: rx %" SCNu64 " frames %*u bytes %*u drops %*u batches; "
			  "tx %" SCNu64 " frames",
		       &c->rx0, &c->tx0);
		sscanf(l, " control requests %" SCNu64 " (by page %" SCNu64 ", in sections %" SCNu64
			  "), protocol errors %" SCNu64,
		       &c->ctl, &c->ctl_by_page, &c->ctl_in_sections, &c->proto_errors);
		sscanf(l, "wire echo: %" SCNu64 " frames from the guest, %" SCNu64, &c->wire_out,
		       &c->wire_in);
		if (!strncmp(l, "device ", 7))
			c->open = strstr(l, ": open,") != NULL;
	}
}

static char output[1 << 16];

/*
 * One run of netvsc-dpdk with @queues queues: it says ok (every frame back
 * once, unchanged, and with more than one queue, frames received on every
 * queue), and the host counted every frame it sent and every one it
 * echoed, those of the first queue on the primary channel.
 */
static void dpdk_traffic(unsigned int queues)
{
	/* the program sends frame i on queue i % queues */
	const uint64_t on_first = (FRAMES + queues - 1) / queues;
	struct host_counts a, b;
	uint64_t out, in, tx0, rx0;
	char want[96];
	int rc;

	host_counts(&a);
	rc = run_dpdk(queues, output, sizeof(output));
	KT_ASSERT(rc == 0 && strstr(output, "netvsc-dpdk: ok"),
		  "netvsc-dpdk with %u queue(s) exited %d (see its output above)", queues, rc);
	snprintf(want, sizeof(want), "received %u of %u frames back (0 wrong, 0 twice)", FRAMES,
		 FRAMES);
	KT_ASSERT(strstr(output, want), "netvsc-dpdk says \"%s\"", want);
	snprintf(want, sizeof(want), "started with %u queues", queues);
	KT_ASSERT(strstr(output, want), "netvsc-dpdk says \"%s\"", want);
	host_counts(&b);
	out = b.wire_out - a.wire_out;
	in = b.wire_in - a.wire_in;
	tx0 = b.tx0 - a.tx0;
	rx0 = b.rx0 - a.rx0;
	kt_note("the host took %" PRIu64 " frames (%" PRIu64 " on the primary channel), gave %" PRIu64
		" (%" PRIu64 " on the primary channel)",
		out, tx0, in, rx0);
	KT_ASSERT(out == FRAMES, "the host took every frame DPDK sent: %" PRIu64 " of %u", out,
		  FRAMES);
	KT_ASSERT(in == FRAMES, "the host gave every echoed frame to the guest: %" PRIu64 " of %u",
		  in, FRAMES);
	KT_ASSERT(tx0 == on_first, "the primary channel carried queue 0's %" PRIu64
		  " frames: %" PRIu64, on_first, tx0);
	KT_ASSERT(queues == 1 ? rx0 == FRAMES : rx0 < FRAMES,
		  "the host spread its frames to the guest over the %u queue(s): %" PRIu64
		  " of %u on the primary channel",
		  queues, rx0, FRAMES);
	/* RNDIS control goes by page reference (hn_rndis.c), never in a section */
	KT_ASSERT(b.ctl > a.ctl && b.ctl - a.ctl == b.ctl_by_page - a.ctl_by_page &&
			  b.ctl_in_sections == a.ctl_in_sections,
		  "every control message by page reference: %" PRIu64 " of %" PRIu64,
		  b.ctl_by_page - a.ctl_by_page, b.ctl - a.ctl);
	KT_ASSERT(b.proto_errors == 0, "the host saw no protocol error (%" PRIu64 ")",
		  b.proto_errors);
	/* rte_eth_dev_close closed the device on the host */
	KT_ASSERT(!b.open, "the device is closed on the host after rte_eth_dev_close");
	kt_note("%u queue(s): %u frames each way, every one counted by the host; %" PRIu64
		" control messages by page",
		queues, FRAMES, b.ctl - a.ctl);
}

int main(int argc, char **argv)
{
	static const char *const sim_args[] = { "--wire", "echo", "--queues", "4", NULL };
	char guid[37];
	int i, n, rc;

	kt_init(argc, argv, "DPDK's netvsc PMD probes, attaches and moves checked frames");
	if (access(DPDK_PROG, X_OK))
		kt_skip("DPDK is not in this guest: the build machine has no DPDK "
			"(tools/setup-deps dpdk)");
	atexit(dpdk_cleanup);
	reserve_hugepages();

	kt_new_instance(guid);
	kt_hostsim_start(guid, sim_args);
	n = kt_uio_index(guid);

	dpdk_traffic(1);
	dpdk_traffic(2);

	/* the host rescinds the closed device: it goes from the guest */
	rc = kt_hostsim_ctl("rescind", "--device", guid, NULL);
	KT_ASSERT(rc == 0, "vmbus-hostsim ctl rescind exited %d", rc);
	for (i = 0; i < KT_TIMEOUT_MS / 10 && kt_exists("/sys/bus/vmbus/devices/%s", guid); i++)
		usleep(10000);
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s", guid), "%s gone after the rescind",
		  guid);
	KT_ASSERT(!kt_exists("/dev/uio%d", n), "/dev/uio%d gone after the rescind", n);
	kt_hostsim_stop();
	kt_pass();
}
