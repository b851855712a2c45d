// A fast streaming 64-bit checksum for the files recd writes (HNSW index,
// model snapshots). Not cryptographic: it detects truncation, bit rot and
// torn writes. Each 8-byte word goes through a step that is a bijection of
// the state, so any change confined to one word is always detected; the
// length is mixed in at the end. Thread-compatible.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace recd::core {

class Checksum {
 public:
  void Update(const void* data, size_t len) {
    const auto* p = static_cast<const char*>(data);
    total_ += len;
    if (fill_ > 0) {
      const size_t take = std::min(8 - fill_, len);
      std::memcpy(tail_ + fill_, p, take);
      fill_ += take;
      p += take;
      len -= take;
      if (fill_ < 8) return;
      Mix(Word(tail_));
      fill_ = 0;
    }
    for (; len >= 8; p += 8, len -= 8) Mix(Word(p));
    std::memcpy(tail_, p, len);
    fill_ = len;
  }

  uint64_t Finish() const {
    uint64_t last = 0;
    std::memcpy(&last, tail_, fill_);
    uint64_t h = Step(Step(h_, last), total_);
    h ^= h >> 30;  // splitmix64 finaliser
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
  }

 private:
  static uint64_t Word(const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  static uint64_t Step(uint64_t h, uint64_t w) {
    return std::rotl((h ^ w) * 0x9e3779b97f4a7c15ULL, 27);
  }
  void Mix(uint64_t w) { h_ = Step(h_, w); }

  uint64_t h_ = 0x52454344484e5357ULL;
  uint64_t total_ = 0;
  char tail_[8] = {};
  size_t fill_ = 0;
};

}  // namespace recd::core
