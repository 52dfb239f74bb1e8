/* testfiles.h — file helpers the test programs share. */
#ifndef CARDVM_TEST_FILES_H
#define CARDVM_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Whole file into a malloc'ed buffer (one spare NUL byte after it); NULL
 * when it cannot be read. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Copy a file (card image templates); 0 on success. */
int test_copy_file(const char *from, const char *to);
/* A new temp dir /tmp/cardvm-test-TAG-XXXXXX into dir; 0, or -1. */
int test_make_dir(const char *tag, char *dir, size_t dirlen);
/* Remove a temp dir and all in it; 0, or -1. */
int test_remove_dir(const char *dir);
/* "dir/name" in one of four rotating buffers: valid until the fourth
 * call after it (enough for the arguments of one call). */
const char *test_path(const char *dir, const char *name);
/* Nonzero when `needle` occurs in `hay` (e.g. secrets searched in an image). */
int test_has_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);

#endif
