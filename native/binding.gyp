{
  # Built by `npm install` (package.json "install": node-gyp rebuild --directory native), from
  # source against the local Node headers; no prebuilt binaries are downloaded. If the build
  # fails the install goes on and seglog uses its JavaScript implementations.
  "targets": [
    {
      "target_name": "seglog_native",
      "sources": ["binding.cc", "crc32c.cc", "sendfile.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      # Baseline ISA only: the hardware CRC paths carry their own target attributes and are
      # chosen at run time, so one binary runs on CPUs with and without SSE4.2 / ARMv8 CRC.
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "cflags_cc": ["-O3", "-Wall", "-Wextra", "-std=c++17"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=c++17"],
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      }
    }
  ]
}
