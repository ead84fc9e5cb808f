/* SPDX-License-Identifier: MIT */
/*
 * opts.h - the one size rule of option and output structs, shared by
 * libvmbus and libnetvsc.  Private to the libraries: never installed and
 * never included by programs.
 *
 * Every struct a caller hands to a library call, and that may grow, begins
 * with `size_t sz`, which the caller sets to sizeof of its own struct:
 *
 *   input (options)  NULL means every default.  sz below sizeof(size_t)
 *                    is -EINVAL.  A smaller sz (a caller built against an
 *                    older header) works: the fields it lacks take their
 *                    defaults.  A larger sz (a newer header) works when
 *                    every byte past the fields the library knows is zero;
 *                    otherwise the caller asked for something the library
 *                    cannot do: -EINVAL, with a message where the call has
 *                    an error buffer.
 *   output           the caller sets sz; the library writes the fields
 *                    that fit in sz (never sz itself) and zeroes the bytes
 *                    of a larger struct that it does not know.  NULL or sz
 *                    below sizeof(size_t) is -EINVAL.
 *
 * The bytes a library knows end with the struct's last field, not with
 * sizeof: an output field a newer header adds in what is trailing padding
 * here must read as zero.  So each public header names its struct's last
 * field right after the struct (as libbpf does):
 *
 *   #define vmbus_dev_opts__last errbuf_len
 *
 * Input structs have no trailing padding (make it an explicit field):
 * an initializer need not zero padding, and the library checks every byte
 * after the last field.  The library uses, with the struct's tag:
 *
 *   OPTS_CHECK_IN(vmbus_dev_opts);            once each, at file scope
 *   OPTS_CHECK_OUT(vmbus_dev_info);
 *   err = OPTS_VALID(opts, vmbus_dev_opts, &why);
 *   root = OPTS_GET(opts, root, NULL);
 *   return OPTS_FILL(out, &full, vmbus_dev_info);
 */
#ifndef VMBUS_OPTS_H
#define VMBUS_OPTS_H

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Where @field of @type ends. */
#define OPTS_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* The bytes of struct @tag this library knows. */
#define OPTS_KNOWN(tag) OPTS_END(struct tag, tag##__last)

/* Fail the build when a field was added after the one named last, and
 * when an input struct ends in padding. */
#define OPTS_CHECK_IN(tag)                                                                         \
	_Static_assert(sizeof(struct tag) == OPTS_KNOWN(tag),                                      \
		       #tag "__last must name the last field, and no padding may follow it")
#define OPTS_CHECK_OUT(tag)                                                                        \
	_Static_assert(sizeof(struct tag) - OPTS_KNOWN(tag) < _Alignof(struct tag),                \
		       #tag "__last does not name the last field of struct " #tag)

/* The size the caller gave struct @p, 0 for NULL. */
static inline size_t opts_sz(const void *p)
{
	size_t sz = 0;

	if (p)
		memcpy(&sz, p, sizeof(sz));
	return sz;
}

/*
 * Checks input struct @p (NULL allowed) against the @known bytes of it
 * the library knows.  Returns 0, or -EINVAL with the reason in *why.
 */
static inline int opts_valid(const void *p, size_t known, const char **why)
{
	const unsigned char *b = p;
	size_t sz, i;

	*why = NULL;
	if (!p)
		return 0;
	sz = opts_sz(p);
	if (sz < sizeof(sz)) {
		*why = "its size field sz is not set";
		return -EINVAL;
	}
	for (i = known; i < sz; i++) {
		if (b[i]) {
			*why = "it is larger than this library's and sets fields this library does "
			       "not know";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Writes output struct @full (the library's, @known bytes of it known) to
 * the caller's @out, as far as out->sz reaches.  Returns 0 or -EINVAL.
 */
static inline int opts_fill(void *out, const void *full, size_t known)
{
	unsigned char *o = out;
	size_t sz;

	sz = opts_sz(out);
	if (sz < sizeof(sz))
		return -EINVAL;
	memcpy(o + sizeof(sz), (const unsigned char *)full + sizeof(sz),
	       (sz < known ? sz : known) - sizeof(sz));
	if (sz > known)
		memset(o + known, 0, sz - known);
	return 0;
}

/* 0 if input struct @p of type struct @tag obeys the rule, else -EINVAL
 * with the reason in *@why. */
#define OPTS_VALID(p, tag, why) opts_valid((p), OPTS_KNOWN(tag), (why))

/* Whether the caller's struct @p (checked by OPTS_VALID) holds @field. */
#define OPTS_HAS(p, field) (opts_sz(p) >= OPTS_END(__typeof__(*(p)), field))

/* @field of the caller's struct @p, or @dflt if it has no such field. */
#define OPTS_GET(p, field, dflt) (OPTS_HAS(p, field) ? (p)->field : (dflt))

/* Fills the caller's output struct @out from the library's @full. */
#define OPTS_FILL(out, full, tag) opts_fill((out), (full), OPTS_KNOWN(tag))

#endif /* VMBUS_OPTS_H */
