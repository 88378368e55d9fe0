# shellcheck shell=bash
# Sourced by the benchmarks under bench/: one answer to "which build is measured, and may it be".

# fd_bench_build_type DIR: prints the build type of the CMake build in DIR: its CMAKE_BUILD_TYPE,
# Release when that is empty (CMakeLists.txt's default), "unknown" when DIR holds no build (a
# stack started from elsewhere). A Debug build is refused (status 1, the reason on stderr): its
# figures mean nothing next to PostgreSQL's, and one recorded comparison once mixed a Debug
# "before" with a Release "after". ALLOW_DEBUG=1 measures it anyway, for a look at a profile.
#   build_type=$(fd_bench_build_type "$build_dir") || exit 1
fd_bench_build_type() {
  local dir=$1 type
  if [[ ! -f $dir/CMakeCache.txt ]]; then
    echo unknown
    return 0
  fi
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$dir/CMakeCache.txt")
  type=${type:-Release}
  if [[ $type == Debug && ${ALLOW_DEBUG:-0} != 1 ]]; then
    echo "error: $dir is a Debug build: measure a Release build (ALLOW_DEBUG=1 to run anyway)" >&2
    return 1
  fi
  echo "$type"
}
