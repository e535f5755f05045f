/* test_ctl.c: the control-plane client against a real ZeroMQ REP socket
 * served by a thread: success, error replies, timeouts (no server, a
 * server that never answers), garbage replies, bad arguments, a terminated
 * context; plus ch_ctl_endpoint and ch_ctl_datadir path rules. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "mp.h"

/* Per-test fixture: a private directory with run/ and a ZeroMQ context. */
typedef struct {
	char dir[128];
	char ep[CH_CTL_ENDPOINT_MAX];
	void *zctx;
} fixture_t;

/* One scripted answer of the server thread. */
typedef struct {
	const void *data;
	size_t len;
	bool extra_frame; /* send a second frame after data */
	bool silent;      /* receive the request, never answer (must be last) */
} answer_t;

/* The server thread's job: a bound REP socket and its script. */
typedef struct {
	void *sock;
	const answer_t *script;
	size_t n;
	size_t served;
	unsigned char last_req[256];
	size_t last_len;
	int err; /* first zmq error seen by the thread */
} server_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	char run[160], real[PATH_MAX];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/chctl.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* canonical, so paths compare equal to what ch_ctl_datadir returns */
	if (realpath(f->dir, real) == NULL || strlen(real) >= sizeof(f->dir))
		return -1;
	strcpy(f->dir, real);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	if (mkdir(run, 0700) != 0)
		return -1;
	if (ch_ctl_endpoint(f->dir, "svc", "cmd", f->ep, sizeof(f->ep)) != 0)
		return -1;
	f->zctx = zmq_ctx_new();
	if (f->zctx == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	char path[160];

	zmq_ctx_term(f->zctx);
	snprintf(path, sizeof(path), "%s/run/svc.cmd", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", f->dir);
	rmdir(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Serves the script: one receive and (unless silent) one answer per entry,
 * with a receive timeout so a broken test cannot hang. */
static void *server_main(void *arg)
{
	server_t *s = arg;
	int tmo = 5000;

	zmq_setsockopt(s->sock, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
	for (size_t i = 0; i < s->n; i++) {
		const answer_t *a = &s->script[i];
		int got = zmq_recv(s->sock, s->last_req, sizeof(s->last_req), 0);

		if (got < 0) {
			s->err = errno;
			break;
		}
		s->last_len = (size_t)got;
		s->served++;
		if (a->silent)
			break;
		if (zmq_send(s->sock, a->data, a->len, a->extra_frame ? ZMQ_SNDMORE : 0) < 0 ||
		    (a->extra_frame && zmq_send(s->sock, "x", 1, 0) < 0)) {
			s->err = errno;
			break;
		}
	}
	zmq_close(s->sock);
	return NULL;
}

/* Binds a REP socket at the fixture's endpoint and starts the thread. */
static void server_start(fixture_t *f, server_t *s, pthread_t *th, const answer_t *script, size_t n)
{
	int linger = 0;

	memset(s, 0, sizeof(*s));
	s->script = script;
	s->n = n;
	s->sock = zmq_socket(f->zctx, ZMQ_REP);
	assert_non_null(s->sock);
	assert_int_equal(zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger)), 0);
	assert_int_equal(zmq_bind(s->sock, f->ep), 0);
	assert_int_equal(pthread_create(th, NULL, server_main, s), 0);
}

/* Packs {"ok": ok} plus either "result" {"service":"svc","pid":7} or the
 * error fields, into w. */
static void pack_reply(ch_mpw_t *w, bool ok, const char *message)
{
	ch_mpw_reset(w);
	if (ok) {
		ch_mpw_map(w, 2);
		ch_mpw_kv_bool(w, "ok", true);
		ch_mpw_key(w, "result");
		ch_mpw_map(w, 2);
		ch_mpw_kv_str(w, "service", "svc");
		ch_mpw_kv_u64(w, "pid", 7);
	} else {
		ch_mpw_map(w, 4);
		ch_mpw_kv_bool(w, "ok", false);
		ch_mpw_kv_i64(w, "code", CH_EUNKNOWN);
		ch_mpw_kv_str(w, "error", "CH_EUNKNOWN");
		ch_mpw_kv_str(w, "message", message);
	}
	assert_int_equal(ch_mpw_error(w), 0);
}

static void test_endpoint(void **state)
{
	char out[CH_CTL_ENDPOINT_MAX], dir[128];
	size_t base;

	(void)state;
	assert_int_equal(ch_ctl_endpoint("/var/x", "chorusd", "cmd", out, sizeof(out)), 0);
	assert_string_equal(out, "ipc:///var/x/run/chorusd.cmd");
	assert_int_equal(ch_ctl_endpoint("/var/x//", "relay", "pub", out, sizeof(out)), 0);
	assert_string_equal(out, "ipc:///var/x/run/relay.pub");
	assert_int_equal(ch_ctl_endpoint("/", "relay", "pub", out, sizeof(out)), 0);
	assert_string_equal(out, "ipc:///run/relay.pub");

	assert_int_equal(ch_ctl_endpoint("var/x", "relay", "cmd", out, sizeof(out)), CH_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(ch_ctl_endpoint("/x", "", "cmd", out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_endpoint("/x", "a/b", "cmd", out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_endpoint("/x", "relay", "sub", out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_endpoint(NULL, "relay", "cmd", out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_endpoint("/x", "relay", "cmd", NULL, 10), CH_EINVAL);

	/* the socket path "DIR/run/mempool.cmd" is exactly 107 bytes, then 108 */
	base = CH_CTL_SOCKPATH_MAX - strlen("/run/mempool.cmd");
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[base] = '\0';
	assert_int_equal(ch_ctl_endpoint(dir, "mempool", "cmd", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 6 + CH_CTL_SOCKPATH_MAX);
	assert_int_equal(ch_ctl_endpoint(dir, "mempool", "cmd", out, strlen(out)), CH_ERANGE);
	assert_string_equal(out, "");
	dir[base] = 'd';
	dir[base + 1] = '\0';
	assert_int_equal(ch_ctl_endpoint(dir, "mempool", "cmd", out, sizeof(out)), CH_ERANGE);
}

static void test_datadir(void **state)
{
	fixture_t *f = *state;
	char out[CH_CTL_PATH_MAX], want[CH_CTL_PATH_MAX], cwd[CH_CTL_PATH_MAX];
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	assert_int_equal(setenv("HOME", "/nonexistent-home//", 1), 0);
	assert_int_equal(ch_ctl_datadir(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "/nonexistent-home/.chorus");
	assert_int_equal(ch_ctl_datadir("", out, sizeof(out)), 0);
	assert_string_equal(out, "/nonexistent-home/.chorus");
	assert_int_equal(ch_ctl_datadir("~/n1/", out, sizeof(out)), 0);
	assert_string_equal(out, "/nonexistent-home/n1");
	assert_int_equal(ch_ctl_datadir("/abs/x//", out, sizeof(out)), 0);
	assert_string_equal(out, "/abs/x");
	assert_int_equal(ch_ctl_datadir("/abs/x", out, 6), CH_ERANGE);
	assert_int_equal(ch_ctl_datadir("/abs/x", out, 7), 0);

	/* an existing directory is canonicalised; a relative path joins cwd */
	snprintf(want, sizeof(want), "%s/run/../run/", f->dir);
	assert_int_equal(ch_ctl_datadir(want, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/run", f->dir);
	assert_string_equal(out, want);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(ch_ctl_datadir("run", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(ch_ctl_datadir("nope/", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/nope", f->dir);
	assert_string_equal(out, want);
	assert_int_equal(chdir(cwd), 0);

	assert_int_equal(unsetenv("HOME"), 0);
	assert_int_equal(ch_ctl_datadir(NULL, out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_datadir("~", out, sizeof(out)), CH_EINVAL);
	assert_int_equal(ch_ctl_datadir("/x", NULL, 10), CH_EINVAL);
	if (old_home != NULL)
		assert_int_equal(setenv("HOME", old_home, 1), 0);
	free(old_home);
}

static void test_success(void **state)
{
	fixture_t *f = *state;
	ch_mpw_t w;
	ch_mpr_t r, req;
	server_t s;
	pthread_t th;
	ch_ctl_reply_t rep;
	const msgpack_object *root;
	char buf[32];
	uint64_t pid;
	answer_t script[2];

	ch_mpw_init(&w);
	ch_mpr_init(&r, 0);
	ch_mpr_init(&req, 0);
	pack_reply(&w, true, NULL);
	script[0] = (answer_t){.data = ch_mpw_data(&w), .len = ch_mpw_size(&w)};
	script[1] = script[0];
	server_start(f, &s, &th, script, 2);

	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", &r, 2000), 0);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), 0);
	assert_true(rep.ok);
	assert_non_null(rep.result);
	assert_int_equal(ch_mp_get_strz(rep.result, "service", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "svc");
	assert_int_equal(ch_mp_get_u64(rep.result, "pid", &pid), 0);
	assert_int_equal(pid, 7);

	/* a second call on a fresh socket, with a request built by hand */
	{
		ch_mpw_t q;

		ch_mpw_init(&q);
		ch_mpw_map(&q, 2);
		ch_mpw_kv_str(&q, "cmd", "status");
		ch_mpw_kv_u64(&q, "verbose", 1);
		assert_int_equal(ch_mpw_error(&q), 0);
		assert_int_equal(
		    ch_ctl_call(f->zctx, f->ep, ch_mpw_data(&q), ch_mpw_size(&q), &r, -1), 0);
		ch_mpw_free(&q);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.err, 0);
	assert_int_equal(s.served, 2);
	assert_int_equal(ch_mpr_parse(&req, s.last_req, s.last_len), 0);
	assert_int_equal(ch_mpr_root_map(&req, &root), 0);
	assert_int_equal(ch_mp_get_strz(root, "cmd", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "status");

	ch_mpr_free(&req);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
}

static void test_error_reply(void **state)
{
	fixture_t *f = *state;
	ch_mpw_t w1, w2;
	ch_mpr_t r;
	server_t s;
	pthread_t th;
	ch_ctl_reply_t rep;
	char longmsg[CH_CTL_MESSAGE_MAX * 2];
	answer_t script[3];
	static const unsigned char bare[] = {0x81, 0xa2, 'o', 'k', 0xc2}; /* {"ok":false} */

	ch_mpw_init(&w1);
	ch_mpw_init(&w2);
	ch_mpr_init(&r, 0);
	pack_reply(&w1, false, "unknown command 'foo'\nknown: ping\tstatus");
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	pack_reply(&w2, false, longmsg);
	script[0] = (answer_t){.data = ch_mpw_data(&w1), .len = ch_mpw_size(&w1)};
	script[1] = (answer_t){.data = bare, .len = sizeof(bare)};
	script[2] = (answer_t){.data = ch_mpw_data(&w2), .len = ch_mpw_size(&w2)};
	server_start(f, &s, &th, script, 3);

	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "foo", &r, 2000), 0);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), 0);
	assert_false(rep.ok);
	assert_null(rep.result);
	assert_int_equal(rep.code, CH_EUNKNOWN);
	assert_string_equal(rep.error, "CH_EUNKNOWN");
	assert_string_equal(rep.message, "unknown command 'foo' known: ping status");

	/* an error reply without its fields still gives a printable line */
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "foo", &r, 2000), 0);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), 0);
	assert_false(rep.ok);
	assert_int_equal(rep.code, CH_EPROTO);
	assert_string_equal(rep.error, "CH_EPROTO");
	assert_string_equal(rep.message, ch_strerror(CH_EPROTO));

	/* a long message is cut with "..." */
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "foo", &r, 2000), 0);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), 0);
	assert_int_equal(strlen(rep.message), CH_CTL_MESSAGE_MAX - 1);
	assert_string_equal(rep.message + CH_CTL_MESSAGE_MAX - 4, "...");

	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.err, 0);
	ch_mpr_free(&r);
	ch_mpw_free(&w1);
	ch_mpw_free(&w2);
}

static void test_timeout_no_server(void **state)
{
	fixture_t *f = *state;
	ch_mpr_t r;
	const msgpack_object *root;
	uint64_t t0, ms;

	ch_mpr_init(&r, 0);
	t0 = ch_mono_ns();
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", &r, 200), CH_ETIMEDOUT);
	ms = (ch_mono_ns() - t0) / CH_NS_PER_MS;
	assert_true(ms >= 190);
	assert_true(ms < 3000);
	assert_int_equal(ch_mpr_root(&r, &root), CH_EINVAL);
	ch_mpr_free(&r);
}

static void test_timeout_silent_server(void **state)
{
	fixture_t *f = *state;
	ch_mpw_t w;
	ch_mpr_t r;
	server_t s;
	pthread_t th;
	ch_ctl_reply_t rep;
	answer_t script[2];

	ch_mpw_init(&w);
	ch_mpr_init(&r, 0);
	pack_reply(&w, true, NULL);
	script[0] = (answer_t){.data = ch_mpw_data(&w), .len = ch_mpw_size(&w)};
	script[1] = (answer_t){.silent = true};
	server_start(f, &s, &th, script, 2);

	/* a good call leaves a parse behind; the timed-out one drops it */
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", &r, 2000), 0);
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", &r, 150), CH_ETIMEDOUT);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), CH_EINVAL);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.served, 2);
	ch_mpr_free(&r);
	ch_mpw_free(&w);
}

static void test_garbage_replies(void **state)
{
	fixture_t *f = *state;
	ch_mpr_t r, small;
	server_t s;
	pthread_t th;
	static const unsigned char reserved[] = {0xc1};
	static const unsigned char array[] = {0x91, 0xc3};                  /* [true] */
	static const unsigned char no_ok[] = {0x81, 0xa1, 'x', 0xc3};       /* {"x":true} */
	static const unsigned char int_ok[] = {0x81, 0xa2, 'o', 'k', 0x01}; /* {"ok":1} */
	static const unsigned char int_key[] = {0x82, 0x01, 0xc3, 0xa2, 'o', 'k', 0xc3};
	static const unsigned char trailing[] = {0x81, 0xa2, 'o', 'k', 0xc3, 0xc0};
	static const unsigned char good[] = {0x81, 0xa2, 'o', 'k', 0xc3}; /* {"ok":true} */
	static const unsigned char big[64] = {0xc4, 62};                  /* bin 62 */
	const answer_t script[] = {
	    {.data = reserved, .len = sizeof(reserved)},
	    {.data = array, .len = sizeof(array)},
	    {.data = no_ok, .len = sizeof(no_ok)},
	    {.data = int_ok, .len = sizeof(int_ok)},
	    {.data = int_key, .len = sizeof(int_key)},
	    {.data = trailing, .len = sizeof(trailing)},
	    {.data = "", .len = 0},
	    {.data = good, .len = sizeof(good), .extra_frame = true},
	    {.data = big, .len = sizeof(big)},
	    {.data = good, .len = sizeof(good)},
	};
	static const int want[] = {CH_EPROTO, CH_EPROTO, CH_EPROTO, CH_EPROTO, CH_EPROTO,
	                           CH_EPROTO, CH_EPROTO, CH_EPROTO, CH_ERANGE, 0};
	ch_ctl_reply_t rep;

	ch_mpr_init(&r, 0);
	ch_mpr_init(&small, 32);
	server_start(f, &s, &th, script, sizeof(script) / sizeof(script[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ch_mpr_t *rd = script[i].data == big ? &small : &r;
		int rc = ch_ctl_simple(f->zctx, f->ep, "ping", rd, 2000);

		if (rc != want[i])
			fail_msg("answer %zu: got %d (%s), want %d", i, rc, ch_errname(rc),
			         want[i]);
	}
	/* the last, well-formed reply has no result */
	assert_int_equal(ch_ctl_reply_get(&r, &rep), 0);
	assert_true(rep.ok);
	assert_null(rep.result);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.err, 0);
	ch_mpr_free(&r);
	ch_mpr_free(&small);
}

static void test_bad_args(void **state)
{
	fixture_t *f = *state;
	ch_mpr_t r;
	ch_ctl_reply_t rep;
	void *dead;

	ch_mpr_init(&r, 0);
	assert_int_equal(ch_ctl_simple(NULL, f->ep, "ping", &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, NULL, "ping", &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, NULL, &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "", &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", NULL, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, f->ep, "ping", &r, 0), CH_EINVAL);
	assert_int_equal(ch_ctl_call(f->zctx, f->ep, "\x80", 0, &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, "bogus://x", "ping", &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_simple(f->zctx, "no endpoint", "ping", &r, 100), CH_EINVAL);
	assert_int_equal(ch_ctl_reply_get(NULL, &rep), CH_EINVAL);
	assert_int_equal(ch_ctl_reply_get(&r, NULL), CH_EINVAL);
	assert_int_equal(ch_ctl_reply_get(&r, &rep), CH_EINVAL);

	/* a context being terminated: the other end is gone */
	dead = zmq_ctx_new();
	assert_non_null(dead);
	assert_int_equal(zmq_ctx_shutdown(dead), 0);
	assert_int_equal(ch_ctl_simple(dead, f->ep, "ping", &r, 100), CH_ECLOSED);
	assert_int_equal(zmq_ctx_term(dead), 0);
	ch_mpr_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_endpoint),
	    cmocka_unit_test_setup_teardown(test_datadir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_success, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_no_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout_silent_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_replies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
