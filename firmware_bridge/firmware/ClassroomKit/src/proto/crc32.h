// CRC-32/ISO-HDLC (the zlib / Ethernet CRC): poly 0x04C11DB7 reflected (0xEDB88320), init and
// xorout 0xFFFFFFFF. Check value over ASCII "123456789" is 0xCBF43926. Used for whole program
// uploads (docs/serial-protocol.md §11), where CRC-16 per frame is not enough.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace kit {

// Running form: start with crc32_begin(), feed chunks with crc32_update(), end with crc32_end().
inline uint32_t crc32_begin() { return 0xFFFFFFFFu; }
uint32_t crc32_update(uint32_t state, const uint8_t* data, size_t len);
inline uint32_t crc32_end(uint32_t state) { return state ^ 0xFFFFFFFFu; }
inline uint32_t crc32(const uint8_t* data, size_t len) { return crc32_end(crc32_update(crc32_begin(), data, len)); }

}  // namespace kit
