/* cap_testfile.h — test helpers for CAP files: a CAP (zip) read with libzip
 * into the GlobalPlatform load file's component sequence, and the shared
 * test material's location. Test-side only; the product's reader is in
 * tools/. */
#ifndef CARDVM_TEST_CAP_TESTFILE_H
#define CARDVM_TEST_CAP_TESTFILE_H

#include <stddef.h>
#include <stdint.h>

/* The components of a CAP file concatenated in load order (Header ...
 * RefLocation, Descriptor; Debug left out), without the C4 wrapper.
 * malloc'ed; NULL when the file cannot be read. */
uint8_t *cap_test_load_file(const char *cap_path, size_t *len);

/* ${CMAKE_SOURCE_DIR}/../shared/javacard, or NULL when absent. */
const char *cap_test_shared_dir(void);

/* Every *.cap under dir (recursively), sorted; returns the count and a
 * malloc'ed array of malloc'ed paths. */
size_t cap_test_find_caps(const char *dir, char ***paths);
void cap_test_free_paths(char **paths, size_t n);

#endif
