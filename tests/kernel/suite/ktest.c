/* SPDX-License-Identifier: MIT */
/* Helpers for the kernel suite (see ktest.h). */
#include "ktest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

static const struct kt_driver drivers[] = {
	{
		/* Debian 12's uio_hv_generic (6.1 with its stable backports) */
		.name = "uio_hv_generic",
		.needs_monitor = true,
		.bufs_all_classes = true,
		.irq_write_signals = false,
		.reopens_subchannels = false,
		.ring_file_fixed_size = true,
		.closes_on_unbind = false,
		.ring_file_in_probe = true,
		.leaks_ring_on_rescind = true,
		.leaks_subchannels_on_rescind = true,
		.opens_early_subchannels = false,
		.irq_write_oopses_on_closed_subchannel = true,
		.closed_subchannel_keeps_ring_file = true,
		.frees_mapped_subchannel_ring = true,
		.irq_write_signals_subchannels = false,
		.has_size_params = false,
		.refuses_private_maps = false,
		/* hv_uio_cleanup() frees unless vmbus_gpadl.decrypted, which a
		 * failed teardown leaves false outside confidential VMs */
		.frees_buffer_after_failed_teardown = true,
		.refuses_open_after_failed_close = false,
		/* hv_uio_probe sets it, hv_uio_remove does not clear it */
		.leaves_rescind_callback = true,
	},
	{
		/* ours: the uio_hv_generic ABI, with what DESIGN.md adds */
		.name = "hv_uio",
		.needs_monitor = false,
		.bufs_all_classes = false,
		.irq_write_signals = true,
		.reopens_subchannels = true,
		.ring_file_fixed_size = false,
		.closes_on_unbind = true,
		.ring_file_in_probe = false,
		.leaks_ring_on_rescind = false,
		.leaks_subchannels_on_rescind = false,
		.opens_early_subchannels = true,
		.irq_write_oopses_on_closed_subchannel = false,
		/*
		 * kmod-hv/README.md: a subchannel's ring belongs to hv_vmbus,
		 * which frees it when the channel closes; the ring file goes
		 * first, and removing it unmaps it from every process.
		 */
		.closed_subchannel_keeps_ring_file = false,
		.frees_mapped_subchannel_ring = false,
		.irq_write_signals_subchannels = true,
		.has_size_params = true,
		/* kmod-hv/README.md: only shared mappings, as the newest
		 * uio_hv_generic; failed teardowns and closes leak */
		.refuses_private_maps = true,
		.frees_buffer_after_failed_teardown = false,
		.refuses_open_after_failed_close = true,
		.leaves_rescind_callback = false,
	},
};

const struct kt_driver *kt_drv;
const char *kt_module_path;
long kt_page_size;

static int64_t now_ms(void);

static const char *test_name = "?";
static int host_fd = -1;
/* a vmbus-hostsim this test started, stopped at exit whatever happens */
static pid_t hostsim_pid;

#define MAX_IDS 8
static char new_ids[MAX_IDS][40];
static unsigned int n_new_ids;

#define MAX_EVENTS 16384
static struct vmbus_sim_event evlog[MAX_EVENTS];
static bool evused[MAX_EVENTS];
static unsigned int n_ev, ev_first_unused;

/* ------------------------------------------------------------------------ */
/* flow                                                                      */
/* ------------------------------------------------------------------------ */

static void cleanup(void)
{
	unsigned int i;

	/* a host left running would keep /dev/vmbus_sim (and the module) busy */
	if (hostsim_pid > 0) {
		kill(hostsim_pid, SIGKILL);
		waitpid(hostsim_pid, NULL, 0);
		hostsim_pid = 0;
	}

	/* closing the host rescinds every channel the test offered */
	if (host_fd >= 0) {
		close(host_fd);
		host_fd = -1;
	}
	for (i = 0; i < n_new_ids; i++)
		if (new_ids[i][0])
			kt_remove_id(new_ids[i]);
}

