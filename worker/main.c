/* cairn: the binary's entry point; everything else lives in libcairn. */
#include "cairn/cli.h"

int main(int argc, char **argv)
{
	return cairn_cli_main(argc, argv);
}
