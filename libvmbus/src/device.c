/* SPDX-License-Identifier: MIT */
/*
 * Devices: find a VMBus device by GUID under a root prefix, check and map
 * what its UIO driver exposes, open subchannels, wait for interrupts,
 * signal the host and notice rescind.
 *
 * The same code runs on a real guest and on a simulated VMBus: the only
 * differences are that the simulated /dev/uioN is a SOCK_SEQPACKET socket
 * and that its maps are backed by files dev/uioN.mapK (see uio.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "opts.h"
#include "uio.h"

#define MAX_CHANS 64u
/* how often subchannel discovery looks again when inotify stays silent
 * (sysfs does not report new files through inotify) */
#define RESCAN_MS 50

enum dev_map {
	MAP_RINGS = 0,
	MAP_INT_PAGE = 1,
	MAP_MONITOR_PAGE = 2,
	MAP_RECV = 3,
	MAP_SEND = 4,
};

OPTS_CHECK_IN(vmbus_dev_opts);
OPTS_CHECK_OUT(vmbus_dev_info);

static const char *const map_names[UIO_MAX_MAPS] = {
	[MAP_RINGS] = "txrx_rings",	  [MAP_INT_PAGE] = "int_page",
	[MAP_MONITOR_PAGE] = "monitor_page", [MAP_RECV] = "recv:",
	[MAP_SEND] = "send:",
};

struct vmbus_device {
	char guid[VMBUS_GUID_STRLEN];
	char devdir[PATH_MAX];
	struct vmbus_guid device_id;
	struct vmbus_guid class_id;
	uint32_t relid;
	uint8_t monitor_id;
	size_t page_size;
	struct uio_dev uio;
	uint32_t recv_gpadl;
	uint32_t send_gpadl;
	struct vmbus_chan *chans[MAX_CHANS];
	unsigned int nchans;
	atomic_bool gone;
	char err[512];
};

#define dev_fail vmbus_dev_fail