static const struct kt_driver *find_driver(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (!strcmp(drivers[i].name, name))
			return &drivers[i];
	fprintf(stderr, "%s: unknown driver %s\n", test_name, name);
	exit(2);
}

void kt_init(int argc, char **argv, const char *what)
{
	static const char usage[] = "usage: %s --driver NAME --module FILE [--expect NAME]\n";
	/* --expect: another driver's behaviour, to show what a test catches */
	static struct kt_driver expect;
	const char *driver = NULL, *expect_name = NULL;
	struct vmbus_sim_info info;
	int a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--driver") && a + 1 < argc)
			driver = argv[++a];
		else if (!strcmp(argv[a], "--module") && a + 1 < argc)
			kt_module_path = argv[++a];
		else if (!strcmp(argv[a], "--expect") && a + 1 < argc)
			expect_name = argv[++a];
		else {
			fprintf(stderr, usage, argv[0]);
			exit(2);
		}
	}
	if (!driver || !kt_module_path) {
		fprintf(stderr, usage, argv[0]);
		exit(2);
	}
	kt_drv = find_driver(driver);
	if (expect_name && strcmp(expect_name, driver)) {
		expect = *find_driver(expect_name);
		expect.name = kt_drv->name;
		kt_drv = &expect;
		printf("# %s: expecting the behaviour of %s\n", test_name, expect_name);
	}
	printf("# %s: %s (driver %s)\n", test_name, what, kt_drv->name);
	if (geteuid() != 0)
		kt_skip("needs root (sysfs binding, /dev/vmbus_sim, /dev/uioN)");
	kt_page_size = sysconf(_SC_PAGESIZE);

	host_fd = open("/dev/" VMBUS_SIM_DEV_NAME, O_RDWR | O_CLOEXEC);
	KT_ASSERT(host_fd >= 0, "open /dev/vmbus_sim: %s (is vmbus_sim loaded?)", strerror(errno));
	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_GET_INFO, &info) == 0, "GET_INFO: %s",
		  strerror(errno));
	KT_ASSERT(info.abi_version == VMBUS_SIM_ABI_VERSION, "vmbus_sim ABI %u, suite built for %u",
		  info.abi_version, VMBUS_SIM_ABI_VERSION);
	KT_ASSERT(kt_exists("/sys/bus/vmbus/drivers/%s", kt_drv->name), "driver %s not registered",
		  kt_drv->name);
	atexit(cleanup);
}

void kt_pass(void)
{
	printf("# %s: passed\n", test_name);
	exit(0);
}

void kt_skip(const char *why)
{
	printf("# %s: skipped: %s\n", test_name, why);
	exit(77);
}

void kt_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	printf("# %s: FAILED at %s:%d: ", test_name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s is false [errno %d: %s]\n", cond, err, strerror(err));
	exit(1);
}

