# shellcheck shell=bash
# The one sanitizer build (SANITIZE_BUILD_DIR, build-sanitize): clang-14 with AddressSanitizer
# and UndefinedBehaviorSanitizer, libFuzzer's coverage instrumentation and the fuzz targets.
# scripts/fuzz builds the libFuzzer targets in it and scripts/test-sanitizers the C++ unit and
# integration tests (the only tests it defines: FD_TESTS=sanitized), so the libraries they share
# are compiled once. -O1 with line tables only keeps reports readable (file:line in every frame)
# and the build quicker than -O2 -g.

# fd_sanitize_build_dir prints the build directory's absolute path.
fd_sanitize_build_dir() {
  local dir=${SANITIZE_BUILD_DIR:-build-sanitize}
  [[ $dir == /* ]] || dir="$FD_ROOT/$dir"
  printf '%s\n' "$dir"
}

# fd_sanitize_configure DIR configures DIR once (its log goes to DIR/configure.log), and again
# when it was configured to define other tests than the C++ unit and integration tests or its
# configure failed (a cache without build files).
fd_sanitize_configure() {
  local dir=$1
  if [[ -f $dir/CMakeCache.txt ]]; then
    grep -qx 'FD_TESTS:STRING=sanitized' "$dir/CMakeCache.txt" &&
      [[ -f $dir/Makefile || -f $dir/build.ninja ]] && return 0
    cmake -S "$FD_ROOT" -B "$dir" -DFD_TESTS=sanitized >"$dir/configure.log" 2>&1 ||
      { cat "$dir/configure.log" >&2; return 1; }
    return 0
  fi
  command -v clang++-14 >/dev/null || { echo "clang++-14 is missing (scripts/deps installs it)" >&2; return 1; }
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  mkdir -p "$dir"
  CC=clang-14 CXX=clang++-14 cmake -S "$FD_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DFD_SANITIZE=ON -DFD_FUZZ=ON -DFD_TESTS=sanitized \
    "${launcher[@]}" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; return 1; }
}
