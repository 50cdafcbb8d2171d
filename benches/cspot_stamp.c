/* A CSPOT-style handler for the libwoof bench row, built with woof-cc -static:
 * the function reads the clock first thing, then writes the same 32-byte record
 * as benches/handler.c's stamp (clock, seqno, WOOF_TIMESTAMP, the element's last
 * 8 bytes) to $WOOF_NAMESPACE/bench.fifo. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "woofc.h"

int stamp(WOOF *wf, unsigned long seq_no, void *ptr)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t clock = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	unsigned long size = WooFGetElSize(wf, NULL);
	const char *dir = getenv("WOOF_NAMESPACE");
	const char *stamp = getenv("WOOF_TIMESTAMP");
	char path[4096];
	if (size < 8 || dir == NULL || snprintf(path, sizeof path, "%s/bench.fifo", dir) >= (int)sizeof path)
		return -1;
	uint64_t words[3] = {clock, seq_no, stamp ? strtoull(stamp, NULL, 10) : 0};
	unsigned char rec[32];
	for (int w = 0; w < 3; w++)
		for (int i = 0; i < 8; i++)
			rec[w * 8 + i] = (unsigned char)(words[w] >> (8 * i));
	memcpy(rec + 24, (const unsigned char *)ptr + size - 8, 8);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ok = write(fd, rec, sizeof rec) == (ssize_t)sizeof rec;
	close(fd);
	return ok ? 0 : -1;
}