void kt_note(const char *fmt, ...)
{
	va_list ap;

	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void kt_diff(const char *fmt, ...)
{
	va_list ap;

	printf("#   expected difference (%s): ", kt_drv->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ------------------------------------------------------------------------ */
/* host                                                                      */
/* ------------------------------------------------------------------------ */

int kt_host_fd(void)
{
	return host_fd;
}

void kt_host_release(void)
{
	/* rescinds what this program offered, and lets another host open it */
	if (host_fd >= 0)
		close(host_fd);
	host_fd = -1;
}

static int guid_bytes(const char *text, uint8_t out[16])
{
	unsigned int v[16];
	int i;

	if (sscanf(text, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &v[3], &v[2],
		   &v[1], &v[0], &v[5], &v[4], &v[7], &v[6], &v[8], &v[9], &v[10], &v[11], &v[12],
		   &v[13], &v[14], &v[15]) != 16)
		return -1;
	for (i = 0; i < 16; i++)
		out[i] = (uint8_t)v[i];
	return 0;
}

int kt_try_offer(const char *class_id, const char *instance, uint8_t monitor_id,
		 uint16_t sub_index, uint32_t flags, struct vmbus_sim_offer *out)
{
	struct vmbus_sim_offer o;

	memset(&o, 0, sizeof(o));
	KT_ASSERT(!guid_bytes(class_id, o.class_id), "bad class GUID %s", class_id);
	KT_ASSERT(!guid_bytes(instance, o.instance_id), "bad instance GUID %s", instance);
	o.monitor_id = monitor_id;
	o.sub_channel_index = sub_index;
	o.flags = flags;
	if (ioctl(host_fd, VMBUS_SIM_IOC_OFFER, &o) != 0)
		return -errno;
	if (out)
		*out = o;
	return 0;
}

uint32_t kt_offer(const char *class_id, const char *instance, uint8_t monitor_id,
		  uint16_t sub_index, uint32_t flags)
{
	struct vmbus_sim_offer o;
	int err = kt_try_offer(class_id, instance, monitor_id, sub_index, flags, &o);

	errno = -err;
	KT_ASSERT(err == 0, "offer of %s/%s sub %u", class_id, instance, sub_index);
	return o.relid;
}

void kt_rescind(uint32_t relid)
{
	struct vmbus_sim_rescind r = { .relid = relid };

	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_RESCIND, &r) == 0, "rescind relid %u", relid);
}

int kt_signal(uint32_t relid)
{
	struct vmbus_sim_signal s = { .relid = relid };

	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_SIGNAL, &s) == 0, "signal relid %u", relid);
	return (int)s.delivered;
}

int kt_chan_info(uint32_t relid, struct vmbus_sim_chan_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->relid = relid;
	return ioctl(host_fd, VMBUS_SIM_IOC_CHAN_INFO, ci) == 0 ? 0 : -errno;
}

void kt_set_mode(uint32_t mode)
{
	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_SET_MODE, &mode) == 0, "set mode %#x", mode);
}

bool kt_wait_opened(uint32_t relid)
{
	int64_t end = now_ms() + KT_TIMEOUT_MS;
	struct vmbus_sim_chan_info ci;

	do {
		if (kt_chan_info(relid, &ci) || ci.state == VMBUS_SIM_STATE_OPENED)
			break;
		/* the driver's work runs meanwhile: yield, do not sleep on it */
		sched_yield();
	} while (now_ms() < end);
	return kt_chan_info(relid, &ci) == 0 && ci.state == VMBUS_SIM_STATE_OPENED;
}

void kt_fault(uint32_t relid, uint32_t what)
{
	struct vmbus_sim_fault f = { .relid = relid, .what = what };

	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_FAULT, &f) == 0, "fault %u on relid %u", what, relid);
}

uint32_t kt_gen(void)
{
	static uint32_t gen;

	if (!gen)
		KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_GET_GEN, &gen) == 0, "GET_GEN");
	return gen;
}

unsigned int kt_nr_channels(void)
{
	struct vmbus_sim_info info;

	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_GET_INFO, &info) == 0, "GET_INFO");
	return info.nr_channels;
}

