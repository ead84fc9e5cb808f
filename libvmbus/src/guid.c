/* SPDX-License-Identifier: MIT */
/* GUID text forms and the library version (class names: classes.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Byte positions, in memory order, of the 16 text byte pairs. */
static const unsigned char text_to_mem[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

VMBUS_API int vmbus_guid_parse(const char *text, struct vmbus_guid *out)
{
	char buf[VMBUS_GUID_STRLEN];
	size_t len;
	unsigned int i, pair = 0;
	bool braces;

	if (!text || !out)
		return -EINVAL;
	len = strlen(text);
	if (len && text[len - 1] == '\n')
		len--;
	braces = len && text[0] == '{';
	if (braces) {
		if (len < 2 || text[len - 1] != '}')
			return -EINVAL;
		text++;
		len -= 2;
	}
	if (len != VMBUS_GUID_STRLEN - 1)
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (i = 0; i < len;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (buf[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hexval(buf[i]);
		lo = hexval(buf[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out->b[text_to_mem[pair++]] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

VMBUS_API void vmbus_guid_format(const struct vmbus_guid *g, char buf[VMBUS_GUID_STRLEN])
{
	const uint8_t *b = g->b;

	snprintf(buf, VMBUS_GUID_STRLEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
		 b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

VMBUS_API bool vmbus_guid_equal(const struct vmbus_guid *a, const struct vmbus_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

VMBUS_API const char *vmbus_version(void)
{
#define STR2(x) #x
#define STR(x) STR2(x)
	return STR(VMBUS_VERSION_MAJOR) "." STR(VMBUS_VERSION_MINOR) "." STR(VMBUS_VERSION_PATCH);
}
