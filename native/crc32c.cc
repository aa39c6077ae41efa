// CRC-32C: hardware (SSE4.2 / ARMv8 CRC) and software (slicing-by-8) paths, chosen at run time.
//
// The hardware loop runs three independent CRC streams over three adjacent blocks, because the
// crc32 instruction has a latency of 3 cycles but a throughput of 1 per cycle: one stream
// would leave the unit idle two cycles out of three. The three partial CRCs are joined with
// the "shift by n zero bytes" operator (multiplication by x^(8n) modulo the polynomial,
// tabulated per byte of the CRC), as in Mark Adler's crc32c.c. CRC registers are linear:
//   state(s, A ++ B) = shift(state(s, A), |B|) ^ state(0, B)
// which is all the joining relies on.
#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define SEGLOG_CRC_X86 1
#include <cpuid.h>
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__linux__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SEGLOG_CRC_ARM 1
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

namespace seglog {
namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // reflected 0x1EDC6F41

// Block sizes of the three-stream loops. 8 KiB streams amortise the join (four table lookups
// per stream) to nothing; 256-byte streams keep the three-way gain for mid-size buffers such
// as a 4 KiB batch. Adler's crc32c.c uses the same two sizes.
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;

// a * b modulo the polynomial, in the reflected bit order (bit 31 is x^0).
uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31;
  uint32_t p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = b & 1 ? (b >> 1) ^ kPoly : b >> 1;
  }
  return p;
}

// x^(8n) modulo the polynomial: the operator that appends n zero bytes to a CRC register.
uint32_t x8nmodp(size_t n) {
  uint32_t xp = 1u << 30;  // x^1
  uint32_t p = 1u << 31;   // x^0
  // Square x up to x^8 (x^(2^3)), then square per bit of n.
  for (int k = 0; k < 3; k++) xp = multmodp(xp, xp);
  while (n != 0) {
    if (n & 1) p = multmodp(xp, p);
    xp = multmodp(xp, xp);
    n >>= 1;
  }
  return p;
}

struct Tables {
  uint32_t slice[8][256];        // slicing-by-8: slice[k][b] = CRC of b followed by k zero bytes
  uint32_t shift_long[4][256];   // appends kLongBlock zero bytes, per byte of the register
  uint32_t shift_short[4][256];  // appends kShortBlock zero bytes

  Tables() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ kPoly : c >> 1;
      slice[0][n] = c;
    }
    for (int k = 1; k < 8; k++) {
      for (int n = 0; n < 256; n++) slice[k][n] = (slice[k - 1][n] >> 8) ^ slice[0][slice[k - 1][n] & 0xff];
    }
    const uint32_t op_long = x8nmodp(kLongBlock);
    const uint32_t op_short = x8nmodp(kShortBlock);
    for (int k = 0; k < 4; k++) {
      for (uint32_t n = 0; n < 256; n++) {
        shift_long[k][n] = multmodp(op_long, n << (8 * k));
        shift_short[k][n] = multmodp(op_short, n << (8 * k));
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;  // built once, thread-safe (C++11 static initialisation)
  return t;
}

inline uint32_t shift(const uint32_t op[4][256], uint32_t crc) {
  return op[0][crc & 0xff] ^ op[1][(crc >> 8) & 0xff] ^ op[2][(crc >> 16) & 0xff] ^ op[3][crc >> 24];
}

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);  // little-endian on every target that reaches here
  return v;
}

