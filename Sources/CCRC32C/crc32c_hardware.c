// CRC-32C with the processor's instruction. Swift cannot emit it for a processor feature
// that is checked at run time, so this file does; DoraEventLog's CRC32C calls it when the
// feature is present and otherwise uses its own table-driven code (a test holds the two equal).
#include "crc32c_hardware.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

int doralog_crc32c_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2")))
uint32_t doralog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t wide = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        wide = _mm_crc32_u64(wide, word);
        p += 8;
        count -= 8;
    }
    uint32_t narrow = (uint32_t)wide;
    while (count > 0) {
        narrow = _mm_crc32_u8(narrow, *p);
        p += 1;
        count -= 1;
    }
    return narrow;
}

#else

int doralog_crc32c_hardware_available(void) { return 0; }

uint32_t doralog_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    // Never called: `doralog_crc32c_hardware_available()` is 0 here.
    (void)crc;
    (void)bytes;
    (void)count;
    __builtin_trap();
}

#endif
