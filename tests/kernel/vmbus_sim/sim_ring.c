// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's side of the ring protocol, as hv_vmbus exports it to drivers
 * that talk to their host through the rings themselves (hv_netvsc, storvsc,
 * the util drivers): sending packets, reading received ones, request ids,
 * and the guest pages a packet lets the host touch.
 *
 * The rules follow hv_vmbus (Linux 6.1, drivers/hv/ring_buffer.c and
 * channel.c), written here from what they do:
 *
 *  - A packet is written whole or not at all.  The ring counts as full when
 *    the packet would leave no byte free (equal read and write indices mean
 *    empty), and the send fails with -EAGAIN.  After the data comes an
 *    8-byte trailer holding the packet's start in its upper 32 bits; the
 *    write index moves after a full barrier, once everything is in place.
 *  - The host is signalled after a write only if it left interrupt_mask of
 *    the guest's send ring clear and that ring was empty before this packet
 *    (its read index equals the old write index): a host that is draining
 *    the ring, or has not caught up, is not interrupted again.
 *  - A packet that requests a completion gets its transaction id from the
 *    channel's requestor when the channel has one (rqstor_size at open):
 *    ids run from 1 to rqstor_size, 0 being the host's unsolicited
 *    messages; a freed id is the next one handed out.  The id is allocated
 *    after the data is in the ring, so that no completion can name it before
 *    the packet exists; a full requestor fails the send with -EAGAIN.
 *    Other packets carry the caller's request id.
 *  - Received packets are read at a private read index and copied out of
 *    the ring into inbound.pkt_buffer (max_pkt_size bytes, allocated at
 *    open) with len8 and offset8 made consistent with what was copied, so
 *    that the host cannot change a packet while the driver parses it.  The
 *    shared read index moves at hv_pkt_iter_close(), which signals the host
 *    only if it waits for room (pending_send_sz, when the host set
 *    feat_pending_send_sz) and this read took the free space from below
 *    that size to above it.
 *
 * hv_vmbus maps each ring's data pages twice in a row so that a packet
 * across the end is contiguous; the stand-in copies in two pieces instead,
 * which the drivers cannot tell apart: they only see the copy.
 *
 * What the stand-in adds: pages a GPA-direct packet names are granted to
 * the host (VMBUS_SIM_IOC_GUEST_MEM) from the moment the packet is in the
 * ring until the driver takes its completion back (the request id is
 * freed), the channel closes, or it goes.  Hyper-V can reach any guest
 * page; the grants make a host that touches a page it was not given, or
 * after it completed the packet, fail visibly instead of reading whatever
 * the page holds by then.  Packets a userspace driver writes to its ring
 * itself carry no grant: their pages are the host's while they wait in the
 * ring (sim_ring_names).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "sim_priv.h"

#define SIM_PKT_TRAILER sizeof(u64)
#define SIM_HV_PAGE 4096u

/* ------------------------------------------------------------------------ */
/* grants: the guest pages a GPA-direct packet lets the host touch           */
/* ------------------------------------------------------------------------ */

/* The bytes [start, end) of Hyper-V page @pfn that a packet names. */
struct sim_grant_page {
	struct hlist_node node;	/* sim_grant_pages, by pfn */
	struct sim_grant *grant;
	u64 pfn;
	u16 start;
	u16 end;
};

struct sim_grant {
	struct list_head node;	/* sc->grants */
	struct vmbus_channel *chan;
	u32 dev_relid;		/* the device's primary channel */
	u64 id;			/* the packet's transaction id */
	bool by_id;		/* sc->grant_by_id[id - 1] is this */
	unsigned int npages;
	struct sim_grant_page pages[];
};

static DEFINE_HASHTABLE(sim_grant_pages, 10);
/* the table, every sc->grants and sc->grant_by_id; taken in any context */
static DEFINE_SPINLOCK(sim_grant_lock);

static u32 sim_dev_relid(const struct vmbus_channel *chan)
{
	return chan->primary_channel ? chan->primary_channel->offermsg.child_relid :
				       chan->offermsg.child_relid;
}

/*
 * The grant of a GPA-direct packet whose descriptor (struct
 * vmbus_packet_mpb_array, @len bytes) the driver is about to send: every
 * range is (len, offset, then HVPFN_UP(offset + len) page numbers).  NULL
 * for a packet naming no page; an ERR_PTR for a descriptor the host would
 * refuse to parse (logged as a driver error unless @quiet), or no memory
 * (the caller's context may be atomic).
 */
