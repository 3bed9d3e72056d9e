/* cairn: logging to stderr with a level and a time; the clock timings read.
 *
 * Results go to stdout; logs never do.  The level is process-wide and is set
 * once by main (the only mutable global outside the backend registry). */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum cairn_log_level {
	CAIRN_LOG_DEBUG = 0,
	CAIRN_LOG_INFO = 1,
	CAIRN_LOG_WARN = 2,
	CAIRN_LOG_ERROR = 3,
	CAIRN_LOG_QUIET = 4
};

void cairn_log_set_level(int level);
int cairn_log_get_level(void);
void cairn_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Seconds on the monotonic clock (CLOCK_MONOTONIC): for timing, never for
 * anything a result depends on. */
double cairn_clock_seconds(void);

#define cairn_debug(...) cairn_log(CAIRN_LOG_DEBUG, __VA_ARGS__)
#define cairn_info(...) cairn_log(CAIRN_LOG_INFO, __VA_ARGS__)
#define cairn_warn(...) cairn_log(CAIRN_LOG_WARN, __VA_ARGS__)
#define cairn_error(...) cairn_log(CAIRN_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
