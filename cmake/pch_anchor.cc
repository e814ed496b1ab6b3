// Compiles the shared precompiled torch header (see CMakeLists.txt).
