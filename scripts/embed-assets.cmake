# Writes OUTPUT: a C++ file whose functions return the status page's files (CSS and JS) as
# raw string literals, so that the binary carries them. Run by the build (CMakeLists.txt)
# whenever one of them changes: cmake -DCSS=... -DJS=... -DOUTPUT=... -P embed-assets.cmake
file(READ ${CSS} css)
file(READ ${JS} js)
foreach(text css js)
  string(FIND "${${text}}" ")PASSEUR_ASSET\"" found)
  if(NOT found EQUAL -1)
    message(FATAL_ERROR "${text} holds the raw string delimiter )PASSEUR_ASSET\"")
  endif()
endforeach()
file(WRITE ${OUTPUT}.tmp
  "// Generated from proxy/admin/status/ by scripts/embed-assets.cmake: do not edit.\n"
  "#include \"proxy/admin/status_assets.h\"\n\n"
  "namespace proxy::admin {\n\n"
  "std::string_view status_page_css() {\n  return R\"PASSEUR_ASSET(${css})PASSEUR_ASSET\";\n}\n\n"
  "std::string_view status_page_js() {\n  return R\"PASSEUR_ASSET(${js})PASSEUR_ASSET\";\n}\n\n"
  "}  // namespace proxy::admin\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
