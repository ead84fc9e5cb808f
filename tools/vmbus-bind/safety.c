/* SPDX-License-Identifier: MIT */
/*
 * What vmbus-bind must not take without --force, and who holds a device.
 *
 * Taking a NIC from hv_netvsc removes its interface at once.  On Azure the
 * guest usually has one NIC, which carries the default route and the SSH
 * session: taking it cuts the user off the VM.  So a NIC is refused when
 * its interface (or the bond or bridge it is enslaved to) holds a default
 * route, or carries an SSH connection: the connection's local address is
 * on it, or the route back to the client leaves through it.  SSH
 * connections are the one in SSH_CONNECTION and every established TCP
 * connection to a port an sshd process listens on (22 when no sshd is
 * seen).  A disk controller is refused while a filesystem or swap on one
 * of its disks is in use.
 *
 * Everything is read from files under the root prefix, so the checks run
 * the same on a guest and on a copy of one: /proc/net/{route,ipv6_route,
 * if_inet6,tcp,tcp6}, /proc/mounts, /proc/swaps, /proc/<pid>/{fd,comm,maps}
 * and the device's sysfs directory.  /proc/net/route and /proc/net/tcp
 * print IPv4 addresses as the 32-bit value in host order (%08X of the
 * big-endian address), tcp6 as four such words; ipv6_route and if_inet6
 * print the address bytes in order.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bind.h"

#define RTF_UP_FLAG 0x0001u
#define RTF_GATEWAY_FLAG 0x0002u
#define RTF_REJECT_FLAG 0x0200u
#define TCP_ESTABLISHED_ST 0x01
#define TCP_LISTEN_ST 0x0a
#define MAX_NAMES 8
#define MAX_PORTS 16

struct ifnames {
	char n[MAX_NAMES][VMBUS_NAME_MAX];
	unsigned int count;
};

static bool in_names(const struct ifnames *names, const char *ifname)
{
	unsigned int i;

	for (i = 0; i < names->count; i++)
		if (!strcmp(names->n[i], ifname))
			return true;
	return false;
}

static void add_name(struct ifnames *names, const char *n)
{
	if (names->count < MAX_NAMES && !in_names(names, n) && strlen(n) < VMBUS_NAME_MAX)
		snprintf(names->n[names->count++], VMBUS_NAME_MAX, "%s", n);
}

static FILE *open_root(const struct ctx *c, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s%s", c->root, rel) >= (int)sizeof(path))
		return NULL;
	return fopen(path, "re");
}

/* An IPv4 or IPv6 address, in network byte order. */
struct addr {
	int family;
	uint8_t b[16];
};

static void addr_text(const struct addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* %08X of a big-endian IPv4 address, as /proc/net prints it: bytes in memory order. */
static bool parse_hex32(const char *s, uint8_t out[4])
{
	char *end;
	unsigned long v;
	uint32_t u;

	if (strlen(s) != 8)
		return false;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end)
		return false;
	u = (uint32_t)v;
	memcpy(out, &u, 4);
	return true;
}

