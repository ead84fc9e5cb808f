// SPDX-License-Identifier: GPL-2.0
/*
 * Channel operations hv_vmbus exports to drivers: ring allocation, open
 * and close, GPADLs and the driver callbacks.  Where hv_vmbus sends a
 * message to the host and waits for the answer, this asks sim_host.c.
 *
 * Semantics follow hv_vmbus of this kernel, including the parts drivers
 * trip over: the ring stays allocated across close and open, opening
 * resets the ring indices but not interrupt_mask, the ring pages are only
 * freed if the ring's GPADL was torn down (a channel rescinded while open
 * keeps them), and closing a primary closes and frees its subchannels.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/reciprocal_div.h>
#include <linux/slab.h>

#include "sim_priv.h"

/*
 * hv_ringbuffer_init(): a new connection starts at index 0, keeps the
 * interrupt mask, announces pending_send_sz, and (inbound) gets the buffer
 * packets are copied into.  hv_vmbus allocates that buffer (and maps the
 * ring again) at every open and frees it in vmbus_free_ring() only, so a
 * ring connected again after vmbus_disconnect_ring() leaks the previous
 * one; the stand-in frees it.
 */
static int sim_ring_init(struct hv_ring_buffer_info *rbi, struct page *page,
			 u32 pages, u32 max_pkt_size)
{
	struct hv_ring_buffer *rb = page_address(page);

	rb->read_index = 0;
	rb->write_index = 0;
	rb->feature_bits.value = 1;
	rbi->ring_buffer = rb;
	rbi->ring_size = pages << PAGE_SHIFT;
	rbi->ring_size_div10_reciprocal = reciprocal_value(rbi->ring_size / 10);
	rbi->ring_datasize = rbi->ring_size - sizeof(struct hv_ring_buffer);
	rbi->priv_read_index = 0;
	kfree(rbi->pkt_buffer);
	rbi->pkt_buffer = NULL;
	rbi->pkt_buffer_size = 0;
	spin_lock_init(&rbi->ring_lock);
	if (!max_pkt_size)
		return 0;
	rbi->pkt_buffer = kzalloc(max_pkt_size, GFP_KERNEL);
	if (!rbi->pkt_buffer)
		return -ENOMEM;
	rbi->pkt_buffer_size = max_pkt_size;
	return 0;
}

static void sim_ring_cleanup(struct hv_ring_buffer_info *rbi)
{
	mutex_lock(&rbi->ring_buffer_mutex);
	rbi->ring_buffer = NULL;
	mutex_unlock(&rbi->ring_buffer_mutex);
	kfree(rbi->pkt_buffer);
	rbi->pkt_buffer = NULL;
	rbi->pkt_buffer_size = 0;
}

int vmbus_alloc_ring(struct vmbus_channel *chan, u32 send_size, u32 recv_size)
{
	struct page *page;
	int order;

	if (send_size % PAGE_SIZE || recv_size % PAGE_SIZE)
		return -EINVAL;
	order = get_order(send_size + recv_size);
	page = alloc_pages_node(cpu_to_node(chan->target_cpu),
				GFP_KERNEL | __GFP_ZERO, order);
	if (!page)
		page = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	if (!page)
		return -ENOMEM;
	chan->ringbuffer_page = page;
	chan->ringbuffer_pagecount = (send_size + recv_size) >> PAGE_SHIFT;
	chan->ringbuffer_send_offset = send_size >> PAGE_SHIFT;
	return 0;
}
EXPORT_SYMBOL_GPL(vmbus_alloc_ring);

void vmbus_free_ring(struct vmbus_channel *chan)
{
	struct page *page = chan->ringbuffer_page;

	sim_ring_cleanup(&chan->outbound);
	sim_ring_cleanup(&chan->inbound);
	if (!page)
		return;
	/*
	 * hv_vmbus frees the pages only if the ring's GPADL was torn down
	 * (the channel was closed); otherwise they stay allocated, and the
	 * host, which may still be using them, keeps its view.
	 */
	if (SIM_HAVE_DECRYPTED && to_sim_channel(chan)->ring_shared) {
		pr_warn("relid %u: ring freed while its GPADL %u was never torn down: its %u pages are leaked, as in hv_vmbus\n",
			chan->offermsg.child_relid, SIM_RING_GPADL(chan),
			chan->ringbuffer_pagecount);
	} else {
		sim_gpadl_remove_buffer(page_address(page));
		__free_pages(page,
			     get_order(chan->ringbuffer_pagecount << PAGE_SHIFT));
	}
	chan->ringbuffer_page = NULL;
}
EXPORT_SYMBOL_GPL(vmbus_free_ring);

