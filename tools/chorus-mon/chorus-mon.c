/* chorus-mon.c: prints the events and metrics of one or more nodes live.
 *
 *   chorus-mon [--datadir DIR | --connect ENDPOINT]... [--json]
 *              [--filter TOPIC]... [--count N] [--duration S]
 *
 * For each datadir it subscribes to every run/NAME.pub it finds and to the
 * five well-known names even when their sockets do not exist yet: ZeroMQ
 * connects lazily and reconnects, so a process that starts or restarts
 * later is picked up without action here; run/ is also rescanned every
 * second for new *.pub sockets.  --connect adds raw endpoints.  Each source
 * (a datadir or an endpoint) has its own SUB socket, so every line can name
 * the node it came from.
 *
 * One line per message (UTC receive time):
 *   HH:MM:SS.mmm NODE TOPIC key=value ...      ("ts" and "service" omitted)
 *   {"node":NODE,"topic":TOPIC,"body":{...}}   (--json, the body complete)
 *
 * Exit status: 0 after --count messages, at the end of --duration, or on
 * SIGINT/SIGTERM; 1 if --duration ends before --count messages arrived or
 * on a runtime error; 64 for a usage error. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "err.h"
#include "mp.h"
#include "mpjson.h"

/* The processes every datadir may run. */
static const char *const wellknown[] = {"chorusd", "transport", "discovery", "relay", "mempool"};

#define NWELLKNOWN (sizeof(wellknown) / sizeof(wellknown[0]))
/* Most PUB endpoints followed per datadir (five well-known plus extras). */
#define MON_EPS_MAX 32
/* Most sources: every --datadir and --connect value. */
#define MON_SOURCES_MAX (2 * CH_CFG_MULTI_MAX)
/* Longest wait in zmq_poll, so a signal is noticed quickly even when it
 * lands outside the poll call. */
#define MON_POLL_MS 200
/* How often run/ is rescanned for new *.pub sockets. */
#define MON_RESCAN_MS 1000
/* Render buffer: starts here, doubles up to the cap. */
#define MON_RENDER_START (64u << 10)
#define MON_RENDER_MAX   (64u << 20)

enum mon_exit {
	MON_EXIT_OK = 0,
	MON_EXIT_ERROR = 1,
	MON_EXIT_USAGE = 64,
};

typedef struct {
	ch_cfg_strs_t datadirs;
	ch_cfg_strs_t connects;
	ch_cfg_strs_t filters;
	bool json;
	int64_t count;
	uint64_t duration_ms;
	bool help;
} mon_settings_t;

/* One thing being watched: a datadir (with the endpoints connected so far)
 * or one raw endpoint. */
typedef struct {
	char node[CH_CFG_STRS_LEN];    /* NODE column: datadir basename or endpoint */
	char datadir[CH_CTL_PATH_MAX]; /* absolute; "" for --connect */
	void *sub;
	char eps[MON_EPS_MAX][CH_CTL_ENDPOINT_MAX];
	size_t neps;
} mon_source_t;

/* Everything the loop needs, passed around instead of kept in statics. */
typedef struct {
	mon_settings_t set;
	void *zctx;
	mon_source_t *src;
	size_t nsrc;
	ch_mpr_t body;
	char *buf; /* render buffer */
	size_t cap;
	uint64_t seen;
} mon_t;

static const ch_cfg_opt_t opts[] = {
    {.key = "datadir",
     .type = CH_CFG_STR,
     .flags = CH_CFG_MULTI,
     .help = "watch this node's run/*.pub sockets (default ~/.chorus)",
     CH_CFG_AT(mon_settings_t, datadirs)},
    {.key = "connect",
     .type = CH_CFG_STR,
     .flags = CH_CFG_MULTI,
     .help = "also subscribe to this ZeroMQ endpoint",
     CH_CFG_AT(mon_settings_t, connects)},
    {.key = "json",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE,
     .help = "one JSON object per line: {\"node\",\"topic\",\"body\"}",
     CH_CFG_AT(mon_settings_t, json)},
    {.key = "filter",
     .type = CH_CFG_STR,
     .flags = CH_CFG_MULTI,
     .help = "only topics starting with this prefix (default: all)",
     CH_CFG_AT(mon_settings_t, filters)},
    {.key = "count",
     .type = CH_CFG_INT,
     .def = "0",
     .min = 0,
     .max = 1000000000,
     .help = "exit after this many messages (0: no limit)",
     CH_CFG_AT(mon_settings_t, count)},
    {.key = "duration",
     .type = CH_CFG_DURATION,
     .def = "0",
     .help = "exit after this long (5, 5s, 250ms; 0: no limit)",
     CH_CFG_AT(mon_settings_t, duration_ms)},
    {.key = "help",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print this help",
     CH_CFG_AT(mon_settings_t, help)},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Set by the SIGINT/SIGTERM handler, read by the loop: the one piece of
 * file-level mutable state, as a handler can reach nothing else. */
static volatile sig_atomic_t g_stop;

/* Asks the loop to finish; the loop does the work. */
static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* Installs on_signal for SIGINT and SIGTERM without SA_RESTART, so a
 * blocked zmq_poll returns EINTR at once. */
static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		return CH_EIO;
	return 0;
}