/* 32 hex digits, bytes in order (ipv6_route, if_inet6). */
static bool parse_hex128(const char *s, uint8_t out[16])
{
	unsigned int i;

	if (strlen(s) != 32)
		return false;
	for (i = 0; i < 16; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

/* "ADDR:PORT" of /proc/net/tcp or tcp6. */
static bool parse_sock(const char *s, bool v6, struct addr *a, unsigned int *port)
{
	char hex[40];
	const char *colon = strchr(s, ':');
	size_t l = colon ? (size_t)(colon - s) : 0;
	unsigned int i;
	char *end;
	unsigned long p;

	if (!colon || l >= sizeof(hex))
		return false;
	memcpy(hex, s, l);
	hex[l] = '\0';
	memset(a, 0, sizeof(*a));
	if (!v6) {
		a->family = AF_INET;
		if (!parse_hex32(hex, a->b))
			return false;
	} else {
		if (l != 32)
			return false;
		for (i = 0; i < 4; i++) {
			char w[9];

			memcpy(w, hex + 8 * i, 8);
			w[8] = '\0';
			if (!parse_hex32(w, a->b + 4 * i))
				return false;
		}
		a->family = AF_INET6;
		/* an IPv4 connection on an IPv6 socket */
		if (!memcmp(a->b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			memmove(a->b, a->b + 12, 4);
			memset(a->b + 4, 0, 12);
			a->family = AF_INET;
		}
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 16);
	if (errno || *end || p > 65535)
		return false;
	*port = (unsigned int)p;
	return true;
}

static bool is_loopback(const struct addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	return (a->family == AF_INET && a->b[0] == 127) ||
	       (a->family == AF_INET6 && !memcmp(a->b, lo6, 16));
}

/* ------------------------------------------------------------------------ */
/* routes                                                                    */
/* ------------------------------------------------------------------------ */

struct route {
	char ifname[VMBUS_NAME_MAX];
	struct addr dest;
	unsigned int plen;
	bool gateway;
	bool is_default;
	uint32_t metric;
};

static unsigned int mask_len(const uint8_t m[4])
{
	unsigned int i, n = 0;

	for (i = 0; i < 4; i++)
		n += (unsigned int)__builtin_popcount(m[i]);
	return n;
}

/* Calls @fn for every usable route (IPv4 then IPv6). */
static void for_routes(const struct ctx *c, void (*fn)(const struct route *r, void *arg),
		       void *arg)
{
	char line[512];
	FILE *f = open_root(c, "/proc/net/route");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char ifn[64], dst[16], gw[16], mask[16];
			unsigned int flags, refcnt, use, metric;
			uint8_t m[4], g[4];
			struct route r;

			if (sscanf(line, "%63s %15s %15s %x %u %u %u %15s", ifn, dst, gw, &flags,
				   &refcnt, &use, &metric, mask) != 8)
				continue; /* the header, or garbage */
			memset(&r, 0, sizeof(r));
			if (!(flags & RTF_UP_FLAG) || (flags & RTF_REJECT_FLAG) ||
			    !parse_hex32(dst, r.dest.b) || !parse_hex32(mask, m) ||
			    !parse_hex32(gw, g) || strlen(ifn) >= sizeof(r.ifname))
				continue;
			r.dest.family = AF_INET;
			snprintf(r.ifname, sizeof(r.ifname), "%s", ifn);
			r.plen = mask_len(m);
			r.gateway = (flags & RTF_GATEWAY_FLAG) || memcmp(g, "\0\0\0\0", 4);
			r.is_default = r.plen == 0;
			r.metric = metric;
			fn(&r, arg);
		}
		fclose(f);
	}
	f = open_root(c, "/proc/net/ipv6_route");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char dst[40], src[40], nh[40], ifn[64];
			unsigned int dplen, splen, metric, refcnt, use, flags;
			uint8_t nhb[16];
			struct route r;

			if (sscanf(line, "%39s %x %39s %x %39s %x %x %x %x %63s", dst, &dplen, src,
				   &splen, nh, &metric, &refcnt, &use, &flags, ifn) != 10)
				continue;
			memset(&r, 0, sizeof(r));
			if (!(flags & RTF_UP_FLAG) || (flags & RTF_REJECT_FLAG) || dplen > 128 ||
			    !parse_hex128(dst, r.dest.b) || !parse_hex128(nh, nhb) ||
			    strlen(ifn) >= sizeof(r.ifname) || !strcmp(ifn, "lo"))
				continue;
			r.dest.family = AF_INET6;
			snprintf(r.ifname, sizeof(r.ifname), "%s", ifn);
			r.plen = dplen;
			r.gateway = (flags & RTF_GATEWAY_FLAG) != 0;
			r.is_default = dplen == 0;
			r.metric = metric;
			fn(&r, arg);
		}
		fclose(f);
	}
}

static bool prefix_match(const struct addr *a, const struct addr *net, unsigned int plen)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (a->family != net->family)
		return false;
	if (memcmp(a->b, net->b, full))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((a->b[full] & m) != (net->b[full] & m))
			return false;
	}
	return true;
}

struct default_ctx {
	const struct ctx *c;
	const struct ifnames *names;
	int found;
};

static void check_default(const struct route *r, void *arg)
{
	struct default_ctx *d = arg;

	if (!r->is_default || !in_names(d->names, r->ifname))
		return;
	fail(d->c, EXIT_REFUSED, "refusing: interface %s holds the default %s route; taking the "
	     "NIC would cut this guest off the network (--force to take it anyway)",
	     r->ifname, r->dest.family == AF_INET ? "IPv4" : "IPv6");
	d->found++;
}

