/* hw-start, written as CSPOT's hello-world is: creates the woof, puts one element
 * with handler hw. Usage: hw-start -W woof [-H handler] [-s text] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "woofc.h"
#include "hw.h"

int main(int argc, char **argv)
{
	char woof[WOOFNAMESIZE] = "";
	const char *handler = "hw";
	const char *text = "my first bark";
	int c;
	while ((c = getopt(argc, argv, "W:H:s:")) != EOF) {
		switch (c) {
		case 'W': strncpy(woof, optarg, sizeof(woof) - 1); break;
		case 'H': handler = optarg; break;
		case 's': text = optarg; break;
		default: fprintf(stderr, "usage: hw-start -W woof [-H handler] [-s text]\n"); exit(1);
		}
	}
	if (woof[0] == 0) {
		fprintf(stderr, "usage: hw-start -W woof [-H handler] [-s text]\n");
		exit(1);
	}
	WooFInit();
	if (WooFCreate(woof, sizeof(HW_EL), 5) < 0) {
		fprintf(stderr, "couldn't create woof %s\n", woof);
		exit(1);
	}
	HW_EL el;
	memset(&el, 0, sizeof(el));
	strncpy(el.string, text, sizeof(el.string) - 1);
	unsigned long seq = WooFPut(woof, handler, &el);
	if (WooFInvalid(seq)) {
		fprintf(stderr, "first WooFPut failed for %s\n", woof);
		exit(1);
	}
	printf("%lu\n", seq);
	return 0;
}
