#ifndef DORALOG_CRC32C_HARDWARE_H
#define DORALOG_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// Whether this processor has the CRC-32C instruction (x86-64 with SSE 4.2); 0 elsewhere.
int doralog_crc32c_hardware_available(void);

/// Continues a CRC-32C over `count` bytes from the running (not finalized) value `crc`, with
/// the processor's instruction. Call only when `doralog_crc32c_hardware_available()` is 1.
uint32_t doralog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count);

#endif
