/* The hello-world handler as CSPOT has it: prints the element; then, as the
 * tests want to see, puts a reply into woof "<name>.reply" if one exists. */
#include <stdio.h>
#include <string.h>

#include "woofc.h"
#include "hw.h"

int hw(WOOF *wf, unsigned long seq_no, void *ptr)
{
	HW_EL *el = (HW_EL *)ptr;
	printf("hello world\n");
	printf("from woof at %lu with string: %s\n", seq_no, el->string);
	fflush(stdout);
	HW_EL reply;
	memset(&reply, 0, sizeof(reply));
	snprintf(reply.string, sizeof(reply.string), "seen %lu: %s", seq_no, el->string);
	/* the handle works as in CSPOT: read back what triggered us */
	HW_EL again;
	if (WooFRead(wf, &again, seq_no) != 1 || strcmp(again.string, el->string) != 0)
		return -2;
	if (WooFGetElSize(wf, NULL) != sizeof(HW_EL))
		return -3;
	unsigned long s = WooFPut("reply", NULL, &reply);
	if (WooFInvalid(s))
		return -1;
	return 1;
}
