// `passeur geoip lookup IP [-c FILE | -d DATABASE]`: what Passeur would decide for a client
// address: its country, and what each listener's and route's access rule does with it.
#pragma once

namespace proxy {

// argv[1] is "geoip". Returns the process exit code: 0 printed an answer, 1 the config or the
// database cannot be used, 2 bad arguments.
int run_geoip_command(int argc, char** argv);

}  // namespace proxy
