/* SPDX-License-Identifier: MIT */
/* The UIO device: sysfs description, maps, interrupt fd (see uio.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmbus/sim.h>

#include "internal.h"
#include "uio.h"

_Static_assert(VMBUS_SIM_MAP_SEALS == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW),
	       "the seals of vmbus/sim.h");

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

/*
 * The open statuses a simulated host may answer (vmbus/sim.h).  Anything
 * else is the host's garbage, never an errno to pass on: a value like
 * INT_MIN cannot even be negated.
 */
static bool sim_status_known(int32_t status)
{
	switch (status) {
	case 0:
	case -EBUSY:
	case -EAGAIN:
	case -EMFILE:
	case -ENOMEM:
	case -ENODEV:
		return true;
	default:
		return false;
	}
}

/*
 * Names a listener's socket so the host can tell it from an opener: an
 * abstract address with the listener tag, unique per socket.
 */
static int sim_bind_listener(struct uio_dev *u, int fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int tries;

	for (tries = 0; tries < 8; tries++) {
		unsigned int seq = __atomic_fetch_add(&u->listen_seq, 1, __ATOMIC_RELAXED);
		int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s%d:%p:%u",
				 VMBUS_SIM_LISTENER_TAG, (int)getpid(), (void *)u, seq);

		if (n < 0 || (size_t)n >= sizeof(sa.sun_path) - 1)
			return -ENAMETOOLONG;
		if (bind(fd, (struct sockaddr *)&sa,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

/* Connects to a simulated device and reads its open status. */
static int sim_connect(struct uio_dev *u, int *out, bool listener)
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
	if (listener && (err = sim_bind_listener(u, fd))) {
		close(fd);
		return err;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = -errno;
		close(fd);
		if (err == -ECONNREFUSED || err == -ENOENT)
			return -ENODEV; /* nobody serves it: the device is gone */
		return err;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	do
		n = poll(&pfd, 1, SIM_OPEN_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		close(fd);
		return uio_fail(u, -ETIMEDOUT, "the simulated host did not answer on %s", u->path);
	}
	/* one more byte than a status: a longer answer shows as such */
	{
		uint8_t buf[sizeof(status) + 1];

		do
			n = recv(fd, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
			close(fd);
			return -ENODEV; /* hung up before answering: rescinded */
		}
		if (n != (ssize_t)sizeof(status)) {
			err = n < 0 ? -errno : -EPROTO;
			close(fd);
			return uio_fail(u, err,
					"the simulated host answered the open of %s with %zd bytes, "
					"not a 4-byte status",
					u->path, n);
		}
		memcpy(&status, buf, sizeof(status));
	}
	if (!sim_status_known(status)) {
		close(fd);
		return uio_fail(u, -EPROTO,
				"the simulated host answered the open of %s with status %" PRId32
				", which is not one a host may send",
				u->path, status);
	}
	if (status < 0) {
		close(fd);
		return status;
	}
	*out = fd;
	return 0;
}

/* The process that holds @st's file locked, from /proc/locks, or 0. */
static long lock_holder(const struct stat *st)
{
	char line[256];
	long pid = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long ino;
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:05:4321 0 EOF" */
		if (sscanf(line, "%*s FLOCK %*s %*s %ld %x:%x:%lu", &p, &maj, &min, &ino) == 4 &&
		    maj == major(st->st_dev) && min == minor(st->st_dev) && ino == st->st_ino)
			pid = p;
	}
	fclose(f);
	return pid;
}

/*
 * One user at a time on a real guest: the kernel lets any number of
 * processes open /dev/uioN and drive the same rings, which ends with the
 * host stopping and both users stuck.  The opener holds an exclusive
 * flock(); every libvmbus opener asks for it (interrupt listeners, which
 * are the opener's own handles, do not).
 */
static int real_lock(struct uio_dev *u, const struct stat *st)
{
	char comm[64] = "";
	long pid;

	if (flock(u->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return uio_fail(u, -errno, "cannot lock %s: %s", u->path, strerror(errno));
	pid = lock_holder(st);
	if (pid > 0) {
		char path[64];
		int n;

		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		n = vmbus_read_file(path, comm, sizeof(comm));
		if (n < 0)
			comm[0] = '\0';
	}
	if (pid > 0)
		return uio_fail(u, -EBUSY, "in use: process %ld%s%s%s has %s open (one user at a time)",
				pid, comm[0] ? " (" : "", comm, comm[0] ? ")" : "", u->path);
	return uio_fail(u, -EBUSY, "in use: another process has %s open (one user at a time)",
			u->path);
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
		err = sim_connect(u, &u->fd, false);
		if (err == -ENODEV)
			return uio_fail(u, err, "rescinded: nobody serves %s", u->path);
		if (err == -EBUSY)
			return uio_fail(u, err, "in use: another process has %s open (one user at "
					"a time)", u->path);
		if (err == -EPROTO)
			return err; /* the message says how the host misbehaved */
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
	/* the lock is on the inode we opened, whatever the path names now */
	if (fstat(u->fd, &st) != 0)
		return uio_fail(u, -errno, "%s: %s", u->path, strerror(errno));
	return real_lock(u, &st);
}

/* Whether this process has no descriptor left (a memfd sent to us is dropped then). */
static bool fd_table_full(int any)
{
	int fd = fcntl(any, F_DUPFD_CLOEXEC, 0);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EMFILE;
}

/*
 * The reply to a map request on @conn: the memfd it carries, checked.
 * Event counts queued before the reply are skipped (they coalesce).
 */
static int sim_map_reply(struct uio_dev *u, int conn, const char *what, uint64_t need, int *out,
			 uint64_t *size)
{
	for (;;) {
		struct vmbus_sim_mapreply rep;
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { &rep, sizeof(rep) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct pollfd pfd = { .fd = conn, .events = POLLIN };
		struct cmsghdr *cm;
		int fd = -1, extra = 0, seals, err;
		struct stat st;
		ssize_t n;

		n = poll(&pfd, 1, SIM_OPEN_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return uio_fail(u, -ETIMEDOUT,
					"the simulated host did not answer the request for %s", what);
		n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t i, k;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (fd < 0) {
					fd = f;
				} else {
					close(f);
					extra++;
				}
			}
		}
		if (n == (ssize_t)sizeof(uint32_t) && fd < 0)
			continue; /* an event count */
		if (n <= 0) {
			if (fd >= 0)
				close(fd);
			return n == 0 || errno == ECONNRESET ? -ENODEV : -errno;
		}
		err = 0;
		if ((mh.msg_flags & MSG_CTRUNC) && fd < 0 && n == (ssize_t)sizeof(rep) &&
		    rep.status == 0 && fd_table_full(conn))
			err = -EMFILE; /* the kernel had no slot for the memfd */
		else if (n != (ssize_t)sizeof(rep) || extra ||
			 (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
			err = uio_fail(u, -EPROTO,
				       "the simulated host answered the request for %s with a "
				       "malformed reply",
				       what);
		else if (rep.status == -ENOENT || rep.status == -EINVAL || rep.status == -EMFILE ||
			 rep.status == -ENOMEM)
			err = rep.status;
		else if (rep.status != 0 || fd < 0)
			err = uio_fail(u, -EPROTO,
				       "the simulated host answered the request for %s with status "
				       "%" PRId32 "%s",
				       what, rep.status, fd < 0 ? " and no memory" : "");
		if (err) {
			if (fd >= 0)
				close(fd);
			return err;
		}
		/* what makes a host unable to SIGBUS us: it can never shrink */
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) != 0 ||
		    (uint64_t)st.st_size < rep.size || rep.size < need) {
			close(fd);
			if (seals < 0 || !(seals & F_SEAL_SHRINK))
				return uio_fail(u, -EPROTO,
						"the simulated host's memory for %s is not sealed "
						"against shrinking: refused (it could be truncated "
						"under us)",
						what);
			return uio_fail(u, -EPROTO,
					"the simulated host's memory for %s holds %lld bytes, "
					"%" PRIu64 " are needed",
					what, (long long)st.st_size, rep.size > need ? rep.size : need);
		}
		*out = fd;
		*size = rep.size;
		return 0;
	}
}

/* Asks the simulated host over @conn for map @map (or the ring of @relid). */
static int sim_request_map(struct uio_dev *u, int conn, uint32_t map, uint32_t relid,
			   const char *what, uint64_t need, int *fd, uint64_t *size)
{
	struct vmbus_sim_mapreq req = { .magic = VMBUS_SIM_MAPREQ_MAGIC,
					.version = VMBUS_SIM_MAPREQ_VERSION,
					.map = map,
					.relid = relid };

	if (send(conn, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return errno == EPIPE || errno == ECONNRESET ? -ENODEV : -errno;
	return sim_map_reply(u, conn, what, need, fd, size);
}

int uio_sim_ring(struct uio_dev *u, uint32_t relid, int *fd, uint64_t *size)
{
	char what[48];
	int conn, err;

	snprintf(what, sizeof(what), "the ring of channel %" PRIu32, relid);
	/* a connection of its own: another thread may be reading u->fd */
	err = sim_connect(u, &conn, true);
	if (err)
		return err;
	/* the caller checks the size: a ring too small is its own error */
	err = sim_request_map(u, conn, VMBUS_SIM_MAP_RING, relid, what, 0, fd, size);
	uio_close_fd(true, conn);
	return err;
}

static size_t round_up(size_t v, size_t to)
{
	return (v + to - 1) / to * to;
}

int uio_map_all(struct uio_dev *u, const char *root, size_t page_size)
{
	unsigned int i;

	(void)root;
	for (i = 0; i < u->nmaps; i++) {
		struct uio_map *m = &u->maps[i];
		void *addr;
		int err;

		m->map_len = round_up(m->size, page_size);
		if (u->simulated) {
			char what[96];
			uint64_t size;
			int fd;

			snprintf(what, sizeof(what), "map %u (%s)", i, m->name);
			err = sim_request_map(u, u->fd, i, 0, what, m->size, &fd, &size);
			if (err == -ENODEV)
				return uio_fail(u, err, "rescinded while mapping %s", m->name);
			if (err == -EPROTO || err == -ETIMEDOUT)
				return err; /* the message says what the host did */
			if (err)
				return uio_fail(u, err, "the simulated host gives no %s: %s", what,
						strerror(-err));
			addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			err = addr == MAP_FAILED ? -errno : 0;
			close(fd);
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
		return sim_connect(u, fd, true);
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