unsigned int kt_nr_gpadls(void)
{
	struct vmbus_sim_info info;

	KT_ASSERT(ioctl(host_fd, VMBUS_SIM_IOC_GET_INFO, &info) == 0, "GET_INFO");
	return info.nr_gpadls;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what the host has queued, waiting up to @timeout_ms for the first. */
static int ev_read(int timeout_ms)
{
	struct vmbus_sim_event buf[64];
	struct pollfd pfd = { .fd = host_fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	n = read(host_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	KT_ASSERT(n % (ssize_t)sizeof(buf[0]) == 0, "short event record");
	for (r = 0; r < n / (ssize_t)sizeof(buf[0]); r++) {
		KT_ASSERT(n_ev < MAX_EVENTS, "event log full");
		KT_ASSERT(buf[r].type != VMBUS_SIM_EV_OVERFLOW, "host events overflowed");
		evlog[n_ev++] = buf[r];
	}
	return (int)(n / (ssize_t)sizeof(buf[0]));
}

static int ev_find(uint32_t type, uint32_t relid, struct vmbus_sim_event *out)
{
	unsigned int i;

	for (i = ev_first_unused; i < n_ev; i++) {
		if (evused[i] || evlog[i].type != type || (relid && evlog[i].relid != relid))
			continue;
		evused[i] = true;
		while (ev_first_unused < n_ev && evused[ev_first_unused])
			ev_first_unused++;
		if (out)
			*out = evlog[i];
		return 0;
	}
	return -ENOENT;
}

int kt_ev_wait(uint32_t type, uint32_t relid, int timeout_ms, struct vmbus_sim_event *out)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		int64_t left;
		int r;

		if (ev_find(type, relid, out) == 0)
			return 0;
		left = end - now_ms();
		r = ev_read(left > 0 ? (int)left : 0);
		KT_ASSERT(r >= 0, "reading host events");
		if (r == 0 && left <= 0)
			return -ETIMEDOUT;
	}
}

bool kt_ev_none(uint32_t type, uint32_t relid)
{
	unsigned int i;

	while (ev_read(0) > 0)
		;
	for (i = ev_first_unused; i < n_ev; i++)
		if (!evused[i] && evlog[i].type == type && (!relid || evlog[i].relid == relid))
			return false;
	return true;
}

bool kt_ev_none_by_event(uint32_t relid)
{
	unsigned int i;

	while (ev_read(0) > 0)
		;
	for (i = ev_first_unused; i < n_ev; i++)
		if (!evused[i] && evlog[i].type == VMBUS_SIM_EV_SIGNAL &&
		    evlog[i].flags == VMBUS_SIM_SIG_EVENT && (!relid || evlog[i].relid == relid))
			return false;
	return true;
}

void kt_ev_flush(void)
{
	while (ev_read(0) > 0)
		;
	memset(evused, 1, sizeof(evused[0]) * n_ev);
	ev_first_unused = n_ev;
}

void *kt_host_map_gpadl(uint32_t handle, size_t size)
{
	size_t len = (size + (size_t)kt_page_size - 1) & ~((size_t)kt_page_size - 1);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, host_fd,
		       (off_t)VMBUS_SIM_MMAP_GPADL(handle));

	KT_ASSERT(p != MAP_FAILED, "host mmap of GPADL %u (%zu bytes)", handle, size);
	return p;
}

void *kt_host_map_page(unsigned int pgoff)
{
	void *p = mmap(NULL, (size_t)kt_page_size, PROT_READ | PROT_WRITE, MAP_SHARED, host_fd,
		       (off_t)pgoff * kt_page_size);

	KT_ASSERT(p != MAP_FAILED, "host mmap of page %u", pgoff);
	return p;
}

static int host_signal(struct vmbus_chan *c, void *arg)
{
	struct kt_host_chan *hc = arg;

	(void)c;
	return kt_signal(hc->relid) == 1 ? 0 : -EIO;
}

void kt_host_attach(struct kt_host_chan *hc, uint32_t relid)
{
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };
	struct vmbus_sim_event ev;
	uint8_t *h;
	int err;

	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0,
		  "no OPEN for relid %u", relid);
	hc->relid = relid;
	hc->size = (size_t)ev.size;
	hc->map = h = kt_host_map_gpadl(ev.gpadl, hc->size);
	o.tx = h + ev.offset;
	o.tx_size = hc->size - (size_t)ev.offset;
	o.rx = h;
	o.rx_size = (size_t)ev.offset;
	o.hdr_size = (size_t)kt_page_size;
	o.relid = relid;
	o.signal = host_signal;
	o.signal_arg = hc;
	err = vmbus_chan_attach(&o, &hc->c);
	errno = -err;
	KT_ASSERT(err == 0, "host attach to relid %u", relid);
}

void kt_host_detach(struct kt_host_chan *hc)
{
	vmbus_chan_detach(hc->c);
	munmap(hc->map, hc->size);
	hc->c = NULL;
	hc->map = NULL;
}

