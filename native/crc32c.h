// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF.
// Kafka's RecordBatch v2 carries it over bytes [21, end) of every batch.
//
// Plain C++ with no Node dependency: binding.cc wraps it for JavaScript, and it can be
// compiled and tested on its own. Three implementations, chosen once at run time:
//   - x86-64 SSE4.2 `crc32` instruction (cpuid leaf 1, ECX bit 20),
//   - arm64 CRC extension `crc32c*` instructions (getauxval(AT_HWCAP) & HWCAP_CRC32),
//   - a portable slicing-by-8 table path.
// The hardware paths are compiled with per-function target attributes, so the library is
// built for the baseline ISA and still runs on CPUs without the instructions.
#ifndef SEGLOG_CRC32C_H
#define SEGLOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

namespace seglog {

// Continues a CRC-32C over `data[0, length)`. `crc` is a previous result (0 to start), and the
// result is the finished CRC (final XOR applied), so calls chain: update(update(0, a), b) ==
// update(0, a ++ b).
uint32_t crc32c_update(uint32_t crc, const uint8_t* data, size_t length);

// The portable path, whatever the CPU offers (for parity tests and benchmarks).
uint32_t crc32c_update_software(uint32_t crc, const uint8_t* data, size_t length);

// Which implementation crc32c_update uses: "sse4.2", "armv8-crc" or "software".
const char* crc32c_implementation();

}  // namespace seglog

#endif  // SEGLOG_CRC32C_H
