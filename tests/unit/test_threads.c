/* SPDX-License-Identifier: MIT */
/*
 * A producer and a consumer on two threads move 10 million packets through
 * one ring, checking every byte.  Neither side spins: each sleeps on an
 * eventfd and is woken only when the ring protocol says the other side must
 * signal (writer: mask clear and ring was empty; reader: freed space
 * crossed pending_send_sz).  A lost wakeup in that protocol shows up as a
 * stall, which fails the test after a timeout.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <vmbus/vmbus.h>

#define HDR 4096u
#define DSIZE (256u * 1024u)
#define STALL_MS 20000

struct shared {
	uint8_t *mem;
	uint64_t count;
	int to_reader; /* eventfd: "data for you" */
	int to_writer; /* eventfd: "space for you" */
	uint64_t writer_sleeps, reader_sleeps;
	const char *error;
};

static uint32_t pkt_len(uint64_t seq)
{
	return 8 + (uint32_t)((seq * 2654435761u) % 249); /* 8 .. 256 bytes */
}

static uint8_t pkt_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31 + i * 7);
}

static int wait_fd(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, STALL_MS) != 1)
		return -ETIMEDOUT;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -EIO;
	return 0;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

static void *writer(void *arg)
{
	struct shared *s = arg;
	struct vmbus_ring *r;
	uint8_t payload[512];
	uint64_t seq = 0;

	if (vmbus_ring_attach(s->mem, HDR + DSIZE, HDR, &r)) {
		s->error = "writer attach";
		return NULL;
	}
	while (seq < s->count) {
		unsigned int batch = 1 + (unsigned int)(seq % 32), n = 0;
		bool full = false;
		int ret;

		while (n < batch && seq < s->count) {
			struct vmbus_pkt_desc d;
			uint32_t len = pkt_len(seq), i;
			struct iovec iov[2] = { { &d, sizeof(d) }, { payload, len } };

			d = (struct vmbus_pkt_desc){ .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2,
						     .len8 = (uint16_t)((16 + len + 7) / 8),
						     .trans_id = seq };
			for (i = 0; i < len; i++)
				payload[i] = pkt_byte(seq, i);
			ret = vmbus_ring_write(r, iov, 2);
			if (ret == -EAGAIN) {
				full = true;
				break;
			}
			if (ret) {
				s->error = "writer write";
				goto out;
			}
			seq++;
			n++;
		}
		ret = vmbus_ring_write_commit(r);
		if (ret < 0) {
			s->error = "writer commit";
			goto out;
		}
		if (ret == 1)
			kick(s->to_reader);
		if (!full)
			continue;
		/* ask to be woken when the next record fits, then look again */
		ret = vmbus_ring_write_wait(r, ((16 + pkt_len(seq) + 7) & ~7u) + 8);
		if (ret < 0) {
			s->error = "writer wait";
			goto out;
		}
		if (ret == 0) {
			s->writer_sleeps++;
			if (wait_fd(s->to_writer)) {
				s->error = "writer stalled: lost wakeup";
				goto out;
			}
		}
	}
out:
	vmbus_ring_detach(r);
	return NULL;
}

static void *reader(void *arg)
{
	struct shared *s = arg;
	struct vmbus_ring *r;
	uint8_t buf[1024];
	uint64_t seq = 0;

	if (vmbus_ring_attach(s->mem, HDR + DSIZE, HDR, &r)) {
		s->error = "reader attach";
		return NULL;
	}
	vmbus_ring_disarm(r);
	while (seq < s->count) {
		struct vmbus_pkt_desc d;
		uint32_t len, i;
		int n = vmbus_ring_peek(r, buf, sizeof(buf), NULL), ret;

		if (n == -EAGAIN) {
			ret = vmbus_ring_read_commit(r);
			if (ret == 1)
				kick(s->to_writer);
			/* clear the mask, barrier, look again, then sleep */
			ret = vmbus_ring_arm(r);
			if (ret < 0) {
				s->error = "reader arm";
				break;
			}
			if (ret == 0) {
				s->reader_sleeps++;
				if (wait_fd(s->to_reader)) {
					s->error = "reader stalled: lost wakeup";
					break;
				}
			}
			vmbus_ring_disarm(r);
			continue;
		}
		if (n < 0) {
			s->error = "reader peek";
			break;
		}
		memcpy(&d, buf, sizeof(d));
		len = pkt_len(seq);
		if (d.trans_id != seq || n != (int)((16 + len + 7) & ~7u)) {
			s->error = "packet out of order or wrong length";
			break;
		}
		for (i = 0; i < len; i++) {
			if (buf[16 + i] != pkt_byte(seq, i)) {
				s->error = "payload corrupted";
				goto out;
			}
		}
		vmbus_ring_consume(r);
		seq++;
		if (seq % 64 == 0) {
			ret = vmbus_ring_read_commit(r);
			if (ret == 1)
				kick(s->to_writer);
		}
	}
	if (vmbus_ring_read_commit(r) == 1)
		kick(s->to_writer);
out:
	vmbus_ring_detach(r);
	return NULL;
}

static void test_ten_million_packets(void **state)
{
	struct shared s = { .count = 10 * 1000 * 1000 };
	pthread_t w, rd;
	const char *env = getenv("VMBUS_THREADS_PACKETS");

	(void)state;
	if (env)
		s.count = strtoull(env, NULL, 10);
	s.mem = calloc(1, HDR + DSIZE);
	assert_non_null(s.mem);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)s.mem);
	s.to_reader = eventfd(0, EFD_CLOEXEC);
	s.to_writer = eventfd(0, EFD_CLOEXEC);
	assert_true(s.to_reader >= 0 && s.to_writer >= 0);
	assert_int_equal(pthread_create(&rd, NULL, reader, &s), 0);
	assert_int_equal(pthread_create(&w, NULL, writer, &s), 0);
	pthread_join(w, NULL);
	if (s.error)
		kick(s.to_reader); /* let the reader notice and stop */
	pthread_join(rd, NULL);
	printf("# %llu packets, writer slept %llu times, reader %llu times\n",
	       (unsigned long long)s.count, (unsigned long long)s.writer_sleeps,
	       (unsigned long long)s.reader_sleeps);
	if (s.error)
		fail_msg("%s", s.error);
	/* both indices met at the end: everything written was read */
	assert_int_equal(((struct vmbus_ring_hdr *)s.mem)->read_index,
			 ((struct vmbus_ring_hdr *)s.mem)->write_index);
	close(s.to_reader);
	close(s.to_writer);
	free(s.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_million_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
