/* SPDX-License-Identifier: MIT */
/*
 * fake-driver-core: plays the kernel's driver core for the vmbus bus on a
 * fixture tree (tests/tools/mkguest), so that vmbus-bind's whole sequence
 * runs without a kernel.
 *
 *   fake-driver-core ROOT [--kernel 6.1|6.16]
 *
 * It watches (inotify, IN_CLOSE_WRITE) what a program writes to the bus's
 * files and does what drivers/base and drivers/hv/vmbus_drv.c do:
 *
 *   devices/<g>/driver_override   kept; a newline alone clears it ("(null)")
 *   drivers/<d>/unbind            the device leaves <d> if <d> holds it
 *   drivers/<d>/bind              binds if no driver holds it and <d>
 *                                 matches: the override names <d>, or (no
 *                                 override) a dynamic or static id does
 *   drivers/<d>/new_id            adds a dynamic id and binds every unbound
 *                                 device it matches (as driver_attach does)
 *   drivers/<d>/remove_id         removes it
 *   drivers_probe                 binds an unbound device to the first
 *                                 driver that matches it
 *
 * Binding a UIO driver adds uio/uioN (maps as that kernel's
 * uio_hv_generic), sys/class/uio/uioN, dev/uioN and the primary's ring
 * file; binding hv_netvsc adds net/ethN (the lowest free N, as the kernel
 * names); unbinding removes them.  A driver directory that appears (a
 * module loaded) is watched from then on.  The dynamic ids of each driver
 * are listed in drivers/<d>/.dynids for the tests to look at.
 *
 * The kernel does all this inside the write(); here it happens just after
 * it, which is why vmbus-bind waits for a binding to show.  "ready" on
 * stdout says the watches are in place.  Runs until SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WATCH 512
#define MAX_IDS 16

static const char *root;
static bool kernel_new = true; /* 6.16: buffer maps for NICs only */
static int ifd;

struct watch {
	int wd;
	char path[PATH_MAX];
	int kind; /* 0 driver dir, 1 device dir, 2 bus dir, 3 drivers/ */
};
static struct watch watches[MAX_WATCH];
static int nwatches;

struct dynids {
	char drv[128];
	char ids[MAX_IDS][40];
	int n;
};
static struct dynids dyn[64];
static int ndyn;

static const char *const NIC = "f8615163-df3e-46c5-913f-f2d2f965ed0e";

/* The static id tables of the drivers a guest has (their hv_driver id_table). */
static bool static_match(const char *drv, const char *cls)
{
	static const struct {
		const char *drv;
		const char *cls;
	} table[] = {
		{ "hv_netvsc", "f8615163-df3e-46c5-913f-f2d2f965ed0e" },
		{ "hv_storvsc", "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f" },
		{ "hv_storvsc", "32412632-86cb-44a2-9b5c-50d1417354f5" },
		{ "hv_utils", "0e0b6031-5213-4934-818b-38d90ced39db" },
		{ "hv_utils", "9527e630-d0ae-497b-adce-e80ab0175caf" },
		{ "hv_utils", "57164f39-9115-4e78-ab55-382f3bd5422d" },
		{ "hv_utils", "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6" },
		{ "hv_utils", "35fa2e29-ea23-4236-96ae-3a6ebacba440" },
		{ "hid_hyperv", "cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a" },
		{ "hyperv_keyboard", "f912ad6d-2b17-48ea-bd65-f927a61c7684" },
		{ "hyperv_fb", "da0a7802-e377-4aac-8e77-0558eb1073f8" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].drv, drv) && !strcmp(table[i].cls, cls))
			return true;
	return false;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fake-driver-core: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void copy_str(char *out, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static bool path(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool path(char *buf, const char *fmt, ...)
{
	char rest[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rest))
		return false;
	n = snprintf(buf, PATH_MAX, "%s/%s", root, rest);
	return n >= 0 && n < PATH_MAX;
}

static int read_text(const char *p, char *buf, size_t len)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static void write_text(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		note("write %s: %s", p, strerror(errno));
	close(fd);
}

static void mkdirs(const char *p)
{
	char tmp[PATH_MAX];
	size_t i;

	copy_str(tmp, sizeof(tmp), p);
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] == '/') {
			tmp[i] = '\0';
			mkdir(tmp, 0755);
			tmp[i] = '/';
		}
	}
	mkdir(tmp, 0755);
}

