// Weighted rendezvous hashing (highest random weight): for a key, every node gets a score, and
// the key goes to the usable node with the highest. Removing a node moves only the keys it had;
// adding one takes keys from every node in proportion. Nothing is shared or stored: two
// processes with the same nodes and weights agree on every key.
//
// Scores follow Schindelhauer and Schomaker's logarithmic method ("Weighted distributed hash
// tables", 2005): score = -weight / ln(u), with u in (0, 1) drawn from a stable hash of the key
// and the node's identity. A node of weight w then wins a share w / (sum of weights) of the keys.
//
// A node's identity is the text it is hashed as: HTTP source affinity uses the node's name;
// other callers choose theirs (the mail front uses the node's IP address, so that the pools of
// one machine agree). The hash is this file's own (MurmurHash64A on little-endian words, then a
// splitmix64 finaliser to combine), the same on every machine and in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "routing/node.h"

namespace routing::rendezvous {

// A stable, well-mixed 64-bit hash of `text` (MurmurHash64A, seed 0, bytes read little-endian).
uint64_t hash(std::string_view text);

// The hash of (key, identity), from their hash() values: mixed so that scores of one key on
// different nodes, and of one node for different keys, are independent.
uint64_t combine(uint64_t key_hash, uint64_t identity_hash);

// u in the open interval (0, 1) from a 64-bit hash: (its top 52 bits + 0.5) / 2^52.
double unit(uint64_t h);

// -weight / ln(u): higher wins. weight 0 scores 0 (never preferred over a weighted node).
double score(uint64_t key_hash, uint64_t identity_hash, uint32_t weight);

struct Candidate {
  std::string_view identity;
  uint32_t weight = 1;
};

// The candidates' indexes, best first. Equal scores (practically never) are ordered by
// identity, then by index.
std::vector<size_t> order(std::string_view key, std::span<const Candidate> candidates);

// The nodes in the key's preference order (identity: the node's name, weight: its configured
// weight), whatever their state.
std::vector<Node*> order(std::string_view key, std::span<Node* const> nodes);

// The best usable node for the key that is not in `exclude`; null when none is.
Node* best_usable(std::string_view key, std::span<Node* const> nodes,
                  std::span<const Node* const> exclude = {});

}  // namespace routing::rendezvous
