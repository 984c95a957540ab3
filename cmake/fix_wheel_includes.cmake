# ROS wheels from PyPI export their build machine's Python include path (/opt/python/...), which
# does not exist here; replace it by this machine's. A no-op on a normal ROS install.
# Include after rosidl_generate_interfaces().
find_package(Python3 COMPONENTS Interpreter Development NumPy)
get_directory_property(_imported IMPORTED_TARGETS)
foreach(_t IN LISTS _imported)
  get_target_property(_inc ${_t} INTERFACE_INCLUDE_DIRECTORIES)
  if(_inc AND "${_inc}" MATCHES "/opt/python/")
    list(FILTER _inc EXCLUDE REGEX "^/opt/python/")
    list(APPEND _inc ${Python3_INCLUDE_DIRS} ${Python3_NumPy_INCLUDE_DIRS})
    set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_inc}")
  endif()
endforeach()