static void rm_rf(const char *p)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(p, &st))
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(p))) {
		while ((de = readdir(d))) {
			char sub[PATH_MAX];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name) < (int)sizeof(sub))
				rm_rf(sub);
		}
		closedir(d);
		rmdir(p);
		return;
	}
	unlink(p);
}

static void add_watch(const char *p, int kind)
{
	int wd;

	if (nwatches == MAX_WATCH)
		return;
	wd = inotify_add_watch(ifd, p, kind == 3 ? IN_CREATE | IN_MOVED_TO : IN_CLOSE_WRITE);
	if (wd < 0)
		return;
	watches[nwatches].wd = wd;
	watches[nwatches].kind = kind;
	copy_str(watches[nwatches].path, PATH_MAX, p);
	nwatches++;
}

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

static bool dev_attr(const char *guid, const char *name, char *buf, size_t len)
{
	char p[PATH_MAX];

	return path(p, "sys/bus/vmbus/devices/%s/%s", guid, name) && read_text(p, buf, len) >= 0;
}

static void dev_class(const char *guid, char *out)
{
	char buf[64];

	out[0] = '\0';
	if (dev_attr(guid, "class_id", buf, sizeof(buf)) && buf[0] == '{' && strlen(buf) == 38) {
		memcpy(out, buf + 1, 36);
		out[36] = '\0';
	}
}

static void dev_driver(const char *guid, char *out, size_t len)
{
	char p[PATH_MAX], t[PATH_MAX];
	ssize_t n;
	const char *b;

	out[0] = '\0';
	if (!path(p, "sys/bus/vmbus/devices/%s/driver", guid))
		return;
	n = readlink(p, t, sizeof(t) - 1);
	if (n <= 0)
		return;
	t[n] = '\0';
	b = strrchr(t, '/');
	copy_str(out, len, b ? b + 1 : t);
}

/* The override, "" when none. */
static void dev_override(const char *guid, char *out, size_t len)
{
	if (!dev_attr(guid, "driver_override", out, len) || !strcmp(out, "(null)"))
		out[0] = '\0';
}

static struct dynids *dyn_of(const char *drv, bool create)
{
	int i;

	for (i = 0; i < ndyn; i++)
		if (!strcmp(dyn[i].drv, drv))
			return &dyn[i];
	if (!create || ndyn == 64)
		return NULL;
	copy_str(dyn[ndyn].drv, sizeof(dyn[ndyn].drv), drv);
	return &dyn[ndyn++];
}

static void dyn_publish(const struct dynids *d)
{
	char p[PATH_MAX], text[MAX_IDS * 40 + 1] = "";
	int i;

	for (i = 0; i < d->n; i++) {
		strcat(text, d->ids[i]);
		strcat(text, "\n");
	}
	if (path(p, "sys/bus/vmbus/drivers/%s/.dynids", d->drv))
		write_text(p, text);
}

/* vmbus_match(): the override first, then dynamic ids, then the static table. */
static bool matches(const char *drv, const char *guid)
{
	char cls[40], ovr[128];
	struct dynids *d = dyn_of(drv, false);
	int i;

	dev_class(guid, cls);
	dev_override(guid, ovr, sizeof(ovr));
	if (ovr[0] && strcmp(ovr, drv))
		return false;
	for (i = 0; d && i < d->n; i++)
		if (!strcmp(d->ids[i], cls))
			return true;
	if (static_match(drv, cls))
		return true;
	/* an override that names the driver matches with the null id */
	return ovr[0] != '\0';
}

