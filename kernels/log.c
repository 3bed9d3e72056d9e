/* cairn: logging to stderr, "2026-11-22T10:00:00Z cairn[INFO] message". */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cairn/log.h"
#include "text_impl.h"

/* Set once by main before any thread starts; read-only afterwards. */
static int cairn__log_level = CAIRN_LOG_INFO;

void cairn_log_set_level(int level)
{
	cairn__log_level = level;
}

int cairn_log_get_level(void)
{
	return cairn__log_level;
}

/* One line in one write, under stderr's lock so that threads' lines do not
 * interleave; the message is escaped (cairn/text.h), a newline in it
 * included: it may quote a file's name, which must not forge a line. */
void cairn_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	char ts[32], prefix[64];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < cairn__log_level || level < 0 || level > CAIRN_LOG_ERROR)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(prefix, sizeof prefix, "%s cairn[%s] ", ts, names[level]);
	va_start(ap, fmt);
	cairn__text_vprint(stderr, prefix, 1, fmt, ap);
	va_end(ap);
}

double cairn_clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
