# Third-party dependencies, all from Debian bookworm packages (scripts/bootstrap).
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
if(CAIRN_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(CAIRN_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Boost.Asio/Beast are header-only here; one interface target carries the
# defines so every user compiles them the same way.
add_library(cairn_boost_net INTERFACE)
target_link_libraries(cairn_boost_net INTERFACE Boost::boost Threads::Threads)
target_compile_definitions(cairn_boost_net INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# libsodium: argon2id password hashes, SHA-256, ed25519 signatures.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

# XGBoost 1.7 (libxgboost-dev): legacy model files, the fallback engine,
# training, and the oracle in tests. Through pkg-config: Debian's CMake
# config names the xgboost CLI, which is a separate package.
pkg_check_modules(XGBOOST REQUIRED IMPORTED_TARGET xgboost)

# DuckDB 1.4 (offline engine): the shared library and C header that
# scripts/bootstrap fetches with npm pack into deps/duckdb.
set(CAIRN_DUCKDB_DIR ${PROJECT_SOURCE_DIR}/deps/duckdb)
if(NOT EXISTS ${CAIRN_DUCKDB_DIR}/lib/libduckdb.so)
  message(FATAL_ERROR "DuckDB not found in ${CAIRN_DUCKDB_DIR}: run scripts/bootstrap")
endif()
add_library(duckdb SHARED IMPORTED)
set_target_properties(duckdb PROPERTIES
  IMPORTED_LOCATION ${CAIRN_DUCKDB_DIR}/lib/libduckdb.so
  INTERFACE_INCLUDE_DIRECTORIES ${CAIRN_DUCKDB_DIR}/include)

# Online stores: LMDB (embedded) and hiredis (Redis).
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# gRPC 1.51 and protobuf 3.21 (libgrpc++-dev, protobuf-compiler-grpc): the
# inference protocol's gRPC form. protoc and the gRPC plugin generate its
# messages and service from src/grpc_inference/inference.proto.
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_program(CAIRN_PROTOC protoc REQUIRED)
find_program(CAIRN_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
