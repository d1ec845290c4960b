# Hugging Face `tokenizers` (Rust) behind our C ABI (core/tokenizers/hf_tokenizers_api.h), built
# by cargo as part of the normal build and linked statically into attnserve_core.
#
# Cargo's target dir lives outside the clone (default $HOME/.cache/attnserve/cargo-target;
# override with -DATTNSERVE_CARGO_TARGET_DIR=... or the env var of the same name) so every build
# dir (gcc, ASan, TSan, clang fuzz) and every fresh CI clone reuse the ~70 compiled crates: the
# first build takes minutes, later ones seconds. The Rust code is the same in all of them (it is
# not instrumented by the sanitizers), so one .a serves all; each build dir keeps its own copy so
# two clones sharing the target dir never link each other's version.
find_program(CARGO cargo HINTS $ENV{HOME}/.cargo/bin)
if(NOT CARGO)
  message(FATAL_ERROR "cargo not found: the Hugging Face tokenizers shim (core/tokenizers/hf_shim) "
    "is built with cargo. Run deploy/install-deps.sh (installs a Rust toolchain) or put cargo on "
    "PATH.")
endif()
if(DEFINED ENV{ATTNSERVE_CARGO_TARGET_DIR})
  set(_hf_target_default $ENV{ATTNSERVE_CARGO_TARGET_DIR})
else()
  set(_hf_target_default $ENV{HOME}/.cache/attnserve/cargo-target)
endif()
set(ATTNSERVE_CARGO_TARGET_DIR ${_hf_target_default} CACHE PATH
  "cargo target dir for core/tokenizers/hf_shim (keep it outside the clone)")

set(_hf_dir ${CMAKE_CURRENT_SOURCE_DIR}/tokenizers/hf_shim)
# TSan builds link the shared library instead: tools/tsan.supp drops the reports of its
# uninstrumented code by library name (called_from_lib), which needs a .so.
if(ATTNSERVE_SANITIZE STREQUAL "thread")
  set(_hf_kind SHARED)
  set(_hf_file libattnserve_hf_tokenizers.so)
else()
  set(_hf_kind STATIC)
  set(_hf_file libattnserve_hf_tokenizers.a)
endif()
set(_hf_cargo_out ${ATTNSERVE_CARGO_TARGET_DIR}/release/${_hf_file})
set(_hf_lib ${CMAKE_BINARY_DIR}/lib/${_hf_file})
file(GLOB_RECURSE _hf_rust_srcs CONFIGURE_DEPENDS ${_hf_dir}/src/*.rs)
add_custom_command(
  OUTPUT ${_hf_lib}
  COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${ATTNSERVE_CARGO_TARGET_DIR}
    ${CARGO} build --release --locked --quiet --manifest-path ${_hf_dir}/Cargo.toml
  COMMAND ${CMAKE_COMMAND} -E copy ${_hf_cargo_out} ${_hf_lib}
  DEPENDS ${_hf_dir}/Cargo.toml ${_hf_dir}/Cargo.lock ${_hf_dir}/build.rs ${_hf_rust_srcs}
  COMMENT "cargo build --release core/tokenizers/hf_shim (Hugging Face tokenizers)"
  USES_TERMINAL
  VERBATIM)
add_custom_target(attnserve_hf_tokenizers_build DEPENDS ${_hf_lib})

add_library(attnserve_hf_tokenizers ${_hf_kind} IMPORTED GLOBAL)
set_target_properties(attnserve_hf_tokenizers PROPERTIES IMPORTED_LOCATION ${_hf_lib})
add_dependencies(attnserve_hf_tokenizers attnserve_hf_tokenizers_build)
# What Rust's std needs from libc (threads, dlsym for weak symbols, libm).
target_link_libraries(attnserve_hf_tokenizers INTERFACE Threads::Threads ${CMAKE_DL_LIBS} m)
