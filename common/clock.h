/* clock.h: time sources, sleeping, ISO-8601 formatting and duration parsing.
 *
 * Two clocks, never mixed: ch_mono_ns() (CLOCK_MONOTONIC) for timeouts,
 * deadlines and intervals, because it never jumps; ch_wall_ms()/ch_wall_us()
 * (CLOCK_REALTIME) only for timestamps shown to people or sent to peers.
 * Every function here is stateless and thread-safe. */
#ifndef CH_CLOCK_H
#define CH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes ch_time_format_iso() needs: "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL. */
#define CH_TIME_ISO_LEN 25

#define CH_NS_PER_US 1000ull
#define CH_NS_PER_MS 1000000ull
#define CH_NS_PER_S  1000000000ull

/* ch_mono_ns: nanoseconds of CLOCK_MONOTONIC (since an arbitrary point, boot
 * on Linux).  Use for every timeout and interval: it never goes backwards and
 * ignores wall-clock changes.  The same value is seen by all processes on the
 * machine, so it may be stored in shared memory.  Thread-safe. */
uint64_t ch_mono_ns(void);

/* ch_wall_ms: milliseconds since the Unix epoch (CLOCK_REALTIME).  For
 * timestamps in logs, hello messages and persisted records; it can jump when
 * the clock is set, so never use it to measure an interval.  Thread-safe. */
uint64_t ch_wall_ms(void);

/* ch_wall_us: microseconds since the Unix epoch (CLOCK_REALTIME); see
 * ch_wall_ms.  Thread-safe. */
uint64_t ch_wall_us(void);

/* ch_sleep_ns: sleeps for at least ns nanoseconds of CLOCK_MONOTONIC.  A
 * signal does not shorten the sleep: it sleeps towards an absolute deadline
 * and restarts on EINTR (so a loop woken by a signal flag must not rely on
 * this returning early).  ns == 0 returns at once.  Thread-safe. */
void ch_sleep_ns(uint64_t ns);

/* ch_time_format_iso: writes wall_ms (milliseconds since the epoch) as UTC
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf, NUL-terminated (24 characters).
 * Returns 0; CH_EINVAL if buf is NULL; CH_ERANGE if cap < CH_TIME_ISO_LEN or
 * the year does not fit in four digits (buf is then left as an empty string
 * when cap > 0).  Thread-safe (uses gmtime_r). */
int ch_time_format_iso(uint64_t wall_ms, char *buf, size_t cap);

/* ch_duration_parse: parses a duration written as decimal digits and an
 * optional lowercase unit: "ms", "s", "m" (minutes), "h", "d"; a bare number
 * means seconds.  Examples: "250ms", "5s", "2m", "1h", "30" (= 30 s).  No
 * sign, spaces, or fractions.  Stores milliseconds in *ms_out.  Returns 0;
 * CH_EINVAL if s or ms_out is NULL, the text is malformed, or the result
 * overflows uint64_t (*ms_out is then unchanged).  Thread-safe. */
int ch_duration_parse(const char *s, uint64_t *ms_out);

#endif
