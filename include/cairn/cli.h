/* cairn: the command-line entry points (one per subcommand).
 *
 * Each takes the subcommand's own argv (argv[0] is the subcommand's name) and
 * returns the process exit code: 0 success, 1 a failed check (a benchmark
 * result that is not bit-exact, a rejected bundle), 2 bad usage or input. */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

int cairn_cli_main(int argc, char **argv);

/* A command-line number, strictly: decimal digits only, with a leading '-'
 * only where lo < 0 (no spaces, no '+', no octal: "010" is ten), from lo
 * to hi.  0 and *out set, or CAIRN_EINVAL (not such a number) or
 * CAIRN_ERANGE (outside lo..hi) with *out untouched; the caller names the
 * option in its message.  worker/cli.c. */
int cairn_cli_parse_int(const char *v, long long lo, long long hi,
                        long long *out);
/* An unsigned 64-bit number: decimal digits, or 0x and hex digits (leading
 * zeros allowed, as in decimal; at most 64 bits of value), as
 * cairn_cli_parse_int otherwise.  0, or CAIRN_EINVAL / CAIRN_ERANGE
 * (more than 64 bits). */
int cairn_cli_parse_u64(const char *v, unsigned long long *out);
/* A command-line real number as a binary32 float: a '-' only where lo < 0
 * (so no -0 where negatives are out of range), then
 * decimal digits with an optional '.' and exponent (e-3, E+2), correctly
 * rounded to the nearest float (strtof in the C locale); no spaces, no
 * '+', no hex, no inf or nan.  0 and *out set for lo <= value <= hi, else
 * CAIRN_EINVAL (not such a number) or CAIRN_ERANGE (outside lo..hi, or
 * a non-zero value that rounds to 0 or overflows) with *out untouched. */
int cairn_cli_parse_float(const char *v, float lo, float hi, float *out);
/* CAIRN_DEVICE, checked before a command does any work: with no --device
 * (device NULL) and the variable set and not empty, it must name a device
 * (cairn_backend_device_known).  0, or 2 (the usage exit code) after
 * printing "CMD: CAIRN_DEVICE 'VALUE': ..." with what to do. */
int cairn_cli_check_env_device(const char *cmd, const char *device);
int cairn_cmd_bench(int argc, char **argv);
/* `cairn keygen` (attest/identity.c): 0 done, 1 failed, 2 bad usage. */
int cairn_cmd_keygen(int argc, char **argv);
/* `cairn info` (worker/info.c): 0 done, 1 the topology could not be read,
 * 2 bad usage. */
int cairn_cmd_info(int argc, char **argv);
/* `cairn train`: a whole job in one process (scheduler/train.c). */
int cairn_cmd_train(int argc, char **argv);
/* `cairn verify` (worker/verify.c): 0 every bundle accepted, 1 one or more
 * rejected, 2 a bundle that cannot be read or bad usage. */
int cairn_cmd_verify(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
