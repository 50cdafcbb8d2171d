/* The libwoof bench's WooFPut row: in the current directory (a namespace), creates
 * woof "cput" (64-byte elements) and times WooFPut in batches of 1000; prints the
 * median batch's time per put in ns. Usage: woofput BATCHES */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "woofc.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int batches = argc > 1 ? atoi(argv[1]) : 200;
	if (batches < 1 || WooFInit() < 0 || WooFCreate("cput", 64, 100000) < 0)
		return 1;
	char el[64];
	memset(el, 'x', sizeof el);
	double *per = malloc(sizeof(double) * (size_t)batches);
	if (per == NULL)
		return 1;
	for (int b = -10; b < batches; b++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < 1000; i++)
			if (WooFInvalid(WooFPut("cput", NULL, el)))
				return 1;
		if (b >= 0)
			per[b] = (double)(now_ns() - t0) / 1000.0;
	}
	qsort(per, (size_t)batches, sizeof(double), cmp);
	printf("%.1f\n", per[batches / 2]);
	return 0;
}
