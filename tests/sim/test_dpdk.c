/* SPDX-License-Identifier: MIT */
/*
 * DPDK 22.11's netvsc PMD, unmodified, against vmbus-hostsim's simulated
 * tree: the program dpdk/netvsc-dpdk (the rte_eth_* API: configure, start,
 * frames out to the echo wire and back, every one checked) runs in a mount
 * namespace where the simulated tree is at the real paths (/sys/bus/vmbus,
 * /sys/devices/LNXSYSTM:00/..., /sys/class/uio), so DPDK's vmbus bus driver
 * scans it with its own opendir() and open() as on a Hyper-V guest.  Only
 * the UIO character device is stood in for (dpdk/uio_shim.so, preloaded):
 * open("/dev/uioN") connects to the simulator's socket, mmap() of it maps
 * the map files; this machine's kernel has no UIO.  DPDK names its memory
 * by physical frame number (IOVA as PA, huge pages): the host reads and
 * writes it in DPDK's process, as a real host reads any guest page.
 *
 * Needs root (mounts, huge pages, frame numbers) and DPDK (tools/setup-deps
 * dpdk); skips, saying why, without either.  Reserves 64 huge pages of
 * 2 MiB when fewer are free and gives them back at the end.
 */
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "dpdk/hugepages.h"

#define HUGE_PAGES_NEEDED 64
#define DPDK_TIMEOUT_MS 120000
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static char dpdk_prog[PATH_MAX], dpdk_shim[PATH_MAX];
static long hugepages_before = -1; /* what to give back, or -1 */

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

/* Why the test cannot run here, or NULL. */
static const char *missing(void)
{
	char self[PATH_MAX - 64], *slash;
	ssize_t n;
	long total, free_pages;

	if (geteuid() != 0)
		return "needs root (mount namespace, huge pages, physical frame numbers)";
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "cannot find its own directory";
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(dpdk_prog, sizeof(dpdk_prog), "%s/dpdk/netvsc-dpdk", self);
	snprintf(dpdk_shim, sizeof(dpdk_shim), "%s/dpdk/uio_shim.so", self);
	if (access(dpdk_prog, X_OK) || access(dpdk_shim, R_OK))
		return "DPDK is not installed (tools/setup-deps dpdk), dpdk/netvsc-dpdk not built";
	free_pages = free_hugepages();
	total = read_long(NR_HUGEPAGES);
	if (free_pages < 0 || total < 0)
		return "no 2 MiB huge pages on this kernel";
	if (free_pages < HUGE_PAGES_NEEDED) {
		if (!write_long(NR_HUGEPAGES, total + HUGE_PAGES_NEEDED - free_pages))
			return "cannot reserve huge pages (" NR_HUGEPAGES ")";
		hugepages_before = total;
		if (free_hugepages() < HUGE_PAGES_NEEDED)
			return "the kernel gave fewer than 64 huge pages of 2 MiB";
	}
	return NULL;
}

static void give_back_hugepages(void)
{
	if (hugepages_before >= 0)
		write_long(NR_HUGEPAGES, hugepages_before);
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "test_dpdk: %s %s: %s\n", what, path, strerror(errno));
	_exit(126);
}

static void path_of(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* @buf = the path @fmt says; a path too long for it ends the child. */
static void path_of(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		die("path too long:", fmt);
	}
}

/*
 * In the child's mount namespace: a tmpfs over /sys/@dir holding every
 * entry the real one has (bound from @real, the real sysfs) but @name,
 * and @name bound from @src.
 */