/* Prints the usage for --help. */
static void usage(FILE *out)
{
	fprintf(out, "usage: chorus-mon [--datadir DIR | --connect ENDPOINT]... [--json]\n"
	             "                  [--filter TOPIC]... [--count N] [--duration S]\n\n"
	             "Prints the events and metrics of Chorus nodes, one line per message:\n"
	             "  HH:MM:SS.mmm NODE TOPIC key=value ...   (UTC time of arrival)\n\n"
	             "options:\n");
	ch_cfg_usage(opts, NOPTS, out);
	fprintf(out, "\nexit status: 0 on --count, --duration or SIGINT/SIGTERM; 1 if --duration "
	             "ends before\n--count messages or on an error; 64 usage error\n");
}

/* Connects the source's socket to ep unless it already follows it; the
 * list keeps rescans from connecting twice.  Returns 0, CH_ENOMEM when the
 * list is full, or the zmq error. */
static int follow(mon_source_t *s, const char *ep)
{
	for (size_t i = 0; i < s->neps; i++)
		if (strcmp(s->eps[i], ep) == 0)
			return 0;
	if (s->neps == MON_EPS_MAX)
		return CH_ENOMEM;
	if (zmq_connect(s->sub, ep) != 0)
		return errno == EINVAL || errno == EPROTONOSUPPORT ? CH_EINVAL : CH_EIO;
	snprintf(s->eps[s->neps++], sizeof(s->eps[0]), "%s", ep);
	return 0;
}

/* Follows every run/NAME.pub of a datadir source (a missing run/ is fine:
 * the node may start later).  Returns 0 or the first error of follow(). */
static int scan_run(mon_source_t *s)
{
	char run[CH_CTL_PATH_MAX + 8], ep[CH_CTL_ENDPOINT_MAX], name[256];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(run, sizeof(run), "%s/run", s->datadir);
	d = opendir(run);
	if (d == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len <= 4 || len - 4 >= sizeof(name) ||
		    strcmp(de->d_name + len - 4, ".pub") != 0)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (ch_ctl_endpoint(s->datadir, name, "pub", ep, sizeof(ep)) != 0)
			continue; /* a name too long for a socket cannot be bound either */
		rc = follow(s, ep);
		if (rc == CH_ENOMEM)
			rc = 0; /* full: keep what we have */
	}
	closedir(d);
	return rc;
}

/* Opens a SUB socket with the topic filters. */
static void *open_sub(mon_t *m)
{
	void *sub = zmq_socket(m->zctx, ZMQ_SUB);
	int linger = 0;

	if (sub == NULL)
		return NULL;
	if (zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger)) != 0)
		goto fail;
	if (m->set.filters.n == 0 && zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) != 0)
		goto fail;
	for (size_t i = 0; i < m->set.filters.n; i++)
		if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, m->set.filters.v[i],
		                   strlen(m->set.filters.v[i])) != 0)
			goto fail;
	return sub;
fail:
	zmq_close(sub);
	return NULL;
}

/* Sets up one source per --datadir and --connect value.  Returns an exit
 * status (0 when everything is connected). */
