/* SPDX-License-Identifier: MIT */
/*
 * The UIO character device of a simulated VMBus, for a program that knows
 * nothing of the simulation (DPDK's vmbus bus driver): LD_PRELOADed, it
 * makes open("/dev/uioN") connect to the simulator's socket
 * $VMBUS_ROOT/dev/uioN (the 4-byte open status first, as libvmbus does)
 * and mmap() of that descriptor at offset K * page size map the file
 * behind map K, as uio_mmap does.  read() and write() of 4-byte counts and
 * irqcontrol values work on the socket as they do on the device.  Nothing
 * else is touched: the program reads the simulated sysfs tree where the
 * test has mounted it (/sys/bus/vmbus), with its own open() and opendir().
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmbus/sim.h>

/*
 * Connects to the simulated /dev/uioN at @sa; as one more handle of this
 * process (an interrupt listener, vmbus/sim.h) when @again.  Returns the
 * socket, or -1 with errno.
 */
static int uio_connect(const struct sockaddr_un *sa, unsigned int n, bool again)
{
	static unsigned int seq;
	int32_t status;
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (again) {
		struct sockaddr_un me = { .sun_family = AF_UNIX };
		int len = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "%suio-shim:%d:%u:%u",
				   VMBUS_SIM_LISTENER_TAG, (int)getpid(), n,
				   __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));

		if (len < 0 || (size_t)len >= sizeof(me.sun_path) - 1 ||
		    bind(fd, (struct sockaddr *)&me,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len))) {
			close(fd);
			errno = errno ? errno : ENAMETOOLONG;
			return -1;
		}
	}
	errno = 0;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    read(fd, &status, sizeof(status)) != (ssize_t)sizeof(status) || status) {
		int err = errno ? errno : status < 0 ? -status : EIO;

		close(fd);
		errno = err == ENOENT || err == ECONNREFUSED ? ENODEV : err;
		return -1;
	}
	return fd;
}

/*
 * The simulated /dev/uioN for @path, or -1 with errno when @path is some
 * other file (errno 0) or the device cannot be opened.  The kernel lets a
 * process open the device more than once (DPDK does, once per map); the
 * simulator takes one open per device and further handles of the same
 * process as listeners: a second open is made as one.
 */
static int uio_open(const char *path)
{
	const char *root = getenv("VMBUS_ROOT");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int n;
	char tail;
	int fd;

	errno = 0;
	if (!root || sscanf(path, "/dev/uio%u%c", &n, &tail) != 1)
		return -1;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dev/uio%u", root, n) >=
	    sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = uio_connect(&sa, n, false);
	if (fd < 0 && errno == EBUSY)
		fd = uio_connect(&sa, n, true);
	return fd;
}

static int open_common(const char *name, const char *path, int flags, va_list ap)
{
	int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
	mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	int saved = errno, fd = uio_open(path);

	if (fd >= 0 || errno)
		return fd;
	errno = saved;
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = open_common("open", path, flags, ap);
	va_end(ap);
	return fd;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = open_common("open64", path, flags, ap);
	va_end(ap);
	return fd;
}

/* _FORTIFY_SOURCE's entry points */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags)
{
	return open64(path, flags);
}

/* The map file behind @fd's map @index, or -1 when @fd is no simulated
 * UIO device (errno 0). */
static int uio_map_file(int fd, off_t offset)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;
	char path[sizeof(sa.sun_path) + 16];
	long page = sysconf(_SC_PAGESIZE);
	unsigned int n;
	const char *base;

	errno = 0;
	memset(&sa, 0, sizeof(sa));
	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode) || getpeername(fd, (struct sockaddr *)&sa, &len) ||
	    sa.sun_family != AF_UNIX) {
		errno = 0;
		return -1;
	}
	base = strrchr(sa.sun_path, '/');
	if (!base || sscanf(base, "/uio%u", &n) != 1)
		return -1;
	if (offset < 0 || offset % page || offset / page > 4) {
		errno = EINVAL; /* uio_mmap: no such map */
		return -1;
	}
	snprintf(path, sizeof(path), "%s.map%u", sa.sun_path, (unsigned int)(offset / page));
	return open(path, O_RDWR | O_CLOEXEC);
}

static void *mmap_common(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	void *(*real)(void *, size_t, int, int, int, off_t) =
		(void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	int saved = errno, mfd;
	void *p;

	if (fd < 0 || (flags & MAP_ANONYMOUS))
		return real(addr, length, prot, flags, fd, offset);
	mfd = uio_map_file(fd, offset);
	if (mfd < 0 && errno)
		return MAP_FAILED;
	if (mfd < 0) {
		errno = saved;
		return real(addr, length, prot, flags, fd, offset);
	}
	p = real(addr, length, prot, flags, mfd, 0);
	close(mfd);
	return p;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return mmap_common(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return mmap_common(addr, length, prot, flags, fd, offset);
}