struct lookup {
	const struct addr *a;
	bool connected_only; /* only routes without a gateway: the address's own subnet */
	const struct route *best_r;
	struct route best;
	bool have;
};

static void lookup_route(const struct route *r, void *arg)
{
	struct lookup *l = arg;

	if (l->connected_only && (r->gateway || r->is_default))
		return;
	if (!prefix_match(l->a, &r->dest, r->plen))
		return;
	if (!l->have || r->plen > l->best.plen ||
	    (r->plen == l->best.plen && r->metric < l->best.metric)) {
		l->best = *r;
		l->have = true;
	}
}

/* The interface holding local address @a: exact from the system when it is
 * the real one, else the interface of the subnet that contains it. */
static bool local_ifname(const struct ctx *c, const struct addr *a, char *out, size_t len)
{
	struct lookup l = { .a = a, .connected_only = true };
	char line[256];
	FILE *f;

	if (!c->root[0]) {
		struct ifaddrs *ifa, *i;

		if (getifaddrs(&ifa) == 0) {
			for (i = ifa; i; i = i->ifa_next) {
				const void *p = NULL;

				if (!i->ifa_addr || i->ifa_addr->sa_family != a->family)
					continue;
				if (a->family == AF_INET)
					p = &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
				else
					p = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
				if (!memcmp(p, a->b, a->family == AF_INET ? 4 : 16)) {
					snprintf(out, len, "%s", i->ifa_name);
					freeifaddrs(ifa);
					return true;
				}
			}
			freeifaddrs(ifa);
		}
	}
	if (a->family == AF_INET6 && (f = open_root(c, "/proc/net/if_inet6"))) {
		while (fgets(line, sizeof(line), f)) {
			char hex[40], ifn[64];
			unsigned int idx, plen, scope, flags;
			uint8_t b[16];

			if (sscanf(line, "%39s %x %x %x %x %63s", hex, &idx, &plen, &scope, &flags,
				   ifn) == 6 &&
			    parse_hex128(hex, b) && !memcmp(b, a->b, 16)) {
				snprintf(out, len, "%s", ifn);
				fclose(f);
				return true;
			}
		}
		fclose(f);
	}
	for_routes(c, lookup_route, &l);
	if (l.have)
		snprintf(out, len, "%s", l.best.ifname);
	return l.have;
}

/* ------------------------------------------------------------------------ */
/* SSH connections                                                           */
/* ------------------------------------------------------------------------ */

struct conn {
	struct addr local, remote;
	unsigned int lport, rport;
};

static bool parse_ip(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = AF_INET6;
		if (!memcmp(a->b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			memmove(a->b, a->b + 12, 4);
			memset(a->b + 4, 0, 12);
			a->family = AF_INET;
		}
		return true;
	}
	return false;
}

/* The command name of process @pid ("" if unknown). */
static void proc_comm(const struct ctx *c, const char *pid, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	out[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/proc/%s/comm", c->root, pid) >= (int)sizeof(path) ||
	    !(f = fopen(path, "re")))
		return;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/*
 * Calls @fn with what each open descriptor of process @pid points to
 * (/proc/<pid>/fd/N), until it returns true.  Returns whether it did.
 */
static bool proc_fds(const struct ctx *c, const char *pid,
		     bool (*fn)(const char *target, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *fe;
	bool done = false;
	DIR *fd;

	if (snprintf(path, sizeof(path), "%s/proc/%s/fd", c->root, pid) >= (int)sizeof(path) ||
	    !(fd = opendir(path)))
		return false;
	while (!done && (fe = readdir(fd))) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t l;

		if (fe->d_name[0] == '.' ||
		    snprintf(link, sizeof(link), "%s/%s", path, fe->d_name) >= (int)sizeof(link))
			continue;
		l = readlink(link, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		done = fn(target, arg);
	}
	closedir(fd);
	return done;
}

/* Calls @fn for every process of the tree (its pid as text) until it returns true. */
static void for_procs(const struct ctx *c, bool (*fn)(const char *pid, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (snprintf(path, sizeof(path), "%s/proc", c->root) >= (int)sizeof(path) ||
	    !(d = opendir(path)))
		return;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]) && fn(de->d_name, arg))
			break;
	closedir(d);
}

