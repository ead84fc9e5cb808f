/* SPDX-License-Identifier: MIT */
/*
 * The soak: netvsc-user moving traffic both ways through vmbus-hostsim
 * (gen out, the echo wire back) for a set time while faults come at
 * random, one at a time, each followed by the recovery it calls for:
 *
 *   rescind      the host rescinds the adapter and offers it again: the
 *                guest (--reattach) must attach again
 *   traffic      the host rescinds after the next frames, then re-offers
 *   ring-index   a corrupt ring index: the guest must exit 4; restarted
 *   descriptor   a bad packet descriptor: likewise
 *   xfer-range   receive ranges beyond the buffer: skipped, counted
 *   truncated    a truncated RNDIS message: skipped, counted
 *   delay        completions held back for a while
 *   drop         completions never sent for a while, then a rescind (the
 *                frames in flight are lost with the session, and said so)
 *   link         the link goes down and comes back
 *   kill         the guest is killed (SIGKILL) and started again: the
 *                host must let the new one in
 *   second       another netvsc-user opens the same adapter: it must be
 *                refused (exit 1, "in use") while the first goes on
 *
 * Every program runs under ASan and UBSan (the sanitizer builds).  At the
 * end the soak checks: no crash or sanitizer report anywhere, the host's
 * descriptors back at their count whenever no guest runs, its memory not
 * growing, every frame a guest took for sending delivered, failed by the
 * host or reported lost (taken = tx_packets + tx_drops + lost in each
 * guest's final statistics), and an attach after every re-offer.  It
 * prints the counts.
 *
 *   soak [--seconds N] [--seed S]     (default 600 s; the seed is printed)
 *
 * The programs: $VMBUS_HOSTSIM and $NETVSC_USER, else build/san/bin/.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS 60000 /* recovery on a loaded machine: generous, never assumed */

enum fault {
	F_RESCIND,
	F_TRAFFIC,
	F_RING_INDEX,
	F_DESCRIPTOR,
	F_XFER_RANGE,
	F_TRUNCATED,
	F_DELAY,
	F_DROP,
	F_LINK,
	F_KILL,
	F_SECOND,
	F_COUNT,
};

static const char *const fault_names[F_COUNT] = {
	"rescind and re-offer", "rescind in traffic", "corrupt ring index",
	"bad packet descriptor", "receive range beyond the buffer", "truncated RNDIS message",
	"delayed completions", "missing completions", "link flap", "SIGKILL and restart",
	"a second opener",
};

struct guest {
	pid_t pid;
	char out[64], err[64];
	unsigned int attaches; /* "attached" lines seen so far */
};

struct soak {
	struct sim sim;
	struct guest g;
	const char *prog;
	uint64_t rng;
	unsigned int faults[F_COUNT];
	unsigned int guests, reattaches, reoffers, exits[256], killed, refused;
	uint64_t taken, delivered, failed, lost, received, oversize, rx_errors;
	int host_fds0, host_fds_max;
	long host_rss0, host_rss_ref, host_rss_end;
	unsigned int violations;
};

static void violation(struct soak *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(struct soak *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "soak: VIOLATION: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	s->violations++;
}

static uint32_t rnd(struct soak *s, uint32_t n)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (uint32_t)(s->rng % n);
}

static char *slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static unsigned int count_text(const char *path, const char *needle)
{
	const char *p = slurp(path);
	unsigned int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p++;
	}
	return n;
}

/* Polls @path until @needle appears @count times, for at most @ms. */
static bool wait_text(const char *path, const char *needle, unsigned int count, int ms)
{
	int64_t end = sim_now_ms() + ms;

	do {
		if (count_text(path, needle) >= count)
			return true;
		usleep(10000); /* polling a file, bounded by @ms */
	} while (sim_now_ms() < end);
	return false;
}