static struct sim_grant *sim_grant_build(struct vmbus_channel *chan, const u8 *desc, u32 len,
					  bool quiet)
{
	const struct vmbus_packet_mpb_array *hdr = (const void *)desc;
	u32 off, r, k, npages = 0, dlen = hdr->dataoffset8 << 3;
	struct sim_grant *g;
	struct hv_mpb_array rng;
	unsigned int n = 0;

	/* the descriptor is the header plus the ranges; first count pages */
	if (dlen > len || dlen < offsetof(struct vmbus_packet_mpb_array, range))
		goto bad;
	off = offsetof(struct vmbus_packet_mpb_array, range);
	for (r = 0; r < hdr->rangecount; r++) {
		if (dlen - off < sizeof(rng))
			goto bad;
		memcpy(&rng, desc + off, sizeof(rng));
		off += sizeof(rng);
		/* offset + len must not wrap: a huge len would name few pages */
		if (!rng.len || rng.offset >= SIM_HV_PAGE || rng.len > U32_MAX - rng.offset ||
		    (dlen - off) / sizeof(u64) < HVPFN_UP(rng.offset + rng.len))
			goto bad;
		npages += HVPFN_UP(rng.offset + rng.len);
		off += HVPFN_UP(rng.offset + rng.len) * sizeof(u64);
	}
	if (!npages)
		return NULL;
	g = kzalloc(struct_size(g, pages, npages), GFP_ATOMIC);
	if (!g)
		return ERR_PTR(-ENOMEM);
	g->chan = chan;
	g->dev_relid = sim_dev_relid(chan);
	g->npages = npages;
	off = offsetof(struct vmbus_packet_mpb_array, range);
	for (r = 0; r < hdr->rangecount; r++) {
		u32 pages, end;

		memcpy(&rng, desc + off, sizeof(rng));
		off += sizeof(rng);
		pages = HVPFN_UP(rng.offset + rng.len);
		end = rng.offset + rng.len;
		for (k = 0; k < pages; k++, n++) {
			struct sim_grant_page *p = &g->pages[n];

			memcpy(&p->pfn, desc + off + k * sizeof(u64), sizeof(u64));
			p->grant = g;
			p->start = k ? 0 : rng.offset;
			p->end = min_t(u32, SIM_HV_PAGE, end - k * SIM_HV_PAGE);
		}
		off += pages * sizeof(u64);
	}
	return g;
bad:
	if (!quiet)
		pr_err("driver error: relid %u: a GPA-direct packet whose page ranges do not fit its %u-byte descriptor\n",
		       chan->offermsg.child_relid, dlen);
	return ERR_PTR(-EINVAL);
}

static void sim_grant_insert(struct sim_grant *g, u64 id)
{
	struct sim_channel *sc = to_sim_channel(g->chan);
	unsigned long flags;
	unsigned int i;

	g->id = id;
	spin_lock_irqsave(&sim_grant_lock, flags);
	list_add_tail(&g->node, &sc->grants);
	/* completions name the id; release finds the grant by it */
	if (id >= 1 && id <= sc->grant_slots && !sc->grant_by_id[id - 1]) {
		sc->grant_by_id[id - 1] = g;
		g->by_id = true;
	}
	for (i = 0; i < g->npages; i++)
		hash_add(sim_grant_pages, &g->pages[i].node, g->pages[i].pfn);
	spin_unlock_irqrestore(&sim_grant_lock, flags);
}

static void sim_grant_drop_locked(struct sim_grant *g)
{
	struct sim_channel *sc = to_sim_channel(g->chan);
	unsigned int i;

	lockdep_assert_held(&sim_grant_lock);
	for (i = 0; i < g->npages; i++)
		hash_del(&g->pages[i].node);
	if (g->by_id)
		sc->grant_by_id[g->id - 1] = NULL;
	list_del(&g->node);
	kfree(g);
}

/* The driver took the completion of request @id back: the host is done. */
static void sim_grant_release(struct vmbus_channel *chan, u64 id)
{
	struct sim_channel *sc = to_sim_channel(chan);
	unsigned long flags;

	spin_lock_irqsave(&sim_grant_lock, flags);
	if (id >= 1 && id <= sc->grant_slots && sc->grant_by_id[id - 1])
		sim_grant_drop_locked(sc->grant_by_id[id - 1]);
	spin_unlock_irqrestore(&sim_grant_lock, flags);
}