static int open_sources(mon_t *m)
{
	ch_cfg_strs_t none = {.n = 1};
	const ch_cfg_strs_t *dirs = &m->set.datadirs;

	if (m->set.datadirs.n == 0 && m->set.connects.n == 0)
		dirs = &none; /* v[0] = "": the default datadir */
	for (size_t i = 0; i < dirs->n + m->set.connects.n; i++) {
		mon_source_t *s = &m->src[m->nsrc];
		bool is_dir = i < dirs->n;
		const char *arg = is_dir ? dirs->v[i] : m->set.connects.v[i - dirs->n];
		int rc;

		s->sub = open_sub(m);
		if (s->sub == NULL) {
			fprintf(stderr, "chorus-mon: zmq_socket: %s\n", strerror(errno));
			return MON_EXIT_ERROR;
		}
		m->nsrc++;
		if (!is_dir) {
			snprintf(s->node, sizeof(s->node), "%s", arg);
			rc = follow(s, arg);
			if (rc != 0) {
				fprintf(stderr, "chorus-mon: --connect %s: %s\n", arg,
				        rc == CH_EINVAL ? "not a valid endpoint" : strerror(errno));
				return rc == CH_EINVAL ? MON_EXIT_USAGE : MON_EXIT_ERROR;
			}
			continue;
		}
		rc = ch_ctl_datadir(arg[0] != '\0' ? arg : NULL, s->datadir, sizeof(s->datadir));
		if (rc != 0) {
			fprintf(stderr, "chorus-mon: --datadir %s: %s\n", arg,
			        rc == CH_EINVAL ? "no datadir given and $HOME is not set"
			                        : "path too long or unreadable");
			return MON_EXIT_USAGE;
		}
		snprintf(s->node, sizeof(s->node), "%s",
		         strrchr(s->datadir, '/')[1] != '\0' ? strrchr(s->datadir, '/') + 1 : "/");
		for (size_t k = 0; k < NWELLKNOWN; k++) {
			char ep[CH_CTL_ENDPOINT_MAX];

			rc = ch_ctl_endpoint(s->datadir, wellknown[k], "pub", ep, sizeof(ep));
			if (rc == 0)
				rc = follow(s, ep);
			if (rc != 0) {
				fprintf(stderr, "chorus-mon: --datadir %s: %s\n", s->datadir,
				        rc == CH_ERANGE
				            ? "too long for a unix socket path (keep it "
				              "under about 90 bytes)"
				            : strerror(errno));
				return rc == CH_ERANGE ? MON_EXIT_USAGE : MON_EXIT_ERROR;
			}
		}
		rc = scan_run(s);
		if (rc != 0) {
			fprintf(stderr, "chorus-mon: %s/run: %s\n", s->datadir, strerror(errno));
			return MON_EXIT_ERROR;
		}
	}
	return MON_EXIT_OK;
}

/* Renders o with fn into m->buf, growing it until the text fits (a text
 * still too long at the cap stays cut).  Returns 0 or a CH_E* code. */
static int render(mon_t *m, int (*fn)(const msgpack_object *, char *, size_t),
                  const msgpack_object *o)
{
	for (;;) {
		int rc = fn(o, m->buf, m->cap);
		char *nb;

		if (rc != CH_ERANGE || m->cap >= MON_RENDER_MAX)
			return rc == CH_ERANGE ? 0 : rc;
		nb = realloc(m->buf, m->cap * 2);
		if (nb == NULL)
			return CH_ENOMEM;
		m->buf = nb;
		m->cap *= 2;
	}
}

/* Writes s[0..n) for the text line: bytes that could upset a terminal or
 * split the line become '?'. */
static void put_clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
}

/* Prints s[0..n) as a JSON string (worst-case sized buffer). */
static int put_jstr(const char *s, size_t n)
{
	size_t cap = n * 6 + 3;
	char *q = malloc(cap);
	int rc;

	if (q == NULL)
		return CH_ENOMEM;
	rc = ch_json_quote(s, n, q, cap);
	if (rc == 0)
		fputs(q, stdout);
	free(q);
	return rc;
}

/* A shallow copy of map body without "ts" and "service", for the text
 * line: the time and the topic already say those.  kv must have room for
 * the map's pairs. */
static msgpack_object strip_common(const msgpack_object *body, msgpack_object_kv *kv)
{
	msgpack_object out = *body;
	uint32_t n = 0;

	for (uint32_t i = 0; i < body->via.map.size; i++) {
		const msgpack_object *k = &body->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR &&
		    ((k->via.str.size == 2 && memcmp(k->via.str.ptr, "ts", 2) == 0) ||
		     (k->via.str.size == 7 && memcmp(k->via.str.ptr, "service", 7) == 0)))
			continue;
		kv[n++] = body->via.map.ptr[i];
	}
	out.via.map.ptr = kv;
	out.via.map.size = n;
	return out;
}

/* Prints one message.  body is NULL when the message had no body frame;
 * an undecodable body is reported in the line rather than dropped.
 * Returns 0 or a CH_E* code. */
