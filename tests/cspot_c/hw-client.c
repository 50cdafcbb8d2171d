/* hw-client: reads woof W's latest (or -S seq) element and prints its string,
 * as CSPOT's hw-client does; works with local names (after WooFInit) and
 * woof:// URIs. Usage: hw-client -W woof [-S seq] [-L] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "woofc.h"
#include "hw.h"

int main(int argc, char **argv)
{
	const char *woof = NULL;
	unsigned long seq = 0;
	int local = 0, c;
	while ((c = getopt(argc, argv, "W:S:L")) != EOF) {
		switch (c) {
		case 'W': woof = optarg; break;
		case 'S': seq = strtoul(optarg, NULL, 10); break;
		case 'L': local = 1; break;
		default: exit(1);
		}
	}
	if (woof == NULL)
		exit(1);
	if (local)
		WooFInit();
	unsigned long latest = WooFGetLatestSeqno(woof);
	if (WooFInvalid(latest)) {
		fprintf(stderr, "no latest seqno for %s\n", woof);
		exit(1);
	}
	HW_EL el;
	if (WooFGet(woof, &el, seq) < 0) {
		fprintf(stderr, "get failed\n");
		exit(1);
	}
	printf("%lu %s\n", latest, el.string);
	return 0;
}
