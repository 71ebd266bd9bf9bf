#ifndef DORALOG_PREFETCH_H
#define DORALOG_PREFETCH_H

/// Asks the processor to start loading the cache line at `address` (a hint: it never faults
/// and changes nothing). Swift has no way to say this itself.
static inline void doralog_prefetch(const void *address) {
    __builtin_prefetch(address);
}

#endif
