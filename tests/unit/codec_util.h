/* SPDX-License-Identifier: MIT */
/*
 * codec_util.h - what the codec tests share: reading and writing 32-bit
 * fields at byte offsets, and checking that a builder wrote zeros (or
 * left the junk a buffer was filled with) where it should.
 */
#ifndef TESTS_UNIT_CODEC_UTIL_H
#define TESTS_UNIT_CODEC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* What a buffer is filled with before a builder writes into it. */
#define JUNK 0xA5u

uint32_t get32(const void *p, size_t off);
void set32(void *p, size_t off, uint32_t v);
/* Bytes [@from, @to) of @p are zero, or JUNK. */
void assert_zero(const uint8_t *p, size_t from, size_t to);
void assert_junk(const uint8_t *p, size_t from, size_t to);

#endif /* TESTS_UNIT_CODEC_UTIL_H */
