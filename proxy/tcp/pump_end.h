// How one relayed direction ended (pump() in relay.h, splice_pump() in splice_pump.h).
#pragma once

#include <cstdint>

namespace proxy::tcp_relay {

enum class PumpEnd : uint8_t {
  Fin,          // the source closed its sending side cleanly: pass the half-close on
  ReadError,    // the source failed (reset, cancelled)
  WriteError,   // the destination failed
  ProxyHeader,  // the first bytes were a PROXY header from a source not allowed to send one
};

}  // namespace proxy::tcp_relay
