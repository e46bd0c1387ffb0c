// The public header compiles as C++ and its types are usable from C++.
#include "interstice.h"

static_assert(INTERSTICE_VERSION_NUMBER == INTERSTICE_VERSION_MAJOR * 10000 + INTERSTICE_VERSION_MINOR * 100 + INTERSTICE_VERSION_PATCH,
              "version number");

int header_cxx_probe();
int header_cxx_probe() {
    interstice_log_options lo;
    interstice_log_options_init(&lo);
    interstice_runtime_options ro;
    interstice_runtime_options_init(&ro);
    interstice_replay_fn rf = nullptr;
    interstice_event_fn ef = nullptr;
    (void)rf;
    (void)ef;
    return static_cast<int>(lo.version + ro.version) + INTERSTICE_ABI_VERSION;
}
