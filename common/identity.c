/* identity.c: the node's key file (see identity.h). */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

static void derive_id(ch_identity_t *id)
{
	uint8_t h[32];
	ch_blake2b256(h, id->pk.b, sizeof(id->pk.b));
	memcpy(id->id, h, CH_NODE_ID_LEN);
}

/* create_key: a fresh seed written with O_EXCL so two starts never race
 * into two identities. */
static int create_key(const char *path, ch_identity_t *out, char *err, size_t errcap)
{
	uint8_t seed[32];
	char hex[65];
	randombytes_buf(seed, sizeof(seed));
	ch_hex_encode(hex, sizeof(hex), seed, sizeof(seed));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errcap, "cannot create %s: open: %s", path, strerror(errno));
		return CH_EIO;
	}
	hex[64] = '\n';
	ssize_t n = write(fd, hex, 65);
	int wrote_ok = n == 65 && fsync(fd) == 0;
	close(fd);
	if (!wrote_ok) {
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return CH_EIO;
	}
	ch_ed25519_seed_keypair(&out->pk, &out->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(hex, sizeof(hex));
	derive_id(out);
	return 0;
}

int ch_identity_load(const char *datadir, bool create, ch_identity_t *out, char *err, size_t errcap)
{
	char path[512];
	if (ch_crypto_init() != 0) {
		snprintf(err, errcap, "libsodium failed to initialise");
		return CH_ECRYPTO;
	}
	snprintf(path, sizeof(path), "%s/identity.key", datadir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && create)
			return create_key(path, out, err, errcap);
		snprintf(err, errcap, "cannot read %s: open: %s", path, strerror(errno));
		return errno == ENOENT ? CH_ENOENT : CH_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errcap, "%s is readable by others (mode %o); chmod 600 it", path,
		         (unsigned)(st.st_mode & 0777));
		return CH_EPERM;
	}
	char buf[80];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 64) {
		snprintf(err, errcap, "%s is truncated (%zd bytes); move it away to make a new one",
		         path, n);
		return CH_EPROTO;
	}
	buf[n] = 0;
	while (n > 64 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = 0;
	uint8_t seed[32];
	size_t len = 0;
	if (n != 64 || ch_hex_decode(seed, sizeof(seed), buf, &len) != 0 || len != 32) {
		snprintf(err, errcap, "%s is not 64 hex digits; move it away to make a new one",
		         path);
		return CH_EPROTO;
	}
	ch_ed25519_seed_keypair(&out->pk, &out->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(buf, sizeof(buf));
	derive_id(out);
	return 0;
}

void ch_identity_wipe(ch_identity_t *id)
{
	sodium_memzero(id, sizeof(*id));
}
