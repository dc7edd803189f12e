# Starts a run's gradient-check coverage (tests/CMakeLists.txt runs it as the fixture before every test
# program): empties DIR, then writes DIR/.run, a token for this run that each program copies into its
# coverage file (tests/support/test.cpp). ops_manifest counts only files that carry the current token,
# so a file left by an earlier run, by a program since deleted or whose checks no longer pass, is never
# counted as a check.
if(NOT DIR)
  message(FATAL_ERROR "usage: cmake -DDIR=<coverage dir> -P gradcheck_coverage_run.cmake")
endif()
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
string(TIMESTAMP now "%Y%m%dT%H%M%S" UTC)
string(RANDOM LENGTH 12 salt)
file(WRITE "${DIR}/.run" "${now}-${salt}\n")
