/* SPDX-License-Identifier: MIT */
/*
 * vmbus/sim.h - the protocol of a simulated VMBus's /dev/uioN socket.
 *
 * vmbus-hostsim serves each simulated UIO device on a SOCK_SEQPACKET unix
 * socket at ROOT/dev/uioN with the semantics of the UIO character device:
 *
 *   connect        open(): the first open connects the primary channel.
 *                  The host answers with a 4-byte int32 open status: 0, or
 *                  one of the refusals below.  A guest treats any other
 *                  value, or an answer of another size, as a broken host.
 *                    -EBUSY   another opener holds the device (below)
 *                    -EAGAIN  the host refused to open the channel
 *                    -EMFILE  the host has no room for another connection
 *                    -ENOMEM  the host ran out of memory
 *                    -ENODEV  the device is going away
 *   host -> guest  4-byte uint32 event counts (what read() returns); they
 *                  coalesce like UIO events.  While a connection's socket
 *                  is full the host sends none; once the guest has read
 *                  what it held, the host sends the current count, so a
 *                  guest that drains the socket and sleeps is woken by
 *                  the next event.
 *   guest -> host  4-byte int32 irqcontrol values (what write() takes):
 *                  1 unmasks every channel and signals the unmonitored
 *                  ones, 0 masks them.
 *   hang-up        rescind: the host closes every connection and removes
 *                  the device.  The last close by the guest disconnects.
 *
 * One user at a time: a connection whose socket is bound to an abstract
 * address that begins with VMBUS_SIM_LISTENER_TAG is an interrupt listener
 * (one per channel, for a thread that waits on that channel alone).  The
 * host accepts a listener only from the process (SO_PEERCRED) that holds
 * the device open, and any other connection only while nobody holds it:
 * everything else is refused with -EBUSY.  A real guest gets the same rule
 * from libvmbus's flock() on /dev/uioN.
 *
 * Maps: the guest asks for each map with a struct vmbus_sim_mapreq; the
 * host answers with a struct vmbus_sim_mapreply and, on success, the
 * memfd that backs the map attached (SCM_RIGHTS), sealed with
 * VMBUS_SIM_MAP_SEALS: nobody, host or guest, can shrink it under the
 * other's mapping (no SIGBUS), so a guest refuses a map without
 * F_SEAL_SHRINK or shorter than the map.  The ring of a subchannel is
 * asked for the same way, by relid.  ROOT/dev/uioN.mapK and the ring
 * files of the tree name the same memfds (symbolic links into the host's
 * /proc/PID/fd), for tools that only look.
 *
 * Guest memory for GPA-direct packets: a connection may instead send one
 * struct vmbus_sim_memreg with a memfd attached (SCM_RIGHTS).  The host
 * maps the memfd and answers with a struct vmbus_sim_memreply; page i of
 * the memory is then Hyper-V page number base_pfn + i, for as long as the
 * connection stays open.  Such a connection is no interrupt listener.  The
 * memfd must be sealed against shrinking (F_SEAL_SHRINK), or the host
 * refuses it: the guest could otherwise truncate it under the host.
 * libvmbus does all of this (vmbus_dma_*); only a host needs this header.
 */
#ifndef VMBUS_SIM_H
#define VMBUS_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMBUS_SIM_MEMREG_MAGIC 0x4d47564du /* "MVGM" */
#define VMBUS_SIM_MEMREG_VERSION 1u
/* Largest registered region: 4 GiB. */
#define VMBUS_SIM_REGION_MAX (4ull << 30)
/*
 * The first page number of region slot @slot (0-based).  Laid out like a
 * guest's memory above 4 GiB, where its RAM goes on past the MMIO hole:
 * slot 0 at 4 GiB (page 0x100000), each slot 4 GiB further, 16 slots end
 * at 68 GiB.  Page numbers stay far below 2^32, as DPDK keeps them in 32
 * bits.
 */
#define VMBUS_SIM_REGION_PFN(slot)                                                                 \
	(0x100000ull + (uint64_t)(slot) * (VMBUS_SIM_REGION_MAX / 4096u))

struct vmbus_sim_memreg {
	uint32_t magic; /* VMBUS_SIM_MEMREG_MAGIC */
	uint32_t version; /* VMBUS_SIM_MEMREG_VERSION */
	uint64_t size; /* bytes, a multiple of 4096, at most VMBUS_SIM_REGION_MAX */
};

struct vmbus_sim_memreply {
	int32_t status; /* 0, -EINVAL, -ENOSPC, -ENOMEM or -EBUSY */
	uint32_t reserved;
	uint64_t base_pfn;
};

/* Interrupt listeners bind to an abstract address beginning with this. */
#define VMBUS_SIM_LISTENER_TAG "vmbus-sim-listener:"

#define VMBUS_SIM_MAPREQ_MAGIC 0x504d5356u /* "VSMP" */
#define VMBUS_SIM_MAPREQ_VERSION 1u
/* vmbus_sim_mapreq.map: UIO map 0..4, or the ring of channel @relid. */
#define VMBUS_SIM_MAP_RING 0xffffffffu
/*
 * The seals a host puts on every map (fcntl F_ADD_SEALS): F_SEAL_SEAL (1) |
 * F_SEAL_SHRINK (2) | F_SEAL_GROW (4), by value, so that this header does
 * not need _GNU_SOURCE.
 */
#define VMBUS_SIM_MAP_SEALS 0x7u

struct vmbus_sim_mapreq {
	uint32_t magic; /* VMBUS_SIM_MAPREQ_MAGIC */
	uint32_t version; /* VMBUS_SIM_MAPREQ_VERSION */
	uint32_t map; /* 0..4, or VMBUS_SIM_MAP_RING */
	uint32_t relid; /* VMBUS_SIM_MAP_RING: the channel */
};

/*
 * status: 0 (the memfd is attached), -ENOENT (no such map, or the channel
 * has no open ring), -EINVAL (a malformed request), -EMFILE or -ENOMEM.
 */
struct vmbus_sim_mapreply {
	int32_t status;
	uint32_t reserved;
	uint64_t size; /* bytes of the map */
};

_Static_assert(sizeof(struct vmbus_sim_memreg) == 16, "memreg size");
_Static_assert(sizeof(struct vmbus_sim_memreply) == 16, "memreply size");
_Static_assert(sizeof(struct vmbus_sim_mapreq) == 16, "mapreq size");
_Static_assert(sizeof(struct vmbus_sim_mapreply) == 16, "mapreply size");

#ifdef __cplusplus
}
#endif

#endif /* VMBUS_SIM_H */
