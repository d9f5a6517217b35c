// What `passeur --help` and `passeur help SUBCOMMAND` print. The man page (deploy/man/passeur.1)
// says the same at more length.
#pragma once

#include <string_view>

namespace proxy {

// The summary of every subcommand.
extern const char* const kUsage;

// The help of one subcommand ("run", "check", "ctl", "version", "help"); nullptr if unknown.
// "ctl" is printed by `passeur ctl --help` itself.
const char* subcommand_help(std::string_view name);

}  // namespace proxy
