/* prom.h: a writer of the Prometheus text exposition format, version 0.0.4
 * (docs/metrics.md).
 *
 * One family at a time: prom_family writes its HELP and TYPE lines, then
 * prom_u64 / prom_f64 write its samples (the format wants a family's
 * samples together, after its HELP and TYPE).  Labels are given as
 * name/value pairs; values are escaped here (backslash, double quote,
 * newline).  The buffer grows as needed; an allocation failure is sticky
 * and reported by prom_ok. */
#ifndef CH_PROM_H
#define CH_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct prom {
	char *buf;
	size_t len, cap;
	bool oom;
} prom_t;

/* A label set: up to PROM_LABELS_MAX pairs; NULL names end it early. */
#define PROM_LABELS_MAX 3
typedef struct prom_labels {
	const char *name[PROM_LABELS_MAX];
	const char *value[PROM_LABELS_MAX];
} prom_labels_t;

/* prom_family: "# HELP name help" and "# TYPE name type" (type: counter,
 * gauge, histogram). */
void prom_family(prom_t *p, const char *name, const char *type, const char *help);

/* prom_u64 / prom_f64: one sample "name{labels} value"; labels may be NULL.
 * name may carry a suffix of the family (_bucket, _sum, _count). */
void prom_u64(prom_t *p, const char *name, const prom_labels_t *l, uint64_t v);
void prom_f64(prom_t *p, const char *name, const prom_labels_t *l, double v);

/* prom_ok: no allocation failed. */
bool prom_ok(const prom_t *p);

/* prom_free: releases the buffer; the writer is empty and reusable. */
void prom_free(prom_t *p);

#endif
