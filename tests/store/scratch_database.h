// Fresh databases for tests, on SQLite always and on PostgreSQL when
// CAIRN_TEST_POSTGRES_URI names a throwaway server:
//
//   D=$(mktemp -d); export CAIRN_TEST_POSTGRES_URI=$(scripts/pg-test-cluster start $D | tail -1)
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "store/metadata_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace cairn::store {

inline constexpr char kPostgresUriEnv[] = "CAIRN_TEST_POSTGRES_URI";
inline constexpr char kHowToRunPostgres[] =
    "PostgreSQL tests skipped: set CAIRN_TEST_POSTGRES_URI to a server's URI, e.g. "
    "D=$(mktemp -d); export CAIRN_TEST_POSTGRES_URI=$(scripts/pg-test-cluster start $D | tail -1)";

inline std::string PostgresUriFromEnv() {
  const char* uri = std::getenv(kPostgresUriEnv);
  return uri != nullptr ? uri : "";
}

// Unique within this machine: tests of several processes may share a server.
inline std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

inline MetadataStoreRegistry AllBackends() {
  MetadataStoreRegistry registry;
  RegisterSqliteStore(&registry);
  RegisterPostgresStore(&registry);
  return registry;
}

// A PostgreSQL schema of its own for one test. uri() points every connection
// at it, so tables, including schema_migrations, never collide across tests.
class ScratchSchema {
 public:
  // REQUIRES: base_uri names a reachable server.
  explicit ScratchSchema(std::string base_uri)
      : base_uri_(std::move(base_uri)), name_(UniqueName("cairn_test_")) {}
  ~ScratchSchema() { Run("DROP SCHEMA IF EXISTS " + name_ + " CASCADE").IgnoreError(); }

  Status Create() {
    return Run("DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
  }

  std::string uri() const {
    return base_uri_ + (base_uri_.find('?') == std::string::npos ? "?" : "&") +
           "options=-c%20search_path%3D" + name_;
  }

 private:
  Status Run(const std::string& sql) {
    ASSIGN_OR_RETURN(auto admin, OpenPostgresStore(base_uri_));
    return admin->Write([&](SqlSession& db) { return db.ExecuteScript(sql); });
  }

  std::string base_uri_;
  std::string name_;
};

// A fresh, empty database for one test: a new SQLite file in its own
// temporary directory, or a ScratchSchema on the PostgreSQL server.
class ScratchDatabase {
 public:
  ScratchDatabase() = default;
  ~ScratchDatabase() {
    schema_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // backend: "sqlite" or "postgres". Returns false (with the reason in
  // skip_reason()) when PostgreSQL is not configured.
  Status Create(const std::string& backend) {
    if (backend == "postgres") {
      std::string base = PostgresUriFromEnv();
      if (base.empty()) {
        skip_reason_ = kHowToRunPostgres;
        return Status::Ok();
      }
      schema_ = std::make_unique<ScratchSchema>(base);
      RETURN_IF_ERROR(schema_->Create());
      uri_ = schema_->uri();
      return Status::Ok();
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "cairn_test_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Internal("cannot create a temporary directory");
    dir_ = pattern;
    uri_ = "sqlite://" + dir_ + "/meta.db";
    return Status::Ok();
  }

  // Opens a store on the database. REQUIRES: Create succeeded, !skipped().
  StatusOr<std::unique_ptr<MetadataStore>> Open() const { return AllBackends().Open(uri_); }

  bool skipped() const { return !skip_reason_.empty(); }
  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
  std::string dir_;
  std::string skip_reason_;
  std::unique_ptr<ScratchSchema> schema_;
};

}  // namespace cairn::store