static int print_msg(mon_t *m, const mon_source_t *s, zmq_msg_t *topic, zmq_msg_t *body)
{
	const char *t = zmq_msg_data(topic);
	size_t tn = zmq_msg_size(topic);
	const msgpack_object *root = NULL;
	int prc = CH_ENOENT, rc = 0;

	if (body != NULL) {
		prc = ch_mpr_parse(&m->body, zmq_msg_data(body), zmq_msg_size(body));
		if (prc == 0)
			prc = ch_mpr_root(&m->body, &root);
	}
	if (m->set.json) {
		fputs("{\"node\":", stdout);
		rc = put_jstr(s->node, strlen(s->node));
		fputs(",\"topic\":", stdout);
		rc = rc == 0 ? put_jstr(t, tn) : rc;
		fputs(",\"body\":", stdout);
		if (prc == 0)
			rc = rc == 0 ? render(m, ch_mp_to_json, root) : rc;
		fputs(prc == 0 && rc == 0 ? m->buf : "null", stdout);
		if (prc != 0 && body != NULL)
			printf(",\"error\":\"undecodable body (%zu bytes): %s\"",
			       zmq_msg_size(body), ch_strerror(prc));
		fputs("}\n", stdout);
		return rc;
	}

	{
		uint64_t now = ch_wall_ms();
		time_t sec = (time_t)(now / 1000);
		struct tm tm;

		gmtime_r(&sec, &tm);
		printf("%02d:%02d:%02d.%03u %s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		       (unsigned)(now % 1000), s->node);
	}
	put_clean(t, tn);
	if (prc == 0 && root->type == MSGPACK_OBJECT_MAP) {
		msgpack_object_kv *kv = malloc(sizeof(*kv) * (root->via.map.size + 1));
		msgpack_object shown;

		if (kv == NULL)
			return CH_ENOMEM;
		shown = strip_common(root, kv);
		rc = render(m, ch_mp_to_text, &shown);
		free(kv);
	} else if (prc == 0) {
		rc = render(m, ch_mp_to_text, root);
	}
	if (prc == 0 && rc == 0 && m->buf[0] != '\0')
		printf(" %s", m->buf);
	else if (prc != 0 && body != NULL)
		printf(" <undecodable body (%zu bytes): %s>", zmq_msg_size(body), ch_strerror(prc));
	putchar('\n');
	return rc;
}

/* Receives and prints every message waiting on one source, up to the
 * count limit.  Returns 0, or CH_EIO / CH_ECLOSED on a socket error. */
static int drain(mon_t *m, const mon_source_t *s)
{
	while (m->set.count == 0 || m->seen < (uint64_t)m->set.count) {
		zmq_msg_t topic, body;
		bool has_body = false, more;
		int rc = 0;

		zmq_msg_init(&topic);
		if (zmq_msg_recv(&topic, s->sub, ZMQ_DONTWAIT) < 0) {
			int e = errno;

			zmq_msg_close(&topic);
			if (e == EAGAIN || e == EINTR)
				return 0;
			errno = e;
			return e == ETERM ? CH_ECLOSED : CH_EIO;
		}
		zmq_msg_init(&body);
		if (zmq_msg_more(&topic)) {
			/* the frames of one message arrive together */
			has_body = zmq_msg_recv(&body, s->sub, 0) >= 0;
			more = has_body && zmq_msg_more(&body);
			while (more) { /* frames beyond the body are not ours: skip */
				zmq_msg_t extra;

				zmq_msg_init(&extra);
				more = zmq_msg_recv(&extra, s->sub, 0) >= 0 && zmq_msg_more(&extra);
				zmq_msg_close(&extra);
			}
		}
		rc = print_msg(m, s, &topic, has_body ? &body : NULL);
		zmq_msg_close(&topic);
		zmq_msg_close(&body);
		if (rc != 0) {
			fprintf(stderr, "chorus-mon: cannot print a message: %s\n",
			        ch_strerror(rc));
			if (rc == CH_ENOMEM)
				return rc;
		}
		m->seen++;
	}
	return 0;
}

/* The main loop: poll all sources, print, rescan run/ now and then, stop
 * on a signal, the count or the duration.  Returns an exit status. */
static int run(mon_t *m)
{
	zmq_pollitem_t items[MON_SOURCES_MAX];
	uint64_t start = ch_mono_ns(), next_scan = start + MON_RESCAN_MS * CH_NS_PER_MS;
	uint64_t deadline = m->set.duration_ms > 0 ? start + m->set.duration_ms * CH_NS_PER_MS : 0;

	for (size_t i = 0; i < m->nsrc; i++)
		items[i] = (zmq_pollitem_t){.socket = m->src[i].sub, .events = ZMQ_POLLIN};
	while (!g_stop) {
		uint64_t now = ch_mono_ns();
		long wait = MON_POLL_MS;
		int n;

		if (m->set.count > 0 && m->seen >= (uint64_t)m->set.count)
			return MON_EXIT_OK;
		if (deadline != 0 && now >= deadline) {
			if (m->set.count > 0) {
				fprintf(stderr,
				        "chorus-mon: only %llu of %lld messages in %llu ms\n",
				        (unsigned long long)m->seen, (long long)m->set.count,
				        (unsigned long long)m->set.duration_ms);
				return MON_EXIT_ERROR;
			}
			return MON_EXIT_OK;
		}
		if (deadline != 0 && (deadline - now) / CH_NS_PER_MS < (uint64_t)wait)
			wait = (long)((deadline - now + CH_NS_PER_MS - 1) / CH_NS_PER_MS);
		if (now >= next_scan) {
			for (size_t i = 0; i < m->nsrc; i++)
				if (m->src[i].datadir[0] != '\0' && scan_run(&m->src[i]) != 0)
					fprintf(stderr, "chorus-mon: %s/run: %s\n",
					        m->src[i].datadir, strerror(errno));
			next_scan = now + MON_RESCAN_MS * CH_NS_PER_MS;
		}
		n = zmq_poll(items, (int)m->nsrc, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "chorus-mon: zmq_poll: %s\n", strerror(errno));
			return MON_EXIT_ERROR;
		}
		for (size_t i = 0; i < m->nsrc && n > 0; i++) {
			int rc;

			if (!(items[i].revents & ZMQ_POLLIN))
				continue;
			rc = drain(m, &m->src[i]);
			if (rc != 0) {
				fprintf(stderr, "chorus-mon: receiving from %s: %s\n",
				        m->src[i].node,
				        rc == CH_EIO ? strerror(errno) : ch_strerror(rc));
				return MON_EXIT_ERROR;
			}
		}
	}
	return MON_EXIT_OK;
}

