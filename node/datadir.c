/* datadir.c: see datadir.h. */
#include "datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "region.h"

/* mkdir_p: like mkdir -p, the last component with `mode`. */
static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	if (strlen(path) >= sizeof(tmp))
		return ENAMETOOLONG;
	strcpy(tmp, path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return errno;
	return 0;
}

static int check_dir(const char *path, char *err, size_t errcap)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errcap, "datadir %s: stat: %s", path, strerror(errno));
		return CH_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errcap, "datadir %s exists and is not a directory", path);
		return CH_EINVAL;
	}
	/* access() answers for root too, unlike a permission-bit check; a
	 * probe file catches read-only file systems. */
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof(probe), "%s/.write-probe.%d", path, (int)getpid());
	int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errcap, "datadir %s is not writable: %s", path, strerror(errno));
		return CH_EPERM;
	}
	close(fd);
	unlink(probe);
	return 0;
}

int datadir_prepare(const char *datadir, char *abs, size_t abscap, char *err, size_t errcap)
{
	int e = mkdir_p(datadir, 0700);
	if (e) {
		snprintf(err, errcap, "cannot create datadir %s: %s", datadir, strerror(e));
		return e == EACCES || e == EROFS || e == EPERM ? CH_EPERM : CH_EINVAL;
	}
	int rc = check_dir(datadir, err, errcap);
	if (rc)
		return rc;
	char real[PATH_MAX];
	if (!realpath(datadir, real) || strlen(real) >= abscap) {
		snprintf(err, errcap, "datadir %s: cannot resolve its path", datadir);
		return CH_EINVAL;
	}
	strcpy(abs, real);
	char run[PATH_MAX + 8];
	snprintf(run, sizeof(run), "%s/run", abs);
	if (mkdir(run, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create %s: %s", run, strerror(errno));
		return CH_EIO;
	}
	chmod(run, 0700);
	return 0;
}

int datadir_lock(const char *datadir, int *fd_out, char *err, size_t errcap)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/chorusd.lock", datadir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
		return CH_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		close(fd);
		snprintf(err, errcap, "datadir %s is in use by another chorusd (pid %d)", datadir,
		         atoi(buf));
		return CH_EBUSY;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return CH_EIO;
	}
	*fd_out = fd;
	return 0;
}

void datadir_unlock(const char *datadir, int fd)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/chorusd.lock", datadir);
	unlink(path);
	close(fd);
}

/* is_chorus_service: true if pid runs one of our service programs, so a
 * reused pid of an unrelated process is never killed. */
static int is_chorus_service(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, "chorus-") != NULL;
}

void datadir_clean_stale(const char *datadir, const char *shm_name)
{
	char run[PATH_MAX + 8];
	snprintf(run, sizeof(run), "%s/run", datadir);
	DIR *d = opendir(run);
	pid_t killed[16];
	int nkilled = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[PATH_MAX + 8 + 300];
			snprintf(path, sizeof(path), "%s/%s", run, e->d_name);
			size_t len = strlen(e->d_name);
			if (len > 4 && strcmp(e->d_name + len - 4, ".pid") == 0) {
				FILE *f = fopen(path, "r");
				int pid = 0;
				if (f) {
					if (fscanf(f, "%d", &pid) != 1)
						pid = 0;
					fclose(f);
				}
				if (pid > 1 && pid != getpid() && is_chorus_service(pid) &&
				    kill(pid, SIGKILL) == 0) {
					ch_log(CH_LOG_LEVEL_WARN,
					       "killed %s (pid %d) left by a previous chorusd",
					       e->d_name, pid);
					if (nkilled < 16)
						killed[nkilled++] = pid;
				}
			}
			if (unlink(path) == 0)
				ch_log(CH_LOG_LEVEL_INFO, "removed stale %s", path);
		}
		closedir(d);
	}
	/* Wait (bounded) for the killed ones to be gone before we reuse names. */
	for (int i = 0; i < nkilled; i++)
		for (int t = 0; t < 200 && kill(killed[i], 0) == 0; t++)
			ch_sleep_ns(5000000);
	if (shm_name && shm_region_unlink(shm_name) == 0)
		ch_log(CH_LOG_LEVEL_WARN, "removed stale shared memory %s", shm_name);
}