static bool sanitizer_report(const char *path)
{
	const char *t = slurp(path);

	return strstr(t, "ERROR: AddressSanitizer") || strstr(t, "ERROR: LeakSanitizer") ||
	       strstr(t, "runtime error:");
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* The guest's frames both ways, as fast as a shared CI machine allows. */
static void guest_start(struct soak *s)
{
	struct guest *g = &s->g;
	pid_t pid;

	snprintf(g->out, sizeof(g->out), "/tmp/vmbus-soak-%d-out-XXXXXX", (int)getpid());
	snprintf(g->err, sizeof(g->err), "/tmp/vmbus-soak-%d-err-XXXXXX", (int)getpid());
	close(mkstemp(g->out));
	close(mkstemp(g->err));
	g->attaches = 0;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int o = open(g->out, O_WRONLY | O_TRUNC), e = open(g->err, O_WRONLY | O_TRUNC);

		dup2(o, 1);
		dup2(e, 2);
		execl(s->prog, s->prog, "--root", s->sim.root, "--device", s->sim.guid[0], "--queues",
		      "2", "--reattach", "--json", "--timeout", "10000", "--count", "0", "--rate",
		      "4000", "--size", "300", "gen", (char *)NULL);
		_exit(127);
	}
	g->pid = pid;
	s->guests++;
}

/* Attaches so far: the first is the --json info line, later ones say so. */
static unsigned int attaches(struct guest *g)
{
	return count_text(g->out, "\"type\":\"info\"") + count_text(g->err, "attached again");
}

/* Waits for the guest's next attach. */
static bool guest_attached(struct soak *s)
{
	struct guest *g = &s->g;
	int64_t end = sim_now_ms() + WAIT_MS;

	while (attaches(g) < g->attaches + 1 && sim_now_ms() < end)
		usleep(10000); /* polling its output, bounded */
	if (attaches(g) < g->attaches + 1)
		return false;
	g->attaches = attaches(g);
	return true;
}

static uint64_t json_u64(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/*
 * Ends the guest (@sig, or 0 when it ends by itself) and checks what it
 * says: its exit status (@want, -1: any), no sanitizer report, and its
 * accounting of every frame it took.
 */
static void guest_end(struct soak *s, int sig, int want)
{
	struct guest *g = &s->g;
	int64_t end = sim_now_ms() + WAIT_MS;
	int status = 0, code;
	const char *last;
	pid_t p;

	if (sig)
		kill(g->pid, sig);
	while ((p = waitpid(g->pid, &status, WNOHANG)) == 0 && sim_now_ms() < end)
		usleep(10000); /* waiting for the child, bounded */
	if (p == 0) {
		violation(s, "netvsc-user did not end within %d ms (a hang)", WAIT_MS);
		kill(g->pid, SIGKILL);
		waitpid(g->pid, &status, 0);
	}
	g->pid = 0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	s->exits[code & 255]++;
	if (sig == SIGKILL) {
		s->killed++;
	} else {
		if (want >= 0 && code != want)
			violation(s, "netvsc-user exited %d, expected %d; stderr:\n%s", code, want,
				  slurp(g->err));
		if (sanitizer_report(g->err))
			violation(s, "a sanitizer report from netvsc-user:\n%s", slurp(g->err));
		/* the totals of the final statistics, after the queues */
		last = strstr(slurp(g->out), "\"type\":\"final\"");
		last = last ? strstr(last, "],") : NULL;
		if (!last) {
			violation(s, "netvsc-user (exit %d) printed no final statistics", code);
		} else {
			uint64_t taken = json_u64(last, "\"taken\":");
			uint64_t done = json_u64(last, "\"tx_packets\":");
			uint64_t drops = json_u64(last, "\"tx_drops\":");
			uint64_t lost = json_u64(last, "\"lost\":");

			if (taken != done + drops + lost)
				violation(s, "frames unaccounted for: taken %" PRIu64 ", delivered %" PRIu64
					  ", failed %" PRIu64 ", lost %" PRIu64,
					  taken, done, drops, lost);
			s->taken += taken;
			s->delivered += done;
			s->failed += drops;
			s->lost += lost;
			s->received += json_u64(last, "\"rx_packets\":");
			s->oversize += json_u64(last, "\"rx_oversize\":");
		}
	}
	unlink(g->out);
	unlink(g->err);
	/* no guest now: the host holds what it held before any */
	{
		int64_t until = sim_now_ms() + WAIT_MS;
		int n;

		while ((n = sim_count_fds(s->sim.pid)) != s->host_fds0 && sim_now_ms() < until)
			usleep(20000); /* the host closes on its loop */
		if (n > s->host_fds_max)
			s->host_fds_max = n;
		if (n != s->host_fds0)
			violation(s, "vmbus-hostsim holds %d descriptors with no guest, %d at the "
				  "start",
				  n, s->host_fds0);
	}
	s->host_rss_end = rss_kb(s->sim.pid);
}

static void ctl(struct soak *s, ...)
{
	char out[4096], *argv[12];
	const char *a;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)sim_binary();
	argv[argc++] = "ctl";
	argv[argc++] = "--root";
	argv[argc++] = s->sim.root;
	va_start(ap, s);
	while ((a = va_arg(ap, const char *)) && argc < 11)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	if (sim_run(argv, out, sizeof(out)) != 0)
		violation(s, "vmbus-hostsim ctl %s failed: %s", argv[4], out);
}

