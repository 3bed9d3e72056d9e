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
