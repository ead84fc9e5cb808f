/* SPDX-License-Identifier: MIT */
/*
 * vmbus-bind: binds one VMBus device, by its instance GUID, to a UIO
 * driver (hv_uio or the kernel's uio_hv_generic) and gives it back.
 *
 * Binding uses the device's driver_override, so no other device of the
 * class is touched: set the override, release the device from its driver,
 * bind it to the UIO driver.  Kernels without driver_override (before
 * 4.20) need a dynamic id, which binds every unbound device of the class
 * at once; the id is removed again at once and any other device it took
 * is released, so only the one device changes.  What the device had
 * before (driver, override, interface name) is kept in
 * /run/vmbus-bind/<guid> for --restore.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bind.h"

static void vmsg(const struct ctx *c, const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "vmbus-bind: %sdevice %s: ", kind, c->guid ? c->guid : "?");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void say(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet)
		return;
	va_start(ap, fmt);
	fprintf(stdout, "vmbus-bind: device %s: ", c->guid ? c->guid : "?");
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

int fail(const struct ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "", fmt, ap);
	va_end(ap);
	return code;
}

void warn(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "warning: ", fmt, ap);
	va_end(ap);
}

bool is_uio_driver(const char *name)
{
	return !strcmp(name, UIO_HV_UIO) || !strcmp(name, UIO_GENERIC);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus-bind [options] GUID\n"
		"       vmbus-bind --restore [options] GUID\n"
		"\n"
		"Binds the VMBus device GUID (its instance GUID, as vmbus-ls shows it) to a UIO\n"
		"driver, so that a program (netvsc-user, DPDK, a libvmbus program) can drive it;\n"
		"--restore gives it back to the driver it had (hv_netvsc for a NIC, under its\n"
		"old interface name).  Only this device changes: it is bound through its\n"
		"driver_override.  The driver's module is loaded when needed.\n"
		"\n"
		"It refuses, unless --force, to take a NIC whose interface holds the default\n"
		"route or carries an SSH connection (SSH_CONNECTION and the established\n"
		"connections to sshd's ports), a disk controller with a mounted filesystem or\n"
		"swap, and (for --restore or a change of UIO driver) a device whose /dev/uioN\n"
		"or ring files a process holds.\n"
		"\n"
		"options:\n"
		"  -d, --driver NAME  hv_uio (default) or uio_hv_generic\n"
		"  -r, --restore      give the device back: to the driver it had before it was\n"
		"                     bound (recorded in /run/vmbus-bind/GUID), else to the\n"
		"                     kernel's driver for its class; removes --persist's file\n"
		"  -p, --persist      also write driverctl's override file\n"
		"                     (/etc/driverctl.d/vmbus-GUID) so the binding survives a\n"
		"                     reboot (driverctl's udev rule applies it)\n"
		"  -f, --force        take the device even though the checks above say no\n"
		"  --if-needed        succeed (exit 0) when there is nothing to do: already bound\n"
		"                     to the driver, or (--restore) no UIO driver holds it\n"
		"  -n, --dry-run      say what would be written, write nothing\n"
		"  -q, --quiet        print errors only\n"
		"  --timeout MS       how long to wait for the kernel to show a binding\n"
		"                     (default 5000)\n"
		"  --root DIR         work on the tree under DIR: its sys/, proc/, run/ and etc/\n"
		"                     (a simulated VMBus, a copy of a guest); default\n"
		"                     $VMBUS_ROOT, else the real system\n"
		"  -h, --help         this text\n"
		"\n"
		"environment:\n"
		"  VMBUS_MODPROBE     the command that loads a driver's module (default\n"
		"                     modprobe; under --root only this one is run, with\n"
		"                     VMBUS_ROOT set)\n"
		"\n"
		"exit status:\n"
		"  0  done\n"
		"  1  another error\n"
		"  2  usage error\n"
		"  3  permission denied: a sysfs or state file cannot be written (not root)\n"
		"  4  no such device\n"
		"  5  the driver is not loaded and its module cannot be loaded\n"
		"  6  the device is busy (a process holds /dev/uioN or a ring file)\n"
		"  7  nothing to do: already bound to the driver, or (--restore) no UIO driver\n"
		"     holds the device (0 with --if-needed)\n"
		"  8  refused for safety (default route, SSH connection, mounted disk); --force\n"
		"  9  the kernel did not bind the device (no match, or the driver's probe\n"
		"     failed: see the kernel log)\n");
}

/* ------------------------------------------------------------------------ */