int kt_host_recv(struct kt_host_chan *hc, void *buf, size_t len, struct vmbus_pkt *pkt)
{
	for (;;) {
		int r = vmbus_chan_recv(hc->c, buf, len, pkt);

		if (r != -EAGAIN)
			return r;
		/* arm: the guest signals only while the host's mask is clear */
		if (vmbus_ring_arm(vmbus_chan_rx_ring(hc->c)) == 1)
			continue;
		if (kt_ev_wait(VMBUS_SIM_EV_SIGNAL, hc->relid, KT_TIMEOUT_MS, NULL))
			return -ETIMEDOUT;
	}
}

void kt_ping_at(const char *file, int line, struct vmbus_chan *g, struct kt_host_chan *hc,
		int n)
{
	static uint8_t buf[4096];
	struct vmbus_pkt pkt;
	char msg[48];
	int r, len = snprintf(msg, sizeof(msg), "relid %u packet %d", hc->relid, n);

	r = vmbus_chan_send(g, 0, 0, msg, (size_t)len + 1);
	if (r)
		kt_fail_at(file, line, "send", "guest send on relid %u: %d", hc->relid, r);
	r = kt_host_recv(hc, buf, sizeof(buf), &pkt);
	if (r <= 0 || strcmp(pkt.data, msg))
		kt_fail_at(file, line, "recv", "host recv on relid %u: %d", hc->relid, r);
	r = vmbus_chan_send(hc->c, 0, 0, msg, (size_t)len + 1);
	if (r)
		kt_fail_at(file, line, "send", "host send on relid %u: %d", hc->relid, r);
	r = kt_guest_recv(g, buf, sizeof(buf), &pkt);
	if (r <= 0 || strcmp(pkt.data, msg))
		kt_fail_at(file, line, "recv", "guest recv on relid %u: %d", hc->relid, r);
}

int kt_guest_recv(struct vmbus_chan *c, void *buf, size_t len, struct vmbus_pkt *pkt)
{
	for (;;) {
		int r = vmbus_chan_recv(c, buf, len, pkt);

		if (r != -EAGAIN)
			return r;
		r = vmbus_chan_wait(c, KT_TIMEOUT_MS);
		if (r)
			return r;
	}
}

/* ------------------------------------------------------------------------ */
/* sysfs                                                                     */
/* ------------------------------------------------------------------------ */

void kt_new_instance(char out[37])
{
	uint8_t b[16];

	/* no need to wait for the entropy pool: uniqueness is all that matters */
	KT_ASSERT(getrandom(b, sizeof(b), GRND_INSECURE) == sizeof(b), "getrandom");
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

int kt_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (int)n;
}

int kt_readf(char *buf, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return kt_read(path, buf, len);
}

int kt_write(const char *path, const char *s)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

int kt_writef(const char *s, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return kt_write(path, s);
}

bool kt_exists(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return access(path, F_OK) == 0;
}

bool kt_wait_exists(int timeout_ms, const char *fmt, ...)
{
	int64_t end = now_ms() + timeout_ms;
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	do {
		if (access(path, F_OK) == 0)
			return true;
		/* waiting for a kernel worker: yield, do not sleep on it */
		sched_yield();
	} while (now_ms() < end);
	return access(path, F_OK) == 0;
}

uint64_t kt_read_u64(const char *fmt, ...)
{
	char path[PATH_MAX], buf[64], *end;
	unsigned long long v;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = kt_read(path, buf, sizeof(buf));
	errno = n < 0 ? -n : 0;
	KT_ASSERT(n > 0, "read %s", path);
	errno = 0;
	v = strtoull(buf, &end, 0);
	KT_ASSERT(!errno && *end == '\0', "%s holds \"%s\", not a number", path, buf);
	return v;
}

static void drv_path(char *out, size_t len, const char *file)
{
	snprintf(out, len, "/sys/bus/vmbus/drivers/%s/%s", kt_drv->name, file);
}