int main(int argc, char **argv)
{
	mon_t *m = calloc(1, sizeof(*m));
	char err[512];
	int argi = argc, status = MON_EXIT_OK;

	if (m == NULL) {
		fprintf(stderr, "chorus-mon: out of memory\n");
		return MON_EXIT_ERROR;
	}
	ch_mpr_init(&m->body, 0);
	if (ch_cfg_defaults(opts, NOPTS, &m->set, err, sizeof(err)) != 0) {
		fprintf(stderr, "chorus-mon: %s\n", err);
		status = MON_EXIT_ERROR;
		goto out;
	}
	if (ch_cfg_parse_args(opts, NOPTS, &m->set, argc, argv, &argi, err, sizeof(err)) != 0) {
		fprintf(stderr, "chorus-mon: %s (try 'chorus-mon --help')\n", err);
		status = MON_EXIT_USAGE;
		goto out;
	}
	if (m->set.help) {
		usage(stdout);
		goto out;
	}
	if (argi < argc) {
		fprintf(stderr, "chorus-mon: unexpected argument '%s' (try 'chorus-mon --help')\n",
		        argv[argi]);
		status = MON_EXIT_USAGE;
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	m->cap = MON_RENDER_START;
	m->buf = malloc(m->cap);
	m->src = calloc(MON_SOURCES_MAX, sizeof(*m->src));
	m->zctx = zmq_ctx_new();
	if (m->buf == NULL || m->src == NULL || m->zctx == NULL) {
		fprintf(stderr, "chorus-mon: cannot start: %s\n", strerror(errno));
		status = MON_EXIT_ERROR;
		goto out;
	}
	if (install_signals() != 0) {
		fprintf(stderr, "chorus-mon: sigaction: %s\n", strerror(errno));
		status = MON_EXIT_ERROR;
		goto out;
	}
	status = open_sources(m);
	if (status == MON_EXIT_OK)
		status = run(m);
out:
	for (size_t i = 0; m->src != NULL && i < m->nsrc; i++)
		zmq_close(m->src[i].sub);
	if (m->zctx != NULL && zmq_ctx_term(m->zctx) != 0)
		fprintf(stderr, "chorus-mon: zmq_ctx_term: %s\n", strerror(errno));
	ch_mpr_free(&m->body);
	free(m->buf);
	free(m->src);
	free(m);
	return status;
}
