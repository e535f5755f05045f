/* err.c: names and texts of the error codes (see err.h). */
#include "err.h"

static const struct {
	const char *name;
	const char *text;
} ch_err_table[CH_ERR_COUNT] = {
    {"CH_OK", "success"},
    {"CH_EINVAL", "invalid argument"},
    {"CH_ENOMEM", "out of memory or table full"},
    {"CH_EIO", "system call failed"},
    {"CH_EAGAIN", "would block"},
    {"CH_ENOENT", "not found"},
    {"CH_EEXIST", "already exists"},
    {"CH_EPROTO", "malformed input"},
    {"CH_ERANGE", "out of range"},
    {"CH_EMAGIC", "bad magic"},
    {"CH_EVERSION", "unsupported version"},
    {"CH_EALIGN", "misaligned"},
    {"CH_ETIMEDOUT", "timed out"},
    {"CH_ECRYPTO", "cryptographic check failed"},
    {"CH_EBUSY", "busy"},
    {"CH_ECLOSED", "closed by peer"},
    {"CH_EPERM", "not permitted"},
    {"CH_EUNKNOWN", "unknown command or type"},
};

const char *ch_strerror(int code)
{
	if (code > 0 || code <= -CH_ERR_COUNT)
		return "unknown error";
	return ch_err_table[-code].text;
}

const char *ch_errname(int code)
{
	if (code > 0 || code <= -CH_ERR_COUNT)
		return "CH_E?";
	return ch_err_table[-code].name;
}
