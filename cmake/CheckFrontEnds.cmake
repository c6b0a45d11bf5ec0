# cmake -DDIR=<layers folder> -P CheckFrontEnds.cmake: fails when a layer front end (DIR/*.h,
# DIR/*.cpp) includes a header of layers/cpu or layers/cuda (see AlexnetViews.cmake).
file(GLOB files ${DIR}/*.h ${DIR}/*.cpp)
foreach(f IN LISTS files)
  file(STRINGS ${f} bad REGEX "^[ \t]*#[ \t]*include[ \t]*\"(cpu|cuda)/")
  if(bad)
    message(FATAL_ERROR "${f} includes a backend's private header (${bad}): the layer front ends use core/ "
                        "and layers/ only; backends are reached through the factory")
  endif()
endforeach()
