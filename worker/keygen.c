/* cairn: `cairn keygen`, making and showing Ed25519 identities.
 *
 * A thin command over attest/identity.c (the key file format and its
 * permission rules live there and in docs/keygen.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cairn/attest.h"
#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/text.h"
#include "cli_util.h"

/* ---- cairn keygen ------------------------------------------------------ */

static void keygen_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn keygen [--out FILE] [--json]\n"
	        "       cairn keygen --show FILE [--json]\n\n"
	        "Makes a new Ed25519 identity and writes it to a key file "
	        "with mode 0600;\nan existing file is never overwritten.  "
	        "Prints the public key and the path.\n\n"
	        "options:\n"
	        "  --out FILE    where to write the key (default: $CAIRN_KEY, "
	        "else\n"
	        "                ~/.config/cairn/worker.key, its directory "
	        "made with mode 0700)\n"
	        "  --show FILE   load an existing key file, with every check, "
	        "and print\n"
	        "                its public key\n"
	        "  --json        one JSON object on stdout: "
	        "{\"public_key\": ..., \"path\": ...}\n"
	        "  -h, --help    this text\n\n"
	        "exit status: 0 done, 1 failed (file exists, unsafe "
	        "permissions, bad key file,\nI/O), 2 bad usage.  Format and "
	        "rules: docs/keygen.md.\n");
}

/* mkdir one level with mode 0700; an existing directory is fine. */
static int make_dir(const char *d)
{
	if (mkdir(d, 0700) == 0)
		return chmod(d, 0700); /* umask may have taken bits */
	return errno == EEXIST ? 0 : -1;
}

/* The default key path into buf: $CAIRN_KEY, else
 * ~/.config/cairn/worker.key (creating the directories). */
static int default_path(char *buf, size_t len)
{
	const char *env = getenv("CAIRN_KEY"), *home = getenv("HOME");
	int n;

	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
		if (n < 0 || (size_t)n >= len) {
			cairn_eprint(
			    "cairn: keygen: CAIRN_KEY is %zu characters "
			    "long; a path has at most %zu (use a shorter "
			    "one, or --out FILE)\n",
			    strlen(env), len - 1);
			return -1;
		}
		return 0;
	}
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home) {
		cairn_eprint("cairn: keygen: no home directory ($HOME "
		             "unset); use --out FILE or set CAIRN_KEY\n");
		return -1;
	}
	n = snprintf(buf, len, "%s/.config/cairn/worker.key", home);
	if (n < 0 || (size_t)n >= len) {
		cairn_eprint("cairn: keygen: the default key path under the "
		             "home directory ($HOME) would be %zu characters "
		             "long; a path has at most %zu (use --out FILE or "
		             "set CAIRN_KEY)\n",
		             strlen(home) + strlen("/.config/cairn/worker.key"),
		             len - 1);
		return -1;
	}
	snprintf(buf, len, "%s/.config", home);
	if (make_dir(buf))
		goto fail;
	snprintf(buf, len, "%s/.config/cairn", home);
	if (make_dir(buf))
		goto fail;
	snprintf(buf, len, "%s/.config/cairn/worker.key", home);
	return 0;
fail:
	cairn_eprint("cairn: keygen: cannot create %s: %s; use --out FILE "
	             "or set CAIRN_KEY\n",
	             buf, strerror(errno));
	return -1;
}

static void print_key(const struct cairn_identity *id, const char *path,
                      int json)
{
	char hex[CAIRN_PUBLIC_KEY_HEX_BYTES];
	cairn_identity_public_hex(id, hex);
	if (json) {
		printf("{\"public_key\": \"%s\", \"path\": ", hex);
		cairn__cli_json_string(stdout, path);
		printf("}\n");
	} else {
		printf("public key  %s\n", hex);
		cairn_text_print(stdout, "key file    %s\n", path);
	}
}

/* `cairn keygen ...`: argv[0] is "keygen". */
int cairn_cmd_keygen(int argc, char **argv)
{
	struct cairn_identity id;
	const char *out = NULL, *show = NULL;
	char path[4096], err[8192];
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			keygen_usage(stdout);
			return 0;
		} else if (!strcmp(o, "--json")) {
			json = 1;
		} else if (!strcmp(o, "--out") || !strcmp(o, "--show")) {
			if (!v || !*v) {
				cairn_eprint(
				    "cairn: keygen: %s needs a FILE; see "
				    "'cairn keygen --help'\n",
				    o);
				return 2;
			}
			if (v[0] == '-' && v[1] == '-') {
				/* "--out --json": a forgotten FILE, not a
				 * key to be named --json */
				cairn_eprint(
				    "cairn: keygen: %s '%s' looks like an "
				    "option, not a FILE; to name such a "
				    "file, write ./%s\n",
				    o, v, v);
				return 2;
			}
			if (!strcmp(o, "--out"))
				out = v;
			else
				show = v;
			i++;
		} else {
			cairn_eprint("cairn: keygen: unknown option '%s'; see "
			             "'cairn keygen --help'\n",
			             o);
			return 2;
		}
	}
	if (out && show) {
		cairn_eprint("cairn: keygen: --out and --show do not go "
		             "together; see 'cairn keygen --help'\n");
		return 2;
	}
	if (show) {
		rc = cairn_identity_load(&id, show, err, sizeof err);
		if (rc) {
			cairn_eprint("cairn: %s\n", err);
			return 1;
		}
		print_key(&id, show, json);
		cairn_identity_wipe(&id);
		return 0;
	}
	if (!out && default_path(path, sizeof path))
		return 1;
	if (!out)
		out = path;
	rc = cairn_identity_generate(&id);
	if (rc) {
		cairn_eprint("cairn: keygen: cannot make a key pair: %s\n",
		             cairn_strerror(rc));
		return 1;
	}
	rc = cairn_identity_save(&id, out, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn: %s\n", err);
		cairn_identity_wipe(&id);
		return 1;
	}
	print_key(&id, out, json);
	cairn_identity_wipe(&id);
	return 0;
}
