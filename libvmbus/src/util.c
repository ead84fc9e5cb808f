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
 * Reads a small text file into @buf (NUL-terminated, trailing newlines and
 * spaces removed).  Returns the length, or a negative errno: -EBADMSG if the
 * file is empty, blank, or holds more than @len - 1 bytes.  A file of
 * exactly @len - 1 bytes fits: it is terminated and trimmed like any other,
 * so callers never see an unterminated or untrimmed buffer.
 */
int vmbus_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if (!buf || len < 2)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			buf[got] = '\0';
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	/* terminated on every path below, errors included */
	buf[got] = '\0';
	if (got == len - 1) {
		char extra;

		/* anything beyond the buffer means the value is not what we expect */
		do
			n = read(fd, &extra, 1);
		while (n < 0 && errno == EINTR);
		if (n != 0) {
			n = n > 0 ? -EBADMSG : -errno;
			close(fd);
			return (int)n;
		}
	}
	close(fd);
	/* a NUL inside the file would hide what follows it from every parser */
	if (memchr(buf, '\0', got))
		return -EBADMSG;
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
