# Runs PROGRAM on 3 ranks through MPIEXEC and passes only if mpirun exits non-zero, within 30 s, with
# rank 1's message (tests/dist/fault.cpp) in its output.
execute_process(COMMAND ${MPIEXEC} -n 3 --oversubscribe ${PROGRAM}
  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
set(all "${out}\n${err}")
if(code EQUAL 0)
  message(FATAL_ERROR "mpirun exited with 0; expected a non-zero exit\n${all}")
endif()
if(code MATCHES "timeout")
  message(FATAL_ERROR "the ranks did not end within 30 s (a hang)\n${all}")
endif()
if(NOT all MATCHES "rank 1 of 3: cross_entropy: target [^\n]*7")
  message(FATAL_ERROR "rank 1's message is not in the output\n${all}")
endif()
message(STATUS "mpirun ended with '${code}', with rank 1's message:\n${all}")
