/* cairn: logging to stderr, "2026-11-22T10:00:00Z cairn[INFO] message". */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cairn/log.h"

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

/* Formats one line; a single fprintf keeps lines from interleaving. */
void cairn_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	char msg[1024], ts[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < cairn__log_level || level < 0 || level > CAIRN_LOG_ERROR)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s cairn[%s] %s\n", ts, names[level], msg);
}

double cairn_clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
