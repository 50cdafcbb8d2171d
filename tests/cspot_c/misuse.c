/* Bad input through the C API: every call returns CSPOT's failure value and the
 * process goes on to print "survived". */
#include <stdio.h>
#include <string.h>

#include "woofc.h"

#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s\n", #cond); return 1; } } while (0)

int main(void)
{
	char buf[64];
	memset(buf, 0, sizeof(buf));
	/* before WooFInit: a plain name has no namespace */
	CHECK(WooFInvalid(WooFPut("t", NULL, buf)));
	CHECK(WooFInit() == 1);
	CHECK(WooFInit() == 1);
	CHECK(WooFCreate(NULL, 8, 10) == -1);
	CHECK(WooFCreate("bad/name", 8, 10) == -1);
	CHECK(WooFCreate("t", 0, 10) == -1);
	CHECK(WooFCreate("t", 8, 0) == -1);
	CHECK(WooFCreate("notawoof.txt", 8, 10) == -1);
	CHECK(WooFCreate("t", 8, 10) == 1);
	CHECK(WooFInvalid(WooFPut(NULL, NULL, buf)));
	CHECK(WooFInvalid(WooFPut("t", NULL, NULL)));
	CHECK(WooFInvalid(WooFPut("missing", NULL, buf)));
	CHECK(WooFInvalid(WooFPut("t", "no-such-handler", buf)));
	CHECK(WooFGet("t", buf, 0) == -1);        /* empty */
	CHECK(WooFGetLatestSeqno("t") == 0);
	CHECK(WooFPut("t", NULL, "12345678") == 1);
	CHECK(WooFGet("t", buf, 2) == -1);        /* not yet */
	CHECK(WooFGet("t", NULL, 1) == -1);
	CHECK(WooFGet(NULL, buf, 1) == -1);
	CHECK(WooFGet("t", buf, 1) == 1 && memcmp(buf, "12345678", 8) == 0);
	CHECK(WooFInvalid(WooFGetLatestSeqno(NULL)));
	CHECK(WooFInvalid(WooFGetLatestSeqno("missing")));
	CHECK(WooFOpen(NULL) == NULL);
	CHECK(WooFOpen("missing") == NULL);
	CHECK(WooFInvalid(WooFAppend(NULL, NULL, buf)));
	CHECK(WooFRead(NULL, buf, 1) == -1);
	CHECK(WooFGetElSize(NULL, "t") == 0);
	CHECK(WooFInvalid(WooFLatestSeqno(NULL)));
	WooFDrop(NULL);
	WOOF *wf = WooFOpen("t");
	CHECK(wf != NULL);
	CHECK(WooFAppend(wf, NULL, "abcdefgh") == 2);
	CHECK(WooFInvalid(WooFAppend(wf, NULL, NULL)));
	CHECK(WooFRead(wf, buf, 2) == 1 && memcmp(buf, "abcdefgh", 8) == 0);
	CHECK(WooFRead(wf, NULL, 2) == -1);
	CHECK(WooFLatestSeqno(wf) == 2);
	CHECK(WooFGetElSize(wf, "t") == 8);
	WooFFree(wf);
	CHECK(WooFValidURI("woof://h/ns/t") && !WooFValidURI("t") && !WooFValidURI(NULL));
	CHECK(WooFInvalid(WooFPut("woof://", NULL, buf)));
	/* CSPOT's reset: an existing woof starts again from seqno 1 */
	CHECK(WooFCreate("t", 8, 10) == 1);
	CHECK(WooFGetLatestSeqno("t") == 0);
	printf("survived\n");
	return 0;
}