/* Unbinds from the current driver and waits until it is gone. */
static int release(struct ctx *c)
{
	char path[PATH_MAX], drv[VMBUS_NAME_MAX];
	int rc;

	if (!c->dev.driver[0])
		return 0;
	snprintf(drv, sizeof(drv), "%s", c->dev.driver);
	if (!bus_path(c, path, sizeof(path), "drivers/%s/unbind", drv))
		return fail(c, EXIT_FAIL, "root prefix too long");
	rc = sysfs_write(c, path, c->guid, "release the device from its driver");
	if (rc)
		return rc;
	if (wait_driver(c, ""))
		return fail(c, EXIT_BUSY, "wrote %s but %s still holds the device after %d ms",
			    path, drv, c->timeout_ms);
	return 0;
}

/* Devices of the class that no driver holds (what a new_id would take). */
static int unbound_of_class(const struct ctx *c, struct vmbus_guid **out)
{
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = c->root };
	struct vmbus_guid *ids;
	int n = vmbus_scan(&o, NULL, 0), m, i, k = 0;

	*out = NULL;
	if (n <= 0)
		return 0;
	ids = calloc((size_t)n, sizeof(*ids));
	if (!ids)
		return 0;
	m = vmbus_scan(&o, ids, (size_t)n);
	for (i = 0; i < m && i < n; i++) {
		struct vmbus_dev_desc d = { .sz = sizeof(d) };
		char text[VMBUS_GUID_STRLEN];

		vmbus_guid_format(&ids[i], text);
		if (!strcmp(text, c->guid) || vmbus_dev_describe(text, &o, &d) ||
		    !vmbus_guid_equal(&d.class_id, &c->dev.class_id) || d.driver[0])
			continue;
		ids[k++] = ids[i];
	}
	*out = ids;
	return k;
}

/*
 * Binds the released device to @drv.  With driver_override: set it (done
 * by the caller) and write bind.  Without: a dynamic id for the class,
 * taken back at once, and any other device it took released again.
 */
static int attach(struct ctx *c, const char *drv)
{
	char path[PATH_MAX], cls[VMBUS_GUID_STRLEN + 2];
	struct vmbus_guid *others = NULL;
	int rc, nothers = 0, i;

	if (c->dev.has_override) {
		if (!bus_path(c, path, sizeof(path), "drivers/%s/bind", drv))
			return fail(c, EXIT_FAIL, "root prefix too long");
		rc = sysfs_write(c, path, c->guid, "bind the device");
		if (rc)
			return rc;
	} else {
		warn(c, "this kernel has no driver_override (%s/driver_override): using new_id "
		     "for the class, then removing it", c->devdir);
		nothers = unbound_of_class(c, &others);
		vmbus_guid_format(&c->dev.class_id, cls);
		if (!bus_path(c, path, sizeof(path), "drivers/%s/new_id", drv)) {
			free(others);
			return fail(c, EXIT_FAIL, "root prefix too long");
		}
		rc = sysfs_write_or(c, path, cls, "add the class as a dynamic id", EEXIST);
		if (rc == -EEXIST) {
			/* someone else's id: it stays, and what it took is theirs */
			warn(c, "the class is already a dynamic id of %s; it stays", drv);
			nothers = 0;
		} else if (rc) {
			free(others);
			return rc;
		}
		/* new_id binds at once; an explicit bind covers a device it missed */
		if (wait_driver(c, drv) && bus_path(c, path, sizeof(path), "drivers/%s/bind", drv))
			sysfs_write(c, path, c->guid, "bind the device");
		if (rc != -EEXIST && bus_path(c, path, sizeof(path), "drivers/%s/remove_id", drv))
			sysfs_write(c, path, cls, "remove the dynamic id again");
		for (i = 0; i < nothers; i++) {
			struct ctx o = *c;
			char text[VMBUS_GUID_STRLEN];

			vmbus_guid_format(&others[i], text);
			o.guid = text;
			if (snprintf(o.devdir, sizeof(o.devdir), "%s/sys/bus/vmbus/devices/%s",
				     c->root, text) >= (int)sizeof(o.devdir) ||
			    wait_driver(&o, drv) == 0) {
				/* the id took it too: let it go, as it was */
				if (bus_path(c, path, sizeof(path), "drivers/%s/unbind", drv) &&
				    !sysfs_write(&o, path, text, "release a device the id took"))
					warn(c, "the dynamic id also took device %s; released it",
					     text);
			}
		}
		free(others);
	}
	if (wait_driver(c, drv)) {
		char now[VMBUS_NAME_MAX];

		refresh(c);
		snprintf(now, sizeof(now), "%s", c->dev.driver[0] ? c->dev.driver : "none");
		return fail(c, EXIT_NOBIND, "%s did not take the device within %d ms (driver now: "
			    "%s; see the kernel log)", drv, c->timeout_ms, now);
	}
	return 0;
}

