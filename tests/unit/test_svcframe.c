/* test_svcframe.c: the pieces of the service frame that keep its loop from
 * waiting, over real ZeroMQ sockets on ipc: deferred replies on the ROUTER
 * command socket (ctlsock.h) to REQ clients, asynchronous calls from DEALER
 * sockets (svccall.h) matched by id whatever order replies come in, their
 * timeouts, late replies, cancels and errors, and the loop's timers
 * (svctimer.h).  The loop is pumped in this thread; waits are for
 * conditions (bounded by an iteration cap), never for a time. */
#include <limits.h>
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
#include "ctlsock.h"
#include "err.h"
#include "mp.h"
#include "svccall.h"
#include "svctimer.h"

/* ---------------------------------------------------------------- timers */

typedef struct tlog {
	uint32_t ids[32];
	int n;
	ch_timers_t *ts;
	uint32_t cancel_me; /* a callback that cancels this id */
} tlog_t;

static void on_timer(void *ctx, void *arg, uint32_t id)
{
	tlog_t *l = ctx;
	(void)arg;
	if (l->n < 32)
		l->ids[l->n++] = id;
	if (l->cancel_me == id)
		assert_int_equal(ch_timers_cancel(l->ts, id), 0);
}

static void test_timers(void **state)
{
	(void)state;
	ch_timers_t ts;
	tlog_t l = {.ts = &ts};
	uint32_t a, b, c;
	ch_timers_init(&ts);
	assert_int_equal(ch_timers_next(&ts), 0);
	assert_int_equal(ch_timers_add(&ts, 100, 0, on_timer, NULL, &a), 0);
	assert_int_equal(ch_timers_add(&ts, 50, 30, on_timer, NULL, &b), 0);
	assert_int_equal(ch_timers_add(&ts, 200, 0, on_timer, NULL, &c), 0);
	assert_int_equal(ch_timers_next(&ts), 50);
	/* nothing is due before its time */
	assert_int_equal(ch_timers_run(&ts, 49, &l), 0);
	assert_int_equal(ch_timers_run(&ts, 50, &l), 1);
	assert_int_equal(l.ids[0], b);
	assert_int_equal(ch_timers_next(&ts), 80); /* periodic: re-armed */
	/* a late loop skips missed periods instead of firing them all */
	assert_int_equal(ch_timers_run(&ts, 150, &l), 2);
	assert_int_equal(ch_timers_next(&ts), 180);
	/* the one-shot is gone: cancelling it again is harmless */
	assert_int_equal(ch_timers_cancel(&ts, a), CH_ENOENT);
	/* its slot is reused with a new generation: the old id stays dead */
	uint32_t d;
	assert_int_equal(ch_timers_add(&ts, 1000, 0, on_timer, NULL, &d), 0);
	assert_int_not_equal(d, a);
	assert_int_equal(ch_timers_cancel(&ts, a), CH_ENOENT);
	assert_int_equal(ch_timers_set(&ts, a, 5), CH_ENOENT);
	/* move, cancel */
	assert_int_equal(ch_timers_set(&ts, c, 170), 0);
	assert_int_equal(ch_timers_next(&ts), 170);
	assert_int_equal(ch_timers_cancel(&ts, d), 0);
	/* a periodic timer that cancels itself from its callback */
	l.cancel_me = b;
	l.n = 0;
	assert_int_equal(ch_timers_run(&ts, 180, &l), 2);
	assert_int_equal(ts.n, 0);
	assert_int_equal(ch_timers_next(&ts), 0);
	/* the table is bounded */
	for (int i = 0; i < CH_TIMERS_MAX; i++)
		assert_int_equal(ch_timers_add(&ts, 1, 0, on_timer, NULL, &a), 0);
	assert_int_equal(ch_timers_add(&ts, 1, 0, on_timer, NULL, &a), CH_ENOMEM);
	assert_int_equal(ch_timers_add(&ts, 1, 0, NULL, NULL, &a), CH_EINVAL);
}

/* ---------------------------------------------------------------- server */

/* The server side: a ctlsock in a private datadir whose "slow" command
 * defers its reply, "fail" answers an error, "now" answers at once, and
 * "self" defers and answers inside the handler. */