int vmbus_dev_fail(struct vmbus_device *dev, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(dev->err, sizeof(dev->err), "vmbus device %s: ", dev->guid);
	if (n < 0 || (size_t)n >= sizeof(dev->err))
		return err;
	va_start(ap, fmt);
	vsnprintf(dev->err + n, sizeof(dev->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

struct uio_dev *vmbus_dev_uio(struct vmbus_device *dev)
{
	return &dev->uio;
}

bool vmbus_dev_is_gone(const struct vmbus_device *dev)
{
	return atomic_load_explicit(&dev->gone, memory_order_relaxed);
}

static int dev_mark_gone(struct vmbus_device *dev)
{
	if (!atomic_exchange(&dev->gone, true))
		dev_fail(dev, -ENODEV, "rescinded by the host");
	return -ENODEV;
}

/* Reads devdir/@name; -ENOENT passes through so callers can treat it as "absent". */
static int dev_attr(struct vmbus_device *dev, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	int n;

	if (vmbus_mkpath(path, sizeof(path), "%s/%s", dev->devdir, name))
		return dev_fail(dev, -ENAMETOOLONG, "path too long: %s/%s", dev->devdir, name);
	n = vmbus_read_file(path, buf, len);
	if (n == -ENOENT)
		return n;
	if (n == -EACCES || n == -EPERM)
		return dev_fail(dev, -EACCES, "permission denied reading %s", path);
	if (n < 0)
		return dev_fail(dev, n == -EBADMSG ? -EBADMSG : n, "cannot read %s: %s", path,
				n == -EBADMSG ? "empty, truncated or too long" : strerror(-n));
	return n;
}

static int dev_attr_u64(struct vmbus_device *dev, const char *name, uint64_t max, uint64_t *out,
			bool optional)
{
	char buf[64];
	int n = dev_attr(dev, name, buf, sizeof(buf));

	if (n == -ENOENT && optional)
		return -ENOENT;
	if (n == -ENOENT)
		return dev_fail(dev, -EBADMSG, "%s/%s is missing", dev->devdir, name);
	if (n < 0)
		return n;
	if (vmbus_parse_u64(buf, 10, out) || *out > max)
		return dev_fail(dev, -EBADMSG, "%s/%s: \"%s\" is not a number up to %llu",
				dev->devdir, name, buf, (unsigned long long)max);
	return 0;
}

static int dev_attr_guid(struct vmbus_device *dev, const char *name, struct vmbus_guid *out)
{
	char buf[64];
	int n = dev_attr(dev, name, buf, sizeof(buf));

	if (n == -ENOENT)
		return dev_fail(dev, -EBADMSG, "%s/%s is missing", dev->devdir, name);
	if (n < 0)
		return n;
	if (vmbus_guid_parse(buf, out))
		return dev_fail(dev, -EBADMSG, "%s/%s: \"%s\" is not a GUID", dev->devdir, name,
				buf);
	return 0;
}

static int dev_read_ids(struct vmbus_device *dev)
{
	struct vmbus_guid id;
	uint64_t v;
	int err;

	err = dev_attr_guid(dev, "class_id", &dev->class_id);
	if (err)
		return err;
	err = dev_attr_guid(dev, "device_id", &id);
	if (err)
		return err;
	if (!vmbus_guid_equal(&id, &dev->device_id))
		return dev_fail(dev, -EBADMSG, "%s/device_id names another device", dev->devdir);
	err = dev_attr_u64(dev, "id", VMBUS_MAX_RELID, &v, false);
	if (err)
		return err;
	dev->relid = (uint32_t)v;
	/* monitor_id is hidden by the kernel when the channel is not monitored */
	err = dev_attr_u64(dev, "monitor_id", VMBUS_MONITOR_ID_MAX, &v, true);
	if (err == -ENOENT)
		dev->monitor_id = VMBUS_MONITOR_ID_NONE;
	else if (err)
		return err;
	else
		dev->monitor_id = (uint8_t)v;
	return 0;
}

/* Finds uioN below the device: its presence is what "bound to UIO" means. */
static int dev_find_uio(struct vmbus_device *dev, unsigned int *index)
{
	char path[PATH_MAX], drv[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int found = -1;
	ssize_t n;

	if (vmbus_mkpath(path, sizeof(path), "%s/uio", dev->devdir))
		return dev_fail(dev, -ENAMETOOLONG, "path too long");
	d = opendir(path);
	if (!d && (errno == EACCES || errno == EPERM))
		return dev_fail(dev, -EACCES, "permission denied reading %s", path);
	if (d) {
		while ((de = readdir(d))) {
			uint64_t v;

			if (strncmp(de->d_name, "uio", 3) == 0 &&
			    !vmbus_parse_u64(de->d_name + 3, 10, &v) && v < INT_MAX) {
				found = (int)v;
				break;
			}
		}
		closedir(d);
	}
	if (found >= 0) {
		*index = (unsigned int)found;
		return 0;
	}
	/* say which driver has it, if any, to make the fix obvious */
	if (vmbus_mkpath(path, sizeof(path), "%s/driver", dev->devdir))
		return dev_fail(dev, -ENAMETOOLONG, "path too long");
	n = readlink(path, drv, sizeof(drv) - 1);
	if (n > 0) {
		drv[n] = '\0';
		return dev_fail(dev, -ENXIO,
				"not bound to a UIO driver (bound to %s); bind it to hv_uio or "
				"uio_hv_generic first",
				strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv);
	}
	return dev_fail(dev, -ENXIO,
			"not bound to a UIO driver (no driver); bind it to hv_uio or "
			"uio_hv_generic first");
}

static int parse_gpadl(const char *name, const char *prefix, uint32_t *out)
{
	uint64_t v;

	if (vmbus_parse_u64(name + strlen(prefix), 10, &v) || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Checks names, count and sizes of the maps against the uio_hv_generic ABI. */
static int dev_check_maps(struct vmbus_device *dev)
{
	struct uio_dev *u = &dev->uio;
	size_t half;
	unsigned int i;

	for (i = 0; i < u->nmaps; i++) {
		const char *want = map_names[i];
		bool prefix = i >= MAP_RECV;

		if (prefix ? strncmp(u->maps[i].name, want, strlen(want)) != 0 :
			     strcmp(u->maps[i].name, want) != 0)
			return dev_fail(dev, -ENOTSUP,
					"UIO map %u of uio%u is \"%s\", expected \"%s%s\": not a "
					"VMBus UIO driver",
					i, u->index, u->maps[i].name, want, prefix ? "<gpadl>" : "");
	}
	if (u->nmaps != 3 && u->nmaps != 5)
		return dev_fail(dev, -ENOTSUP,
				"uio%u has %u maps, expected 3 (txrx_rings, int_page, "
				"monitor_page) or 5 (with recv and send buffers)",
				u->index, u->nmaps);
	if (u->nmaps == 5) {
		if (parse_gpadl(u->maps[MAP_RECV].name, "recv:", &dev->recv_gpadl) ||
		    parse_gpadl(u->maps[MAP_SEND].name, "send:", &dev->send_gpadl))
			return dev_fail(dev, -ENOTSUP,
					"uio%u map names \"%s\" / \"%s\" carry no GPADL handle",
					u->index, u->maps[MAP_RECV].name, u->maps[MAP_SEND].name);
	}

	/* TX half then RX half, each a header page plus a data area */
	half = u->maps[MAP_RINGS].size / 2;
	if (u->maps[MAP_RINGS].size % 2 || half < dev->page_size + VMBUS_HV_PAGE_SIZE ||
	    (half - dev->page_size) % VMBUS_RING_ALIGN)
		return dev_fail(dev, -ERANGE,
				"map txrx_rings is %zu bytes: too small or odd for two rings of "
				"a %zu-byte header and at least 4096 bytes of data each",
				u->maps[MAP_RINGS].size, dev->page_size);
	if (u->maps[MAP_INT_PAGE].size < VMBUS_INT_PAGE_SIZE)
		return dev_fail(dev, -ERANGE, "map int_page is %zu bytes, expected at least %u",
				u->maps[MAP_INT_PAGE].size, VMBUS_INT_PAGE_SIZE);
	if (u->maps[MAP_MONITOR_PAGE].size < sizeof(struct vmbus_monitor_page))
		return dev_fail(dev, -ERANGE,
				"map monitor_page is %zu bytes, expected at least %zu",
				u->maps[MAP_MONITOR_PAGE].size, sizeof(struct vmbus_monitor_page));
	for (i = MAP_RECV; i < u->nmaps; i++)
		if (u->maps[i].size == 0)
			return dev_fail(dev, -ERANGE, "map %s is empty", u->maps[i].name);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* signalling                                                                */
/* ------------------------------------------------------------------------ */

static int dev_signal(struct vmbus_chan *c, void *arg)
{
	struct vmbus_device *dev = arg;
	int err;

	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	if (c->monitor_id != VMBUS_MONITOR_ID_NONE) {
		struct vmbus_monitor_page *mp = dev->uio.maps[MAP_MONITOR_PAGE].addr;
		uint32_t *send = (uint32_t *)((uint8_t *)dev->uio.maps[MAP_INT_PAGE].addr +
					      VMBUS_INT_PAGE_SEND_OFFSET);

		/* the int page bit first, as the kernel's vmbus_setevent does */
		__atomic_fetch_or(&send[c->relid / 32], 1u << (c->relid % 32), __ATOMIC_SEQ_CST);
		__atomic_fetch_or(&mp->trigger_group[c->monitor_id / 32].pending,
				  1u << (c->monitor_id % 32), __ATOMIC_SEQ_CST);
		return 0;
	}
	/* no monitor id: the driver signals the host for us */
	err = uio_irqcontrol(&dev->uio, dev->uio.fd, 1);
	if (err == -ENODEV)
		return dev_mark_gone(dev);
	return err;
}

/* ------------------------------------------------------------------------ */
/* channels                                                                  */
/* ------------------------------------------------------------------------ */

static int dev_add_chan(struct vmbus_device *dev, void *map, size_t map_size, bool own_map,
			uint32_t relid, uint16_t subchan_id, uint8_t monitor_id)
{
	struct vmbus_chan *c;
	size_t half = map_size / 2;
	int err;

	err = vmbus_chan_create(&c, map, half, (uint8_t *)map + half, half, dev->page_size);
	if (err)
		return err;
	c->dev = dev;
	c->relid = relid;
	c->subchan_id = subchan_id;
	c->monitor_id = monitor_id;
	c->xfer_limit = dev->uio.nmaps > MAP_RECV ? dev->uio.maps[MAP_RECV].size : 0;
	c->signal = dev_signal;
	c->signal_arg = dev;
	c->map = map;
	c->map_size = map_size;
	c->own_map = own_map;
	dev->chans[subchan_id] = c;
	dev->nchans++;
	return 0;
}

static void dev_free_chan(struct vmbus_chan *c)
{
	if (c->own_map)
		munmap(c->map, c->map_size);
	vmbus_chan_free(c);
}

VMBUS_API int vmbus_dev_open(const char *guid, const struct vmbus_dev_opts *opts,
			     struct vmbus_device **out)
{
	struct vmbus_device *dev;
	const char *root, *why;
	struct stat st;
	unsigned int index = 0;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	root = OPTS_GET(opts, root, NULL);
	if (!root)
		root = getenv("VMBUS_ROOT");
	if (!root)
		root = "";

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->uio.fd = -1;
	dev->page_size = (size_t)sysconf(_SC_PAGESIZE);
	snprintf(dev->guid, sizeof(dev->guid), "%.36s", guid ? guid : "(null)");
	err = OPTS_VALID(opts, vmbus_dev_opts, &why);
	if (err) {
		dev_fail(dev, err, "struct vmbus_dev_opts: %s", why);
		goto fail;
	}
	if (!guid || vmbus_guid_parse(guid, &dev->device_id)) {
		err = dev_fail(dev, -EINVAL, "not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-"
				       "xxxxxxxxxxxx)");
		goto fail;
	}
	vmbus_guid_format(&dev->device_id, dev->guid);
	dev->uio.err = dev->err;
	dev->uio.errlen = sizeof(dev->err);
	dev->uio.who = dev->guid;
	if (vmbus_mkpath(dev->devdir, sizeof(dev->devdir), "%s/sys/bus/vmbus/devices/%s", root,
			 dev->guid)) {
		err = dev_fail(dev, -ENAMETOOLONG, "root prefix too long");
		goto fail;
	}
	if (stat(dev->devdir, &st) != 0) {
		err = -errno;
		if (err == -ENOENT)
			dev_fail(dev, err, "not found: no %s (is the device offered to this guest?)",
				 dev->devdir);
		else if (err == -EACCES)
			dev_fail(dev, err, "permission denied: %s", dev->devdir);
		else
			dev_fail(dev, err, "%s: %s", dev->devdir, strerror(-err));
		goto fail;
	}

	err = dev_read_ids(dev);
	if (err)
		goto fail;
	err = dev_find_uio(dev, &index);
	if (err)
		goto fail;
	err = uio_read_sysfs(&dev->uio, root, index);
	if (err)
		goto fail;
	err = dev_check_maps(dev);
	if (err)
		goto fail;
	/* opening the UIO device is what connects the primary channel */
	err = uio_open(&dev->uio, root);
	if (err)
		goto fail;
	err = uio_map_all(&dev->uio, root, dev->page_size);
	if (err)
		goto fail;
	err = dev_add_chan(dev, dev->uio.maps[MAP_RINGS].addr, dev->uio.maps[MAP_RINGS].size, false,
			   dev->relid, 0, dev->monitor_id);
	if (err) {
		dev_fail(dev, err, "primary channel ring: %s",
			 err == -EPROTO ? "ring indices out of range" : strerror(-err));
		goto fail;
	}
	*out = dev;
	return 0;
fail:
	if (OPTS_GET(opts, errbuf, NULL) && OPTS_GET(opts, errbuf_len, 0))
		snprintf(opts->errbuf, opts->errbuf_len, "%s", dev->err);
	vmbus_dev_close(dev);
	return err;
}

VMBUS_API void vmbus_dev_close(struct vmbus_device *dev)
{
	unsigned int i;

	if (!dev)
		return;
	for (i = 0; i < MAX_CHANS; i++)
		if (dev->chans[i])
			dev_free_chan(dev->chans[i]);
	uio_close(&dev->uio);
	free(dev);
}

VMBUS_API int vmbus_dev_info(const struct vmbus_device *dev, struct vmbus_dev_info *out)
{
	const struct uio_dev *u = &dev->uio;
	struct vmbus_dev_info info;

	memset(&info, 0, sizeof(info));
	info.device_id = dev->device_id;
	info.class_id = dev->class_id;
	info.relid = dev->relid;
	info.monitor_id = dev->monitor_id;
	info.uio_index = u->index;
	info.simulated = u->simulated;
	snprintf(info.uio_name, sizeof(info.uio_name), "%s", u->name);
	snprintf(info.uio_version, sizeof(info.uio_version), "%s", u->version);
	info.nmaps = u->nmaps;
	info.ring_size = u->maps[MAP_RINGS].size / 2;
	if (u->nmaps > MAP_SEND) {
		info.recv_buf = u->maps[MAP_RECV].addr;
		info.recv_size = u->maps[MAP_RECV].size;
		info.recv_gpadl = dev->recv_gpadl;
		info.send_buf = u->maps[MAP_SEND].addr;
		info.send_size = u->maps[MAP_SEND].size;
		info.send_gpadl = dev->send_gpadl;
	}
	return OPTS_FILL(out, &info, vmbus_dev_info);
}

VMBUS_API const char *vmbus_dev_strerror(const struct vmbus_device *dev)
{
	return dev->err;
}

VMBUS_API struct vmbus_chan *vmbus_dev_primary(struct vmbus_device *dev)
{
	return dev->chans[0];
}

VMBUS_API unsigned int vmbus_dev_nchans(const struct vmbus_device *dev)
{
	return dev->nchans;
}

VMBUS_API struct vmbus_chan *vmbus_dev_chan(struct vmbus_device *dev, unsigned int idx)
{
	return idx < MAX_CHANS ? dev->chans[idx] : NULL;
}

VMBUS_API int vmbus_dev_fd(const struct vmbus_device *dev)
{
	return dev->uio.fd;
}

VMBUS_API bool vmbus_dev_rescinded(const struct vmbus_device *dev)
{
	return vmbus_dev_is_gone(dev);
}

VMBUS_API int vmbus_dev_check(struct vmbus_device *dev)
{
	if (vmbus_dev_is_gone(dev))
		return 1;
	if (uio_hung_up(&dev->uio, dev->uio.fd)) {
		dev_mark_gone(dev);
		return 1;
	}
	return 0;
}

VMBUS_API int vmbus_dev_wait(struct vmbus_device *dev, int timeout_ms)
{
	int ret;

	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	ret = uio_wait(&dev->uio, dev->uio.fd, timeout_ms);
	if (ret == -ENODEV)
		return dev_mark_gone(dev);
	return ret;
}

void vmbus_dev_close_fd(struct vmbus_device *dev, int fd)
{
	uio_close_fd(dev && dev->uio.simulated, fd);
}

/*
 * Gives @chan its own interrupt listener.  It must exist before the channel
 * arms its mask and looks at the ring: a new listener starts at the
 * current event count, so an interrupt raised before it was opened would
 * never wake it.
 */
int vmbus_dev_chan_listen(struct vmbus_device *dev, struct vmbus_chan *chan)
{
	int ret;

	if (chan->irq_fd >= 0)
		return 0;
	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	ret = uio_listen(&dev->uio, &chan->irq_fd);
	if (ret == -ENODEV)
		return dev_mark_gone(dev);
	if (ret)
		return dev_fail(dev, ret, "cannot open an interrupt listener: %s", strerror(-ret));
	return 0;
}

int vmbus_dev_chan_wait(struct vmbus_device *dev, struct vmbus_chan *chan, int timeout_ms)
{
	int ret;

	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	/* each channel has its own listener, so threads never steal events */
	ret = vmbus_dev_chan_listen(dev, chan);
	if (ret)
		return ret;
	ret = uio_wait(&dev->uio, chan->irq_fd, timeout_ms);
	if (ret == -ENODEV)
		return dev_mark_gone(dev);
	return ret;
}

VMBUS_API int vmbus_dev_irq_enable(struct vmbus_device *dev, bool enable)
{
	int err;

	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	err = uio_irqcontrol(&dev->uio, dev->uio.fd, enable ? 1 : 0);
	if (err == -ENODEV)
		return dev_mark_gone(dev);
	return err;
}

/* ------------------------------------------------------------------------ */
/* subchannels                                                               */
/* ------------------------------------------------------------------------ */

static bool dev_has_relid(const struct vmbus_device *dev, uint32_t relid)
{
	unsigned int i;

	for (i = 0; i < MAX_CHANS; i++)
		if (dev->chans[i] && dev->chans[i]->relid == relid)
			return true;
	return false;
}

/*
 * Opens the subchannel in channels/<relid> if its ring is there.
 * Returns 1 if opened, 0 if not ready yet, or a negative error.
 */
static int dev_try_subchan(struct vmbus_device *dev, uint32_t relid)
{
	char name[PATH_MAX], path[PATH_MAX];
	uint64_t sub, mon;
	struct stat st;
	size_t ring_size;
	void *map;
	int fd, err;

	if (vmbus_mkpath(name, sizeof(name), "channels/%u/ring", relid) ||
	    vmbus_mkpath(path, sizeof(path), "%s/%s", dev->devdir, name))
		return dev_fail(dev, -ENAMETOOLONG, "path too long");
	if (stat(path, &st) != 0)
		return 0; /* the driver has not opened it yet */

	snprintf(name, sizeof(name), "channels/%u/subchannel_id", relid);
	err = dev_attr_u64(dev, name, UINT16_MAX, &sub, true);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (sub == 0)
		return 0; /* the primary's own directory */
	if (sub >= MAX_CHANS)
		return dev_fail(dev, -ERANGE, "subchannel id %llu of relid %u is beyond %u",
				(unsigned long long)sub, relid, MAX_CHANS - 1);
	if (dev->chans[sub])
		return dev_fail(dev, -EBADMSG, "two channels claim subchannel id %llu",
				(unsigned long long)sub);
	snprintf(name, sizeof(name), "channels/%u/monitor_id", relid);
	err = dev_attr_u64(dev, name, VMBUS_MONITOR_ID_MAX, &mon, true);
	if (err == -ENOENT)
		mon = VMBUS_MONITOR_ID_NONE;
	else if (err)
		return err;

	if (dev->uio.simulated) {
		/* the host's sealed memory, not a file anyone could truncate */
		uint64_t size;

		err = uio_sim_ring(&dev->uio, relid, &fd, &size);
		if (err == -ENOENT)
			return 0; /* not open yet */
		if (err == -ENODEV)
			return dev_mark_gone(dev);
		if (err == -EPROTO || err == -ETIMEDOUT)
			return err; /* the message names the host's fault */
		if (err)
			return dev_fail(dev, err, "the ring of channel %u: %s", relid,
					strerror(-err));
		ring_size = size > SIZE_MAX ? 0 : (size_t)size;
	} else {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			if (err == -EACCES || err == -EPERM)
				return dev_fail(dev, -EACCES, "permission denied opening %s", path);
			return err == -ENOENT ? 0 :
						dev_fail(dev, err, "%s: %s", path, strerror(-err));
		}
		ring_size = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
	}
	if (ring_size == 0 || ring_size % 2 ||
	    ring_size / 2 < dev->page_size + VMBUS_HV_PAGE_SIZE) {
		close(fd);
		return dev_fail(dev, -ERANGE, "%s: size %zu cannot hold two rings", path,
				ring_size);
	}
	map = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err == -ENODEV)
		return 0; /* the kernel refuses until the channel is open */
	if (err)
		return dev_fail(dev, err, "mmap %s: %s", path, strerror(-err));
	err = dev_add_chan(dev, map, ring_size, true, relid, (uint16_t)sub, (uint8_t)mon);
	if (err) {
		munmap(map, ring_size);
		return dev_fail(dev, err, "subchannel relid %u: %s", relid,
				err == -EPROTO ? "ring indices out of range" : strerror(-err));
	}
	return 1;
}

/* Scans channels/ once; returns how many subchannels are open in all. */
static int dev_scan_subchans(struct vmbus_device *dev, int wd_fd)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (vmbus_mkpath(path, sizeof(path), "%s/channels", dev->devdir))
		return dev_fail(dev, -ENAMETOOLONG, "path too long");
	d = opendir(path);
	if (!d)
		return dev_fail(dev, -errno, "cannot list %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		uint64_t relid;
		char sub[PATH_MAX];

		if (vmbus_parse_u64(de->d_name, 10, &relid) || relid > VMBUS_MAX_RELID)
			continue;
		if (dev_has_relid(dev, (uint32_t)relid))
			continue;
		/* watch the directory too, so the ring's arrival wakes us */
		if (wd_fd >= 0 && !vmbus_mkpath(sub, sizeof(sub), "%s/%s", path, de->d_name))
			inotify_add_watch(wd_fd, sub, IN_CREATE | IN_MOVED_TO | IN_ATTRIB);
		err = dev_try_subchan(dev, (uint32_t)relid);
		if (err < 0)
			break;
	}
	closedir(d);
	return err < 0 ? err : (int)dev->nchans - 1;
}

VMBUS_API int vmbus_dev_open_subchans(struct vmbus_device *dev, unsigned int count, int timeout_ms)
{
	struct timespec t0, t;
	char path[PATH_MAX];
	int ifd, ret;

	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	if (count >= MAX_CHANS)
		return dev_fail(dev, -EINVAL, "%u subchannels asked for, at most %u", count,
				MAX_CHANS - 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0 && !vmbus_mkpath(path, sizeof(path), "%s/channels", dev->devdir))
		inotify_add_watch(ifd, path, IN_CREATE | IN_MOVED_TO);
	for (;;) {
		struct pollfd pfd[2];
		char ev[4096];
		int64_t left = 0;
		int n = 0;

		ret = dev_scan_subchans(dev, ifd);
		if (ret < 0)
			break;
		if ((unsigned int)ret >= count) {
			ret = 0;
			break;
		}
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = timeout_ms - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 +
					     (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0) {
				ret = dev_fail(dev, -ETIMEDOUT,
					       "%u of %u subchannels appeared within %d ms",
					       dev->nchans - 1, count, timeout_ms);
				break;
			}
		}
		if (ifd >= 0)
			pfd[n++] = (struct pollfd){ .fd = ifd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = dev->uio.fd, .events = 0 };
		poll(pfd, (nfds_t)n,
		     (int)(timeout_ms < 0 || left > RESCAN_MS ? RESCAN_MS : left));
		if (ifd >= 0)
			while (read(ifd, ev, sizeof(ev)) > 0)
				;
		if (vmbus_dev_check(dev)) {
			ret = -ENODEV;
			break;
		}
	}
	if (ifd >= 0)
		close(ifd);
	return ret;
}