/* Sets (or, with "", clears) the device's driver_override. */
static int set_override(struct ctx *c, const char *drv)
{
	char path[PATH_MAX], text[VMBUS_NAME_MAX + 2];

	if (!c->dev.has_override)
		return 0;
	if (snprintf(path, sizeof(path), "%s/driver_override", c->devdir) >= (int)sizeof(path))
		return fail(c, EXIT_FAIL, "root prefix too long");
	snprintf(text, sizeof(text), "%s\n", drv);
	return sysfs_write(c, path, text, drv[0] ? "set driver_override" : "clear driver_override");
}

/*
 * A bind that failed half way: put back the override and, if the device
 * was left without a driver, its previous driver, so that a failure never
 * leaves a NIC without its interface.  Best effort; says what it did.
 */
static void rollback(struct ctx *c, const struct state *st)
{
	char path[PATH_MAX];

	if (c->dry_run || refresh(c))
		return;
	set_override(c, st->prev_override);
	if (!c->dev.driver[0] && st->prev_driver[0] &&
	    bus_path(c, path, sizeof(path), "drivers/%s/bind", st->prev_driver) &&
	    !sysfs_write(c, path, c->guid, "give the device back after the failure") &&
	    !wait_driver(c, st->prev_driver))
		warn(c, "the device is back with %s", st->prev_driver);
	refresh(c);
	if (!strcmp(c->dev.driver, st->prev_driver))
		state_remove(c);
	else
		warn(c, "the device is left with %s; vmbus-bind --restore retries giving it back",
		     c->dev.driver[0] ? c->dev.driver : "no driver");
}

static int do_bind(struct ctx *c, const char *drv, bool persist, bool if_needed)
{
	struct state st;
	int rc;

	if (!strcmp(c->dev.driver, drv)) {
		say(c, "already bound to %s%s", drv,
		    c->dev.uio_index >= 0 ? "" : " (no UIO device yet)");
		if (persist && (rc = persist_write(c, drv)))
			return rc;
		return if_needed ? EXIT_OK : EXIT_ALREADY;
	}
	if (!c->force && safety_check(c))
		return EXIT_REFUSED;
	/* moving between UIO drivers releases a device someone may be using */
	if (is_uio_driver(c->dev.driver) && !c->force && uio_busy(c, c->dev.uio_index))
		return EXIT_BUSY;
	if ((rc = ensure_driver(c, drv)))
		return rc;

	/* what to give back later; kept from an earlier bind if there is one */
	if ((rc = state_read(c, &st)))
		return rc;
	if (!st.found) {
		snprintf(st.prev_driver, sizeof(st.prev_driver), "%s", c->dev.driver);
		snprintf(st.prev_override, sizeof(st.prev_override), "%s", c->dev.driver_override);
		snprintf(st.ifname, sizeof(st.ifname), "%s", c->dev.ifname);
	}
	snprintf(st.bound, sizeof(st.bound), "%s", drv);
	if ((rc = state_write(c, &st)))
		return rc;

	if ((rc = set_override(c, drv)) || (rc = release(c)) || (rc = attach(c, drv))) {
		rollback(c, &st);
		return rc;
	}
	if (c->dry_run) {
		say(c, "dry run: nothing was changed");
		return EXIT_OK;
	}
	refresh(c);
	if (persist && (rc = persist_write(c, drv)))
		return rc;
	if (c->dev.uio_index >= 0)
		say(c, "bound to %s (was %s%s%s): /dev/uio%d", drv,
		    st.prev_driver[0] ? st.prev_driver : "unbound", st.ifname[0] ? ", interface " : "",
		    st.ifname, c->dev.uio_index);
	else
		say(c, "bound to %s (was %s%s%s)", drv,
		    st.prev_driver[0] ? st.prev_driver : "unbound", st.ifname[0] ? ", interface " : "",
		    st.ifname);
	return EXIT_OK;
}

