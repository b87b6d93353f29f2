// Model signing: an ed25519 key pair (libsodium) signs the digest of a model
// version's files when it is registered, so that anyone can later check that
// the files served for that version are the ones registered, byte for byte.
//
// The digest is SHA-256 over a manifest of every file under the version's
// artifact folder, in byte order of path: "<sha256>  <size>  <path>\n" per
// file. The manifest is kept with the signature, so a failed check names the
// files that changed, appeared or disappeared. The signed message is
// "cairn-model-v1:<digest>".
//
// Keys live in <keys_dir>/signing.key (secret, mode 0600) and signing.pub,
// made by `cairn keys generate`. Without a key, versions are registered
// unsigned; with --require-signed-models, loading an unsigned or tampered
// version is refused.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "artifacts/artifact_store.h"
#include "core/env.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace cairn::signing {

struct FileDigest {
  std::string path;  // Relative to the version's folder.
  int64_t size = 0;
  std::string sha256;
};

struct Manifest {
  std::vector<FileDigest> files;
  std::string digest;  // SHA-256 of the manifest text.
  std::string Text() const;
};

// Reads every file under `root` in `store`. Errors: NotFound when there is
// no file at all under it.
StatusOr<Manifest> DigestArtifacts(artifacts::ArtifactStore& store, const std::string& root);

struct KeyPair {
  std::string public_key;  // 32 bytes, hex.
  std::string secret_key;  // 64 bytes, hex.
  // First 16 hex digits of SHA-256(public key): names the key in messages.
  std::string KeyId() const;
};

// Writes a new key pair into `dir` through `env` (the secret key 0600).
// Errors: AlreadyExists unless `force`; the file errors of `env`.
StatusOr<KeyPair> GenerateKeys(Env* env, const std::string& dir, bool force);
// Errors: NotFound (with the command that makes one) when there is no key;
// FailedPrecondition when the files are malformed or do not belong together.
StatusOr<KeyPair> LoadKeys(Env* env, const std::string& dir);

struct Verification {
  bool signed_version = false;
  bool ok = false;
  std::string key_id;
  std::string digest;
  std::vector<std::string> problems;  // Empty when ok.
};

class ModelSigner {
 public:
  // `store`, `artifacts` and `env` must outlive the signer.
  ModelSigner(store::MetadataStore* store, artifacts::ArtifactStore* artifacts, Env* env,
              std::string keys_dir, bool require_signed);

  Status Init();
  bool require_signed() const { return require_signed_; }
  // Whether a key is there to sign with.
  bool CanSign() const;

  // Signs version `version` of `model` (key `model_key`) whose files are at
  // `storage_location`. Errors: FailedPrecondition for files this server
  // does not hold (e.g. s3://), NotFound for no key or no files.
  StatusOr<std::string> Sign(int64_t model_key, int64_t version,
                             const std::string& storage_location);
  // Checks the version's files against its signature.
  StatusOr<Verification> Verify(int64_t model_key, int64_t version,
                                const std::string& storage_location);
  // Checks one file of the version before it is served on its own: the
  // signature record must verify with this server's key, and the signed
  // manifest must list `relative_path` (relative to the version's folder)
  // with the SHA-256 of `local_file`. Reads that one file, not every file of
  // the version, so a client fetching a model file by file pays once per
  // file. Returns what is wrong (empty when the file may be served); errors
  // only when the signatures cannot be read.
  StatusOr<std::vector<std::string>> VerifyFile(int64_t model_key, int64_t version,
                                                const std::string& relative_path,
                                                const std::string& local_file);

 private:
  store::MetadataStore* store_;
  artifacts::ArtifactStore* artifacts_;
  Env* env_;
  std::string keys_dir_;
  bool require_signed_;
};

}  // namespace cairn::signing