/*
 * GPADL_HEADER/BODY and the host's GPADL_CREATED.  @send_offset is where
 * the receive ring starts in a ring GPADL, 0 for a buffer.  *@shared says
 * whether the memory is shared with the host (hv_vmbus's "decrypted").
 */
static int sim_establish_gpadl(struct vmbus_channel *chan, u32 type,
			       void *kbuffer, u32 size, u32 send_offset,
			       u32 *handle_out, bool *shared)
{
	u32 handle;
	int err;

	*shared = false;
	handle = atomic_inc_return(&vmbus_connection.next_gpadl_handle) - 1;
	if (!size || size % PAGE_SIZE || !PAGE_ALIGNED(kbuffer) ||
	    (!is_vmalloc_addr(kbuffer) && !virt_addr_valid(kbuffer))) {
		pr_err("driver error: GPADL of %u bytes at %p on relid %u is not made of whole pages\n",
		       size, kbuffer, chan->offermsg.child_relid);
		return -EINVAL;
	}
	if (chan->rescind)
		return -ENODEV;
	err = sim_gpadl_add(chan, handle, type, kbuffer, size, send_offset);
	if (err)
		return err;
	if (chan->rescind) {
		sim_gpadl_remove(handle);
		return -ENODEV;
	}
	/* hv_vmbus marks the buffer shared before asking the host */
	*shared = true;
	*handle_out = handle;
	return 0;
}

/*
 * GPADL_TEARDOWN.  0 and *@gone once the host let go; a rescinded
 * channel's GPADLs are already gone on the host side, and hv_vmbus then
 * skips the message and keeps the handle.  A teardown the host never got
 * (VMBUS_SIM_FAULT_GPADL_TEARDOWN) fails with -ENOBUFS, as
 * vmbus_post_msg() does when the hypervisor stays busy.
 */
static int sim_teardown_gpadl(struct vmbus_channel *chan, u32 handle,
			      bool *gone)
{
	*gone = false;
	if (chan->rescind) {
		sim_gpadl_remove(handle);
		return 0;
	}
	if (sim_fault_take(to_sim_channel(chan), VMBUS_SIM_FAULT_GPADL_TEARDOWN)) {
		pr_info("relid %u: GPADL_TEARDOWN of GPADL %u not posted (injected)\n",
			chan->offermsg.child_relid, handle);
		return -ENOBUFS;
	}
	if (!sim_gpadl_remove(handle))
		pr_err("driver error: teardown of unknown GPADL %u on relid %u\n",
		       handle, chan->offermsg.child_relid);
	*gone = true;
	return 0;
}

#if SIM_HAVE_GPADL
int vmbus_establish_gpadl(struct vmbus_channel *chan, void *kbuffer, u32 size,
			  struct vmbus_gpadl *gpadl)
{
	bool shared;
	u32 handle;
	int err;

	err = sim_establish_gpadl(chan, VMBUS_SIM_GPADL_BUFFER, kbuffer, size,
				  0, &handle, &shared);
	gpadl->decrypted = shared;
	if (err)
		return err;
	gpadl->gpadl_handle = handle;
	gpadl->buffer = kbuffer;
	gpadl->size = size;
	return 0;
}
EXPORT_SYMBOL_GPL(vmbus_establish_gpadl);

/*
 * From 5.16 on hv_vmbus returns what re-encrypting the memory returned
 * (0 outside confidential VMs), not whether the message was posted: a
 * failed teardown shows only in the handle, which stays.
 */