static bool is_uio(const char *drv)
{
	return !strcmp(drv, "hv_uio") || !strcmp(drv, "uio_hv_generic");
}

static int free_uio_index(void)
{
	char p[PATH_MAX];
	struct stat st;
	int n;

	for (n = 0; n < 1024; n++)
		if (path(p, "sys/class/uio/uio%d", n) && lstat(p, &st))
			return n;
	return -1;
}

/* Lowest ethN no device has: the kernel's "eth%d". */
static void free_ifname(char *out, size_t len)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int n;

	for (n = 0; n < 256; n++) {
		bool used = false;

		snprintf(out, len, "eth%d", n);
		if (!path(p, "sys/bus/vmbus/devices") || !(d = opendir(p)))
			return;
		while ((de = readdir(d)) && !used) {
			char q[PATH_MAX];
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			if (path(q, "sys/bus/vmbus/devices/%s/net/%s", de->d_name, out) && !stat(q, &st))
				used = true;
		}
		closedir(d);
		if (!used)
			return;
	}
}

static void dev_bind(const char *guid, const char *drv)
{
	char p[PATH_MAX], target[PATH_MAX], cls[40], buf[64];

	if (!path(p, "sys/bus/vmbus/devices/%s/driver", guid))
		return;
	snprintf(target, sizeof(target), "../../../../../../bus/vmbus/drivers/%s", drv);
	if (symlink(target, p)) {
		note("bind %s to %s: %s", guid, drv, strerror(errno));
		return;
	}
	dev_class(guid, cls);
	if (is_uio(drv)) {
		int n = free_uio_index(), k, nmaps;
		bool nic = !strcmp(cls, NIC);
		uint64_t ring = 2u * 2 * 1024 * 1024;
		static const char *const names[3] = { "txrx_rings", "int_page", "monitor_page" };

		nmaps = nic || !kernel_new ? 5 : 3;
		for (k = 0; k < nmaps; k++) {
			char name[32];
			uint64_t size = k == 0 ? ring : k < 3 ? 4096 : k == 3 ? 31u << 20 : 16u << 20;

			if (k < 3)
				copy_str(name, sizeof(name), names[k]);
			else
				snprintf(name, sizeof(name), "%s:%d", k == 3 ? "recv" : "send",
					 0xe1e20 + 2 * n + k - 3);
			if (!path(p, "sys/bus/vmbus/devices/%s/uio/uio%d/maps/map%d", guid, n, k))
				return;
			mkdirs(p);
			strcat(p, "/name");
			write_text(p, name);
			if (!path(p, "sys/bus/vmbus/devices/%s/uio/uio%d/maps/map%d/size", guid, n, k))
				return;
			snprintf(buf, sizeof(buf), "0x%016llx\n", (unsigned long long)size);
			write_text(p, buf);
		}
		if (path(p, "sys/bus/vmbus/devices/%s/uio/uio%d/name", guid, n))
			write_text(p, drv);
		if (path(p, "sys/class/uio/uio%d", n)) {
			snprintf(target, sizeof(target),
				 "../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/%s/uio/uio%d",
				 guid, n);
			if (symlink(target, p))
				note("class link: %s", strerror(errno));
		}
		if (path(p, "dev/uio%d", n))
			write_text(p, "");
		if (dev_attr(guid, "id", buf, sizeof(buf)) &&
		    path(p, "sys/bus/vmbus/devices/%s/channels/%s/ring", guid, buf)) {
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			if (fd >= 0) {
				if (ftruncate(fd, (off_t)ring))
					note("ring: %s", strerror(errno));
				close(fd);
			}
		}
	} else if (!strcmp(drv, "hv_netvsc")) {
		char ifn[16];

		free_ifname(ifn, sizeof(ifn));
		if (path(p, "sys/bus/vmbus/devices/%s/net/%s", guid, ifn)) {
			mkdirs(p);
			strcat(p, "/operstate");
			write_text(p, "down\n");
		}
	}
	note("bound %s to %s", guid, drv);
}