int kt_new_id(const char *class_id)
{
	char path[PATH_MAX];
	unsigned int i;
	int err;

	drv_path(path, sizeof(path), "new_id");
	err = kt_write(path, class_id);
	if (err)
		return err;
	for (i = 0; i < n_new_ids; i++)
		if (!strcmp(new_ids[i], class_id))
			return 0;
	if (n_new_ids < MAX_IDS)
		snprintf(new_ids[n_new_ids++], sizeof(new_ids[0]), "%s", class_id);
	return 0;
}

int kt_remove_id(const char *class_id)
{
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < n_new_ids; i++)
		if (!strcmp(new_ids[i], class_id))
			new_ids[i][0] = '\0';
	drv_path(path, sizeof(path), "remove_id");
	return kt_write(path, class_id);
}

int kt_bind(const char *guid)
{
	char path[PATH_MAX];

	drv_path(path, sizeof(path), "bind");
	return kt_write(path, guid);
}

int kt_unbind(const char *guid)
{
	char path[PATH_MAX];

	drv_path(path, sizeof(path), "unbind");
	return kt_write(path, guid);
}

int kt_override(const char *guid, const char *driver)
{
	return kt_writef(driver ? driver : "\n", "/sys/bus/vmbus/devices/%s/driver_override",
			 guid);
}

void kt_bind_driver_at(const char *file, int line, const char *guid)
{
	int r = kt_override(guid, kt_drv->name);

	if (r) {
		errno = -r;
		kt_fail_at(file, line, "override", "driver_override of %s to %s", guid,
			   kt_drv->name);
	}
	r = kt_bind(guid);
	if (r) {
		errno = -r;
		kt_fail_at(file, line, "bind", "bind %s to %s", guid, kt_drv->name);
	}
}

uint32_t kt_offer_bound_at(const char *file, int line, const char *class_id, char guid[37])
{
	uint32_t relid;

	kt_new_instance(guid);
	relid = kt_offer(class_id, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_bind_driver_at(file, line, guid);
	return relid;
}

const char *kt_bound(const char *guid)
{
	static char name[PATH_MAX];
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/driver", guid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return "";
	link[n] = '\0';
	snprintf(name, sizeof(name), "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	return name;
}

int kt_uio_index(const char *guid)
{
	char path[PATH_MAX];
	struct dirent *de;
	int idx = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/uio", guid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "uio", 3) && de->d_name[3] >= '0' && de->d_name[3] <= '9')
			idx = atoi(de->d_name + 3);
	closedir(d);
	return idx;
}

int kt_uio_open(const char *guid)
{
	char path[64];
	int idx = kt_uio_index(guid), fd;

	KT_ASSERT(idx >= 0, "%s has no uio device", guid);
	snprintf(path, sizeof(path), "/dev/uio%d", idx);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0, "open %s", path);
	return fd;
}

struct vmbus_device *kt_dev_open_at(const char *file, int line, const char *guid)
{
	struct vmbus_dev_opts opts = { .sz = sizeof(opts), .root = "" };
	struct vmbus_device *dev;
	char err[256] = "";
	int r;

	opts.errbuf = err;
	opts.errbuf_len = sizeof(err);
	r = vmbus_dev_open(guid, &opts, &dev);
	if (r) {
		errno = -r;
		kt_fail_at(file, line, "vmbus_dev_open", "vmbus_dev_open %s: %s", guid, err);
	}
	return dev;
}

long kt_meminfo(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	KT_ASSERT(f, "open /proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	KT_ASSERT(v >= 0, "no %s in /proc/meminfo", field);
	return v;
}

/* ------------------------------------------------------------------------ */
/* kernel log                                                                */
/* ------------------------------------------------------------------------ */

void kt_kmsg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, n;

	n = snprintf(buf, sizeof(buf), "<5>ktest: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	KT_ASSERT(fd >= 0, "open /dev/kmsg");
	KT_ASSERT(write(fd, buf, strlen(buf)) > 0, "write /dev/kmsg");
	close(fd);
}

int kt_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	KT_ASSERT(fd >= 0, "open /dev/kmsg");
	KT_ASSERT(lseek(fd, 0, SEEK_END) >= 0, "seek /dev/kmsg");
	return fd;
}

int kt_kmsg_count(int fd, const char *needle)
{
	char rec[8192];
	int found = 0;

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n < 0 && errno == EPIPE)
			continue; /* records were overwritten; go on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			found++;
	}
	return found;
}

int kt_kmsg_errors(int fd, const char *needle)
{
	char rec[8192];
	int found = 0;

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *text;

		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		/* "facility*8+level,seq,usec,flags;text" */
		text = strchr(rec, ';');
		if (!text || (strtol(rec, NULL, 10) & 7) > 3 || !strstr(text, needle))
			continue;
		printf("# kernel error: %s", text + 1);
		found++;
	}
	return found;
}

