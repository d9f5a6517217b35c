// `passeur ctl`: the admin API from the command line.
//
//   passeur ctl [-c CONFIG] [--admin ADDR] [--token-file F] [--json] COMMAND
//     pools [POOL]                 every pool's nodes as a table (--json: the API's JSON)
//     drain POOL NODE              no new work for the node; in-flight work finishes
//     maintenance POOL NODE        as drain, and its health checks stop
//     ready POOL NODE              back to active
//     reload                       re-read the config file (as SIGHUP does)
//     shield [N]                   the login shield's N entries with the most failures
//     shield clear all|ADDRESS|USER|DIMENSION KEY   forget login shield entries
//
// The admin address is --admin, else [server] admin_listen of -c CONFIG, else 127.0.0.1:9900;
// the token is --token-file's, else the config's admin_token_file's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace proxy::admin {

// `argv` as main() got it, argv[1] being "ctl". Returns the exit status: 0 on success, 1 when
// the server answered with an error or could not be reached, 2 on a usage error.
int run_ctl(int argc, char** argv);

// The table `passeur ctl pools` prints for the JSON of GET /api/v1/pools (or of one pool).
// Empty, with `error` set, when the text is not that JSON.
std::string format_pools_table(std::string_view json_text, std::string& error);

// The table `passeur ctl shield` prints for the JSON of GET /api/v1/shield. Empty, with
// `error` set, when the text is not that JSON.
std::string format_shield_table(std::string_view json_text, std::string& error);

// The API path that `passeur ctl shield clear WORDS...` posts to: "all", an address, a user
// name, or a dimension and a key. Empty, with `error` set, on a usage error.
std::string shield_clear_path(const std::vector<std::string>& words, std::string& error);

// "12s", "5m07s", "3h05m", "2d04h".
std::string format_age(double seconds);

}  // namespace proxy::admin
