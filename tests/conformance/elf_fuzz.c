/* Malformed ELF images from a generator: truncations, bit flips in the ELF and program
 * headers, and absurd values in program header fields of the program's own binary (a fixed
 * seed, so every run tries the same images). Each is written to /tmp and exec'd in a child:
 * exec must fail with an errno a malformed image may get (ENOEXEC, EINVAL, ENOMEM, EACCES,
 * EFAULT, E2BIG, EIO, or an interpreter error), or the image runs and exits or dies by a signal. The kernel must
 * survive all of it. Prints a tally and exits 0, or 1 on an unexpected errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMAGES 240

static uint64_t seed = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static unsigned char *load(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	off_t size = lseek(fd, 0, SEEK_END);
	lseek(fd, 0, SEEK_SET);
	unsigned char *b = malloc(size);
	size_t got = 0;
	while (b && got < (size_t)size) {
		ssize_t n = read(fd, b + got, size - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	*len = got;
	return b;
}

static int allowed(int e)
{
	/* The last four: a flipped p_type can make a PT_INTERP naming no usable interpreter. */
	return e == ENOEXEC || e == EINVAL || e == ENOMEM || e == EACCES || e == EFAULT || e == E2BIG ||
	       e == EIO || e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELIBBAD;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return 0;
	size_t len;
	unsigned char *orig = load(argv[0], &len);
	if (!orig || len < 64) {
		fprintf(stderr, "cannot read %s\n", argv[0]);
		return 1;
	}
	uint64_t phoff;
	uint16_t phnum;
	memcpy(&phoff, orig + 32, 8);
	memcpy(&phnum, orig + 56, 2);
	size_t headers = phoff + (size_t)phnum * 56;
	if (headers > len)
		headers = len;
	unsigned char *img = malloc(len);
	int refused = 0, ran = 0, killed = 0, bad = 0;
	for (int i = 0; i < IMAGES; i++) {
		size_t n = len;
		memcpy(img, orig, len);
		switch (i % 3) {
		case 0: {
			static const size_t cuts[] = { 0, 1, 4, 16, 52, 63, 64, 100, 119 };
			n = i / 3 < 9 ? cuts[i / 3] : next() % headers;
			if (i / 3 == 9)
				n = headers - 1;
			break;
		}
		case 1:
			for (int k = 1 + next() % 4; k > 0; k--)
				img[next() % headers] ^= 1 << (next() % 8);
			break;
		default: {
			static const uint64_t absurd[] = { 0, ~0ULL, 1ULL << 63, 0x7fffffffffffULL, 0xfff, 0x1001 };
			uint64_t v = next() % 4 ? absurd[next() % 6] : next();
			size_t field = phoff + (next() % phnum) * 56 + 8 + (next() % 6) * 8;
			if (field + 8 <= headers)
				memcpy(img + field, &v, 8);
			break;
		}
		}
		int fd = open("/tmp/fz", O_WRONLY | O_CREAT | O_TRUNC, 0755);
		if (fd < 0 || write(fd, img, n) != (ssize_t)n) {
			perror("write /tmp/fz");
			return 1;
		}
		close(fd);
		pid_t p = fork();
		if (p == 0) {
			char *av[] = { "/tmp/fz", "child", 0 };
			char *ev[] = { 0 };
			execve("/tmp/fz", av, ev);
			_exit(allowed(errno) ? 100 : 200 + errno % 50);
		}
		int st;
		if (waitpid(p, &st, 0) != p) {
			perror("waitpid");
			return 1;
		}
		if (WIFSIGNALED(st))
			killed++;
		else if (WEXITSTATUS(st) == 100)
			refused++;
		else if (WEXITSTATUS(st) >= 200) {
			fprintf(stderr, "image %d: exec failed with errno %d\n", i, WEXITSTATUS(st) - 200);
			bad++;
		} else
			ran++;
	}
	printf("elf_fuzz: %d images: %d refused, %d ran, %d killed, %d bad errno\n", IMAGES, refused, ran,
	       killed, bad);
	printf("elf_fuzz: %s\n", bad ? "FAILED" : "survived");
	return bad != 0;
}