bool kt_kmsg_find(int fd, const char *needle)
{
	return kt_kmsg_count(fd, needle) > 0;
}

/* ------------------------------------------------------------------------ */
/* driver module                                                             */
/* ------------------------------------------------------------------------ */

int kt_module_unload(void)
{
	if (syscall(SYS_delete_module, kt_drv->name, O_NONBLOCK) != 0)
		return -errno;
	return 0;
}

int kt_module_load(void)
{
	return kt_module_load_params("");
}

int kt_module_load_params(const char *params)
{
	int fd = open(kt_module_path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0) != 0)
		err = -errno;
	close(fd);
	return err;
}

/* ------------------------------------------------------------------------ */
/* memory                                                                    */
/* ------------------------------------------------------------------------ */

static uint64_t read_u64_at(const char *path, uint64_t index)
{
	uint64_t v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	KT_ASSERT(fd >= 0, "open %s", path);
	KT_ASSERT(pread(fd, &v, sizeof(v), (off_t)(index * sizeof(v))) == sizeof(v),
		  "read %s at %llu", path, (unsigned long long)index);
	close(fd);
	return v;
}

bool kt_pfn(const void *addr, uint64_t *pfn)
{
	uint64_t e = read_u64_at("/proc/self/pagemap", (uintptr_t)addr / (uint64_t)kt_page_size);

	/* bit 63: present; bits 0-54: the page frame (root sees it) */
	if (!(e >> 63))
		return false;
	*pfn = e & ((1ULL << 55) - 1);
	return true;
}

uint64_t kt_kpageflags(uint64_t pfn)
{
	return read_u64_at("/proc/kpageflags", pfn);
}

uint64_t kt_kpagecount(uint64_t pfn)
{
	return read_u64_at("/proc/kpagecount", pfn);
}

static sigjmp_buf probe_env;

static void probe_fault(int sig)
{
	siglongjmp(probe_env, sig);
}

int kt_probe_read(const volatile void *addr, uint8_t *out)
{
	struct sigaction sa = { .sa_handler = probe_fault }, old_bus, old_segv;
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(probe_env, 1);
	if (!sig)
		*out = *(const volatile uint8_t *)addr;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig == SIGBUS ? -EFAULT : sig ? -EINVAL : 0;
}

/* ------------------------------------------------------------------------ */
/* threads                                                                   */
/* ------------------------------------------------------------------------ */

static void *reader_main(void *arg)
{
	struct kt_reader *r = arg;

	__atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	r->n = read(r->fd, &r->count, sizeof(r->count));
	r->err = r->n < 0 ? errno : 0;
	return NULL;
}

