/* SPDX-License-Identifier: MIT */
/* The UIO device: sysfs description, maps, interrupt fd (see uio.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "uio.h"

/* How long a simulated host may take to answer a connect, or a close. */
#define SIM_OPEN_TIMEOUT_MS 10000
#define SIM_CLOSE_TIMEOUT_MS 2000

static int uio_fail(struct uio_dev *u, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int uio_fail(struct uio_dev *u, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!u->err || !u->errlen)
		return err;
	n = snprintf(u->err, u->errlen, "vmbus device %s: ", u->who ? u->who : "?");
	if (n < 0 || (size_t)n >= u->errlen)
		return err;
	va_start(ap, fmt);
	vsnprintf(u->err + n, u->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

static int uio_attr(struct uio_dev *u, const char *root, const char *rel, char *buf, size_t len,
		    bool optional)
{
	char path[PATH_MAX];
	int n;

	if (vmbus_mkpath(path, sizeof(path), "%s/sys/class/uio/uio%u/%s", root, u->index, rel))
		return uio_fail(u, -ENAMETOOLONG, "path too long");
	n = vmbus_read_file(path, buf, len);
	if (n == -ENOENT && optional)
		return n;
	if (n == -ENOENT)
		return uio_fail(u, -EBADMSG, "%s is missing", path);
	if (n == -EACCES || n == -EPERM)
		return uio_fail(u, -EACCES, "permission denied reading %s", path);
	if (n == -EBADMSG)
		return uio_fail(u, -EBADMSG, "%s is empty, truncated or too long", path);
	if (n < 0)
		return uio_fail(u, n, "cannot read %s: %s", path, strerror(-n));
	return n;
}

int uio_read_sysfs(struct uio_dev *u, const char *root, unsigned int index)
{
	char rel[64], buf[64];
	unsigned int i;
	int n;

	u->index = index;
	n = uio_attr(u, root, "name", u->name, sizeof(u->name), false);
	if (n < 0)
		return n;
	n = uio_attr(u, root, "version", u->version, sizeof(u->version), true);
	if (n == -ENOENT)
		u->version[0] = '\0';
	else if (n < 0)
		return n;

	for (i = 0; i < UIO_MAX_MAPS; i++) {
		uint64_t size;

		snprintf(rel, sizeof(rel), "maps/map%u/name", i);
		n = uio_attr(u, root, rel, u->maps[i].name, sizeof(u->maps[i].name), true);
		if (n == -ENOENT)
			break;
		if (n < 0)
			return n;
		snprintf(rel, sizeof(rel), "maps/map%u/size", i);
		n = uio_attr(u, root, rel, buf, sizeof(buf), false);
		if (n < 0)
			return n;
		/* the UIO core prints sizes as 0x%016llx */
		if (strncmp(buf, "0x", 2) != 0 || vmbus_parse_u64(buf + 2, 16, &size) ||
		    size > SIZE_MAX / 2)
			return uio_fail(u, -EBADMSG,
					"uio%u map%u size \"%s\" is not a hexadecimal size",
					index, i, buf);
		u->maps[i].size = (size_t)size;
	}
	u->nmaps = i;
	return 0;
}

/* Connects to a simulated device and reads its open status. */
static int sim_connect(struct uio_dev *u, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int32_t status;
	ssize_t n;
	int fd, err;

	if (strlen(u->path) >= sizeof(sa.sun_path))
		return uio_fail(u, -ENAMETOOLONG, "socket path too long: %s", u->path);
	memcpy(sa.sun_path, u->path, strlen(u->path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = -errno;
		close(fd);
		if (err == -ECONNREFUSED || err == -ENOENT)
			return -ENODEV; /* nobody serves it: the device is gone */
		return err;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	n = poll(&pfd, 1, SIM_OPEN_TIMEOUT_MS);
	if (n == 0) {
		close(fd);
		return uio_fail(u, -ETIMEDOUT, "the simulated host did not answer on %s", u->path);
	}
	n = recv(fd, &status, sizeof(status), 0);
	if (n != sizeof(status)) {
		close(fd);
		return -ENODEV;
	}
	if (status < 0) {
		close(fd);
		return status;
	}
	*out = fd;
	return 0;
}

int uio_open(struct uio_dev *u, const char *root)
{
	struct stat st;
	int err;

	if (vmbus_mkpath(u->path, sizeof(u->path), "%s/dev/uio%u", root, u->index))
		return uio_fail(u, -ENAMETOOLONG, "path too long");
	if (stat(u->path, &st) != 0) {
		err = -errno;
		return uio_fail(u, err, "%s: %s", u->path,
				err == -ENOENT ? "no such device node" : strerror(-err));
	}
	if (S_ISSOCK(st.st_mode)) {
		u->simulated = true;
		err = sim_connect(u, &u->fd);
		if (err == -ENODEV)
			return uio_fail(u, err, "rescinded: nobody serves %s", u->path);
		if (err)
			return uio_fail(u, err, "cannot open %s: %s", u->path, strerror(-err));
		return 0;
	}
	if (!S_ISCHR(st.st_mode))
		return uio_fail(u, -ENOTSUP, "%s is neither a UIO device nor a simulator socket",
				u->path);
	u->fd = open(u->path, O_RDWR | O_CLOEXEC);
	if (u->fd < 0) {
		err = -errno;
		if (err == -EACCES || err == -EPERM)
			return uio_fail(u, -EACCES, "permission denied opening %s (run as root)",
					u->path);
		return uio_fail(u, err, "cannot open %s: %s", u->path, strerror(-err));
	}
	return 0;
}

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

int uio_map_all(struct uio_dev *u, const char *root, size_t page_size)
{
	char path[PATH_MAX];
	unsigned int i;

	for (i = 0; i < u->nmaps; i++) {
		struct uio_map *m = &u->maps[i];
		struct stat st;
		void *addr;
		int fd, err;

		m->map_len = round_up(m->size, page_size);
		if (vmbus_mkpath(path, sizeof(path), "%s/dev/uio%u.map%u", root, u->index, i))
			return uio_fail(u, -ENAMETOOLONG, "path too long");
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			/* a simulated map: the backing file must hold the whole map */
			if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < m->size) {
				close(fd);
				return uio_fail(u, -ERANGE, "%s is smaller than map %s (%zu bytes)",
						path, m->name, m->size);
			}
			addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			err = addr == MAP_FAILED ? -errno : 0;
			close(fd);
		} else if (u->simulated) {
			err = -errno;
			return uio_fail(u, err, "cannot open %s: %s", path, strerror(-err));
		} else {
			/*
			 * The UIO core faults maps 1-4 in page by page and sends
			 * SIGBUS once the driver is gone: populated now, a later
			 * rescind cannot kill us on first touch.  Map 0 is mapped
			 * whole by remap_pfn_range anyway.
			 */
			addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE,
				    MAP_SHARED | (i ? MAP_POPULATE : 0), u->fd,
				    (off_t)i * (off_t)page_size);
			err = addr == MAP_FAILED ? -errno : 0;
		}
		if (err)
			return uio_fail(u, err, "cannot map %s (map %u, %zu bytes) of %s: %s",
					m->name, i, m->size, u->path, strerror(-err));
		m->addr = addr;
	}
	return 0;
}

/*
 * Closes a handle on the device.  The real UIO close is synchronous (the
 * last close has disconnected the channel when close() returns); on a
 * simulated device we get the same by waiting, briefly, for the host to
 * close its end after ours.
 */
void uio_close_fd(bool simulated, int fd)
{
	if (fd < 0)
		return;
	if (simulated && shutdown(fd, SHUT_WR) == 0) {
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			char buf[64];
			ssize_t n;

			if (poll(&pfd, 1, SIM_CLOSE_TIMEOUT_MS) != 1)
				break;
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break; /* the host closed its end */
		}
	}
	close(fd);
}

