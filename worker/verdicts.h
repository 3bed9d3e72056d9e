/* cairn: verdict lines, written by `cairn verify --out` and checked by
 * `cairn verify --verdicts` (worker/verdicts.c; not a public header).
 *
 * A verdict line is one JSON object, written by cairn__verdict_json from
 * the verdict and three unsigned strings (the bundle's path, the device
 * that replayed, the reason of a rejection); with the signature it also
 * holds the signed encoding in hex ("verdict").  docs/verify.md gives the
 * fields. */
#ifndef CAIRN_WORKER_VERDICTS_H
#define CAIRN_WORKER_VERDICTS_H

#include <stdint.h>
#include <stdio.h>

#include "cairn/audit.h"

/* v as one JSON object on f (no newline); reason is written for a
 * rejection only; with_signature adds auditor_key, verdict and
 * signature. */
void cairn__verdict_json(FILE *f, const char *path, const char *device,
                         const struct cairn_audit_verdict *v,
                         const char *reason, int with_signature);

/* `cairn verify --verdicts FILE...`: checks every line of the n files
 * (docs/verify.md, "Verdict files"); auditor (32 bytes) or NULL; json: one
 * object per line on stdout.  Returns the exit status: 0 every line
 * valid, 1 one invalid, 2 a file or line that is not verdicts. */
int cairn__verdicts_check(char *const *files, int n, const uint8_t *auditor,
                          int json);

#endif
