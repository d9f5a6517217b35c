# The layers of the source tree, one library each: routing/ (deciding) and tls/ (certificates,
# the TLS stream) include nothing of ours but their own folder, tls/records/ (Passeur's own
# record layer, a library of its own) nothing of proxy/ or routing/; proxy/ composes them all.
# Refuses, naming file:line, an include that runs back up a layer.
#   cmake -DSOURCE_DIR=<repository> -P scripts/check-layers.cmake
# The build runs it before compiling a library (target passeur_layers) and ctest as "layers".
if(NOT SOURCE_DIR)
  get_filename_component(SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

# folder: the folders of ours it must not include
set(forbidden_routing proxy tls)
set(forbidden_tls proxy routing)
set(forbidden_tls/records proxy routing)

set(violations "")
foreach(layer routing tls tls/records)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${layer}/*.h" "${SOURCE_DIR}/${layer}/*.cpp")
  list(SORT files)
  foreach(file ${files})
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
    file(STRINGS "${file}" lines)
    set(number 0)
    foreach(line IN LISTS lines)
      math(EXPR number "${number} + 1")
      if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*[\"<]([a-z_]+)/")
        list(FIND forbidden_${layer} "${CMAKE_MATCH_1}" found)
        if(NOT found EQUAL -1)
          string(STRIP "${line}" text)
          string(APPEND violations
                 "${rel}:${number}: ${layer}/ must not include ${CMAKE_MATCH_1}/: ${text}\n")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  message(NOTICE "${violations}")  # verbatim, one file:line each
  message(FATAL_ERROR "includes above run back up a layer: routing/ and tls/ depend on nothing "
                      "of ours, proxy/ depends on both")
endif()