struct inodes {
	const struct ctx *c;
	unsigned long *v;
	size_t n, max;
};

static bool add_socket(const char *target, void *arg)
{
	struct inodes *in = arg;
	unsigned long ino;

	if (sscanf(target, "socket:[%lu]", &ino) == 1)
		in->v[in->n++] = ino;
	return in->n == in->max;
}

static bool sshd_sockets(const char *pid, void *arg)
{
	struct inodes *in = arg;
	char comm[64];

	proc_comm(in->c, pid, comm, sizeof(comm));
	if (!strcmp(comm, "sshd"))
		proc_fds(in->c, pid, add_socket, in);
	return in->n == in->max;
}

/* Socket inodes of every sshd process: "socket:[N]" links in /proc/<pid>/fd. */
static size_t sshd_inodes(const struct ctx *c, unsigned long *out, size_t max)
{
	struct inodes in = { .c = c, .v = out, .max = max };

	if (max)
		for_procs(c, sshd_sockets, &in);
	return in.n;
}

/* Calls @fn for every TCP socket (state, local, remote, inode). */
static void for_tcp(const struct ctx *c,
		    void (*fn)(int st, const struct conn *k, unsigned long inode, void *arg),
		    void *arg)
{
	static const char *const files[2] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];
	int i;

	for (i = 0; i < 2; i++) {
		FILE *f = open_root(c, files[i]);

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char sl[16], loc[64], rem[64];
			unsigned int st, uid, timeout;
			char txrx[40], tr[40], retr[16];
			unsigned long inode;
			struct conn k;

			if (sscanf(line, "%15s %63s %63s %x %39s %39s %15s %u %u %lu", sl, loc, rem,
				   &st, txrx, tr, retr, &uid, &timeout, &inode) != 10)
				continue;
			if (!parse_sock(loc, i == 1, &k.local, &k.lport) ||
			    !parse_sock(rem, i == 1, &k.remote, &k.rport))
				continue;
			fn((int)st, &k, inode, arg);
		}
		fclose(f);
	}
}

struct ssh_scan {
	unsigned long inodes[256];
	size_t ninodes;
	unsigned int ports[MAX_PORTS];
	size_t nports;
	struct conn conns[64];
	size_t nconns;
};

static void add_port(struct ssh_scan *s, unsigned int p)
{
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == p)
			return;
	if (s->nports < MAX_PORTS)
		s->ports[s->nports++] = p;
}

static void find_listen(int st, const struct conn *k, unsigned long inode, void *arg)
{
	struct ssh_scan *s = arg;
	size_t i;

	if (st != TCP_LISTEN_ST)
		return;
	for (i = 0; i < s->ninodes; i++)
		if (s->inodes[i] == inode)
			add_port(s, k->lport);
}

static void find_established(int st, const struct conn *k, unsigned long inode, void *arg)
{
	struct ssh_scan *s = arg;
	size_t i;

	(void)inode;
	if (st != TCP_ESTABLISHED_ST || s->nconns >= sizeof(s->conns) / sizeof(s->conns[0]))
		return;
	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == k->lport) {
			s->conns[s->nconns++] = *k;
			return;
		}
}

static int check_conn(const struct ctx *c, const struct ifnames *names, const struct conn *k,
		      const char *source)
{
	char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN], ifn[VMBUS_NAME_MAX];
	struct lookup l = { .a = &k->remote };

	if (is_loopback(&k->local) || is_loopback(&k->remote))
		return 0;
	addr_text(&k->local, lip, sizeof(lip));
	addr_text(&k->remote, rip, sizeof(rip));
	if (local_ifname(c, &k->local, ifn, sizeof(ifn)) && in_names(names, ifn)) {
		fail(c, EXIT_REFUSED, "refusing: the SSH connection from %s port %u to %s port %u "
		     "(%s) uses interface %s: its local address %s is there (--force to take "
		     "it anyway)", rip, k->rport, lip, k->lport, source, ifn, lip);
		return 1;
	}
	for_routes(c, lookup_route, &l);
	if (l.have && in_names(names, l.best.ifname)) {
		fail(c, EXIT_REFUSED, "refusing: the SSH connection from %s port %u to %s port %u "
		     "(%s) uses interface %s: replies to %s leave through it (--force to take "
		     "it anyway)", rip, k->rport, lip, k->lport, source, l.best.ifname, rip);
		return 1;
	}
	return 0;
}