int vmbus_teardown_gpadl(struct vmbus_channel *chan, struct vmbus_gpadl *gpadl)
{
	bool gone;

	sim_teardown_gpadl(chan, gpadl->gpadl_handle, &gone);
	if (gone)
		gpadl->gpadl_handle = 0;
	gpadl->decrypted = false;
	return 0;
}
EXPORT_SYMBOL_GPL(vmbus_teardown_gpadl);
#else
int vmbus_establish_gpadl(struct vmbus_channel *chan, void *kbuffer, u32 size,
			  u32 *gpadl_handle)
{
	bool shared;

	return sim_establish_gpadl(chan, VMBUS_SIM_GPADL_BUFFER, kbuffer, size,
				   0, gpadl_handle, &shared);
}
EXPORT_SYMBOL_GPL(vmbus_establish_gpadl);

/* Before 5.16 the error of the message reaches the caller. */
int vmbus_teardown_gpadl(struct vmbus_channel *chan, u32 gpadl_handle)
{
	bool gone;

	return sim_teardown_gpadl(chan, gpadl_handle, &gone);
}
EXPORT_SYMBOL_GPL(vmbus_teardown_gpadl);
#endif

/* The ring's GPADL; true once the host let go of it. */
static bool sim_ring_teardown(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	bool gone;

	sim_teardown_gpadl(chan, SIM_RING_GPADL(chan), &gone);
	if (gone || chan->rescind) {
		sc->ring_shared = false;
		SIM_RING_GPADL(chan) = 0;
	}
#if SIM_HAVE_DECRYPTED
	chan->ringbuffer_gpadlhandle.decrypted = false;
#endif
	return gone;
}

static int sim_open(struct vmbus_channel *chan, void *userdata,
		    u32 userdatalen, void (*cb)(void *context), void *context)
{
	struct sim_channel *sc = to_sim_channel(chan);
	struct page *page = chan->ringbuffer_page;
	u32 send_pages = chan->ringbuffer_send_offset;
	u32 recv_pages = chan->ringbuffer_pagecount - send_pages;
	int err;

	if (userdatalen > MAX_USER_DEFINED_BYTES)
		return -EINVAL;
	if (chan->state != CHANNEL_OPEN_STATE)
		return -EINVAL;
	if (!page || !send_pages || !recv_pages) {
		pr_err("driver error: relid %u opened without a ring\n",
		       chan->offermsg.child_relid);
		return -EINVAL;
	}

	/* request ids for the packets that ask for a completion */
	err = sim_rqstor_init(chan);
	if (err)
		return err;

	chan->state = CHANNEL_OPENING_STATE;
	chan->onchannel_callback = cb;
	chan->channel_callback_context = context;
	if (!chan->max_pkt_size)
		chan->max_pkt_size = VMBUS_DEFAULT_MAX_PKT_SIZE;

	SIM_RING_GPADL(chan) = 0;
	err = sim_establish_gpadl(chan, VMBUS_SIM_GPADL_RING,
				  page_address(page),
				  (send_pages + recv_pages) << PAGE_SHIFT,
				  send_pages << PAGE_SHIFT,
				  &SIM_RING_GPADL(chan), &sc->ring_shared);
#if SIM_HAVE_DECRYPTED
	chan->ringbuffer_gpadlhandle.decrypted = sc->ring_shared;
#endif
	if (err)
		goto fail_ring;
	err = sim_ring_init(&chan->outbound, page, send_pages, 0);
	if (!err)
		err = sim_ring_init(&chan->inbound, page + send_pages, recv_pages,
				    chan->max_pkt_size);
	if (err)
		goto fail_gpadl;

	if (chan->rescind) {
		err = -ENODEV;
		goto fail_gpadl;
	}
	err = sim_host_open(sc, SIM_RING_GPADL(chan),
			    (send_pages + recv_pages) << PAGE_SHIFT,
			    send_pages << PAGE_SHIFT, chan->target_cpu);
	if (err == 1) {
		/* OPENCHANNEL_RESULT, or the rescind that cancels it */
		wait_for_completion(&sc->open_done);
		err = sc->open_status;
	}
	if (chan->rescind) {
		err = -ENODEV;
		goto fail_gpadl;
	}
	if (err) {
		err = -EAGAIN;
		goto fail_gpadl;
	}
	chan->state = CHANNEL_OPENED_STATE;
	return 0;

fail_gpadl:
	sim_ring_teardown(chan);
fail_ring:
	sim_ring_cleanup(&chan->outbound);
	sim_ring_cleanup(&chan->inbound);
	sim_rqstor_free(chan);
	chan->state = CHANNEL_OPEN_STATE;
	return err;
}