void uio_close(struct uio_dev *u)
{
	unsigned int i;

	for (i = 0; i < u->nmaps; i++) {
		if (u->maps[i].addr)
			munmap(u->maps[i].addr, u->maps[i].map_len);
		u->maps[i].addr = NULL;
	}
	/* last: the final close disconnects the channel */
	uio_close_fd(u->simulated, u->fd);
	u->fd = -1;
}

int uio_listen(struct uio_dev *u, int *fd)
{
	int err;

	if (u->simulated)
		return sim_connect(u, fd);
	*fd = open(u->path, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	err = -errno;
	return err == -ENODEV || err == -ENOENT || err == -EIO ? -ENODEV : err;
}

/* An event count as a positive int: the count itself, or 1 if it reads 0. */
static int count_to_int(uint32_t count)
{
	int v = (int)(count & 0x7fffffff);

	return v ? v : 1;
}

/* Reads every queued event message; the newest count wins (events coalesce). */
static int sim_drain(int fd)
{
	uint32_t count = 0;
	bool got = false;

	for (;;) {
		uint32_t v;
		ssize_t n = recv(fd, &v, sizeof(v), MSG_DONTWAIT);

		if (n == sizeof(v)) {
			count = v;
			got = true;
			continue;
		}
		if (n == 0)
			return got ? count_to_int(count) : -ENODEV;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return got ? count_to_int(count) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		/* a short message or a socket error: the host went away */
		return got ? count_to_int(count) : -ENODEV;
	}
}

int uio_wait(struct uio_dev *u, int fd, int timeout_ms)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint32_t count;
		ssize_t n;
		int ret;

		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (ret == 0)
			return -ETIMEDOUT;
		if (u->simulated) {
			ret = sim_drain(fd);
			if (ret != 0)
				return ret;
			if (pfd.revents & (POLLHUP | POLLERR))
				return -ENODEV;
			continue;
		}
		/* the UIO core reports every poll bit, POLLERR included, after rescind */
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
			return -ENODEV;
		n = read(fd, &count, sizeof(count));
		if (n == sizeof(count))
			return count_to_int(count);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		return -ENODEV; /* EIO, or a short read: rescinded */
	}
}

int uio_irqcontrol(struct uio_dev *u, int fd, int32_t value)
{
	ssize_t n;

	if (u->simulated)
		n = send(fd, &value, sizeof(value), MSG_NOSIGNAL);
	else
		n = write(fd, &value, sizeof(value));
	if (n == sizeof(value))
		return 0;
	/* the UIO core answers EINVAL once the driver unregistered (rescind);
	 * we always write 4 bytes, so EINVAL cannot mean a bad size */
	if (n < 0 && (errno == EIO || errno == EPIPE || errno == ECONNRESET ||
		      errno == ENOTCONN || errno == ENODEV || errno == EINVAL))
		return -ENODEV;
	return n < 0 ? -errno : -EIO;
}

bool uio_hung_up(struct uio_dev *u, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };

	(void)u;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
}
