{
  "targets": [
    {
      "target_name": "idfr_torch",
      "sources": ["native/addon.cc", "native/convert.cc", "native/tensor_box.cc", "native/distributed.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.cjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "<!@(node scripts/libtorch.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node scripts/libtorch.cjs lib)",
        "-Wl,-rpath,<!(node scripts/libtorch.cjs lib)",
        "-Wl,--no-as-needed",
        "<!@(node scripts/libtorch.cjs libs)"
      ]
    }
  ]
}