/* The host rescinds and offers the adapter again; the guest attaches again. */
static void reoffer(struct soak *s, bool rescinded)
{
	if (!rescinded)
		ctl(s, "rescind", NULL);
	/* the guest notices before the device comes back */
	if (!wait_text(s->g.err, "rescinded", s->reoffers + 1, WAIT_MS))
		violation(s, "the guest did not notice the rescind:\n%s", slurp(s->g.err));
	s->reoffers = count_text(s->g.err, "rescinded");
	ctl(s, "offer", s->sim.guid[0], NULL);
	if (guest_attached(s))
		s->reattaches++;
	else
		violation(s, "no attach after a re-offer:\n%s", slurp(s->g.err));
}

static void restart(struct soak *s)
{
	guest_start(s);
	s->reoffers = 0;
	if (!guest_attached(s))
		violation(s, "a new guest did not attach:\n%s", slurp(s->g.err));
}

/* Another netvsc-user opens the adapter in use: refused, the first goes on. */
static void second_opener(struct soak *s)
{
	char err[64];
	int status, rc;
	pid_t pid;

	snprintf(err, sizeof(err), "/tmp/vmbus-soak-%d-second-XXXXXX", (int)getpid());
	close(mkstemp(err));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int e = open(err, O_WRONLY | O_TRUNC), n = open("/dev/null", O_WRONLY);

		dup2(n, 1);
		dup2(e, 2);
		execl(s->prog, s->prog, "--root", s->sim.root, "--device", s->sim.guid[0], "info",
		      (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (rc != 1 || !strstr(slurp(err), "in use") || !strstr(slurp(err), s->sim.guid[0]))
		violation(s, "a second opener exited %d, expected 1 naming the device in use:\n%s",
			  rc, slurp(err));
	else
		s->refused++;
	unlink(err);
	if (waitpid(s->g.pid, NULL, WNOHANG) != 0)
		violation(s, "the first guest ended when a second opener came");
}

static void pause_ms(struct soak *s, uint32_t lo, uint32_t hi)
{
	usleep((useconds_t)(lo + rnd(s, hi - lo + 1)) * 1000u); /* traffic between faults */
}

static void one_fault(struct soak *s, enum fault f)
{
	char arg[16];

	s->faults[f]++;
	switch (f) {
	case F_RESCIND:
		reoffer(s, false);
		break;
	case F_TRAFFIC:
		snprintf(arg, sizeof(arg), "%u", 1 + rnd(s, 500));
		ctl(s, "fault", "rescind-in-traffic", arg, NULL);
		reoffer(s, true);
		break;
	case F_RING_INDEX:
	case F_DESCRIPTOR:
		ctl(s, "fault", f == F_RING_INDEX ? "ring-index" : "bad-descriptor", NULL);
		guest_end(s, 0, 4);
		restart(s);
		break;
	case F_XFER_RANGE:
	case F_TRUNCATED:
		ctl(s, "fault", f == F_XFER_RANGE ? "bad-xfer-range" : "truncated-rndis", NULL);
		pause_ms(s, 200, 800);
		ctl(s, "fault", "none", NULL);
		break;
	case F_DELAY:
		snprintf(arg, sizeof(arg), "%u", 50 + rnd(s, 500));
		ctl(s, "fault", "delay-completions", arg, NULL);
		pause_ms(s, 300, 1500);
		ctl(s, "fault", "none", NULL);
		break;
	case F_DROP:
		ctl(s, "fault", "drop-completions", NULL);
		pause_ms(s, 100, 600);
		ctl(s, "fault", "none", NULL);
		/* what was never completed goes with the session */
		reoffer(s, false);
		break;
	case F_LINK:
		ctl(s, "link-down", NULL);
		pause_ms(s, 50, 500);
		ctl(s, "link-up", NULL);
		break;
	case F_KILL:
		guest_end(s, SIGKILL, -1);
		restart(s);
		break;
	case F_SECOND:
		second_opener(s);
		break;
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	static struct soak s;
	double seconds = 600;
	int64_t t0, end, ref_at;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	unsigned int i;
	int rc;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < (unsigned int)argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < (unsigned int)argc)
			seed = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: soak [--seconds N] [--seed S]\n");
			return 2;
		}
	}
	if (!(seconds > 0)) {
		fprintf(stderr, "soak: --seconds takes a positive number\n");
		return 2;
	}
	s.rng = seed ? seed : 1;
	/*
	 * Every program reports through its exit code and stderr; a small
	 * quarantine keeps freed memory from looking like growth.
	 */
	setenv("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:exitcode=99:quarantine_size_mb=32:"
			       "strict_string_checks=1", 0);
	setenv("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1:exitcode=98", 0);
	s.prog = getenv("NETVSC_USER") ? getenv("NETVSC_USER") : "build/san/bin/netvsc-user";
	signal(SIGPIPE, SIG_IGN);
	printf("soak: %.0f s, seed 0x%" PRIx64 ", %s against %s\n", seconds, seed, s.prog,
	       sim_binary());
	fflush(stdout);
	if (sim_start(&s.sim, "--link-flap-ms", "0", "--queues", "4", NULL)) {
		fprintf(stderr, "soak: cannot start vmbus-hostsim\n");
		return 1;
	}
	s.host_fds0 = s.host_fds_max = sim_count_fds(s.sim.pid);
	s.host_rss0 = rss_kb(s.sim.pid);
	restart(&s);
	t0 = sim_now_ms();
	end = t0 + (int64_t)(seconds * 1000);
	ref_at = t0 + (end - t0) / 4;
	while (sim_now_ms() < end && !s.violations) {
		pause_ms(&s, 200, 1200);
		one_fault(&s, (enum fault)rnd(&s, F_COUNT));
		if (!s.host_rss_ref && sim_now_ms() >= ref_at)
			s.host_rss_ref = rss_kb(s.sim.pid);
		if (s.g.pid && waitpid(s.g.pid, NULL, WNOHANG) != 0) {
			violation(&s, "the guest ended on its own:\n%s", slurp(s.g.err));
			s.g.pid = 0;
			restart(&s);
		}
	}
	/* a clean end: SIGTERM detaches in order, exit 0 */
	if (s.g.pid)
		guest_end(&s, SIGTERM, 0);
	s.host_rss_end = rss_kb(s.sim.pid);
	rc = sim_stop(&s.sim);
	if (rc)
		violation(&s, "vmbus-hostsim exited %d (a crash, a leak or a sanitizer report)", rc);
	/* from a quarter on, what a sanitizer's caches may still fill, no more */
	if (s.host_rss_ref > 0 &&
	    s.host_rss_end > s.host_rss_ref + (s.host_rss_ref / 2 > 65536 ? s.host_rss_ref / 2 : 65536))
		violation(&s, "vmbus-hostsim grew from %ld kB to %ld kB", s.host_rss_ref,
			  s.host_rss_end);

	printf("soak: %.0f s, %u violation(s)\n", (double)(sim_now_ms() - t0) / 1000,
	       s.violations);
	for (i = 0; i < F_COUNT; i++)
		printf("  %-36s %u\n", fault_names[i], s.faults[i]);
	printf("  guests started %u, killed %u, re-attached after a re-offer %u, second openers "
	       "refused %u\n",
	       s.guests, s.killed, s.reattaches, s.refused);
	printf("  exits:");
	for (i = 0; i < 256; i++)
		if (s.exits[i])
			printf(" %u x %u", s.exits[i], i);
	printf("\n  frames taken %" PRIu64 ": delivered %" PRIu64 ", failed by the host %" PRIu64
	       ", lost with a session %" PRIu64 "; received %" PRIu64 ", over the MTU %" PRIu64
	       "\n",
	       s.taken, s.delivered, s.failed, s.lost, s.received, s.oversize);
	printf("  host descriptors %d at the start, %d at most with no guest; host memory %ld kB "
	       "at the start, %ld kB at a quarter, %ld kB at the end\n",
	       s.host_fds0, s.host_fds_max, s.host_rss0, s.host_rss_ref, s.host_rss_end);
	return s.violations ? 1 : 0;
}