uint32_t crc32c_software(uint32_t crc, const uint8_t* p, size_t n) {
  const Tables& t = tables();
  uint32_t c = ~crc;
  while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = t.slice[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    n--;
  }
  while (n >= 8) {
    uint32_t lo;
    memcpy(&lo, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    lo = __builtin_bswap32(lo);
#endif
    lo ^= c;
    c = t.slice[7][lo & 0xff] ^ t.slice[6][(lo >> 8) & 0xff] ^ t.slice[5][(lo >> 16) & 0xff] ^ t.slice[4][lo >> 24] ^
        t.slice[3][p[4]] ^ t.slice[2][p[5]] ^ t.slice[1][p[6]] ^ t.slice[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n != 0) {
    c = t.slice[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    n--;
  }
  return ~c;
}

#if defined(SEGLOG_CRC_X86)

bool cpu_has_hardware_crc() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_hardware(uint32_t crc, const uint8_t* p, size_t n) {
  const Tables& t = tables();
  uint64_t c0 = ~crc;
  while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c0 = _mm_crc32_u8(static_cast<uint32_t>(c0), *p++);
    n--;
  }
  while (n >= 3 * kLongBlock) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t* end = p + kLongBlock;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + kLongBlock));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kLongBlock));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_long, static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift(t.shift_long, static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * kLongBlock;
    n -= 3 * kLongBlock;
  }
  while (n >= 3 * kShortBlock) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t* end = p + kShortBlock;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + kShortBlock));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * kShortBlock));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_short, static_cast<uint32_t>(c0)) ^ c1;
    c0 = shift(t.shift_short, static_cast<uint32_t>(c0)) ^ c2;
    p += 2 * kShortBlock;
    n -= 3 * kShortBlock;
  }
  while (n >= 8) {
    c0 = _mm_crc32_u64(c0, load64(p));
    p += 8;
    n -= 8;
  }
  while (n != 0) {
    c0 = _mm_crc32_u8(static_cast<uint32_t>(c0), *p++);
    n--;
  }
  return ~static_cast<uint32_t>(c0);
}

constexpr const char* kHardwareName = "sse4.2";

#elif defined(SEGLOG_CRC_ARM)

bool cpu_has_hardware_crc() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }

#if defined(__clang__)
#define SEGLOG_TARGET_CRC __attribute__((target("crc")))
#else
#define SEGLOG_TARGET_CRC __attribute__((target("+crc")))
#endif

SEGLOG_TARGET_CRC uint32_t crc32c_hardware(uint32_t crc, const uint8_t* p, size_t n) {
  const Tables& t = tables();
  uint32_t c0 = ~crc;
  while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c0 = __crc32cb(c0, *p++);
    n--;
  }
  while (n >= 3 * kLongBlock) {
    uint32_t c1 = 0, c2 = 0;
    const uint8_t* end = p + kLongBlock;
    do {
      c0 = __crc32cd(c0, load64(p));
      c1 = __crc32cd(c1, load64(p + kLongBlock));
      c2 = __crc32cd(c2, load64(p + 2 * kLongBlock));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_long, c0) ^ c1;
    c0 = shift(t.shift_long, c0) ^ c2;
    p += 2 * kLongBlock;
    n -= 3 * kLongBlock;
  }
  while (n >= 3 * kShortBlock) {
    uint32_t c1 = 0, c2 = 0;
    const uint8_t* end = p + kShortBlock;
    do {
      c0 = __crc32cd(c0, load64(p));
      c1 = __crc32cd(c1, load64(p + kShortBlock));
      c2 = __crc32cd(c2, load64(p + 2 * kShortBlock));
      p += 8;
    } while (p < end);
    c0 = shift(t.shift_short, c0) ^ c1;
    c0 = shift(t.shift_short, c0) ^ c2;
    p += 2 * kShortBlock;
    n -= 3 * kShortBlock;
  }
  while (n >= 8) {
    c0 = __crc32cd(c0, load64(p));
    p += 8;
    n -= 8;
  }
  while (n != 0) {
    c0 = __crc32cb(c0, *p++);
    n--;
  }
  return ~c0;
}

constexpr const char* kHardwareName = "armv8-crc";

#endif

using CrcFn = uint32_t (*)(uint32_t, const uint8_t*, size_t);

struct Dispatch {
  CrcFn fn = crc32c_software;
  const char* name = "software";
  Dispatch() {
    tables();  // build the tables before the first call rather than inside it
#if defined(SEGLOG_CRC_X86) || defined(SEGLOG_CRC_ARM)
    if (cpu_has_hardware_crc()) {
      fn = crc32c_hardware;
      name = kHardwareName;
    }
#endif
  }
};

const Dispatch& dispatch() {
  static const Dispatch d;
  return d;
}

}  // namespace

uint32_t crc32c_update(uint32_t crc, const uint8_t* data, size_t length) {
  return dispatch().fn(crc, data, length);
}

uint32_t crc32c_update_software(uint32_t crc, const uint8_t* data, size_t length) {
  return crc32c_software(crc, data, length);
}

const char* crc32c_implementation() { return dispatch().name; }

}  // namespace seglog
