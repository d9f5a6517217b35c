// The address ranges of accept_proxy: routing::Cidr (routing/cidr.h) under its older name.
#pragma once

#include "routing/cidr.h"

namespace proxy::tcp_relay {

using routing::Cidr;
using routing::parse_cidr;

}  // namespace proxy::tcp_relay
