/* chorusctl.c: the command-line client of a running Chorus node.
 *
 *   chorusctl [--datadir DIR] [--json] [--timeout MS] COMMAND [ARGS]
 *
 * Sends one request to the process that owns COMMAND (docs/control.md)
 * and prints the result.  Exit status: 0 success; 1 an error reply (its
 * message on stderr as one line); 2 no answer; 64 a usage error.  The
 * global flags may also follow the command (`chorusctl status --json`);
 * an argument "--" ends their scan.  `chorusctl shell` runs commands from
 * stdin, one per line.  The command table is in commands.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "chorusctl.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "mpjson.h"

/* The global flags (a schema for config.h). */
static const ch_cfg_opt_t opts[] = {
    {.key = "datadir",
     .type = CH_CFG_STR,
     .help = "the node's data directory (default ~/.chorus)",
     CH_CFG_AT(ctl_settings_t, datadir)},
    {.key = "json",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE,
     .help = "print the result (or the error) as one JSON line",
     CH_CFG_AT(ctl_settings_t, json)},
    {.key = "timeout",
     .type = CH_CFG_INT,
     .def = "3000",
     .min = 1,
     .max = 3600000,
     .help = "milliseconds to wait for an answer",
     CH_CFG_AT(ctl_settings_t, timeout_ms)},
    {.key = "help",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print this help (after a command: that command's usage)",
     CH_CFG_AT(ctl_settings_t, help)},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))
/* Most words on one shell line. */
#define SHELL_MAX_WORDS 64

/* Prints the full usage for --help. */
static void usage(FILE *out)
{
	fprintf(out, "usage: chorusctl [--datadir DIR] [--json] [--timeout MS] COMMAND [ARGS]\n\n"
	             "Sends one command to a running Chorus node and prints the result.\n\n"
	             "commands:\n");
	ctl_list_commands(out);
	fprintf(out, "\noptions:\n");
	ch_cfg_usage(opts, NOPTS, out);
	fprintf(out, "\nexit status: 0 success, 1 error reply, 2 no answer from the node, "
	             "64 usage error\n");
}

/* Reports a failure that is not an error reply: one line on stderr and,
 * with --json, the same as an error object on stdout, so scripts reading
 * stdout always get one JSON line. */
static int report(const ctl_ctx_t *cx, int status, int code, const char *msg)
{
	fprintf(stderr, "chorusctl: %s\n", msg);
	if (cx->set.json) {
		size_t cap = strlen(msg) * 6 + 3;
		char *q = malloc(cap);

		if (q != NULL && ch_json_quote(msg, strlen(msg), q, cap) == 0)
			printf("{\"ok\":false,\"code\":%d,\"error\":\"%s\",\"message\":%s}\n", code,
			       ch_errname(code), q);
		free(q);
	}
	return status;
}

/* Prints a usage error for command c (or the whole tool) and its synopsis. */
static int usage_error(const ctl_ctx_t *cx, const ctl_cmd_t *c, const char *why)
{
	char msg[512];

	if (c != NULL)
		snprintf(msg, sizeof(msg), "%s: %s (usage: chorusctl %s%s%s)", c->name, why,
		         c->name, c->args != NULL && c->args[0] != '\0' ? " " : "",
		         c->args != NULL ? c->args : "");
	else
		snprintf(msg, sizeof(msg), "%s (try 'chorusctl --help')", why);
	return report(cx, CTL_EXIT_USAGE, CH_EINVAL, msg);
}

