#include "routing/rendezvous.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace routing::rendezvous {
namespace {

uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t splitmix_final(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool excluded(const Node* n, std::span<const Node* const> exclude) {
  return std::find(exclude.begin(), exclude.end(), n) != exclude.end();
}

}  // namespace

uint64_t hash(std::string_view text) {
  constexpr uint64_t m = 0xC6A4A7935BD1E995ull;
  constexpr int r = 47;
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const size_t len = text.size();
  uint64_t h = len * m;
  const size_t words = len / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t k = load_le64(data + 8 * i);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const unsigned char* tail = data + 8 * words;
  switch (len & 7) {
    case 7:
      h ^= uint64_t(tail[6]) << 48;
      [[fallthrough]];
    case 6:
      h ^= uint64_t(tail[5]) << 40;
      [[fallthrough]];
    case 5:
      h ^= uint64_t(tail[4]) << 32;
      [[fallthrough]];
    case 4:
      h ^= uint64_t(tail[3]) << 24;
      [[fallthrough]];
    case 3:
      h ^= uint64_t(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= uint64_t(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= uint64_t(tail[0]);
      h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

uint64_t combine(uint64_t key_hash, uint64_t identity_hash) {
  // Two rounds: the identity's hash is mixed alone first, so key ^ identity cannot cancel out
  // for related inputs.
  return splitmix_final(key_hash ^ splitmix_final(identity_hash + 0x9E3779B97F4A7C15ull));
}

double unit(uint64_t h) {
  // 52 bits: (2^52 - 1 + 0.5) / 2^52 = 1 - 2^-53 is still below 1 in a double (53 bits would
  // round up to 1, and ln(1) = 0).
  return (static_cast<double>(h >> 12) + 0.5) * 0x1.0p-52;
}

double score(uint64_t key_hash, uint64_t identity_hash, uint32_t weight) {
  if (weight == 0) return 0.0;
  return -static_cast<double>(weight) / std::log(unit(combine(key_hash, identity_hash)));
}

std::vector<size_t> order(std::string_view key, std::span<const Candidate> candidates) {
  const uint64_t k = hash(key);
  std::vector<double> scores(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i)
    scores[i] = score(k, hash(candidates[i].identity), candidates[i].weight);
  std::vector<size_t> idx(candidates.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (scores[a] != scores[b]) return scores[a] > scores[b];
    if (candidates[a].identity != candidates[b].identity)
      return candidates[a].identity < candidates[b].identity;
    return a < b;
  });
  return idx;
}

std::vector<Node*> order(std::string_view key, std::span<Node* const> nodes) {
  std::vector<Candidate> c;
  c.reserve(nodes.size());
  for (const Node* n : nodes) c.push_back({n->name(), n->weight()});
  std::vector<Node*> out;
  out.reserve(nodes.size());
  for (size_t i : order(key, c)) out.push_back(nodes[i]);
  return out;
}

Node* best_usable(std::string_view key, std::span<Node* const> nodes,
                  std::span<const Node* const> exclude) {
  const uint64_t k = hash(key);
  Node* best = nullptr;
  double best_score = -1.0;
  for (Node* n : nodes) {
    if (!n->usable() || excluded(n, exclude)) continue;
    const double s = score(k, hash(n->name()), n->weight());
    if (!best || s > best_score || (s == best_score && n->name() < best->name())) {
      best = n;
      best_score = s;
    }
  }
  return best;
}

}  // namespace routing::rendezvous
