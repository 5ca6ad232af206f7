/* Prints argc, each argv[i] and HOME, one per line, as the kernel handed them over:
 *   argc=3
 *   argv[0]=/bin/args-musl
 *   argv[1]=a
 *   argv[2]=b c
 *   HOME=/
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *home = getenv("HOME");

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("HOME=%s\n", home ? home : "(unset)");
	return 0;
}
