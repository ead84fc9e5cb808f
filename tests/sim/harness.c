/* SPDX-License-Identifier: MIT */
/*
 * Sim-test harness (harness.h): vmbus-hostsim on a temporary root and its
 * control socket.  Compiled once into the tests' helper library.
 */
#include <dirent.h>

#include <sys/prctl.h>

#include "harness.h"

/*
 * Simulators started and not yet stopped.  A test that fails an assertion
 * leaves its function without reaching sim_stop(): the ones still here at
 * exit are stopped then, and a simulator whose test process dies is
 * signalled by the kernel (PR_SET_PDEATHSIG), so none outlives its test.
 */
#define SIM_LIVE_MAX 32
static struct sim sim_live[SIM_LIVE_MAX];

static void sim_forget(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < SIM_LIVE_MAX; i++)
		if (sim_live[i].pid == pid)
			sim_live[i].pid = 0;
}

static void sim_stop_leftovers(void)
{
	unsigned int i;

	for (i = 0; i < SIM_LIVE_MAX; i++)
		if (sim_live[i].pid > 0) {
			struct sim s = sim_live[i];

			fprintf(stderr, "vmbus-hostsim %d (root %s) outlived its test: stopping it\n",
				(int)s.pid, s.root);
			sim_stop(&s);
		}
}

static void sim_remember(const struct sim *s)
{
	static bool registered;
	unsigned int i;

	if (!registered)
		registered = atexit(sim_stop_leftovers) == 0;
	for (i = 0; i < SIM_LIVE_MAX; i++)
		if (sim_live[i].pid <= 0) {
			sim_live[i] = *s;
			return;
		}
}

const char *sim_binary(void)
{
	const char *b = getenv("VMBUS_HOSTSIM");

	return b ? b : "build/san/bin/vmbus-hostsim";
}

int64_t sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sim_run(char *const argv[], char *out, size_t outlen)
{
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL); /* the child must not print our buffered output again */
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (out && len + 1 < outlen && (n = read(p[0], out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	if (out)
		out[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int sim_start(struct sim *s, ...)
{
	char *argv[64];
	int argc = 0, p[2], nlines = 0, want = 1;
	char line[128];
	size_t llen = 0;
	const char *a;
	va_list ap;

	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "/tmp/vmbus-sim-XXXXXX");
	if (!mkdtemp(s->root))
		return -errno;
	snprintf(s->log, sizeof(s->log), "%s.log", s->root);
	argv[argc++] = (char *)sim_binary();
	argv[argc++] = "--root";
	argv[argc++] = s->root;
	/* VMBUS_HOSTSIM_VERBOSE=1: log every protocol step, keep the log */
	if (getenv("VMBUS_HOSTSIM_VERBOSE"))
		argv[argc++] = "-v";
	va_start(ap, s);
	while ((a = va_arg(ap, const char *)) && argc < 62) {
		if (!strcmp(a, "--nic"))
			want = -1; /* read the count from the next argument */
		else if (want == -1)
			want = atoi(a);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	if (pipe(p))
		return -errno;
	fflush(NULL);
	s->pid = fork();
	if (s->pid == 0) {
		int lfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGTERM);

		dup2(p[1], 1);
		if (lfd >= 0)
			dup2(lfd, 2);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (s->pid > 0)
		sim_remember(s);
	/* ready when every GUID is printed */
	while (nlines < want) {
		char c;

		if (read(p[0], &c, 1) != 1)
			break;
		if (c != '\n') {
			if (llen < sizeof(line) - 1)
				line[llen++] = c;
			continue;
		}
		line[llen] = '\0';
		if (nlines < SIM_MAX_DEVS && llen == VMBUS_GUID_STRLEN - 1)
			memcpy(s->guid[nlines], line, VMBUS_GUID_STRLEN);
		nlines++;
		llen = 0;
	}
	close(p[0]);
	s->ndevs = nlines;
	return nlines == want ? 0 : -EIO;
}

int sim_ctl(struct sim *s, char *out, size_t outlen, ...)
{
	char *argv[16];
	int argc = 0;
	const char *a;
	va_list ap;

	argv[argc++] = (char *)sim_binary();
	argv[argc++] = "ctl";
	argv[argc++] = "--root";
	argv[argc++] = s->root;
	va_start(ap, outlen);
	while ((a = va_arg(ap, const char *)) && argc < 15)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return sim_run(argv, out, outlen);
}

bool sim_wait_stats(struct sim *s, const char *needle, int ms)
{
	int64_t end = sim_now_ms() + ms;
	char out[65536];

	do {
		if (sim_ctl(s, out, sizeof(out), "stats", NULL) == 0 && strstr(out, needle))
			return true;
		usleep(2000); /* polling a condition, bounded by @ms */
	} while (sim_now_ms() < end);
	fprintf(stderr, "stats never showed \"%s\":\n%s\n", needle, out);
	return false;
}

bool sim_log_has(struct sim *s, const char *needle, int ms)
{
	int64_t end = sim_now_ms() + ms;
	char line[1024];

	do {
		FILE *f = fopen(s->log, "r");
		bool found = false;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(2000); /* polling a condition, bounded by @ms */
	} while (sim_now_ms() < end);
	fprintf(stderr, "the simulator's log never said \"%s\"\n", needle);
	return false;
}

int sim_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int sim_stop(struct sim *s)
{
	char cmd[2 * PATH_MAX + 32];
	struct stat st;
	int status = -1, rc;

	if (s->pid > 0) {
		sim_forget(s->pid);
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
		s->pid = 0;
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* it removes what it built */
	snprintf(cmd, sizeof(cmd), "%s/sys", s->root);
	if (stat(cmd, &st) == 0)
		rc = rc ? rc : 200;
	if (rc) {
		FILE *f = fopen(s->log, "r");
		char line[512];

		fprintf(stderr, "vmbus-hostsim exited with %d; its log:\n", rc);
		while (f && fgets(line, sizeof(line), f))
			fputs(line, stderr);
		if (f)
			fclose(f);
	}
	if (getenv("VMBUS_HOSTSIM_VERBOSE"))
		fprintf(stderr, "vmbus-hostsim log kept: %s\n", s->log);
	snprintf(cmd, sizeof(cmd), getenv("VMBUS_HOSTSIM_VERBOSE") ? "rm -rf '%s'" : "rm -rf '%s' '%s'",
		 s->root, s->log);
	if (strncmp(s->root, "/tmp/vmbus-sim-", 15) == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", s->root);
	return rc;
}

/* CPU time (user + system, in clock ticks) the simulator has used; -1 if unreadable. */
long sim_cpu_ticks(struct sim *sim)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sim->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* fields 14 and 15, counted after the command in parentheses */
	if (p)
		p = strrchr(buf, ')');
	for (i = 0; i < 11 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Toeplitz, bit by bit as the definition gives it (the key as a bit
 * string, a 32-bit window sliding one bit per input bit). */
uint32_t sim_toeplitz(const uint8_t *key, const uint8_t *in, size_t n)
{
	uint32_t hash = 0, win = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	size_t i;
	int b;

	for (i = 0; i < n; i++)
		for (b = 7; b >= 0; b--) {
			if (in[i] >> b & 1)
				hash ^= win;
			win = win << 1 | (uint32_t)(key[i + 4] >> b & 1);
		}
	return hash;
}
