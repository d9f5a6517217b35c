// The request's TE field (RFC 9110 10.1.4), as far as a proxy needs it.
#pragma once

#include <string_view>

namespace proxy::http {

// Whether a TE value lists "trailers" (case-insensitive, among other codings and their
// parameters): the client takes the trailer fields of a chunked response.
bool accepts_trailers(std::string_view te);

}  // namespace proxy::http
