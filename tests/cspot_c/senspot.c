/* A senspot-like pair, from CSPOT's description of senspot-put/-get and its
 * SENSPOT element (1088 bytes): `senspot put -W woof -T d|s|i|l [-H handler] [-L]`
 * reads one line from stdin and puts it; `senspot get -W woof [-S seq] [-L]`
 * prints "<value> time: <sec.usec> <ip> seq_no: <n>". -L runs WooFInit first
 * (local names); without it, names are woof:// URIs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "woofc.h"

struct senspot {
	char type;
	char pad0[7];
	union {
		double d;
		int i;
		unsigned long l;
	} value;
	char ip_addr[25];
	char pad1[3];
	unsigned int tv_sec;  /* network byte order */
	unsigned int tv_usec; /* network byte order */
	unsigned int pad2[2];
	char payload[1024];
	char pad3[4];
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int put = strcmp(argv[1], "put") == 0;
	const char *woof = NULL, *handler = NULL;
	char type = 'd';
	unsigned long seq = 0;
	int local = 0, c;
	optind = 2;
	while ((c = getopt(argc, argv, "W:T:H:S:L")) != EOF) {
		switch (c) {
		case 'W': woof = optarg; break;
		case 'T': type = optarg[0]; break;
		case 'H': handler = optarg; break;
		case 'S': seq = strtoul(optarg, NULL, 10); break;
		case 'L': local = 1; break;
		default: return 2;
		}
	}
	if (woof == NULL)
		return 2;
	if (local && WooFInit() < 0)
		return 1;
	struct senspot sp;
	memset(&sp, 0, sizeof(sp));
	if (put) {
		char line[1024];
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 1;
		line[strcspn(line, "\n")] = 0;
		sp.type = type;
		switch (type) {
		case 'd': sp.value.d = strtod(line, NULL); break;
		case 'i': sp.value.i = atoi(line); break;
		case 'l': sp.value.l = strtoul(line, NULL, 10); break;
		default: strncpy(sp.payload, line, sizeof(sp.payload) - 1); break;
		}
		strcpy(sp.ip_addr, "127.0.0.1");
		struct timeval tv;
		gettimeofday(&tv, NULL);
		sp.tv_sec = htonl((unsigned int)tv.tv_sec);
		sp.tv_usec = htonl((unsigned int)tv.tv_usec);
		unsigned long s = WooFPut(woof, handler, &sp);
		if (WooFInvalid(s)) {
			fprintf(stderr, "senspot put: failed\n");
			return 1;
		}
		printf("%lu\n", s);
		return 0;
	}
	if (seq == 0) {
		seq = WooFGetLatestSeqno(woof);
		if (WooFInvalid(seq))
			return 1;
	}
	if (WooFGet(woof, &sp, seq) < 0)
		return 1;
	switch (sp.type) {
	case 'd': printf("%f", sp.value.d); break;
	case 'i': printf("%d", sp.value.i); break;
	case 'l': printf("%lu", sp.value.l); break;
	default: printf("%s", sp.payload); break;
	}
	printf(" time: %u.%06u %s seq_no: %lu\n", ntohl(sp.tv_sec), ntohl(sp.tv_usec), sp.ip_addr, seq);
	return 0;
}