int ctl_send(ctl_ctx_t *cx, const ctl_cmd_t *c, ctl_req_t *req)
{
	char ep[CH_CTL_ENDPOINT_MAX], msg[512];
	ch_mpr_t reply;
	ch_ctl_reply_t rep;
	ctl_done_t done = {.target = req->target, .endpoint = ep};
	struct stat st;
	uint64_t t0;
	int rc, status;

	rc = ch_ctl_endpoint(cx->datadir, req->target, "cmd", ep, sizeof(ep));
	if (rc == CH_ERANGE) {
		snprintf(msg, sizeof(msg),
		         "datadir %s is too long for a unix socket path (keep it under about 90 "
		         "bytes)",
		         cx->datadir);
		return report(cx, CTL_EXIT_USAGE, rc, msg);
	}
	if (rc == 0)
		rc = ch_mpw_error(&req->w);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "%s: cannot build the request: %s", c->name,
		         ch_strerror(rc));
		return report(cx, CTL_EXIT_ERROR, rc, msg);
	}
	snprintf(msg, sizeof(msg), "no answer from %s at %s (is the node running?)", req->target,
	         ep);
	/* no socket file: nothing to wait for */
	if (stat(ep + strlen("ipc://"), &st) != 0 && errno == ENOENT)
		return report(cx, CTL_EXIT_NOANSWER, CH_ETIMEDOUT, msg);

	ch_mpr_init(&reply, 0);
	t0 = ch_mono_ns();
	rc = ch_ctl_call(cx->zctx, ep, ch_mpw_data(&req->w), ch_mpw_size(&req->w), &reply,
	                 (int)cx->set.timeout_ms);
	done.rtt_ms = (double)(ch_mono_ns() - t0) / 1e6;
	if (rc == 0)
		rc = ch_ctl_reply_get(&reply, &rep);
	switch (rc) {
	case 0:
		break;
	case CH_ETIMEDOUT:
	case CH_ECLOSED:
		status = report(cx, CTL_EXIT_NOANSWER, rc, msg);
		goto out;
	case CH_EIO:
		snprintf(msg, sizeof(msg), "cannot reach %s at %s: %s", req->target, ep,
		         strerror(errno));
		status = report(cx, CTL_EXIT_NOANSWER, rc, msg);
		goto out;
	case CH_EPROTO:
	case CH_ERANGE:
		snprintf(msg, sizeof(msg), "%s: malformed reply from %s: %s", c->name, req->target,
		         ch_strerror(rc));
		status = report(cx, CTL_EXIT_ERROR, rc, msg);
		goto out;
	default:
		snprintf(msg, sizeof(msg), "%s: %s", c->name, ch_strerror(rc));
		status = report(cx, CTL_EXIT_ERROR, rc, msg);
		goto out;
	}

	if (!rep.ok) {
		const msgpack_object *root;

		/* --json: the whole error reply on stdout; always one line on stderr */
		if (cx->set.json && ch_mpr_root(&reply, &root) == 0)
			ctl_print_json(stdout, root);
		fprintf(stderr, "chorusctl: %s: %s\n", c->name, rep.message);
		status = CTL_EXIT_ERROR;
	} else if (cx->set.json) {
		msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};

		rc = ctl_print_json(stdout, rep.result != NULL ? rep.result : &nil);
		status = rc == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
		if (rc != 0)
			fprintf(stderr, "chorusctl: %s: cannot print the result: %s\n", c->name,
			        ch_strerror(rc));
	} else {
		(c->print != NULL ? c->print : ctl_print_generic)(stdout, rep.result, &done);
		status = CTL_EXIT_OK;
	}
out:
	ch_mpr_free(&reply);
	return status;
}

/* True if arg names a global flag; *needs_value says whether its value is
 * the next argument ("--timeout 500" rather than "--timeout=500"). */
static bool is_global_flag(const char *arg, bool *needs_value)
{
	size_t len;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	arg += 2;
	len = strcspn(arg, "=");
	for (size_t i = 0; i < NOPTS; i++) {
		if (strlen(opts[i].key) == len && strncmp(arg, opts[i].key, len) == 0) {
			*needs_value = arg[len] == '\0' && !(opts[i].flags & CH_CFG_NOVALUE);
			return true;
		}
	}
	return false;
}

/* Applies global flags found among a command's words (before any "--")
 * and removes them, so `status --json` works like `--json status`, in the
 * shell as on the command line.  Each flag goes through the same config.h
 * parser as the leading ones.  Returns 0 or CH_EINVAL with err set. */
