/* Exits with the status given as argv[1] (0 without an argument), so the whole path from
 * exit() through the kernel to the host's exit status can be checked. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}
