# binding.gyp — the Node-API addon. Built by scripts/install.js with
# `node-gyp rebuild --nodedir=...` (never a header download).
#
# The addon does not link libinterstice (no -linterstice, no DT_NEEDED): it
# dlopen()s build/Release/libinterstice.so.1 at load time with the
# asynchronous signals blocked (src/addon.cc, README "Signals"), and
# compiles against include/interstice.h, which install.js copies from the
# source tree (or which the packed tarball carries).
{
  "targets": [
    {
      "target_name": "interstice",
      "sources": ["src/addon.cc"],
      "include_dirs": ["include"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=gnu++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