static void dev_unbind(const char *guid)
{
	char p[PATH_MAX], drv[128], buf[64];
	DIR *d;
	struct dirent *de;

	dev_driver(guid, drv, sizeof(drv));
	if (!drv[0])
		return;
	if (path(p, "sys/bus/vmbus/devices/%s/uio", guid) && (d = opendir(p))) {
		while ((de = readdir(d))) {
			char q[PATH_MAX];

			if (strncmp(de->d_name, "uio", 3))
				continue;
			if (path(q, "sys/class/uio/%s", de->d_name))
				unlink(q);
			if (path(q, "dev/%s", de->d_name))
				unlink(q);
		}
		closedir(d);
		rm_rf(p);
	}
	if (dev_attr(guid, "id", buf, sizeof(buf)) &&
	    path(p, "sys/bus/vmbus/devices/%s/channels/%s/ring", guid, buf))
		unlink(p);
	if (path(p, "sys/bus/vmbus/devices/%s/net", guid))
		rm_rf(p);
	if (path(p, "sys/bus/vmbus/devices/%s/driver", guid))
		unlink(p);
	note("unbound %s from %s", guid, drv);
}

/* driver_attach(): every unbound device the driver matches. */
static void attach_all(const char *drv)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (!path(p, "sys/bus/vmbus/devices") || !(d = opendir(p)))
		return;
	while ((de = readdir(d))) {
		char cur[128];

		if (de->d_name[0] == '.')
			continue;
		dev_driver(de->d_name, cur, sizeof(cur));
		if (!cur[0] && matches(drv, de->d_name))
			dev_bind(de->d_name, drv);
	}
	closedir(d);
}

static bool driver_exists(const char *drv)
{
	char p[PATH_MAX];
	struct stat st;

	return path(p, "sys/bus/vmbus/drivers/%s", drv) && !stat(p, &st);
}

/* ------------------------------------------------------------------------ */
/* events                                                                    */
/* ------------------------------------------------------------------------ */

/* Reads what was written, and empties the file as a sysfs store leaves no trace. */
static int take(const char *dir, const char *name, char *buf, size_t len)
{
	char p[PATH_MAX];
	int n;

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return -1;
	n = read_text(p, buf, len);
	if (n > 0 && truncate(p, 0))
		note("truncate %s: %s", p, strerror(errno));
	return n;
}

static void on_driver_file(const char *dir, const char *name)
{
	const char *drv = strrchr(dir, '/') + 1;
	char val[256], cur[128];

	if (strcmp(name, "bind") && strcmp(name, "unbind") && strcmp(name, "new_id") &&
	    strcmp(name, "remove_id"))
		return;
	if (take(dir, name, val, sizeof(val)) <= 0)
		return;
	if (!strcmp(name, "unbind")) {
		dev_driver(val, cur, sizeof(cur));
		if (!strcmp(cur, drv))
			dev_unbind(val);
		else
			note("unbind %s from %s: not bound to it (-ENODEV)", val, drv);
	} else if (!strcmp(name, "bind")) {
		dev_driver(val, cur, sizeof(cur));
		if (cur[0])
			note("bind %s to %s: bound to %s (-EBUSY)", val, drv, cur);
		else if (!matches(drv, val))
			note("bind %s to %s: no match (-ENODEV)", val, drv);
		else
			dev_bind(val, drv);
	} else if (!strcmp(name, "new_id")) {
		struct dynids *d = dyn_of(drv, true);
		int i;

		for (i = 0; d && i < d->n; i++)
			if (!strcmp(d->ids[i], val))
				break;
		if (d && i == d->n && d->n < MAX_IDS) {
			snprintf(d->ids[d->n++], sizeof(d->ids[0]), "%.36s", val);
			dyn_publish(d);
		}
		attach_all(drv);
	} else {
		struct dynids *d = dyn_of(drv, false);
		int i;

		for (i = 0; d && i < d->n; i++) {
			if (!strcmp(d->ids[i], val)) {
				memmove(d->ids[i], d->ids[i + 1], (size_t)(d->n - i - 1) * sizeof(d->ids[0]));
				d->n--;
				dyn_publish(d);
				break;
			}
		}
	}
}