/* Every grant of @chan goes: it closed (or failed to open), or it goes. */
void sim_grants_release_chan(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	struct sim_grant *g, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&sim_grant_lock, flags);
	list_for_each_entry_safe(g, tmp, &sc->grants, node)
		sim_grant_drop_locked(g);
	spin_unlock_irqrestore(&sim_grant_lock, flags);
}

/* Whether some packet of device @dev_relid names bytes [@s, @e) of @pfn. */
static bool sim_granted(u32 dev_relid, u64 pfn, u32 s, u32 e)
{
	struct sim_grant_page *p;

	lockdep_assert_held(&sim_grant_lock);
	hash_for_each_possible(sim_grant_pages, p, node, pfn)
		if (p->pfn == pfn && p->grant->dev_relid == dev_relid && p->start <= s &&
		    e <= p->end)
			return true;
	return false;
}

/*
 * VMBUS_SIM_IOC_GUEST_MEM: copies bytes of guest pages a packet of the
 * device granted, or that a packet waiting in one of its rings names,
 * between the host's buffer and guest memory.  The pages stay granted
 * during the copy: only the host completes or consumes the packet, and it
 * is busy here.
 */
long sim_guest_mem(const struct vmbus_sim_guest_mem *m)
{
	u64 first = m->pfn, pfn;
	u32 done = 0, dev_relid;
	struct vmbus_channel *chan;
	unsigned long flags;
	bool ok;

	if (m->flags & ~VMBUS_SIM_GUEST_MEM_WRITE || m->reserved ||
	    m->offset >= SIM_HV_PAGE || !m->len || m->len > VMBUS_SIM_GUEST_MEM_MAX)
		return -EINVAL;
	rcu_read_lock();
	chan = sim_relid2channel(m->relid);
	dev_relid = chan ? sim_dev_relid(chan) : 0;
	rcu_read_unlock();
	if (!chan)
		return -ENOENT;

	for (pfn = first; done < m->len; pfn++) {
		u32 s = pfn == first ? m->offset : 0;
		u32 e = min_t(u32, SIM_HV_PAGE, s + (m->len - done));

		spin_lock_irqsave(&sim_grant_lock, flags);
		ok = sim_granted(dev_relid, pfn, s, e);
		spin_unlock_irqrestore(&sim_grant_lock, flags);
		/* a packet a userspace driver wrote to its ring itself */
		if (!ok && !sim_gpadl_rings_name(dev_relid, pfn, s, e))
			return -EACCES;
		done += e - s;
	}

	for (pfn = first, done = 0; done < m->len; pfn++) {
		u32 s = pfn == first ? m->offset : 0;
		u32 chunk = min_t(u32, SIM_HV_PAGE - s, m->len - done);
		void __user *ubuf = u64_to_user_ptr(m->buf + done);
		phys_addr_t pa = pfn * SIM_HV_PAGE + s;
		unsigned long left;
		u8 *va;

		if (!pfn_valid(PHYS_PFN(pa)))
			return -EFAULT;
		va = kmap_local_page(pfn_to_page(PHYS_PFN(pa)));
		if (m->flags & VMBUS_SIM_GUEST_MEM_WRITE)
			left = copy_from_user(va + offset_in_page(pa), ubuf, chunk);
		else
			left = copy_to_user(ubuf, va + offset_in_page(pa), chunk);
		kunmap_local(va);
		if (left)
			return -EFAULT;
		done += chunk;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* requestor                                                                 */
/* ------------------------------------------------------------------------ */

/* At open, for a channel whose driver set rqstor_size. */
int sim_rqstor_init(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	struct vmbus_requestor *r = &chan->requestor;
	u32 i, n = chan->rqstor_size;

	if (!n)
		return 0;
	r->req_arr = kcalloc(n, sizeof(*r->req_arr), GFP_KERNEL);
	r->req_bitmap = bitmap_zalloc(n, GFP_KERNEL);
	sc->grant_by_id = kcalloc(n, sizeof(*sc->grant_by_id), GFP_KERNEL);
	if (!r->req_arr || !r->req_bitmap || !sc->grant_by_id) {
		sim_rqstor_free(chan);
		return -ENOMEM;
	}
	/* free slots form a list through req_arr; U64_MAX ends it */
	for (i = 0; i < n; i++)
		r->req_arr[i] = i + 1 < n ? i + 1 : U64_MAX;
	r->next_request_id = 0;
	r->size = n;
	spin_lock_init(&r->req_lock);
	sc->grant_slots = n;
	return 0;
}

void sim_rqstor_free(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	struct vmbus_requestor *r = &chan->requestor;
	unsigned long flags;

	/* the host is done with the channel: its grants go first */
	sim_grants_release_chan(chan);
	spin_lock_irqsave(&sim_grant_lock, flags);
	kfree(sc->grant_by_id);
	sc->grant_by_id = NULL;
	sc->grant_slots = 0;
	spin_unlock_irqrestore(&sim_grant_lock, flags);
	kfree(r->req_arr);
	bitmap_free(r->req_bitmap);
	r->req_arr = NULL;
	r->req_bitmap = NULL;
	r->size = 0;
}

u64 vmbus_next_request_id(struct vmbus_channel *chan, u64 rqst_addr)
{
	struct vmbus_requestor *r = &chan->requestor;
	unsigned long flags;
	u64 slot;

	if (!chan->rqstor_size)
		return VMBUS_NO_RQSTOR;
	lock_requestor(chan, flags);
	slot = r->next_request_id;
	if (slot >= r->size) {
		unlock_requestor(chan, flags);
		return VMBUS_RQST_ERROR;
	}
	r->next_request_id = r->req_arr[slot];
	r->req_arr[slot] = rqst_addr;
	__set_bit(slot, r->req_bitmap);
	unlock_requestor(chan, flags);
	/* id 0 is the host's: it never completes a request that carries it */
	return slot + 1;
}
EXPORT_SYMBOL_GPL(vmbus_next_request_id);

/* The requestor lock is held. */
static u64 sim_request_addr_match(struct vmbus_channel *chan, u64 trans_id, u64 rqst_addr)
{
	struct vmbus_requestor *r = &chan->requestor;
	u64 slot, addr;

	if (!chan->rqstor_size)
		return VMBUS_NO_RQSTOR;
	if (!trans_id || trans_id > r->size)
		return VMBUS_RQST_ERROR;
	slot = trans_id - 1;
	if (!test_bit(slot, r->req_bitmap))
		return VMBUS_RQST_ERROR;
	addr = r->req_arr[slot];
	if (rqst_addr == VMBUS_RQST_ADDR_ANY || addr == rqst_addr) {
		r->req_arr[slot] = r->next_request_id;
		r->next_request_id = slot;
		__clear_bit(slot, r->req_bitmap);
		sim_grant_release(chan, trans_id);
	}
	return addr;
}

/* The same under the channel's requestor lock. */
static u64 sim_request_addr_locked(struct vmbus_channel *chan, u64 trans_id, u64 rqst_addr)
{
	unsigned long flags;
	u64 addr;

	lock_requestor(chan, flags);
	addr = sim_request_addr_match(chan, trans_id, rqst_addr);
	unlock_requestor(chan, flags);
	return addr;
}

#if SIM_HAVE_GETID
u64 __vmbus_request_addr_match(struct vmbus_channel *chan, u64 trans_id, u64 rqst_addr)
{
	return sim_request_addr_match(chan, trans_id, rqst_addr);
}
EXPORT_SYMBOL_GPL(__vmbus_request_addr_match);

u64 vmbus_request_addr_match(struct vmbus_channel *chan, u64 trans_id, u64 rqst_addr)
{
	return sim_request_addr_locked(chan, trans_id, rqst_addr);
}
EXPORT_SYMBOL_GPL(vmbus_request_addr_match);
#endif

u64 vmbus_request_addr(struct vmbus_channel *chan, u64 trans_id)
{
	return sim_request_addr_locked(chan, trans_id, VMBUS_RQST_ADDR_ANY);
}
EXPORT_SYMBOL_GPL(vmbus_request_addr);

/* ------------------------------------------------------------------------ */
/* sending                                                                   */
/* ------------------------------------------------------------------------ */

/* Copies @len bytes to ring offset @at, across the end; returns the next offset. */
static u32 sim_ring_put(struct hv_ring_buffer_info *rbi, u32 at, const void *src, u32 len)
{
	u32 size = rbi->ring_datasize, first = min(len, size - at);

	memcpy(rbi->ring_buffer->buffer + at, src, first);
	memcpy(rbi->ring_buffer->buffer, (const u8 *)src + first, len - first);
	at += len;
	return at >= size ? at - size : at;
}

/* Copies @len bytes from offset @at of the @size data bytes of @rb, across the end. */
static void sim_ring_copy(const struct hv_ring_buffer *rb, u32 size, u32 at, void *dst, u32 len)
{
	u32 first = min(len, size - at);

	memcpy(dst, rb->buffer + at, first);
	memcpy((u8 *)dst + first, rb->buffer, len - first);
}

static void sim_ring_get(const struct hv_ring_buffer_info *rbi, u32 at, void *dst, u32 len)
{
	sim_ring_copy(rbi->ring_buffer, rbi->ring_datasize, at, dst, len);
}

/* The largest GPA-direct descriptor the scan reads: 255 single-page ranges. */
#define SIM_SCAN_DESC_MAX 4096u

/*
 * Whether @chan is a channel of device @dev_relid and a GPA-direct packet
 * in its guest's send ring (@ring, its
 * @send_size bytes, header page included) that the host has not consumed
 * yet (between the read and the write index) names bytes [@s, @e) of page
 * @pfn.  A driver that writes its ring itself (a UIO driver's process, such
 * as DPDK) sends packets the stand-in never sees, so they carry no grant:
 * their pages are the host's while the packets wait in the ring, which is
 * when a host reads them (NetVSP gathers a packet's pages before it moves
 * past it).  The indices and packets are the guest's: a packet that does
 * not fit ends the scan, and nothing here is logged as a driver error.
 */
bool sim_ring_names(u32 dev_relid, struct vmbus_channel *chan, const void *ring, u32 send_size,
		    u64 pfn, u32 s, u32 e)
{
	const struct hv_ring_buffer *rb = ring;
	u32 size, r, w, avail, i;
	bool found = false;
	u8 *desc;

	/* an orphan's primary is gone: its device is no longer any device */
	if (to_sim_channel(chan)->orphan || sim_dev_relid(chan) != dev_relid ||
	    send_size <= sizeof(*rb))
		return false;
	size = send_size - sizeof(*rb);
	r = READ_ONCE(rb->read_index);
	w = READ_ONCE(rb->write_index);
	if (r >= size || w >= size || r % 8 || w % 8)
		return false;
	desc = kmalloc(SIM_SCAN_DESC_MAX, GFP_KERNEL);
	if (!desc)
		return false;
	avail = w >= r ? w - r : size - r + w;
	while (!found && avail >= sizeof(struct vmpacket_descriptor) + SIM_PKT_TRAILER) {
		struct vmpacket_descriptor d;
		struct sim_grant *g;
		u32 plen, dlen;

		sim_ring_copy(rb, size, r, &d, sizeof(d));
		plen = (u32)d.len8 << 3;
		dlen = (u32)d.offset8 << 3;
		if (plen < sizeof(d) || plen > avail - SIM_PKT_TRAILER)
			break;
		if (d.type == VM_PKT_DATA_USING_GPA_DIRECT && dlen <= plen &&
		    dlen <= SIM_SCAN_DESC_MAX) {
			sim_ring_copy(rb, size, r, desc, dlen);
			g = sim_grant_build(chan, desc, dlen, true);
			for (i = 0; !IS_ERR_OR_NULL(g) && i < g->npages && !found; i++)
				found = g->pages[i].pfn == pfn && g->pages[i].start <= s &&
					e <= g->pages[i].end;
			if (!IS_ERR_OR_NULL(g))
				kfree(g);
		}
		r = (r + plen + SIM_PKT_TRAILER) % size;
		avail -= plen + SIM_PKT_TRAILER;
	}
	kfree(desc);
	return found;
}

static int sim_ring_write(struct vmbus_channel *chan, const struct kvec *kv, u32 nkv,
			  u64 requestid, u64 *trans_id)
{
	struct hv_ring_buffer_info *rbi = &chan->outbound;
	const struct vmpacket_descriptor *desc = kv[0].iov_base;
	u64 id = VMBUS_NO_RQSTOR, tid, trailer;
	struct sim_grant *grant = NULL;
	u32 total = SIM_PKT_TRAILER, w, old, i;
	unsigned long flags;

	if (chan->rescind)
		return -ENODEV;
	for (i = 0; i < nkv; i++)
		total += kv[i].iov_len;
	if (desc->type == VM_PKT_DATA_USING_GPA_DIRECT) {
		grant = sim_grant_build(chan, kv[0].iov_base, kv[0].iov_len, false);
		if (IS_ERR(grant))
			return PTR_ERR(grant) == -ENOMEM ? -EAGAIN : PTR_ERR(grant);
	}

	spin_lock_irqsave(&rbi->ring_lock, flags);
	if (!rbi->ring_buffer) {
		spin_unlock_irqrestore(&rbi->ring_lock, flags);
		kfree(grant);
		pr_err("driver error: relid %u: a packet sent on a channel that is not open\n",
		       chan->offermsg.child_relid);
		return -EINVAL;
	}
	old = rbi->ring_buffer->write_index;
	if (old >= rbi->ring_datasize || old % 8) {
		/* hv_vmbus trusts this index; the test bed's host never writes it */
		spin_unlock_irqrestore(&rbi->ring_lock, flags);
		kfree(grant);
		pr_err("relid %u: the host overwrote the guest's write index (%u)\n",
		       chan->offermsg.child_relid, old);
		return -EIO;
	}
	/* exactly full would look empty: a packet must leave a byte free */
	if (hv_get_bytes_to_write(rbi) <= total) {
		++chan->out_full_total;
		if (!chan->out_full_flag) {
			++chan->out_full_first;
			chan->out_full_flag = true;
		}
		spin_unlock_irqrestore(&rbi->ring_lock, flags);
		kfree(grant);
		return -EAGAIN;
	}
	chan->out_full_flag = false;

	w = old;
	for (i = 0; i < nkv; i++)
		w = sim_ring_put(rbi, w, kv[i].iov_base, kv[i].iov_len);
	/* the packet is in place before its id exists: no completion can name it earlier */
	if (desc->flags == VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED &&
	    chan->next_request_id_callback) {
		id = chan->next_request_id_callback(chan, requestid);
		if (id == VMBUS_RQST_ERROR) {
			spin_unlock_irqrestore(&rbi->ring_lock, flags);
			kfree(grant);
			return -EAGAIN;
		}
	}
	tid = id == VMBUS_NO_RQSTOR ? requestid : id;
	sim_ring_put(rbi, (old + offsetof(struct vmpacket_descriptor, trans_id)) %
			  rbi->ring_datasize, &tid, sizeof(tid));
	if (grant)
		sim_grant_insert(grant, tid);
	trailer = (u64)old << 32;
	w = sim_ring_put(rbi, w, &trailer, sizeof(trailer));
	/* the packet and its trailer are in memory before the index moves */
	virt_mb();
	rbi->ring_buffer->write_index = w;
	spin_unlock_irqrestore(&rbi->ring_lock, flags);

	/*
	 * Signal only a host that is not draining and saw the ring empty.  The
	 * index is visible before the mask is read; the mask is read before
	 * the read index.
	 */
	virt_mb();
	if (!READ_ONCE(rbi->ring_buffer->interrupt_mask)) {
		/* the mask before the read index */
		virt_rmb();
		if (old == READ_ONCE(rbi->ring_buffer->read_index)) {
			++chan->intr_out_empty;
			vmbus_setevent(chan);
		}
	}

	if (chan->rescind) {
		/* the packet will never complete: give its id back */
		if (id != VMBUS_NO_RQSTOR && chan->request_addr_callback)
			chan->request_addr_callback(chan, id);
		return -ENODEV;
	}
	if (trans_id)
		*trans_id = tid;
	return 0;
}

static int sim_sendpacket(struct vmbus_channel *chan, void *buffer, u32 bufferlen,
			  u64 requestid, u64 *trans_id, enum vmbus_packet_type type, u32 flags)
{
	u32 len = sizeof(struct vmpacket_descriptor) + bufferlen;
	struct vmpacket_descriptor desc = {
		.type = type,
		.flags = flags,
		.offset8 = sizeof(desc) >> 3,
		.len8 = (u16)(ALIGN(len, sizeof(u64)) >> 3),
		.trans_id = VMBUS_RQST_ERROR, /* set when it is written */
	};
	u64 pad = 0;
	struct kvec kv[3] = {
		{ .iov_base = &desc, .iov_len = sizeof(desc) },
		{ .iov_base = buffer, .iov_len = bufferlen },
		{ .iov_base = &pad, .iov_len = ALIGN(len, sizeof(u64)) - len },
	};

	return sim_ring_write(chan, kv, bufferlen ? 3 : 1, requestid, trans_id);
}

#if SIM_HAVE_GETID
int vmbus_sendpacket_getid(struct vmbus_channel *chan, void *buffer, u32 bufferlen,
			   u64 requestid, u64 *trans_id, enum vmbus_packet_type type,
			   u32 flags)
{
	return sim_sendpacket(chan, buffer, bufferlen, requestid, trans_id, type, flags);
}
EXPORT_SYMBOL(vmbus_sendpacket_getid);
#endif

int vmbus_sendpacket(struct vmbus_channel *chan, void *buffer, u32 bufferlen, u64 requestid,
		     enum vmbus_packet_type type, u32 flags)
{
	return sim_sendpacket(chan, buffer, bufferlen, requestid, NULL, type, flags);
}
EXPORT_SYMBOL(vmbus_sendpacket);

/*
 * A GPA-direct packet whose ranges the caller laid out after the header
 * (@desc_size bytes in all); always with a completion requested.
 */
int vmbus_sendpacket_mpb_desc(struct vmbus_channel *chan, struct vmbus_packet_mpb_array *desc,
			      u32 desc_size, void *buffer, u32 bufferlen, u64 requestid)
{
	u32 len = desc_size + bufferlen;
	u64 pad = 0;
	struct kvec kv[3] = {
		{ .iov_base = desc, .iov_len = desc_size },
		{ .iov_base = buffer, .iov_len = bufferlen },
		{ .iov_base = &pad, .iov_len = ALIGN(len, sizeof(u64)) - len },
	};

	desc->type = VM_PKT_DATA_USING_GPA_DIRECT;
	desc->flags = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
	desc->dataoffset8 = desc_size >> 3;
	desc->length8 = (u16)(ALIGN(len, sizeof(u64)) >> 3);
	desc->transactionid = VMBUS_RQST_ERROR;
	desc->reserved = 0;
	return sim_ring_write(chan, kv, 3, requestid, NULL);
}
EXPORT_SYMBOL_GPL(vmbus_sendpacket_mpb_desc);

/* ------------------------------------------------------------------------ */
/* receiving                                                                 */
/* ------------------------------------------------------------------------ */

/* Bytes the host wrote past the private read index. */
static u32 sim_iter_avail(const struct hv_ring_buffer_info *rbi)
{
	/* the host stores the data, then the index with release */
	u32 w = virt_load_acquire(&rbi->ring_buffer->write_index);
	u32 r = rbi->priv_read_index;

	return w >= r ? w - r : rbi->ring_datasize - r + w;
}

struct vmpacket_descriptor *hv_pkt_iter_first(struct vmbus_channel *chan)
{
	struct hv_ring_buffer_info *rbi = &chan->inbound;
	struct vmpacket_descriptor hdr, *copy;
	u32 avail, len, off;

	if (!rbi->ring_buffer || !rbi->pkt_buffer) {
		pr_err("driver error: relid %u: packets read from a channel that is not open\n",
		       chan->offermsg.child_relid);
		return NULL;
	}
	avail = sim_iter_avail(rbi);
	if (avail < sizeof(hdr))
		return NULL;
	avail = min3(avail, rbi->pkt_buffer_size, rbi->ring_datasize);
	sim_ring_get(rbi, rbi->priv_read_index, &hdr, sizeof(hdr));
	len = hdr.len8 << 3;
	off = hdr.offset8 << 3;
	/* what the host claims is only believed within what is there */
	if (len < sizeof(hdr) || len > avail)
		len = avail;
	if (off < sizeof(hdr) || off > len)
		off = sizeof(hdr);
	copy = rbi->pkt_buffer;
	sim_ring_get(rbi, rbi->priv_read_index, copy, len);
	copy->len8 = len >> 3;
	copy->offset8 = off >> 3;
	return copy;
}
EXPORT_SYMBOL_GPL(hv_pkt_iter_first);

struct vmpacket_descriptor *__hv_pkt_iter_next(struct vmbus_channel *chan,
					       const struct vmpacket_descriptor *desc)
{
	struct hv_ring_buffer_info *rbi = &chan->inbound;
	u32 next = rbi->priv_read_index + (desc->len8 << 3) + SIM_PKT_TRAILER;

	rbi->priv_read_index = next >= rbi->ring_datasize ? next - rbi->ring_datasize : next;
	return hv_pkt_iter_first(chan);
}
EXPORT_SYMBOL_GPL(__hv_pkt_iter_next);

void hv_pkt_iter_close(struct vmbus_channel *chan)
{
	struct hv_ring_buffer_info *rbi = &chan->inbound;
	u32 start, pending, free_now, read;

	/* every read of the packets is done before the host may reuse them */
	virt_rmb();
	start = rbi->ring_buffer->read_index;
	rbi->ring_buffer->read_index = rbi->priv_read_index;

	/* a host without the feature polls a full ring: no signal */
	if (!rbi->ring_buffer->feature_bits.feat_pending_send_sz)
		return;
	/* the new read index is visible before pending_send_sz is read */
	virt_mb();
	pending = READ_ONCE(rbi->ring_buffer->pending_send_sz);
	if (!pending)
		return;
	/* pending_send_sz is read before the host's write index */
	virt_rmb();
	free_now = hv_get_bytes_to_write(rbi);
	read = rbi->priv_read_index >= start ? rbi->priv_read_index - start :
					       rbi->ring_datasize - start + rbi->priv_read_index;
	/*
	 * Signal the transition only: the host had too little room before
	 * this read (exactly full counts as too little) and has enough now.
	 */
	if (free_now - read > pending || free_now <= pending)
		return;
	++chan->intr_in_full;
	vmbus_setevent(chan);
}
EXPORT_SYMBOL_GPL(hv_pkt_iter_close);

static int sim_recvpacket(struct vmbus_channel *chan, void *buffer, u32 bufferlen,
			  u32 *actual, u64 *requestid, bool raw)
{
	struct vmpacket_descriptor *desc;
	u32 off, len;

	if (!bufferlen)
		return -EINVAL;
	*actual = 0;
	*requestid = 0;
	desc = hv_pkt_iter_first(chan);
	if (!desc)
		return 0; /* nothing there: callers look at *actual */
	off = raw ? 0 : desc->offset8 << 3;
	len = (desc->len8 << 3) - off;
	*actual = len;
	*requestid = desc->trans_id;
	if (len > bufferlen)
		return -ENOBUFS;
	memcpy(buffer, (u8 *)desc + off, len);
	__hv_pkt_iter_next(chan, desc);
	hv_pkt_iter_close(chan);
	return 0;
}

int vmbus_recvpacket(struct vmbus_channel *chan, void *buffer, u32 bufferlen,
		     u32 *buffer_actual_len, u64 *requestid)
{
	return sim_recvpacket(chan, buffer, bufferlen, buffer_actual_len, requestid, false);
}
EXPORT_SYMBOL(vmbus_recvpacket);

int vmbus_recvpacket_raw(struct vmbus_channel *chan, void *buffer, u32 bufferlen,
			 u32 *buffer_actual_len, u64 *requestid)
{
	return sim_recvpacket(chan, buffer, bufferlen, buffer_actual_len, requestid, true);
}
EXPORT_SYMBOL_GPL(vmbus_recvpacket_raw);

/* ------------------------------------------------------------------------ */
/* ring state                                                                */
/* ------------------------------------------------------------------------ */

int hv_ringbuffer_get_debuginfo(struct hv_ring_buffer_info *rbi,
				struct hv_ring_buffer_debug_info *out)
{
	struct hv_ring_buffer *rb;
	u32 r, w, size;

	mutex_lock(&rbi->ring_buffer_mutex);
	rb = rbi->ring_buffer;
	if (!rb) {
		mutex_unlock(&rbi->ring_buffer_mutex);
		return -EINVAL;
	}
	r = READ_ONCE(rb->read_index);
	w = READ_ONCE(rb->write_index);
	size = rbi->ring_datasize;
	out->current_interrupt_mask = READ_ONCE(rb->interrupt_mask);
	out->current_read_index = r;
	out->current_write_index = w;
	out->bytes_avail_towrite = w >= r ? size - (w - r) : r - w;
	out->bytes_avail_toread = size - out->bytes_avail_towrite;
	mutex_unlock(&rbi->ring_buffer_mutex);
	return 0;
}
EXPORT_SYMBOL_GPL(hv_ringbuffer_get_debuginfo);
