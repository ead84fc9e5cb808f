/* SPDX-License-Identifier: MIT */
/*
 * prefetch.h - asking for a line before it is written.  Private to the
 * libraries and the simulator: never installed.
 */
#ifndef VMBUS_PREFETCH_H
#define VMBUS_PREFETCH_H

/*
 * Fetches @p's line for writing (PREFETCHW), so the store finds it owned
 * instead of waiting for the other side's core to give it up.
 * __builtin_prefetch(p, 1) emits a read prefetch unless the compiler targets
 * PRFCHW, and a line fetched for reading must still be taken over when it is
 * written; the instruction itself is a no-op on x86 processors that lack it.
 */
static inline void prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

#endif
