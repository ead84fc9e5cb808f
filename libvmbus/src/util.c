/* SPDX-License-Identifier: MIT */
/* Small helpers: sysfs-style file reading and strict number parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/*
 * Reads a small text file into @buf (NUL-terminated, trailing newline
 * removed).  Returns the length, or a negative errno: -EBADMSG if the file
 * is empty or does not fit.
 */
int vmbus_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if (len < 2)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == len - 1) {
			char extra;

			/* anything beyond the buffer means the value is not what we expect */
			n = read(fd, &extra, 1);
			close(fd);
			return n > 0 ? -EBADMSG : (n < 0 ? -errno : (int)got);
		}
	}
	close(fd);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	if (got == 0)
		return -EBADMSG;
	return (int)got;
}

/* Parses the whole of @s as an unsigned number; -EBADMSG otherwise. */
int vmbus_parse_u64(const char *s, int base, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *end != '\0')
		return -EBADMSG;
	*out = v;
	return 0;
}

/* snprintf into @buf, -ENAMETOOLONG if it does not fit. */
int vmbus_mkpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
