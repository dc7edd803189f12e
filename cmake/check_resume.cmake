# Determinism and resuming of an example program (registered by attograd_resume_test() in
# examples/CMakeLists.txt):
#
#   cmake -DPROGRAM=<path> -DARGS="--steps|200" -DEVERY=30 -DSTOP=100 -DOUT=<folder> -P check_resume.cmake
#
# With -DLAUNCHER="mpiexec|-n|2|--oversubscribe", each run goes through it (a data-parallel run).
#
# Runs PROGRAM four times, each with ARGS and its own --out folder under OUT:
#   straight   the whole run;
#   again      the whole run again: its curve.csv must equal straight's byte for byte (determinism);
#   stopped    with --checkpoint-every EVERY --stop-after STOP: it ends after step STOP without saving,
#              as a killed run would, so the last checkpoint is from an earlier step when EVERY does not
#              divide STOP, and it writes no curve;
#   resumed    in stopped's folder with --checkpoint-every EVERY --resume: it redoes the steps after that
#              checkpoint and finishes; its curve.csv must equal straight's byte for byte, and its result
#              line too, apart from seconds and out.
cmake_minimum_required(VERSION 3.25)

foreach(var PROGRAM OUT EVERY STOP)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_resume.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" launcher "${LAUNCHER}")

# Runs the program with ARGS, --out OUT/<folder> and the extra arguments; sets <folder>_result (its
# last line).
function(run_in folder)
  execute_process(COMMAND ${launcher} "${PROGRAM}" ${args} --out "${OUT}/${folder}" ${ARGN}
    OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr RESULT_VARIABLE status)
  string(JOIN " " command ${launcher} "${PROGRAM}" ${args} --out "${OUT}/${folder}" ${ARGN})
  message("$ ${command}\n${stdout}${stderr}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the program failed (exit status ${status})")
  endif()
  string(STRIP "${stdout}" stripped)
  string(REGEX MATCH "[^\n]*$" last "${stripped}")
  set(${folder}_result "${last}" PARENT_SCOPE)
endfunction()

# Fails unless OUT/<a>/curve.csv and OUT/<b>/curve.csv exist and are equal byte for byte.
function(same_curve a b why)
  foreach(folder ${a} ${b})
    if(NOT EXISTS "${OUT}/${folder}/curve.csv")
      message(FATAL_ERROR "the ${folder} run wrote no ${OUT}/${folder}/curve.csv")
    endif()
  endforeach()
  file(SHA256 "${OUT}/${a}/curve.csv" hash_a)
  file(SHA256 "${OUT}/${b}/curve.csv" hash_b)
  if(NOT hash_a STREQUAL hash_b)
    message(FATAL_ERROR "${why}: ${OUT}/${a}/curve.csv and ${OUT}/${b}/curve.csv differ (compare them with diff)")
  endif()
  file(STRINGS "${OUT}/${a}/curve.csv" lines)
  list(LENGTH lines count)
  message("ok: ${a} and ${b} wrote the same curve.csv (${count} lines)")
endfunction()

file(REMOVE_RECURSE "${OUT}")
run_in(straight)
run_in(again)
same_curve(straight again "two runs with the same seed and threads gave other curves")

run_in(stopped --checkpoint-every ${EVERY} --stop-after ${STOP})
if(NOT EXISTS "${OUT}/stopped/checkpoint.safetensors")
  message(FATAL_ERROR "the stopped run left no checkpoint ${OUT}/stopped/checkpoint.safetensors")
endif()
if(EXISTS "${OUT}/stopped/curve.csv")
  message(FATAL_ERROR "the stopped run wrote a curve.csv: it did not stop after step ${STOP}")
endif()
run_in(stopped --checkpoint-every ${EVERY} --resume)
same_curve(straight stopped "the resumed run's curve differs from the uninterrupted run's")

if(NOT straight_result MATCHES "^result: ")
  message(FATAL_ERROR "the last line is not `result: name=value ...`: '${straight_result}'")
endif()
string(REGEX REPLACE " (seconds|out)=[^ ]*" "" straight_numbers "${straight_result}")
string(REGEX REPLACE " (seconds|out)=[^ ]*" "" resumed_numbers "${stopped_result}")
if(NOT straight_numbers STREQUAL resumed_numbers)
  message(FATAL_ERROR "the resumed run's result differs:\n  ${straight_result}\n  ${stopped_result}")
endif()
message("resume check passed: ${stopped_result}")