static int take_global_flags(ctl_settings_t *set, int *argc, char **argv, char *err, size_t errcap)
{
	int out = 0, i;

	for (i = 0; i < *argc; i++) {
		char *mini[3] = {"chorusctl", argv[i], NULL};
		bool needs_value = false;
		int n = 2, rc;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0) {
			set->help = true;
			continue;
		}
		if (!is_global_flag(argv[i], &needs_value)) {
			argv[out++] = argv[i];
			continue;
		}
		if (needs_value && i + 1 < *argc)
			mini[n++] = argv[++i];
		rc = ch_cfg_parse_args(opts, NOPTS, set, n, mini, NULL, err, errcap);
		if (rc != 0)
			return rc;
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	*argc = out;
	return 0;
}

/* Runs one command line (argv holds COMMAND [ARGS], possibly with global
 * flags) with a private copy of the settings, so a flag on one shell line
 * does not stick to the next.  Returns the exit status. */
static int ctl_run(const ctl_ctx_t *parent, int argc, char **argv)
{
	ctl_ctx_t *cx = malloc(sizeof(*cx));
	const ctl_cmd_t *c;
	ctl_req_t req = {0};
	char err[512];
	int words, rc, status;

	if (cx == NULL) {
		fprintf(stderr, "chorusctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	*cx = *parent;
	if (take_global_flags(&cx->set, &argc, argv, err, sizeof(err)) != 0) {
		status = usage_error(cx, NULL, err);
		goto out;
	}
	c = ctl_cmd_find(argc, argv, &words);
	if (c == NULL) {
		if (argc == 0 && cx->set.help) {
			usage(stdout);
			status = CTL_EXIT_OK;
			goto out;
		}
		if (argc == 0) {
			status = usage_error(cx, NULL, "no command given");
			goto out;
		}
		snprintf(err, sizeof(err), "unknown command '%s'; known commands:", argv[0]);
		status = report(cx, CTL_EXIT_USAGE, CH_EUNKNOWN, err);
		ctl_list_commands(stderr);
		goto out;
	}
	if (cx->set.help) {
		printf("usage: chorusctl %s%s%s\n  %s\n", c->name,
		       c->args != NULL && c->args[0] != '\0' ? " " : "",
		       c->args != NULL ? c->args : "", c->help);
		status = CTL_EXIT_OK;
		goto out;
	}
	rc = ch_ctl_datadir(cx->set.datadir[0] != '\0' ? cx->set.datadir : NULL, cx->datadir,
	                    sizeof(cx->datadir));
	if (rc == CH_EINVAL) {
		status = usage_error(cx, NULL, "no --datadir given and $HOME is not set");
		goto out;
	}
	if (rc != 0) {
		snprintf(err, sizeof(err), "datadir %s: %s", cx->set.datadir,
		         rc == CH_EIO ? strerror(errno) : "path too long");
		status = usage_error(cx, NULL, err);
		goto out;
	}
	argc -= words;
	argv += words;
	if (c->local != NULL) {
		status = c->local(cx, c, argc, argv);
		goto out;
	}
	ch_mpw_init(&req.w);
	snprintf(req.target, sizeof(req.target), "%s", c->target);
	if (c->build != NULL) {
		rc = c->build(c, argc, argv, &req);
	} else if (argc > 0) {
		snprintf(req.err, sizeof(req.err), "unexpected argument '%s'", argv[0]);
		rc = CH_EINVAL;
	} else {
		rc = ctl_req_begin(&req, c, 0);
	}
	if (rc == CH_EINVAL && req.err[0] != '\0')
		status = usage_error(cx, c, req.err);
	else
		status = ctl_send(cx, c, &req); /* reports a writer error itself */
	ch_mpw_free(&req.w);
out:
	free(cx);
	fflush(stdout);
	return status;
}

/* Splits a shell line into words in place: blanks separate words, '...'
 * is literal, "..." allows \" and \\, a backslash outside quotes escapes
 * the next character, '#' at the start of a word starts a comment.
 * Returns the word count, or -1 with *why set. */
static int split_words(char *line, char **words, int max, const char **why)
{
	char *src = line, *dst = line;
	int n = 0;

	for (;;) {
		while (*src == ' ' || *src == '\t' || *src == '\n' || *src == '\r')
			src++;
		if (*src == '\0' || *src == '#')
			return n;
		if (n == max) {
			*why = "too many words";
			return -1;
		}
		words[n++] = dst;
		while (*src != '\0' && *src != ' ' && *src != '\t' && *src != '\n' &&
		       *src != '\r') {
			char q = *src;

			if (q == '\'' || q == '"') {
				src++;
				while (*src != '\0' && *src != q) {
					if (q == '"' && *src == '\\' &&
					    (src[1] == '"' || src[1] == '\\'))
						src++;
					*dst++ = *src++;
				}
				if (*src != q) {
					*why = "unterminated quote";
					return -1;
				}
				src++;
			} else if (q == '\\' && src[1] != '\0') {
				src++;
				*dst++ = *src++;
			} else {
				*dst++ = *src++;
			}
		}
		if (*src != '\0')
			src++;
		*dst++ = '\0';
	}
}

int ctl_shell(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv)
{
	bool tty = isatty(STDIN_FILENO) == 1;
	char *line = NULL;
	size_t cap = 0;
	int status = CTL_EXIT_OK;

	if (argc > 0)
		return usage_error(cx, c, "takes no arguments");
	if (cx->in_shell)
		return usage_error(cx, c, "already in the shell");
	cx->in_shell = true;
	for (;;) {
		char *words[SHELL_MAX_WORDS];
		const char *why = NULL;
		int n;

		if (tty) {
			fputs("chorus> ", stdout);
			fflush(stdout);
		}
		errno = 0;
		if (getline(&line, &cap, stdin) < 0) {
			if (errno != 0) {
				fprintf(stderr, "chorusctl: shell: reading stdin: %s\n",
				        strerror(errno));
				status = CTL_EXIT_ERROR;
			}
			if (tty)
				fputs("\n", stdout);
			break;
		}
		n = split_words(line, words, SHELL_MAX_WORDS, &why);
		if (n < 0) {
			fprintf(stderr, "chorusctl: shell: %s\n", why);
			status = CTL_EXIT_USAGE;
			continue;
		}
		if (n == 0)
			continue;
		if (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0)
			break;
		status = ctl_run(cx, n, words);
	}
	free(line);
	cx->in_shell = false;
	return status;
}

int main(int argc, char **argv)
{
	ctl_ctx_t *cx = calloc(1, sizeof(*cx));
	char err[512];
	int argi = argc, status;

	if (cx == NULL) {
		fprintf(stderr, "chorusctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	if (ch_cfg_defaults(opts, NOPTS, &cx->set, err, sizeof(err)) != 0) {
		fprintf(stderr, "chorusctl: %s\n", err);
		free(cx);
		return CTL_EXIT_ERROR;
	}
	if (ch_cfg_parse_args(opts, NOPTS, &cx->set, argc, argv, &argi, err, sizeof(err)) != 0) {
		status = usage_error(cx, NULL, err);
		free(cx);
		return status;
	}
	if (cx->set.help && argi == argc) {
		usage(stdout);
		free(cx);
		return CTL_EXIT_OK;
	}
	cx->zctx = zmq_ctx_new();
	if (cx->zctx == NULL) {
		fprintf(stderr, "chorusctl: zmq_ctx_new: %s\n", strerror(errno));
		free(cx);
		return CTL_EXIT_ERROR;
	}
	status = ctl_run(cx, argc - argi, argv + argi);
	if (zmq_ctx_term(cx->zctx) != 0)
		fprintf(stderr, "chorusctl: zmq_ctx_term: %s\n", strerror(errno));
	free(cx);
	return status;
}