static int check_ssh(const struct ctx *c, const struct ifnames *names)
{
	struct ssh_scan *s = calloc(1, sizeof(*s));
	const char *env = getenv("SSH_CONNECTION");
	int found = 0;
	size_t i;

	if (!s)
		return 0;
	if (env) {
		char cip[64], sip[64];
		unsigned int cport, sport;
		struct conn k;

		if (sscanf(env, "%63s %u %63s %u", cip, &cport, sip, &sport) == 4 &&
		    parse_ip(cip, &k.remote) && parse_ip(sip, &k.local) && cport < 65536 &&
		    sport < 65536) {
			k.rport = cport;
			k.lport = sport;
			found += check_conn(c, names, &k, "this session, SSH_CONNECTION");
			add_port(s, sport);
		} else {
			warn(c, "SSH_CONNECTION=\"%s\" is not \"client port server port\"; ignored", env);
		}
	}
	s->ninodes = sshd_inodes(c, s->inodes, sizeof(s->inodes) / sizeof(s->inodes[0]));
	for_tcp(c, find_listen, s);
	if (!s->nports)
		add_port(s, 22);
	for_tcp(c, find_established, s);
	for (i = 0; i < s->nconns && !found; i++)
		found += check_conn(c, names, &s->conns[i], "from the socket table");
	free(s);
	return found;
}

/* ------------------------------------------------------------------------ */
/* disks                                                                     */
/* ------------------------------------------------------------------------ */

struct disks {
	char n[64][VMBUS_NAME_MAX];
	unsigned int count;
};

static void add_disk(struct disks *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->count; i++)
		if (!strcmp(d->n[i], name))
			return;
	if (d->count < 64 && strlen(name) < VMBUS_NAME_MAX)
		snprintf(d->n[d->count++], VMBUS_NAME_MAX, "%s", name);
}

/* The holders (device-mapper, md) built on a disk or partition: their
 * names, and the /dev/mapper names device-mapper devices are mounted by. */
static void add_holders(const struct ctx *c, const char *dir, struct disks *d)
{
	struct dirent *he;
	DIR *hd = opendir(dir);

	while (hd && (he = readdir(hd))) {
		char name[PATH_MAX];
		FILE *f;

		if (he->d_name[0] == '.')
			continue;
		add_disk(d, he->d_name);
		snprintf(name, sizeof(name), "%s/sys/block/%s/dm/name", c->root, he->d_name);
		f = fopen(name, "re");
		if (f) {
			if (fgets(name, sizeof(name), f)) {
				name[strcspn(name, "\n")] = '\0';
				add_disk(d, name);
			}
			fclose(f);
		}
	}
	if (hd)
		closedir(hd);
}

/*
 * Walks the device's directory (not following links: they lead out of it,
 * to the driver, the subsystem, the firmware node) down to its "block"
 * directories (SCSI host, target, LUN); below those, every directory with
 * a "dev" file is a disk or partition.
 */
static void find_disks(const struct ctx *c, const char *dir, int depth, bool in_block,
		       struct disks *d)
{
	struct dirent *de;
	DIR *dd;

