// Session affinity of an HTTP pool: which node a client's requests keep going to.
//
// cookie: the first answer sets a cookie naming the node (an opaque value, see
// NodeSettings::cookie); the next requests carrying it go to that node while it takes them.
// source: the client's address picks the node by weighted rendezvous hashing
// (routing/rendezvous.h), over the usable nodes.
#pragma once

#include <cstdint>

#include "routing/node.h"

namespace routing {

// Whether a node still takes the clients whose cookie names it: up (or starting) and active or
// draining, as HAProxy's persistence does. A draining node keeps the browsers it has (their
// node-local state, such as a webmail's attachments being composed, stays reachable) and
// gets no new one; a node down or in maintenance loses them to other nodes.
inline bool takes_affine(const Node& n) {
  const Health h = n.health();
  const Admin a = n.admin();
  return (h == Health::Up || h == Health::Starting) && (a == Admin::Active || a == Admin::Draining);
}

}  // namespace routing
