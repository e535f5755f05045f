/* test_region.c: unit tests of shm/region (the node's named segment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "region.h"
#include "ring.h"

static char name_a[64], name_b[64];

/* Every segment this test creates is named here and unlinked by the group
 * teardown, which cmocka runs even when a test fails. */
static int group_setup(void **state)
{
	(void)state;
	snprintf(name_a, sizeof(name_a), "/chorus-test-%d-a", (int)getpid());
	snprintf(name_b, sizeof(name_b), "/chorus-test-%d-b", (int)getpid());
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	shm_unlink(name_a);
	shm_unlink(name_b);
	return 0;
}

static void test_name_from_datadir(void **state)
{
	(void)state;
	char d1[] = "/tmp/chorus-region-XXXXXX", d2[] = "/tmp/chorus-region-XXXXXX";
	assert_non_null(mkdtemp(d1));
	assert_non_null(mkdtemp(d2));
	char n1[SHM_REGION_PATH_MAX], n2[SHM_REGION_PATH_MAX], n3[SHM_REGION_PATH_MAX];
	assert_int_equal(shm_region_name(d1, n1, sizeof(n1)), 0);
	assert_int_equal(shm_region_name(d2, n2, sizeof(n2)), 0);
	assert_string_not_equal(n1, n2);
	assert_int_equal(strncmp(n1, "/chorus-", 8), 0);
	assert_int_equal(strlen(n1), 8 + 16);
	/* the same directory by another spelling gives the same name */
	char alias[128];
	snprintf(alias, sizeof(alias), "%s/./", d1);
	assert_int_equal(shm_region_name(alias, n3, sizeof(n3)), 0);
	assert_string_equal(n1, n3);
	assert_int_equal(shm_region_name("/nonexistent/chorus/dir", n3, sizeof(n3)), CH_ENOENT);
	assert_int_equal(shm_region_name(d1, n3, 10), CH_ERANGE);
	assert_int_equal(shm_region_name(NULL, n3, sizeof(n3)), CH_EINVAL);
	rmdir(d1);
	rmdir(d2);
}

static void test_create_alloc_find_open(void **state)
{
	(void)state;
	shm_region_t *r = NULL, *j = NULL;
	assert_int_equal(shm_region_create(name_a, 1 << 20, &r), 0);
	assert_int_equal(shm_region_create(name_a, 1 << 20, &j), CH_EEXIST);
	assert_null(j);
	void *ring_mem, *cb;
	size_t fp = shm_ring_footprint(65536, 4096);
	assert_int_equal(shm_region_alloc(r, "ring.a", shm_ring_align(), fp, &ring_mem), 0);
	assert_int_equal((uintptr_t)ring_mem % shm_ring_align(), 0);
	assert_non_null(shm_ring_new(ring_mem, 65536, 4096));
	assert_int_equal(shm_region_alloc(r, "control", 64, 1000, &cb), 0);
	assert_int_equal(shm_region_alloc(r, "control", 64, 1000, &cb), CH_EEXIST);
	assert_int_equal(shm_region_alloc(r, "big", 64, 1 << 21, &cb), CH_ENOMEM);
	assert_int_equal(shm_region_alloc(r, "x", 3, 10, &cb), CH_EINVAL);
	assert_int_equal(
	    shm_region_alloc(r, "a-name-that-is-far-too-long-for-the-directory", 8, 10, &cb),
	    CH_EINVAL);

	/* another mapping (as another process would) finds the same objects */
	assert_int_equal(shm_region_open(name_a, &j), 0);
	void *found;
	size_t sz;
	assert_int_equal(shm_region_find(j, "ring.a", &found, &sz), 0);
	assert_int_equal(sz, fp);
	assert_int_equal((uint8_t *)found - (uint8_t *)shm_region_base(j),
	                 (uint8_t *)ring_mem - (uint8_t *)shm_region_base(r));
	assert_int_equal(shm_region_find(j, "nope", &found, &sz), CH_ENOENT);
	shm_ring_t *p, *c;
	assert_int_equal(shm_ring_join(ring_mem, fp, SHM_RING_PRODUCER, -1, -1, &p), 0);
	assert_int_equal(shm_ring_join(found, sz, SHM_RING_CONSUMER, -1, -1, &c), 0);
	assert_int_equal(shm_ring_try_push(p, "across", 6, 1), 0);
	shm_rec_t rec;
	assert_int_equal(shm_ring_peek(c, &rec), 0);
	assert_memory_equal(rec.data, "across", 6);
	shm_ring_leave(&p);
	shm_ring_leave(&c);

	shm_region_close(&j);
	assert_null(j);
	shm_region_close(&j); /* safe twice */
	shm_region_close(&r);
	assert_int_equal(shm_region_unlink(name_a), 0);
	assert_int_equal(shm_region_unlink(name_a), CH_ENOENT);
	assert_int_equal(shm_region_open(name_a, &j), CH_ENOENT);
}

static void write_raw(const char *name, const void *buf, size_t len, size_t total)
{
	int fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)total), 0);
	if (len)
		assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	close(fd);
}

static void test_open_refuses_foreign_segments(void **state)
{
	(void)state;
	shm_region_t *r = NULL;
	uint64_t junk[8] = {0x1122334455667788ULL};
	write_raw(name_b, junk, sizeof(junk), 1 << 16);
	assert_int_equal(shm_region_open(name_b, &r), CH_EMAGIC);
	assert_null(r);
	/* right type, wrong layout version */
	uint64_t v2[4] = {0x63687265676e0000ULL | 2, 1 << 16, 4096, 0};
	write_raw(name_b, v2, sizeof(v2), 1 << 16);
	assert_int_equal(shm_region_open(name_b, &r), CH_EVERSION);
	/* header claims more than the segment holds */
	uint64_t big[4] = {0x63687265676e0000ULL | 1, 1 << 24, 4096, 0};
	write_raw(name_b, big, sizeof(big), 1 << 16);
	assert_int_equal(shm_region_open(name_b, &r), CH_ERANGE);
	/* too small to hold a header at all */
	write_raw(name_b, NULL, 0, 16);
	assert_int_equal(shm_region_open(name_b, &r), CH_ERANGE);
	assert_int_equal(shm_region_unlink(name_b), 0);
	assert_int_equal(shm_region_open(NULL, &r), CH_EINVAL);
	assert_int_equal(shm_region_create(name_b, 10, &r), CH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_from_datadir),
	    cmocka_unit_test(test_create_alloc_find_open),
	    cmocka_unit_test(test_open_refuses_foreign_segments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
