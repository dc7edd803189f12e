# The API reference's check (docs.api_reference): runs Doxygen with docs/Doxyfile over the public
# headers and fails, naming file and line, on any warning: above all a public declaration without a
# doc comment, but also a broken command or a dangling reference in one.
#
#   cmake -DSOURCE_DIR=<project root> -DWORK_DIR=<scratch folder> [-DREMOVE_DOC_OF=<class>] -P api_reference.cmake
#
# With REMOVE_DOC_OF, it runs on a copy of include/attograd/ in which the `///` comment above
# `class <name>` (core/errors.hpp) is deleted: the check of the check, which must then fail and name
# that line. Doxygen missing is reported as a skip that says how to get it, never as a pass.
cmake_minimum_required(VERSION 3.25)

if(NOT DOXYGEN_NAME)
  set(DOXYGEN_NAME doxygen)  # another name only to test the message below
endif()
find_program(DOXYGEN ${DOXYGEN_NAME})
if(NOT DOXYGEN)
  message(NOTICE "SKIPPED: ${DOXYGEN_NAME} is not on PATH: install Debian's doxygen "
    "(`./dev test` and `./dev docs` do: apt-get install doxygen)")
  message(FATAL_ERROR "api_reference: no doxygen")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/html)
set(root ${SOURCE_DIR})
if(REMOVE_DOC_OF)
  set(root ${WORK_DIR}/copy)
  file(COPY ${SOURCE_DIR}/include/attograd DESTINATION ${root}/include)
  set(header ${root}/include/attograd/core/errors.hpp)
  file(READ ${header} text)
  string(REGEX REPLACE "\n(///[^\n]*\n)+(class ${REMOVE_DOC_OF} )" "\n\\2" changed "${text}")
  if(changed STREQUAL text)
    message(FATAL_ERROR "api_reference: found no /// comment above `class ${REMOVE_DOC_OF}` in ${header}")
  endif()
  file(WRITE ${header} "${changed}")
endif()

# docs/Doxyfile, with the headers and the output of this run.
file(WRITE ${WORK_DIR}/Doxyfile "@INCLUDE = ${SOURCE_DIR}/docs/Doxyfile
INPUT = ${root}/include/attograd
STRIP_FROM_PATH = ${root}/include
STRIP_FROM_INC_PATH = ${root}/include
OUTPUT_DIRECTORY = ${WORK_DIR}
WARN_LOGFILE = ${WORK_DIR}/warnings.txt
")
execute_process(COMMAND ${DOXYGEN} ${WORK_DIR}/Doxyfile WORKING_DIRECTORY ${root}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "api_reference: doxygen failed (exit status ${status}):\n${output}")
endif()

file(READ ${WORK_DIR}/warnings.txt warnings)
string(STRIP "${warnings}" warnings)

# Doxygen says nothing of a class without members of its own (`class IoError : public Error { using
# Error::Error; };`) left undocumented. So a second run extracts everything as XML, and each class or
# struct there without a description is reported like a warning, with its line.
file(WRITE ${WORK_DIR}/Doxyfile.all "@INCLUDE = ${WORK_DIR}/Doxyfile
OUTPUT_DIRECTORY = ${WORK_DIR}/all
WARN_LOGFILE = ${WORK_DIR}/all/warnings.txt
EXTRACT_ALL = YES
GENERATE_HTML = NO
GENERATE_XML = YES
XML_PROGRAMLISTING = NO
")
file(MAKE_DIRECTORY ${WORK_DIR}/all)
execute_process(COMMAND ${DOXYGEN} ${WORK_DIR}/Doxyfile.all WORKING_DIRECTORY ${root}
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "api_reference: doxygen (EXTRACT_ALL) failed (exit status ${status}):\n${output}")
endif()
# A compound's own descriptions and location come after its members' in its XML file: the last ones.
file(READ ${WORK_DIR}/all/xml/index.xml index)
string(REGEX MATCHALL "<compound refid=\"[^\"]+\" kind=\"(class|struct|union)\">" refids "${index}")
list(TRANSFORM refids REPLACE "<compound refid=\"([^\"]+)\".*" "\\1")
foreach(refid IN LISTS refids)
  file(READ ${WORK_DIR}/all/xml/${refid}.xml xml)
  string(REGEX MATCHALL "<briefdescription>[^<]*(<[^/][^<]*)?" briefs "${xml}")
  string(REGEX MATCHALL "<detaileddescription>[^<]*(<[^/][^<]*)?" details "${xml}")
  list(GET briefs -1 brief)
  list(GET details -1 detail)
  if(xml MATCHES "<compounddef [^>]*prot=\"private\"")
    continue()  # a class's private helper, not part of the API
  endif()
  string(REGEX MATCH "<compoundname>([^<]+)</compoundname>" _ "${xml}")
  set(name ${CMAKE_MATCH_1})
  string(FIND "${warnings}" "Compound ${name} is not documented" said)  # Doxygen's own warning
  if(said EQUAL -1 AND brief MATCHES "<briefdescription>[ \n]*$" AND detail MATCHES "<detaileddescription>[ \n]*$")
    string(REGEX MATCHALL "<location file=\"[^\"]+\" line=\"[0-9]+\"" places "${xml}")
    list(GET places -1 place)
    string(REGEX REPLACE "<location file=\"([^\"]+)\" line=\"([0-9]+)\"" "include/\\1:\\2" place "${place}")
    string(APPEND warnings "\n${place}: warning: Compound ${name} is not documented.")
  endif()
endforeach()
string(STRIP "${warnings}" warnings)
if(warnings)
  # Paths from the project root, as a reader would open them.
  string(REPLACE "${root}/" "" warnings "${warnings}")
  string(REGEX MATCHALL "warning:" count "${warnings}")
  list(LENGTH count count)
  # NOTICE, not FATAL_ERROR, for the list: CMake would wrap its lines.
  message(NOTICE "api_reference: Doxygen gave ${count} warning(s) on the public headers:\n${warnings}\n"
    "Give each public declaration a /// comment (or ///< after it), written for a user of the library; "
    "`python3 tests/tools/doxygen_comments.py` turns plain // comments above declarations into /// ones. "
    "`./dev docs` builds the reference and shows the same warnings.")
  message(FATAL_ERROR "api_reference: ${count} warning(s)")
endif()
message(STATUS "api_reference: no warnings; the reference is ${WORK_DIR}/html/index.html")
