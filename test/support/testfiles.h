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
/* Nonzero when `needle` occurs in `hay` (e.g. secrets searched in an image). */
int test_has_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);

#endif