typedef struct fx {
	char dir[64];
	ch_ctlsock_t s;
	char ep[CH_CTL_ENDPOINT_MAX];
	ch_ctlsock_pending_t *held[8];
	int nheld;
	int dispatched;
} fx_t;

static int dispatch(void *arg, const char *cmd, const msgpack_object *req, ch_mpw_t *out, char *err,
                    size_t errcap)
{
	fx_t *f = arg;
	uint64_t n = 0;
	f->dispatched++;
	ch_mp_get_u64(req, "n", &n);
	if (strcmp(cmd, "slow") == 0) {
		ch_ctlsock_pending_t *p = ch_ctlsock_defer(&f->s);
		assert_non_null(p);
		f->held[f->nheld++] = p;
		return CH_EINVAL; /* ignored: the reply was taken */
	}
	if (strcmp(cmd, "self") == 0) {
		ch_ctlsock_pending_t *p = ch_ctlsock_defer(&f->s);
		ch_mpw_t w;
		ch_mpw_init(&w);
		ch_mpw_map(&w, 1);
		ch_mpw_kv_u64(&w, "n", n);
		ch_ctlsock_answer(&f->s, p, 0, &w, NULL);
		ch_mpw_free(&w);
		return 0;
	}
	if (strcmp(cmd, "fail") == 0) {
		snprintf(err, errcap, "refused %llu", (unsigned long long)n);
		return CH_EPERM;
	}
	ch_mpw_map(out, 1);
	ch_mpw_kv_u64(out, "n", n);
	return 0;
}

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	char run[96], err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/chframe.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(run, sizeof(run), "%s/run", f->dir);
	mkdir(run, 0700);
	if (ch_ctlsock_open(&f->s, f->dir, "srv", err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	ch_ctl_endpoint(f->dir, "srv", "cmd", f->ep, sizeof(f->ep));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char run[96];
	ch_ctlsock_close(&f->s);
	snprintf(run, sizeof(run), "%s/run", f->dir);
	rmdir(run);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* request: {"cmd": cmd, "n": n} into w. */
static void request(ch_mpw_t *w, const char *cmd, uint64_t n)
{
	ch_mpw_init(w);
	ch_mpw_map(w, 2);
	ch_mpw_kv_str(w, "cmd", cmd);
	ch_mpw_kv_u64(w, "n", n);
}

/* req_client: a REQ socket (as chorusctl uses) that sent one request. */
static void *req_client(fx_t *f, const char *cmd, uint64_t n)
{
	void *q = zmq_socket(f->s.zctx, ZMQ_REQ);
	int linger = 0;
	ch_mpw_t w;
	assert_non_null(q);
	zmq_setsockopt(q, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_connect(q, f->ep), 0);
	request(&w, cmd, n);
	assert_true(zmq_send(q, ch_mpw_data(&w), ch_mpw_size(&w), 0) >= 0);
	ch_mpw_free(&w);
	return q;
}

/* pump: serves the ctlsock (and the caller's replies) until done(arg) or
 * an iteration cap; returns whether done became true. */
static bool pump(fx_t *f, ch_caller_t *c, bool (*done)(void *), void *arg)
{
	for (int i = 0; i < 500 && !done(arg); i++) {
		zmq_pollitem_t it[1 + CH_CALL_ENDPOINTS];
		size_t n = 0;
		it[n++] = (zmq_pollitem_t){.socket = f->s.cmd, .events = ZMQ_POLLIN};
		n += ch_caller_pollitems(c, it + n, CH_CALL_ENDPOINTS);
		zmq_poll(it, (int)n, 20);
		ch_ctlsock_serve(&f->s, dispatch, f);
		ch_caller_recv(c);
	}
	return done(arg);
}

/* has_reply: a REQ client's reply is waiting. */
static bool has_reply(void *q)
{
	zmq_pollitem_t it = {.socket = q, .events = ZMQ_POLLIN};
	return zmq_poll(&it, 1, 0) == 1;
}

/* read_reply: the reply on q taken apart (reader owned by the caller). */
static void read_reply(void *q, ch_mpr_t *rd, ch_ctl_reply_t *r)
{
	char buf[4096];
	int n = zmq_recv(q, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(ch_mpr_parse(rd, buf, (size_t)n), 0);
	assert_int_equal(ch_ctl_reply_get(rd, r), 0);
}

static bool held_one(void *arg)
{
	return ((fx_t *)arg)->nheld >= 1;
}

static bool held_two(void *arg)
{
	return ((fx_t *)arg)->nheld >= 2;
}

/* A slow request is held while a later one from another client is
 * answered; then the held ones are answered, out of order. */
static void test_deferred(void **state)
{
	fx_t *f = *state;
	ch_mpr_t rd;
	ch_ctl_reply_t r;
	uint64_t n;
	ch_mpr_init(&rd, 0);
	void *slow1 = req_client(f, "slow", 1);
	void *slow2 = req_client(f, "slow", 2);
	assert_true(pump(f, NULL, held_two, f));
	assert_int_equal(f->s.npending, 2);
	void *fast = req_client(f, "now", 3);
	assert_true(pump(f, NULL, has_reply, fast));
	read_reply(fast, &rd, &r);
	assert_true(r.ok);
	assert_int_equal(ch_mp_get_u64(r.result, "n", &n), 0);
	assert_int_equal(n, 3);
	/* the slow ones are still unanswered */
	assert_false(has_reply(slow1));
	assert_false(has_reply(slow2));
	/* answer the second first: each reply reaches its own client */
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_u64(&w, "n", 22);
	ch_ctlsock_answer(&f->s, f->held[1], 0, &w, NULL);
	ch_mpw_free(&w);
	assert_true(pump(f, NULL, has_reply, slow2));
	read_reply(slow2, &rd, &r);
	assert_true(r.ok);
	assert_int_equal(ch_mp_get_u64(r.result, "n", &n), 0);
	assert_int_equal(n, 22);
	assert_false(has_reply(slow1));
	ch_ctlsock_answer(&f->s, f->held[0], CH_ETIMEDOUT, NULL, "too slow");
	assert_true(pump(f, NULL, has_reply, slow1));
	read_reply(slow1, &rd, &r);
	assert_false(r.ok);
	assert_int_equal(r.code, CH_ETIMEDOUT);
	assert_string_equal(r.message, "too slow");
	assert_int_equal(f->s.npending, 0);
	/* a handler that defers and answers at once sends one reply only */
	void *self = req_client(f, "self", 7);
	assert_true(pump(f, NULL, has_reply, self));
	read_reply(self, &rd, &r);
	assert_true(r.ok);
	assert_int_equal(ch_mp_get_u64(r.result, "n", &n), 0);
	assert_int_equal(n, 7);
	void *again = req_client(f, "now", 8); /* the REQ socket is not wedged */
	assert_true(pump(f, NULL, has_reply, again));
	read_reply(again, &rd, &r);
	assert_true(r.ok);
	assert_false(has_reply(self));
	zmq_close(slow1);
	zmq_close(slow2);
	zmq_close(fast);
	zmq_close(self);
	zmq_close(again);
	ch_mpr_free(&rd);
}

/* ---------------------------------------------------------------- calls */

typedef struct outcome {
	int calls;
	int rc;
	uint64_t n;
	char msg[128];
	int order[8];
	int norder;
} outcome_t;

typedef struct cb_arg {
	outcome_t *o;
	int tag;
} cb_arg_t;

static void on_reply(void *arg, int rc, const msgpack_object *result, const char *message)
{
	cb_arg_t *a = arg;
	outcome_t *o = a->o;
	o->calls++;
	o->rc = rc;
	o->n = 0;
	if (rc == 0 && result)
		ch_mp_get_u64(result, "n", &o->n);
	snprintf(o->msg, sizeof(o->msg), "%s", message ? message : "");
	if (o->norder < 8)
		o->order[o->norder++] = a->tag;
}

static bool calls_at_least(void *arg)
{
	outcome_t *o = ((void **)arg)[0];
	return o->calls >= *(int *)((void **)arg)[1];
}

static void call(ch_caller_t *c, fx_t *f, const char *cmd, uint64_t n, uint64_t deadline,
                 cb_arg_t *a, uint64_t *id)
{
	ch_mpw_t w;
	request(&w, cmd, n);
	assert_int_equal(
	    ch_caller_call(c, f->ep, ch_mpw_data(&w), ch_mpw_size(&w), deadline, on_reply, a, id),
	    0);
	ch_mpw_free(&w);
}

/* Calls in flight together: a held one, then a quick one whose reply
 * comes first; each reply reaches its own callback. */
static void test_calls(void **state)
{
	fx_t *f = *state;
	ch_caller_t *c = ch_caller_new(f->s.zctx);
	outcome_t o = {0};
	cb_arg_t a1 = {&o, 1}, a2 = {&o, 2}, a3 = {&o, 3};
	uint64_t far = ch_mono_ns() + 3600ull * 1000000000ull;
	int want = 1;
	void *cond[2] = {&o, &want};
	assert_non_null(c);
	call(c, f, "slow", 1, far, &a1, NULL);
	call(c, f, "now", 2, far, &a2, NULL);
	assert_int_equal(ch_caller_inflight(c), 2);
	assert_true(pump(f, c, calls_at_least, cond));
	assert_int_equal(o.order[0], 2);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.n, 2);
	assert_int_equal(f->nheld, 1);
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 1);
	ch_mpw_kv_u64(&w, "n", 11);
	ch_ctlsock_answer(&f->s, f->held[0], 0, &w, NULL);
	ch_mpw_free(&w);
	want = 2;
	assert_true(pump(f, c, calls_at_least, cond));
	assert_int_equal(o.order[1], 1);
	assert_int_equal(o.n, 11);
	/* an error reply carries the server's code and message */
	call(c, f, "fail", 5, far, &a3, NULL);
	want = 3;
	assert_true(pump(f, c, calls_at_least, cond));
	assert_int_equal(o.rc, CH_EPERM);
	assert_string_equal(o.msg, "refused 5");
	assert_int_equal(ch_caller_inflight(c), 0);
	assert_int_equal(ch_caller_next(c), 0);

	/* a held call times out; its reply, when it comes, is dropped */
	uint64_t soon = ch_mono_ns() + 1000000000ull;
	call(c, f, "slow", 6, soon, &a1, NULL);
	assert_int_equal(ch_caller_next(c), soon);
	f->nheld = 0;
	want = 1;
	assert_true(pump(f, c, held_one, f));
	assert_int_equal(ch_caller_expire(c, soon - 1), 0);
	assert_int_equal(ch_caller_expire(c, soon), 1);
	assert_int_equal(o.calls, 4);
	assert_int_equal(o.rc, CH_ETIMEDOUT);
	ch_ctlsock_answer(&f->s, f->held[0], 0, NULL, NULL);
	for (int i = 0; i < 500 && ch_caller_late(c) == 0; i++) {
		zmq_pollitem_t it[CH_CALL_ENDPOINTS];
		zmq_poll(it, (int)ch_caller_pollitems(c, it, CH_CALL_ENDPOINTS), 20);
		ch_caller_recv(c);
	}
	assert_int_equal(ch_caller_late(c), 1);
	assert_int_equal(o.calls, 4);

	/* a cancelled call never calls back */
	uint64_t id;
	call(c, f, "now", 9, far, &a2, &id);
	assert_int_equal(ch_caller_cancel(c, id), 0);
	assert_int_equal(ch_caller_cancel(c, id), CH_ENOENT);
	for (int i = 0; i < 500 && ch_caller_late(c) == 1; i++) {
		zmq_pollitem_t it[1 + CH_CALL_ENDPOINTS];
		it[0] = (zmq_pollitem_t){.socket = f->s.cmd, .events = ZMQ_POLLIN};
		zmq_poll(it, 1 + (int)ch_caller_pollitems(c, it + 1, CH_CALL_ENDPOINTS), 20);
		ch_ctlsock_serve(&f->s, dispatch, f);
		ch_caller_recv(c);
	}
	assert_int_equal(ch_caller_late(c), 2);
	assert_int_equal(o.calls, 4);

	/* calls in flight when the caller is freed end with CH_ECLOSED */
	call(c, f, "now", 10, far, &a3, NULL);
	ch_caller_free(&c);
	assert_null(c);
	assert_int_equal(o.calls, 5);
	assert_int_equal(o.rc, CH_ECLOSED);
}

/* A call to an endpoint nobody serves waits for its deadline only. */
static void test_call_nobody(void **state)
{
	fx_t *f = *state;
	ch_caller_t *c = ch_caller_new(f->s.zctx);
	outcome_t o = {0};
	cb_arg_t a = {&o, 1};
	char ep[CH_CTL_ENDPOINT_MAX];
	ch_mpw_t w;
	ch_ctl_endpoint(f->dir, "absent", "cmd", ep, sizeof(ep));
	request(&w, "now", 1);
	assert_int_equal(
	    ch_caller_call(c, ep, ch_mpw_data(&w), ch_mpw_size(&w), 1000, on_reply, &a, NULL), 0);
	assert_int_equal(ch_caller_call(c, ep, ch_mpw_data(&w), 0, 1000, on_reply, &a, NULL),
	                 CH_EINVAL);
	ch_mpw_free(&w);
	assert_int_equal(ch_caller_recv(c), 0);
	assert_int_equal(o.calls, 0);
	assert_int_equal(ch_caller_expire(c, 1000), 1);
	assert_int_equal(o.rc, CH_ETIMEDOUT);
	ch_caller_free(&c);
	assert_int_equal(o.calls, 1);
}

/* bound_dispatch: defers every request; answers CH_EBUSY when it cannot. */
static int bound_dispatch(void *arg, const char *cmd, const msgpack_object *req, ch_mpw_t *out,
                          char *err, size_t errcap)
{
	fx_t *f = arg;
	(void)cmd;
	(void)req;
	(void)out;
	f->dispatched++;
	if (ch_ctlsock_defer(&f->s))
		return 0;
	snprintf(err, errcap, "busy");
	return CH_EBUSY;
}

/* The deferred-reply table is bounded: the request beyond it is answered
 * at once (here CH_EBUSY) over a DEALER client; closing answers the rest. */
static void test_pending_bound(void **state)
{
	fx_t *f = *state;
	void *d = zmq_socket(f->s.zctx, ZMQ_DEALER);
	int linger = 0;
	ch_mpw_t w;
	ch_mpr_t rd;
	ch_ctl_reply_t r;
	zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_connect(d, f->ep), 0);
	request(&w, "x", 0);
	for (int i = 0; i < CH_CTLSOCK_PENDING_MAX + 1; i++) {
		assert_true(zmq_send(d, "", 0, ZMQ_SNDMORE) >= 0);
		assert_true(zmq_send(d, ch_mpw_data(&w), ch_mpw_size(&w), 0) >= 0);
	}
	ch_mpw_free(&w);
	for (int i = 0; i < 2000 && f->dispatched < CH_CTLSOCK_PENDING_MAX + 1; i++) {
		zmq_pollitem_t it = {.socket = f->s.cmd, .events = ZMQ_POLLIN};
		zmq_poll(&it, 1, 20);
		ch_ctlsock_serve(&f->s, bound_dispatch, f);
	}
	assert_int_equal(f->dispatched, CH_CTLSOCK_PENDING_MAX + 1);
	assert_int_equal(f->s.npending, CH_CTLSOCK_PENDING_MAX);
	/* the one refused reply: ["", reply] */
	char buf[512];
	assert_int_equal(zmq_recv(d, buf, sizeof(buf), 0), 0);
	int n = zmq_recv(d, buf, sizeof(buf), 0);
	assert_true(n > 0);
	ch_mpr_init(&rd, 0);
	assert_int_equal(ch_mpr_parse(&rd, buf, (size_t)n), 0);
	assert_int_equal(ch_ctl_reply_get(&rd, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, CH_EBUSY);
	ch_mpr_free(&rd);
	zmq_pollitem_t it = {.socket = d, .events = ZMQ_POLLIN};
	assert_int_equal(zmq_poll(&it, 1, 0), 0);
	zmq_close(d);
	/* teardown's close answers (and frees) the 256 held requests */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers),
	    cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_call_nobody, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
