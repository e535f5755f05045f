/* datadir.h: chorusd's hold on its datadir: created if missing, a lock so
 * that one chorusd runs per datadir, run/ for sockets and pid files, and the
 * clean-up of what a crashed chorusd left behind. */
#ifndef CH_NODE_DATADIR_H
#define CH_NODE_DATADIR_H

#include <stddef.h>

/* datadir_prepare: makes datadir (0700) and datadir/run (0700) if missing,
 * checks they are writable directories, and writes the absolute path into
 * abs.  0 or a CH_E* code with the reason in err. */
int datadir_prepare(const char *datadir, char *abs, size_t abscap, char *err, size_t errcap);

/* datadir_lock: takes DATADIR/chorusd.lock (flock, close-on-exec, so
 * services never inherit it) and writes our pid into it.  CH_EBUSY with
 * "in use by chorusd (pid N)" when another chorusd holds it.  Returns the
 * fd through *fd. */
int datadir_lock(const char *datadir, int *fd, char *err, size_t errcap);

/* datadir_unlock: releases and removes the lock file. */
void datadir_unlock(const char *datadir, int fd);

/* datadir_clean_stale: after taking the lock: kills services a crashed
 * chorusd left running (their run/NAME.pid, if the process is a chorus
 * service), removes stale sockets and pid files in run/, and unlinks the
 * node's shared-memory segment if it exists.  Logs what it removed. */
void datadir_clean_stale(const char *datadir, const char *shm_name);

#endif
