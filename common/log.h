/* log.h: one-line log events to stderr or a file.
 *
 * Line format (UTC wall time with milliseconds, level padded to 5, service
 * name, pid, message):
 *
 *   2026-11-22T01:35:00.123Z INFO  transport[1234] message text
 *
 * Each line is built in a stack buffer and written with a single write(2), so
 * lines from several processes sharing one file (opened O_APPEND) or one
 * stderr pipe never interleave.  Newlines and carriage returns inside the
 * message become spaces; a line longer than CH_LOG_LINE_MAX bytes (newline
 * included) is cut and ends in "...".  errno is preserved across every call.
 *
 * State: the logger is the one process-global object in Chorus (service name,
 * level, output fd).  Set it up once at start with ch_log_open(), before any
 * thread is started; ch_log() and ch_log_set_level() are then thread-safe.
 * Before ch_log_open() the logger writes to stderr at level INFO under the
 * program's short name. */
#ifndef CH_LOG_H
#define CH_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* Levels, most severe first: a message is written when its level <= the
 * logger's level. */
enum ch_log_level {
	CH_LOG_LEVEL_ERROR = 0,
	CH_LOG_LEVEL_WARN = 1,
	CH_LOG_LEVEL_INFO = 2,
	CH_LOG_LEVEL_DEBUG = 3,
};

/* Longest line written, the trailing newline included. */
#define CH_LOG_LINE_MAX 1024
/* Longest service name kept; longer names are cut. */
#define CH_LOG_SERVICE_MAX 31

/* ch_log_open: sets the service name shown in each line, the level, and the
 * output: path NULL means stderr, otherwise the file is opened for appending
 * (created with mode 0640, O_CLOEXEC).  A file opened earlier is closed.
 * Returns 0; CH_EINVAL if service is NULL or empty or level is not a
 * ch_log_level; CH_EIO if the file cannot be opened (errno says why; the
 * previous output is kept).  Not thread-safe: call once at start, before
 * other threads log. */
int ch_log_open(const char *service, int level, const char *path);

/* ch_log_close: closes a log file opened by ch_log_open and returns to
 * stderr (name and level are kept).  Safe to call twice or without an open
 * file.  Not thread-safe with concurrent ch_log() calls: call at exit. */
void ch_log_close(void);

/* ch_log_set_level: changes the level at run time (e.g. on a control
 * command); values outside the enum are clamped to ERROR..DEBUG.
 * Thread-safe (atomic). */
void ch_log_set_level(int level);

/* ch_log_get_level: the current level.  Thread-safe. */
int ch_log_get_level(void);

/* ch_log_enabled: true if a message at level would be written; lets a
 * caller skip building an expensive message.  Thread-safe. */
bool ch_log_enabled(int level);

/* ch_log_level_parse: parses "error", "warn", "info" or "debug" (any case)
 * into *out.  Returns 0; CH_EINVAL on NULL arguments or any other text
 * (*out unchanged).  Thread-safe. */
int ch_log_level_parse(const char *s, int *out);

/* ch_log_level_name: the lowercase name of a level ("error", "warn", "info",
 * "debug"), the same text ch_log_level_parse accepts; "unknown" for values
 * outside the enum.  Never NULL.  Thread-safe. */
const char *ch_log_level_name(int level);

/* ch_log: formats a message printf-style and writes one line if level is
 * enabled (levels outside the enum are clamped).  Never fails visibly: if the
 * write fails the line is lost.  Thread-safe; async-signal-unsafe. */
void ch_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ch_logv: ch_log with a va_list.  Thread-safe. */
void ch_logv(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* ch_log_errno: logs a failed system call the way every error message
 * should read: "<message>: <call>: <strerror(errno)> (errno <n>)", using the
 * errno value at entry, e.g.
 *   ch_log_errno(CH_LOG_LEVEL_ERROR, "bind", "cannot listen on %s", addr);
 *   -> "cannot listen on 0.0.0.0:7433: bind: Address in use (errno 98)".
 * fmt may be NULL for no message ("bind: ... (errno 98)").  Thread-safe. */
void ch_log_errno(int level, const char *call, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CH_LOG_ERROR(...) ch_log(CH_LOG_LEVEL_ERROR, __VA_ARGS__)
#define CH_LOG_WARN(...)  ch_log(CH_LOG_LEVEL_WARN, __VA_ARGS__)
#define CH_LOG_INFO(...)  ch_log(CH_LOG_LEVEL_INFO, __VA_ARGS__)
#define CH_LOG_DEBUG(...) ch_log(CH_LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
