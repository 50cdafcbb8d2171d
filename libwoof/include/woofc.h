/*
 * woofc.h: CSPOT's public C API, over woof (libwoofc). Source-compatible with
 * CSPOT's include/woofc.h: programs and handlers written against it build
 * unchanged with  cc prog.c $(pkg-config --cflags --libs woof)  and handlers
 * with  woof-cc -o handlers/NAME NAME.c  (see woof_c(3)).
 *
 * Names: a plain name is a woof of the namespace WooFInit attached to
 * (WOOFC_DIR, else WOOF_NAMESPACE, else the current directory); a woof:// URI is
 * reached through the woof-proxy serving it. Failures return CSPOT's values
 * ((unsigned long)-1 for seqnos, -1 otherwise) and print one line on stderr;
 * bad arguments (NULL names, missing woofs) never end the calling process.
 */
#ifndef WOOFC_H
#define WOOFC_H

#ifdef __cplusplus
extern "C" {
#endif

#define WOOFNAMESIZE (256)

/* An open woof (WooFOpen); what a handler gets as its first argument. */
typedef struct woof_handle WOOF;

/* Attaches the process to its namespace: 1, or -1. Does nothing the second time. */
int WooFInit(void);
/* What CSPOT's shepherd calls before a handler; here the same as WooFInit. */
void WooFSetInit(void);

/* Creates the woof, or resets it (empty, seqnos from 1) if it exists, as CSPOT
 * does: 1, or -1. A file that is not a woof is never touched. */
int WooFCreate(const char *name, unsigned long element_size, unsigned long history_size);

/* Appends one element (the woof's element size, read from element) and fires
 * handler (NULL: none) on it: its seqno, or (unsigned long)-1. */
unsigned long WooFPut(const char *name, const char *handler, const void *element);

/* Copies element seq_no (0: the latest) into element: 1, or -1. */
int WooFGet(const char *name, void *element, unsigned long seq_no);

/* The latest seqno (0: empty), or (unsigned long)-1. */
unsigned long WooFGetLatestSeqno(const char *name);
unsigned long WooFGetLatestSeqnoWithCause(const char *name, unsigned long cause_host,
                                          unsigned long cause_seq_no,
                                          const char *cause_woof_name,
                                          unsigned long cause_woof_latest_seq_no);

/* True iff value is CSPOT's failure value (unsigned long)-1. */
int WooFInvalid(unsigned long value);
/* True iff str starts with woof:// */
int WooFValidURI(const char *str);

/* Handles to local woofs (a URI's last path component, as CSPOT). */
WOOF *WooFOpen(const char *name);
void WooFDrop(WOOF *wf);
void WooFFree(WOOF *wf);
unsigned long WooFAppend(WOOF *wf, const char *handler, const void *element);
int WooFRead(WOOF *wf, void *element, unsigned long seq_no);
unsigned long WooFLatestSeqno(WOOF *wf);
/* 0 for a NULL handle; the remote woof's element size for a URI name, else the
 * handle's. */
unsigned long WooFGetElSize(WOOF *wf, const char *name);

/* woof's, for its handler main: the handle of woof name, opened on first use. */
WOOF *woof_handler_handle(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* WOOFC_H */