void kt_reader_start(struct kt_reader *r, int fd)
{
	*r = (struct kt_reader){ .fd = fd };
	KT_ASSERT(pthread_create(&r->thread, NULL, reader_main, r) == 0, "reader thread");
	while (!__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	KT_ASSERT(kt_wait_blocked(r->tid, SYS_read, KT_TIMEOUT_MS),
		  "the reader never blocked in read()");
}

void kt_reader_join(struct kt_reader *r)
{
	pthread_join(r->thread, NULL);
}

bool kt_wait_until_u32(const unsigned int *v, unsigned int want, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	do {
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			return true;
		/* the other thread makes progress meanwhile */
		sched_yield();
	} while (now_ms() < end);
	return __atomic_load_n(v, __ATOMIC_ACQUIRE) >= want;
}

bool kt_wait_blocked(pid_t tid, long nr, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	char path[64], buf[512], *p;

	do {
		long sc = -1;
		char state = '?';

		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
		if (kt_read(path, buf, sizeof(buf)) > 0 && (p = strrchr(buf, ')')) && p[1] == ' ')
			state = p[2];
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
		if (kt_read(path, buf, sizeof(buf)) > 0)
			sc = strtol(buf, NULL, 10);
		if (state == 'S' && (nr < 0 ? sc >= 0 : sc == nr))
			return true;
		/* observing another thread's state: yield, do not sleep on it */
		sched_yield();
	} while (now_ms() < end);
	return false;
}

/* ------------------------------------------------------------------------ */
/* vmbus-hostsim and netvsc-user                                             */
/* ------------------------------------------------------------------------ */

bool kt_dir_first(const char *path, char *out, size_t outlen)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (out && strlen(de->d_name) >= outlen))
			continue;
		if (out)
			snprintf(out, outlen, "%s", de->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

/* True once hv_vmbus has registered the device: channels/ has its primary. */
static bool registered(const char *guid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels", guid);
	return kt_dir_first(path, NULL, 0);
}

pid_t kt_spawn(const char *const *argv, int *out, bool with_stderr)
{
	int p[2];
	pid_t pid;

	KT_ASSERT(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(NULL);
	pid = fork();
	KT_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		/* dup2 clears close-on-exec on the copies only */
		dup2(p[1], 1);
		if (with_stderr)
			dup2(p[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

void kt_hostsim_launch(const char *guid, const char *const *argv)
{
	const char *args[32] = { KT_HOSTSIM, "--root", KT_HOSTSIM_ROOT, "--transport", "kernel",
				 "--device", guid, "--link-flap-ms", "0" };
	unsigned int n = 9, i;
	char line[64] = "";
	size_t len = 0;
	int fd;

	if (access(KT_HOSTSIM, X_OK))
		kt_skip(KT_HOSTSIM " is not in this guest");
	for (i = 0; argv && argv[i] && n < 31; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	/* vmbus-hostsim is the host now */
	kt_host_release();
	hostsim_pid = kt_spawn(args, &fd, false);
	/* the GUID is printed once the offer is made */
	while (len < sizeof(line) - 1 && read(fd, line + len, 1) == 1 && line[len] != '\n')
		len++;
	line[len] = '\0';
	close(fd);
	KT_ASSERT(!strcmp(line, guid), "vmbus-hostsim offered \"%s\", asked for %s", line, guid);
	/*
	 * The guest processes the offer asynchronously.  Its directory
	 * appears before the device is on the bus and probed: binding then
	 * would fail (ENODEV), or a driver_override written before that probe
	 * would bind it there and the bind fail (EBUSY).  Wait until the
	 * registration is complete (channels/ holds the primary); bounded.
	 */
	for (i = 0; i < KT_TIMEOUT_MS / 10 && !registered(guid); i++)
		usleep(10000);
	KT_ASSERT(registered(guid), "the offer of %s reached the guest", guid);
}

void kt_hostsim_start(const char *guid, const char *const *argv)
{
	kt_hostsim_launch(guid, argv);
	kt_bind_driver(guid);
	KT_ASSERT(kt_uio_index(guid) >= 0, "a UIO device for %s", guid);
}

void kt_hostsim_stop(void)
{
	int status;

	if (hostsim_pid <= 0)
		return;
	kill(hostsim_pid, SIGTERM);
	KT_ASSERT(waitpid(hostsim_pid, &status, 0) == hostsim_pid, "waitpid");
	hostsim_pid = 0;
	KT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vmbus-hostsim exit status %d",
		  status);
}

int kt_run(const char *const *argv)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	KT_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	KT_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
