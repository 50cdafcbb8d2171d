/*
 * The main() of a CSPOT-style handler under woof-platform (woof-cc compiles it
 * with -DWOOF_HANDLER=NAME beside the handler's source). It does what CSPOT's
 * shepherd did, by woof's handler contract (woof(7), HANDLERS): the element is on
 * stdin (WOOF_ELEMENT_SIZE bytes), the woof is WOOF_NAME in WOOF_NAMESPACE, the
 * seqno WOOF_SEQNO. The WOOF handle it passes works with WooFPut/WooFGet and the
 * handle calls; puts made in the handler carry its cause (WOOF_CAUSE).
 *
 * Unlike CSPOT, the return value counts: below 0 the handler failed (exit 1, and
 * "NAME returned N" on stderr, which the results log keeps).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "woofc.h"

#ifndef WOOF_HANDLER
#error "compile with -DWOOF_HANDLER=function_name (woof-cc does)"
#endif
#define WOOF_STR2(x) #x
#define WOOF_STR(x) WOOF_STR2(x)

int WOOF_HANDLER(WOOF *wf, unsigned long seq_no, void *ptr);

int main(void)
{
	const char *me = WOOF_STR(WOOF_HANDLER);
	const char *name = getenv("WOOF_NAME");
	const char *seq = getenv("WOOF_SEQNO");
	const char *size = getenv("WOOF_ELEMENT_SIZE");
	if (name == NULL || seq == NULL || size == NULL) {
		fprintf(stderr, "%s: a handler, run by woof-platform (WOOF_NAME, WOOF_SEQNO or WOOF_ELEMENT_SIZE is not set)\n", me);
		return 2;
	}
	unsigned long n = strtoul(size, NULL, 10);
	unsigned long seq_no = strtoul(seq, NULL, 10);
	char *el = malloc(n > 0 ? n : 1);
	if (el == NULL) {
		fprintf(stderr, "%s: no memory for a %lu-byte element\n", me, n);
		return 1;
	}
	unsigned long got = 0;
	while (got < n) {
		ssize_t r = read(0, el + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (unsigned long)r;
	}
	if (got != n) {
		fprintf(stderr, "%s: the element on stdin is %lu of %lu bytes\n", me, got, n);
		return 1;
	}
	/* Init and the woof's mapping happen on first use: a handler that never
	 * touches them does not pay for them. */
	WooFSetInit();
	WOOF *wf = woof_handler_handle(name);
	if (wf == NULL)
		return 1;
	int rc = WOOF_HANDLER(wf, seq_no, el);
	WooFDrop(wf);
	free(el);
	if (rc < 0) {
		fprintf(stderr, "%s returned %d\n", me, rc);
		return 1;
	}
	return 0;
}
