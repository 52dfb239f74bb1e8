/* packages.h — the example packages embedded at build time (see
 * CMakeLists.txt beside this file). */
#ifndef CARDVM_EXAMPLE_PACKAGES_H
#define CARDVM_EXAMPLE_PACKAGES_H
#include <stddef.h>
#include <stdint.h>
extern const uint8_t example_custom_package[];
extern const size_t example_custom_package_len;
extern const uint8_t example_masked_os_package[];
extern const size_t example_masked_os_package_len;
extern const uint8_t example_os_update_package[];
extern const size_t example_os_update_package_len;
#endif