	if (depth > 16 || !(dd = opendir(dir)))
		return;
	while ((de = readdir(dd))) {
		char sub[PATH_MAX], devf[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		if (in_block && !strcmp(de->d_name, "holders")) {
			add_holders(c, sub, d);
			continue;
		}
		if (lstat(sub, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (in_block && snprintf(devf, sizeof(devf), "%s/dev", sub) < (int)sizeof(devf) &&
		    access(devf, F_OK) == 0)
			add_disk(d, de->d_name);
		find_disks(c, sub, depth + 1, in_block || !strcmp(de->d_name, "block"), d);
	}
	closedir(dd);
}

static const char *dev_base(const char *dev)
{
	if (!strncmp(dev, "/dev/mapper/", 12))
		return dev + 12;
	if (!strncmp(dev, "/dev/", 5))
		return dev + 5;
	return NULL;
}

static int check_disks(const struct ctx *c)
{
	static const char *const tables[2] = { "/proc/mounts", "/proc/swaps" };
	struct disks *d = calloc(1, sizeof(*d));
	char line[1024];
	int found = 0, t;

	if (!d)
		return 0;
	find_disks(c, c->devdir, 0, false, d);
	for (t = 0; t < 2 && d->count; t++) {
		FILE *f = open_root(c, tables[t]);

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char dev[512], where[512];
			const char *base;
			unsigned int i;

			if (sscanf(line, "%511s %511s", dev, where) < 1 || !(base = dev_base(dev)))
				continue;
			for (i = 0; i < d->count; i++) {
				if (strcmp(base, d->n[i]))
					continue;
				if (t == 0)
					fail(c, EXIT_REFUSED, "refusing: disk %s of this controller is "
					     "mounted on %s (--force to take it anyway)", dev, where);
				else
					fail(c, EXIT_REFUSED, "refusing: disk %s of this controller is "
					     "in use as swap (--force to take it anyway)", dev);
				found++;
			}
		}
		fclose(f);
	}
	free(d);
	return found;
}

/* ------------------------------------------------------------------------ */

int safety_check(const struct ctx *c)
{
	static const struct vmbus_guid nic = VMBUS_CLASS_NIC;
	int found = 0;

	if (vmbus_guid_equal(&c->dev.class_id, &nic) && c->dev.ifname[0]) {
		struct ifnames names = { .count = 0 };
		struct default_ctx dc = { .c = c, .names = &names };
		char path[PATH_MAX], master[VMBUS_NAME_MAX];

		add_name(&names, c->dev.ifname);
		/* a bond or bridge it belongs to goes down with it */
		if (snprintf(path, sizeof(path), "%s/net/%s/master", c->devdir, c->dev.ifname) <
		    (int)sizeof(path)) {
			char target[PATH_MAX];
			ssize_t n = readlink(path, target, sizeof(target) - 1);

			if (n > 0) {
				const char *b;

				target[n] = '\0';
				b = strrchr(target, '/');
				b = b ? b + 1 : target;
				if (strlen(b) < sizeof(master)) {
					memcpy(master, b, strlen(b) + 1);
					add_name(&names, master);
				}
			}
		}
		for_routes(c, check_default, &dc);
		found += dc.found;
		found += check_ssh(c, &names);
	}
	found += check_disks(c);
	return found;
}

struct holder {
	const struct ctx *c;
	char want[32]; /* /dev/uioN */
	char ring[96]; /* /<guid>/channels/ */
	int found;
};

static bool is_uio_node(const char *target, void *arg)
{
	return !strcmp(target, ((const struct holder *)arg)->want);
}

/* Whether process @pid maps /dev/uioN or one of the device's ring files:
 * a mapping outlives its descriptor. */
static bool maps_device(const struct holder *h, const char *pid)
{
	char path[PATH_MAX], line[1024];
	bool held = false;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/proc/%s/maps", h->c->root, pid) >= (int)sizeof(path) ||
	    !(f = fopen(path, "re")))
		return false;
	while (!held && fgets(line, sizeof(line), f)) {
		const char *p = strchr(line, '/');
		size_t l;

		if (!p)
			continue;
		l = strcspn(p, "\n");
		held = (l == strlen(h->want) && !strncmp(p, h->want, l)) ||
		       (strstr(p, h->ring) && l > 5 && !strncmp(p + l - 5, "/ring", 5));
	}
	fclose(f);
	return held;
}

static bool check_holder(const char *pid, void *arg)
{
	struct holder *h = arg;
	char comm[64];

	if (!proc_fds(h->c, pid, is_uio_node, h) && !maps_device(h, pid))
		return false;
	proc_comm(h->c, pid, comm, sizeof(comm));
	fail(h->c, EXIT_BUSY, "device busy: process %s (%s) has %s or the device's ring files "
	     "open or mapped; stop it first", pid, comm[0] ? comm : "?", h->want);
	h->found = 1;
	return false; /* name every one */
}

int uio_busy(const struct ctx *c, int uio_index)
{
	struct holder h = { .c = c };

	if (uio_index < 0)
		return 0;
	snprintf(h.want, sizeof(h.want), "/dev/uio%d", uio_index);
	snprintf(h.ring, sizeof(h.ring), "/%s/channels/", c->guid);
	for_procs(c, check_holder, &h);
	return h.found;
}