static void overlay(const char *real, const char *dir, const char *name, const char *src)
{
	char from[PATH_MAX], dst[PATH_MAX], to[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	path_of(from, sizeof(from), "%s/%s", real, dir);
	path_of(dst, sizeof(dst), "/sys/%s", dir);
	if (mount("none", dst, "tmpfs", 0, "mode=0755"))
		die("cannot mount a tmpfs on", dst);
	d = opendir(from);
	if (!d)
		die("cannot read", from);
	while ((e = readdir(d))) {
		char p[PATH_MAX];
		ssize_t n;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, name))
			continue;
		path_of(p, sizeof(p), "%s/%s", from, e->d_name);
		path_of(to, sizeof(to), "%s/%s", dst, e->d_name);
		if (lstat(p, &st))
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(p, target, sizeof(target) - 1);
			if (n > 0) {
				target[n] = '\0';
				if (symlink(target, to))
					die("cannot make", to);
			}
			continue;
		}
		if (S_ISDIR(st.st_mode) ? mkdir(to, 0755) : close(open(to, O_CREAT | O_WRONLY, 0644)))
			die("cannot make", to);
		if (mount(p, to, NULL, MS_BIND | MS_REC, NULL))
			die("cannot bind", to);
	}
	closedir(d);
	path_of(to, sizeof(to), "%s/%s", dst, name);
	if (mkdir(to, 0755) || mount(src, to, NULL, MS_BIND, NULL))
		die("cannot bind the simulated tree on", to);
}

/* The child: the simulated tree at the real paths, huge pages, DPDK. */
static void run_child(const char *root, const char *tmp, char *const argv[])
{
	char real[PATH_MAX], huge[PATH_MAX], src[PATH_MAX];

	path_of(real, sizeof(real), "%s/sys", tmp);
	path_of(huge, sizeof(huge), "%s/huge", tmp);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("cannot make a mount namespace", "");
	if (mount("/sys", real, NULL, MS_BIND | MS_REC, NULL))
		die("cannot bind the real sysfs on", real);
	path_of(src, sizeof(src), "%s/sys/bus/vmbus", root);
	overlay(real, "bus", "vmbus", src);
	path_of(src, sizeof(src), "%s/sys/devices/LNXSYSTM:00", root);
	overlay(real, "devices", "LNXSYSTM:00", src);
	path_of(src, sizeof(src), "%s/sys/class/uio", root);
	overlay(real, "class", "uio", src);
	if (mount("none", huge, "hugetlbfs", 0, "pagesize=2M"))
		die("cannot mount hugetlbfs on", huge);
	setenv("VMBUS_ROOT", root, 1);
	setenv("LD_PRELOAD", dpdk_shim, 1);
	execv(argv[0], argv);
	die("cannot run", argv[0]);
}

/*
 * Runs netvsc-dpdk with @queues queues on @s's tree; its output (stdout
 * and stderr) goes to @out.  Returns its exit status.
 */
