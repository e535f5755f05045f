"""Errors raised by the client: every failure is an exception, never a print."""

# common/err.h
CODES = {
    0: "CH_OK", -1: "CH_EINVAL", -2: "CH_ENOMEM", -3: "CH_EIO", -4: "CH_EAGAIN",
    -5: "CH_ENOENT", -6: "CH_EEXIST", -7: "CH_EPROTO", -8: "CH_ERANGE",
    -9: "CH_EMAGIC", -10: "CH_EVERSION", -11: "CH_EALIGN", -12: "CH_ETIMEDOUT",
    -13: "CH_ECRYPTO", -14: "CH_EBUSY", -15: "CH_ECLOSED", -16: "CH_EPERM",
    -17: "CH_EUNKNOWN",
}


class ChorusError(Exception):
    """An error reply ({"ok": false, ...}) or a failed call.

    code: the negative code of common/err.h; name: its name ("CH_ENOENT");
    message: the node's one line for people."""

    def __init__(self, code, name, message):
        self.code = code
        self.name = name
        self.message = message
        super().__init__("%s (%d): %s" % (name, code, message))


class ChorusTimeout(ChorusError):
    """The process did not answer within the timeout (CH_ETIMEDOUT)."""

    def __init__(self, message):
        super().__init__(-12, "CH_ETIMEDOUT", message)


class ChorusProtocolError(ChorusError):
    """The reply was not the documented msgpack map (CH_EPROTO)."""

    def __init__(self, message):
        super().__init__(-7, "CH_EPROTO", message)
