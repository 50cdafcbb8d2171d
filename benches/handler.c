/* The handler the bench's handler rows run: a small static C program, as a user's
 * C handler linked with `cc -static` would be. The bench compiles it itself.
 * The clock is read first thing in main. What it does depends on WOOF_HANDLER (the
 * shepherd sets it to the handler's name; the bench's baseline spawns set it too):
 *
 *   stamp    read the clock, then the element on stdin, and write one record to
 *            $WOOF_NAMESPACE/bench.fifo
 *   noop     exit 0 at once
 *   persist  (a persistent handler) for each frame on stdin ("WOOF SEQNO LEN
 *            TRIGGER\n", then LEN bytes), read the clock once the whole frame is
 *            in, then write one record; exit 0 at end of input
 *
 * A record is 32 bytes, four little-endian u64: the clock (CLOCK_REALTIME, ns since
 * the Unix epoch), the element's seqno, the put time (WOOF_TIMESTAMP; the trigger
 * seqno for persist), and the element's last 8 bytes. Exit status 2: unknown
 * WOOF_HANDLER; 3: reading stdin failed; 4: writing the FIFO failed; 5: bad frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t env_u64(const char *name) {
    const char *v = getenv(name);
    return v ? strtoull(v, NULL, 10) : 0;
}

static int fifo(void) {
    const char *dir = getenv("WOOF_NAMESPACE");
    char path[4096];
    if (!dir || snprintf(path, sizeof path, "%s/bench.fifo", dir) >= (int)sizeof path) return -1;
    return open(path, O_WRONLY | O_CLOEXEC);
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int record(int fd, uint64_t clock, uint64_t seqno, uint64_t third, const unsigned char *el, size_t len) {
    unsigned char rec[32] = {0};
    put_u64(rec, clock);
    put_u64(rec + 8, seqno);
    put_u64(rec + 16, third);
    if (len >= 8) memcpy(rec + 24, el + len - 8, 8);
    return write_all(fd, rec, sizeof rec);
}

static ssize_t read_in(unsigned char *buf, size_t n) {
    for (;;) {
        ssize_t r = read(0, buf, n);
        if (r >= 0 || errno != EINTR) return r;
    }
}

static int stamp(uint64_t start) {
    static unsigned char el[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read_in(el + len, sizeof el - len);
        if (n < 0) return 3;
        len += (size_t)n;
        if (n == 0 || len == sizeof el) break;
    }
    int fd = fifo();
    if (fd < 0 || !record(fd, start, env_u64("WOOF_SEQNO"), env_u64("WOOF_TIMESTAMP"), el, len)) return 4;
    return 0;
}

static unsigned char buf[1 << 16];
static size_t b_start, b_end;

/* Makes at least n bytes available; 0 at end of input or on error. */
static int fill(size_t n) {
    if (b_end - b_start >= n) return 1;
    if (n > sizeof buf) return 0;
    if (b_start + n > sizeof buf) {
        memmove(buf, buf + b_start, b_end - b_start);
        b_end -= b_start;
        b_start = 0;
    }
    while (b_end - b_start < n) {
        ssize_t got = read_in(buf + b_end, sizeof buf - b_end);
        if (got <= 0) return 0;
        b_end += (size_t)got;
    }
    return 1;
}

static int persist(void) {
    int out = fifo();
    if (out < 0) return 4;
    for (;;) {
        /* The header line. */
        size_t scanned = 0;
        unsigned char *nl;
        while (!(nl = memchr(buf + b_start + scanned, '\n', b_end - b_start - scanned))) {
            scanned = b_end - b_start;
            if (!fill(scanned + 1)) return b_end == b_start ? 0 : 5;
        }
        *nl = 0;
        char woof[256];
        unsigned long long seqno, len, trigger;
        if (sscanf((char *)buf + b_start, "%255s %llu %llu %llu", woof, &seqno, &len, &trigger) != 4) return 5;
        b_start = (size_t)(nl - buf) + 1;
        if (!fill((size_t)len)) return 5;
        uint64_t clock = now_ns();
        if (!record(out, clock, seqno, trigger, buf + b_start, (size_t)len)) return 4;
        b_start += (size_t)len;
    }
}

int main(void) {
    uint64_t start = now_ns();
    const char *h = getenv("WOOF_HANDLER");
    if (!h) return 2;
    if (!strcmp(h, "stamp")) return stamp(start);
    if (!strcmp(h, "noop")) return 0;
    if (!strcmp(h, "persist")) return persist();
    return 2;
}
