/* A handler whose return value says it failed. */
#include "woofc.h"

int fails(WOOF *wf, unsigned long seq_no, void *ptr)
{
	(void)wf; (void)seq_no; (void)ptr;
	return -7;
}