static void on_device_file(const char *dir, const char *name)
{
	char val[256], p[PATH_MAX];

	if (strcmp(name, "driver_override"))
		return;
	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p) ||
	    read_text(p, val, sizeof(val)) < 0)
		return;
	/* a newline alone clears it; the file then reads "(null)" */
	if (!val[0])
		write_text(p, "(null)\n");
}

static void on_bus_file(const char *dir, const char *name)
{
	char val[256], cur[128], p[PATH_MAX];
	DIR *d;
	struct dirent *de;

	if (strcmp(name, "drivers_probe") || take(dir, name, val, sizeof(val)) <= 0)
		return;
	dev_driver(val, cur, sizeof(cur));
	if (cur[0] || !path(p, "sys/bus/vmbus/drivers") || !(d = opendir(p)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !matches(de->d_name, val))
			continue;
		dev_bind(val, de->d_name);
		break;
	}
	closedir(d);
}

static void watch_driver(const char *drv)
{
	char p[PATH_MAX];

	if (path(p, "sys/bus/vmbus/drivers/%s", drv))
		add_watch(p, 0);
}

static void on_new_driver(const char *name)
{
	int i;

	for (i = 0; i < nwatches; i++)
		if (watches[i].kind == 0 && !strcmp(strrchr(watches[i].path, '/') + 1, name))
			return;
	watch_driver(name);
	note("driver %s registered", name);
	/* a driver that registers probes the devices it matches */
	if (driver_exists(name))
		attach_all(name);
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: fake-driver-core ROOT [--kernel 6.1|6.16]\n");
		return 2;
	}
	root = argv[1];
	for (i = 2; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--kernel"))
			kernel_new = strcmp(argv[i + 1], "6.1") != 0;
	ifd = inotify_init1(IN_CLOEXEC);
	if (ifd < 0)
		return 1;
	{
		/* no SA_RESTART: the signal must end the blocking read */
		struct sigaction sa = { .sa_handler = on_term };

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	if (path(p, "sys/bus/vmbus/drivers"))
		add_watch(p, 3);
	if (path(p, "sys/bus/vmbus"))
		add_watch(p, 2);
	if (path(p, "sys/bus/vmbus/drivers") && (d = opendir(p))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				watch_driver(de->d_name);
		closedir(d);
	}
	if (path(p, "sys/bus/vmbus/devices") && (d = opendir(p))) {
		while ((de = readdir(d))) {
			char q[PATH_MAX];

			if (de->d_name[0] != '.' && path(q, "sys/bus/vmbus/devices/%s", de->d_name))
				add_watch(q, 1);
		}
		closedir(d);
	}
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t n = read(ifd, buf, sizeof(buf));
		char *q;

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		for (q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;

			q += sizeof(*ev) + ev->len;
			for (i = 0; i < nwatches; i++) {
				if (watches[i].wd != ev->wd || !ev->len)
					continue;
				switch (watches[i].kind) {
				case 0:
					on_driver_file(watches[i].path, ev->name);
					break;
				case 1:
					on_device_file(watches[i].path, ev->name);
					break;
				case 2:
					on_bus_file(watches[i].path, ev->name);
					break;
				case 3:
					on_new_driver(ev->name);
					break;
				}
				break;
			}
		}
	}
	return 0;
}