static int run_dpdk(struct sim *s, const char *queues, char *out, size_t outlen)
{
	char tmp[] = "/tmp/vmbus-dpdk-XXXXXX", dir[PATH_MAX + 8], huge_dir[PATH_MAX + 8];
	char *argv[] = { dpdk_prog, "-l", "0", "--in-memory", "--huge-dir", huge_dir,
			 "--iova-mode=pa", "--no-pci", "--log-level=pmd.net.netvsc.*:debug",
			 "--", "--queues", (char *)queues, "--frames", "512", NULL };
	int64_t end = sim_now_ms() + DPDK_TIMEOUT_MS;
	size_t len = 0;
	int p[2], status = 0;
	pid_t pid;

	assert_non_null(mkdtemp(tmp));
	snprintf(dir, sizeof(dir), "%s/sys", tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(huge_dir, sizeof(huge_dir), "%s/huge", tmp);
	assert_int_equal(mkdir(huge_dir, 0755), 0);
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		run_child(s->root, tmp, argv);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int64_t left = end - sim_now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "netvsc-dpdk took more than %d s: stopped\n",
				DPDK_TIMEOUT_MS / 1000);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (len + 1 >= outlen) {
			char sink[4096];

			n = read(p[0], sink, sizeof(sink));
		} else {
			n = read(p[0], out + len, outlen - 1 - len);
			if (n > 0)
				len += (size_t)n;
		}
		if (n <= 0)
			break;
	}
	out[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(huge_dir);
	rmdir(dir);
	rmdir(tmp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether the simulator's log (complete: it has stopped answering) says @needle. */
static bool log_has(struct sim *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[1024];
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	if (found)
		fprintf(stderr, "the simulator's log says \"%s\"\n", needle);
	return found;
}

/* Runs DPDK and checks it said ok; shows its output when not. */
static void expect_dpdk_ok(struct sim *s, const char *queues, char *out, size_t outlen)
{
	int rc = run_dpdk(s, queues, out, outlen);

	if (rc != 0 || !strstr(out, "netvsc-dpdk: ok"))
		fprintf(stderr, "--- netvsc-dpdk (exit %d):\n%s---\n", rc, out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "netvsc-dpdk: ok"));
}

/* The host's view afterwards: every RNDIS control request came by page
 * reference from DPDK's own memory, and the host refused no page. */
static void expect_host_content(struct sim *s)
{
	char stats[8192];
	const char *c;
	unsigned int total = 0, by_page = 0, in_sections = 1;

	assert_int_equal(sim_ctl(s, stats, sizeof(stats), "stats", NULL), 0);
	c = strstr(stats, "control requests ");
	assert_non_null(c);
	assert_int_equal(sscanf(c, "control requests %u (by page %u, in sections %u)", &total,
				&by_page, &in_sections),
			 3);
	assert_true(total > 0);
	assert_int_equal(by_page, total);
	assert_int_equal(in_sections, 0);
	assert_non_null(strstr(stats, "protocol errors 0,"));
	assert_false(log_has(s, "guest page"));
}

static char output[1 << 16];

/* One queue: attach, link, frames both ways (by send section and by page). */
static void test_dpdk_one_queue(void **state)
{
	struct sim s;

	(void)state;
	assert_int_equal(sim_start(&s, "-v", NULL), 0);
	expect_dpdk_ok(&s, "1", output, sizeof(output));
	assert_non_null(strstr(output, "received 512 of 512 frames back (0 wrong, 0 twice)"));
	expect_host_content(&s);
	assert_int_equal(sim_stop(&s), 0);
}

/* Four queues: DPDK asks for subchannels, finds their ring files in
 * channels/<relid>/ as the kernel makes them, sets RSS; every queue moves
 * frames (the program checks it). */
static void test_dpdk_four_queues(void **state)
{
	struct sim s;

	(void)state;
	assert_int_equal(sim_start(&s, "-v", NULL), 0);
	expect_dpdk_ok(&s, "4", output, sizeof(output));
	assert_non_null(strstr(output, "started with 4 queues"));
	assert_non_null(strstr(output, "open 3 subchannels"));
	expect_host_content(&s);
	assert_int_equal(sim_stop(&s), 0);
}

/*
 * A host that offers a 256-entry RSS table (Linux takes up to 256): DPDK
 * 22.11 refuses more than 128 entries (hn_rndis_query_rsscaps, from
 * FreeBSD's hn: "too many RSS indirect table entries") and runs one queue.
 * The simulator shows what such a host does to it.
 */
static void test_dpdk_rss_table_256(void **state)
{
	struct sim s;

	(void)state;
	assert_int_equal(sim_start(&s, "-v", "--rss-table", "256", NULL), 0);
	expect_dpdk_ok(&s, "1", output, sizeof(output));
	assert_non_null(strstr(output, "too many RSS indirect table entries 256"));
	assert_non_null(strstr(output, "up to 1 rx and 1 tx queues"));
	expect_host_content(&s);
	assert_int_equal(sim_stop(&s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpdk_one_queue),
		cmocka_unit_test(test_dpdk_four_queues),
		cmocka_unit_test(test_dpdk_rss_table_256),
	};
	const char *why = missing();
	int rc;

	if (why) {
		give_back_hugepages();
		printf("SKIP test_dpdk: %s\n", why);
		return 77;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	give_back_hugepages();
	return rc;
}