/* Renames a network interface (it must be down): SIOCSIFNAME. */
static int rename_if(const char *from, const char *to)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	if (strlen(from) >= IFNAMSIZ || strlen(to) >= IFNAMSIZ) {
		close(s);
		return -ENAMETOOLONG;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, from, strlen(from));
	memcpy(ifr.ifr_newname, to, strlen(to));
	if (ioctl(s, SIOCSIFNAME, &ifr))
		err = -errno;
	close(s);
	return err;
}

/* After hv_netvsc took the NIC back: its interface, under the old name. */
static void restore_ifname(struct ctx *c, const char *want)
{
	long waited = 0;

	/* the driver registers the interface in its probe; a stand-in may lag */
	while (!c->dev.ifname[0] && waited < c->timeout_ms) {
		struct timespec ts = { 0, 10000000L };

		nanosleep(&ts, NULL);
		waited += 10;
		refresh(c);
	}
	if (!c->dev.ifname[0]) {
		warn(c, "%s holds the device but no interface appeared under %s/net",
		     c->dev.driver, c->devdir);
		return;
	}
	if (!want[0] || !strcmp(c->dev.ifname, want)) {
		say(c, "interface %s is back", c->dev.ifname);
		return;
	}
	if (!c->root[0] && strlen(want) < IFNAMSIZ) {
		int err = rename_if(c->dev.ifname, want);

		if (!err) {
			say(c, "interface came back as %s; renamed it to %s", c->dev.ifname, want);
			refresh(c);
			return;
		}
		warn(c, "interface came back as %s, was %s; renaming it failed: %s (ip link set "
		     "dev %s down name %s)", c->dev.ifname, want, strerror(-err), c->dev.ifname,
		     want);
		return;
	}
	warn(c, "interface came back as %s, was %s", c->dev.ifname, want);
}