int vmbus_connect_ring(struct vmbus_channel *chan,
		       void (*cb)(void *context), void *context)
{
	return sim_open(chan, NULL, 0, cb, context);
}
EXPORT_SYMBOL_GPL(vmbus_connect_ring);

int vmbus_open(struct vmbus_channel *chan, u32 send_size, u32 recv_size,
	       void *userdata, u32 userdatalen, void (*cb)(void *context),
	       void *context)
{
	int err;

	err = vmbus_alloc_ring(chan, send_size, recv_size);
	if (err)
		return err;
	err = sim_open(chan, userdata, userdatalen, cb, context);
	if (err)
		vmbus_free_ring(chan);
	return err;
}
EXPORT_SYMBOL_GPL(vmbus_open);

/*
 * CLOSECHANNEL, then the ring's GPADL goes.  A close the host never got
 * (VMBUS_SIM_FAULT_CLOSE) fails with -ENOBUFS and leaves the ring's GPADL
 * to the host, as vmbus_close_internal() does.  From 5.16 on a failed
 * teardown of the ring's GPADL does not fail the close: the handle stays.
 */
static int sim_close(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	bool gone;

	sim_reset_channel_cb(chan);
	if (chan->state != CHANNEL_OPENED_STATE)
		return -EINVAL;
	chan->state = CHANNEL_OPEN_STATE;
	if (!chan->rescind && sim_fault_take(sc, VMBUS_SIM_FAULT_CLOSE)) {
		pr_err("Close failed: close post msg return is %d (relid %u, injected)\n",
		       -ENOBUFS, chan->offermsg.child_relid);
		return -ENOBUFS;
	}
	sim_host_close(sc);
	if (SIM_RING_GPADL(chan)) {
		gone = sim_ring_teardown(chan);
		if (!SIM_HAVE_GPADL && !gone && !chan->rescind) {
			/* 5.14 reports the error, and forgets the handle */
			SIM_RING_GPADL(chan) = 0;
			return -ENOBUFS;
		}
	}
	/* hv_vmbus frees the request ids only after a close that worked */
	sim_rqstor_free(chan);
	return 0;
}

int vmbus_disconnect_ring(struct vmbus_channel *chan)
{
	struct vmbus_channel *sub, *tmp;
	int err;

	if (chan->primary_channel)
		return -EINVAL;

	list_for_each_entry_safe(sub, tmp, &chan->sc_list, sc_list) {
		/* a rescinded subchannel is freed here once its rescind ran */
		if (sub->rescind)
			wait_for_completion(&sub->rescind_event);
		mutex_lock(&vmbus_connection.channel_mutex);
		if (sim_close(sub) == 0) {
			vmbus_free_ring(sub);
			if (sub->rescind)
				sim_channel_remove(sub);
		}
		mutex_unlock(&vmbus_connection.channel_mutex);
	}

	mutex_lock(&vmbus_connection.channel_mutex);
	err = sim_close(chan);
	mutex_unlock(&vmbus_connection.channel_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(vmbus_disconnect_ring);

void vmbus_close(struct vmbus_channel *chan)
{
	if (vmbus_disconnect_ring(chan) == 0)
		vmbus_free_ring(chan);
}
EXPORT_SYMBOL_GPL(vmbus_close);

void vmbus_set_sc_create_callback(struct vmbus_channel *primary,
				  void (*cb)(struct vmbus_channel *new_sc))
{
	primary->sc_creation_callback = cb;
}
EXPORT_SYMBOL_GPL(vmbus_set_sc_create_callback);

void vmbus_set_chn_rescind_callback(struct vmbus_channel *chan,
				    void (*cb)(struct vmbus_channel *chan))
{
	chan->chn_rescind_callback = cb;
}
EXPORT_SYMBOL_GPL(vmbus_set_chn_rescind_callback);
