/* log.c: see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

/* The process-global logger (the one singleton Chorus allows, see log.h).
 * fd and level are atomics so that ch_log and ch_log_set_level may run from
 * any thread; service is written only by ch_log_open, before threads run. */
static struct {
	_Atomic int fd;
	_Atomic int level;
	int own_fd; /* 1 if fd was opened by ch_log_open and must be closed */
	char service[CH_LOG_SERVICE_MAX + 1];
} ch_logger = {
    .fd = STDERR_FILENO,
    .level = CH_LOG_LEVEL_INFO,
    .own_fd = 0,
    .service = "",
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

static int clamp_level(int level)
{
	if (level < CH_LOG_LEVEL_ERROR)
		return CH_LOG_LEVEL_ERROR;
	if (level > CH_LOG_LEVEL_DEBUG)
		return CH_LOG_LEVEL_DEBUG;
	return level;
}

int ch_log_open(const char *service, int level, const char *path)
{
	size_t i;
	int fd = STDERR_FILENO;
	int old;

	if (service == NULL || service[0] == '\0' || level < CH_LOG_LEVEL_ERROR ||
	    level > CH_LOG_LEVEL_DEBUG)
		return CH_EINVAL;
	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return CH_EIO;
	}
	/* Control characters in the name would break the one-line format. */
	for (i = 0; i < CH_LOG_SERVICE_MAX && service[i] != '\0'; i++)
		ch_logger.service[i] = (unsigned char)service[i] < 0x20 ? '_' : service[i];
	ch_logger.service[i] = '\0';
	old = atomic_exchange(&ch_logger.fd, fd);
	if (ch_logger.own_fd && old != fd)
		close(old);
	ch_logger.own_fd = path != NULL;
	atomic_store(&ch_logger.level, level);
	return 0;
}

void ch_log_close(void)
{
	int old = atomic_exchange(&ch_logger.fd, STDERR_FILENO);

	if (ch_logger.own_fd)
		close(old);
	ch_logger.own_fd = 0;
}

void ch_log_set_level(int level)
{
	atomic_store_explicit(&ch_logger.level, clamp_level(level), memory_order_relaxed);
}

int ch_log_get_level(void)
{
	return atomic_load_explicit(&ch_logger.level, memory_order_relaxed);
}

bool ch_log_enabled(int level)
{
	return clamp_level(level) <= ch_log_get_level();
}

int ch_log_level_parse(const char *s, int *out)
{
	if (s == NULL || out == NULL)
		return CH_EINVAL;
	for (int i = 0; i <= CH_LOG_LEVEL_DEBUG; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return CH_EINVAL;
}

const char *ch_log_level_name(int level)
{
	if (level < CH_LOG_LEVEL_ERROR || level > CH_LOG_LEVEL_DEBUG)
		return "unknown";
	return level_names[level];
}

/* Writes all of buf with as few write(2) calls as the kernel allows: one,
 * unless a signal or a full disk cuts it short. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void ch_logv(int level, const char *fmt, va_list ap)
{
	char line[CH_LOG_LINE_MAX + 1];
	char ts[CH_TIME_ISO_LEN];
	const char *service;
	size_t plen, mcap, mlen;
	int saved = errno;
	int n;

	level = clamp_level(level);
	if (level > ch_log_get_level() || fmt == NULL) {
		errno = saved;
		return;
	}
	if (ch_time_format_iso(ch_wall_ms(), ts, sizeof(ts)) != 0)
		snprintf(ts, sizeof(ts), "0000-00-00T00:00:00.000Z");
	service = ch_logger.service[0] != '\0' ? ch_logger.service : program_invocation_short_name;
	n = snprintf(line, sizeof(line), "%s %s %.*s[%ld] ", ts, level_tags[level],
	             CH_LOG_SERVICE_MAX, service, (long)getpid());
	if (n < 0 || (size_t)n > CH_LOG_LINE_MAX / 2) {
		errno = saved;
		return;
	}
	plen = (size_t)n;
	mcap = CH_LOG_LINE_MAX - plen - 1; /* message bytes, the newline excluded */
	n = vsnprintf(line + plen, mcap + 1, fmt, ap);
	if (n < 0) {
		mlen = (size_t)snprintf(line + plen, mcap + 1, "(bad log format)");
	} else if ((size_t)n > mcap) {
		mlen = mcap;
		memcpy(line + plen + mcap - 3, "...", 3);
	} else {
		mlen = (size_t)n;
	}
	for (size_t i = plen; i < plen + mlen; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	line[plen + mlen] = '\n';
	write_all(atomic_load(&ch_logger.fd), line, plen + mlen + 1);
	errno = saved;
}

void ch_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ch_logv(level, fmt, ap);
	va_end(ap);
}

void ch_log_errno(int level, const char *call, const char *fmt, ...)
{
	/* The message part is capped so that the call and errno always fit. */
	char msg[CH_LOG_LINE_MAX - 192];
	char ebuf[128];
	const char *etext;
	int saved = errno;
	va_list ap;
	int n;

	if (!ch_log_enabled(level))
		return;
	etext = strerror_r(saved, ebuf, sizeof(ebuf));
	if (call == NULL)
		call = "?";
	if (fmt == NULL) {
		ch_log(level, "%s: %s (errno %d)", call, etext, saved);
		errno = saved;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	ch_log(level, "%s: %s: %s (errno %d)", msg, call, etext, saved);
	errno = saved;
}
