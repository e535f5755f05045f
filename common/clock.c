/* clock.c: see clock.h. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	/* clock_gettime cannot fail for these clock ids and a valid pointer. */
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * CH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t ch_mono_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

uint64_t ch_wall_ms(void)
{
	return ts_ns(CLOCK_REALTIME) / CH_NS_PER_MS;
}

uint64_t ch_wall_us(void)
{
	return ts_ns(CLOCK_REALTIME) / CH_NS_PER_US;
}

void ch_sleep_ns(uint64_t ns)
{
	struct timespec now, until;
	uint64_t secs = ns / CH_NS_PER_S;
	long rem = (long)(ns % CH_NS_PER_S);

	if (ns == 0 || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return;
	until.tv_sec = now.tv_sec + (time_t)secs;
	until.tv_nsec = now.tv_nsec + rem;
	if (until.tv_nsec >= (long)CH_NS_PER_S) {
		until.tv_sec++;
		until.tv_nsec -= (long)CH_NS_PER_S;
	}
	/* clock_nanosleep returns the error number rather than setting errno. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

int ch_time_format_iso(uint64_t wall_ms, char *buf, size_t cap)
{
	struct tm tm;
	time_t secs;
	int n;

	if (buf == NULL)
		return CH_EINVAL;
	if (cap > 0)
		buf[0] = '\0';
	if (cap < CH_TIME_ISO_LEN)
		return CH_ERANGE;
	secs = (time_t)(wall_ms / 1000);
	if (gmtime_r(&secs, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return CH_ERANGE;
	n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             (unsigned)(wall_ms % 1000));
	if (n != CH_TIME_ISO_LEN - 1) {
		buf[0] = '\0';
		return CH_ERANGE;
	}
	return 0;
}

int ch_duration_parse(const char *s, uint64_t *ms_out)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
	    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	uint64_t v = 0;
	const char *p = s;

	if (s == NULL || ms_out == NULL)
		return CH_EINVAL;
	if (*p < '0' || *p > '9')
		return CH_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return CH_EINVAL;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return CH_EINVAL;
		*ms_out = v * units[i].ms;
		return 0;
	}
	return CH_EINVAL;
}
