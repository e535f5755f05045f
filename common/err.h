/* err.h: the error convention of every Chorus module.
 *
 * A function that can fail returns int: 0 on success, one of the negative
 * CH_E* codes below on failure.  A code has exactly one meaning; a function
 * never returns a value that is both a result and an error (results go
 * through out-parameters).  Constructors that return a pointer return NULL on
 * failure and, where the caller needs the reason, take an `int *err`.
 *
 * Codes are stable: they travel in control-plane replies ("code" field) and
 * tools print ch_strerror() next to them.  Add new codes at the end. */
#ifndef CH_ERR_H
#define CH_ERR_H

enum ch_err {
	CH_OK = 0,
	CH_EINVAL = -1,     /* a bad argument or a bad configuration value */
	CH_ENOMEM = -2,     /* allocation failed or a fixed table is full */
	CH_EIO = -3,        /* a system call failed; errno tells which */
	CH_EAGAIN = -4,     /* would block: ring full or empty, socket not ready */
	CH_ENOENT = -5,     /* no such object, key, file or peer */
	CH_EEXIST = -6,     /* already exists */
	CH_EPROTO = -7,     /* malformed input from outside (peer, file, client) */
	CH_ERANGE = -8,     /* a length or value beyond its limit */
	CH_EMAGIC = -9,     /* shared-memory object: wrong magic */
	CH_EVERSION = -10,  /* wrong layout or protocol version */
	CH_EALIGN = -11,    /* misaligned memory */
	CH_ETIMEDOUT = -12, /* a deadline passed */
	CH_ECRYPTO = -13,   /* bad signature, tag or key */
	CH_EBUSY = -14,     /* held by someone else (a lock, a datadir) */
	CH_ECLOSED = -15,   /* the other end went away */
	CH_EPERM = -16,     /* refused by policy (banned, wrong network) */
	CH_EUNKNOWN = -17,  /* unknown command or type */
};

#define CH_ERR_COUNT 18

/* ch_strerror: a short lowercase description of an error code, for logs and
 * replies.  Never NULL; unknown codes give "unknown error". Thread-safe. */
const char *ch_strerror(int code);

/* ch_errname: the code's symbolic name ("CH_EPROTO"), for --json output. */
const char *ch_errname(int code);

#endif