static int do_restore(struct ctx *c, bool if_needed)
{
	static const struct vmbus_guid nic = VMBUS_CLASS_NIC;
	char target[VMBUS_NAME_MAX];
	const char *cls_drv;
	struct state st;
	int rc, removed;

	if ((rc = state_read(c, &st)))
		return rc;
	removed = persist_remove(c);
	if (removed < 0)
		return -removed;
	if (!is_uio_driver(c->dev.driver)) {
		if (st.found && !c->dry_run)
			state_remove(c);
		say(c, "not bound to a UIO driver (driver: %s): nothing to restore",
		    c->dev.driver[0] ? c->dev.driver : "none");
		return if_needed || removed ? EXIT_OK : EXIT_ALREADY;
	}
	if (!c->force && uio_busy(c, c->dev.uio_index))
		return EXIT_BUSY;

	cls_drv = vmbus_class_driver(&c->dev.class_id);
	if (st.found)
		snprintf(target, sizeof(target), "%s", st.prev_driver);
	else
		snprintf(target, sizeof(target), "%s", cls_drv ? cls_drv : "");
	if (!st.found)
		say(c, "no record of its previous driver (%s/run/vmbus-bind/%s): giving it to "
		    "%s", c->root, c->guid, target[0] ? target : "no driver");

	/* the override first, so the release does not bind it back at once */
	if ((rc = set_override(c, st.prev_override)) || (rc = release(c)))
		return rc;
	if (target[0] && !is_uio_driver(target)) {
		char path[PATH_MAX];

		if ((rc = ensure_driver(c, target)))
			return rc;
		if (!bus_path(c, path, sizeof(path), "drivers/%s/bind", target))
			return fail(c, EXIT_FAIL, "root prefix too long");
		if ((rc = sysfs_write(c, path, c->guid, "give the device back")))
			return rc;
		if (wait_driver(c, target))
			return fail(c, EXIT_NOBIND, "%s did not take the device back within %d ms "
				    "(see the kernel log)", target, c->timeout_ms);
	} else if (target[0]) {
		/* it was another UIO driver's before: that one again */
		if ((rc = ensure_driver(c, target)) || (rc = set_override(c, target)) ||
		    (rc = attach(c, target)))
			return rc;
	}
	if (c->dry_run) {
		say(c, "dry run: nothing was changed");
		return EXIT_OK;
	}
	refresh(c);
	state_remove(c);
	say(c, "given back to %s", c->dev.driver[0] ? c->dev.driver : "no driver");
	if (vmbus_guid_equal(&c->dev.class_id, &nic) && c->dev.driver[0] &&
	    !is_uio_driver(c->dev.driver))
		restore_ifname(c, st.ifname);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_TIMEOUT, OPT_IF_NEEDED };
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "restore", no_argument, NULL, 'r' },
		{ "persist", no_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "if-needed", no_argument, NULL, OPT_IF_NEEDED },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .timeout_ms = 5000 };
	const char *drv = UIO_HV_UIO;
	bool restore = false, persist = false, if_needed = false, drv_given = false;
	char guid[VMBUS_GUID_STRLEN];
	struct vmbus_guid g;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "d:rpfnqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (!is_uio_driver(optarg)) {
				fprintf(stderr, "vmbus-bind: --driver takes hv_uio or uio_hv_generic, "
						"not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			drv = optarg;
			drv_given = true;
			break;
		case 'r':
			restore = true;
			break;
		case 'p':
			persist = true;
			break;
		case 'f':
			c.force = true;
			break;
		case OPT_IF_NEEDED:
			if_needed = true;
			break;
		case 'n':
			c.dry_run = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case OPT_TIMEOUT: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 600000) {
				fprintf(stderr, "vmbus-bind: --timeout takes milliseconds from 1 to "
						"600000, not \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			c.timeout_ms = (int)v;
			break;
		}
		case OPT_ROOT:
			c.root = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmbus-bind: %s (try --help)\n",
			optind == argc ? "which device? give its GUID (vmbus-ls lists them)" :
					 "one device at a time");
		return EXIT_USAGE;
	}
	if (vmbus_guid_parse(argv[optind], &g)) {
		fprintf(stderr, "vmbus-bind: \"%s\" is not a GUID "
				"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (restore && (persist || drv_given)) {
		fprintf(stderr, "vmbus-bind: --restore takes neither --persist nor --driver\n");
		return EXIT_USAGE;
	}
	vmbus_guid_format(&g, guid);
	c.guid = guid;
	if (!c.root)
		c.root = getenv("VMBUS_ROOT");
	if (!c.root)
		c.root = "";
	if (snprintf(c.devdir, sizeof(c.devdir), "%s/sys/bus/vmbus/devices/%s", c.root, guid) >=
	    (int)sizeof(c.devdir))
		return fail(&c, EXIT_USAGE, "root prefix too long");

	if ((rc = refresh(&c)))
		return rc;
	if (!c.root[0] && geteuid() != 0 && !c.dry_run)
		return fail(&c, EXIT_PERM, "not root: binding writes %s/driver_override and the "
			    "driver's bind and unbind files, which only root may", c.devdir);
	if (!c.dry_run && (rc = lock_take(&c)))
		return rc;
	/* the lock may have waited for another vmbus-bind: look again */
	if ((rc = refresh(&c)))
		return rc;
	return restore ? do_restore(&c, if_needed) : do_bind(&c, drv, persist, if_needed);
}
