#include "signing/model_signer.h"

#include "core/strings.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/sha256.h"

namespace cairn::signing {

using store::SqlRows;
using store::SqlSession;

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE model_signatures (
  model_key BIGINT NOT NULL,
  version BIGINT NOT NULL,
  digest TEXT NOT NULL,
  manifest TEXT NOT NULL,
  signature TEXT NOT NULL,
  public_key TEXT NOT NULL,
  signed_time BIGINT NOT NULL,
  PRIMARY KEY (model_key, version)
)
)sql";

constexpr char kMessagePrefix[] = "cairn-model-v1:";

std::string Hex(const unsigned char* data, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

bool Unhex(const std::string& hex, unsigned char* out, size_t n) {
  size_t written = 0;
  return sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &written, nullptr) == 0 &&
         written == n;
}

Status Collect(artifacts::ArtifactStore& store, const std::string& dir,
               std::vector<artifacts::ArtifactEntry>* files) {
  ASSIGN_OR_RETURN(auto entries, store.List(dir));
  for (const auto& e : entries) {
    if (e.is_dir) {
      RETURN_IF_ERROR(Collect(store, e.path, files));
    } else {
      files->push_back(e);
    }
  }
  return Status::Ok();
}

StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("Cannot read " + path);
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    sha.Update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  return sha.FinishHex();
}

Manifest ParseManifest(const std::string& text) {
  Manifest m;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t a = line.find("  ");
    size_t b = a == std::string::npos ? a : line.find("  ", a + 2);
    if (b == std::string::npos) continue;
    // from_chars, not stoll: a record edited in the database must not throw
    // on a request's thread; a bad size just fails to match.
    int64_t size = -1;
    std::from_chars(line.data() + a + 2, line.data() + b, size);
    m.files.push_back({line.substr(b + 2), size, line.substr(0, a)});
  }
  m.digest = Sha256Hex(text);
  return m;
}

}  // namespace

std::string Manifest::Text() const {
  std::string text;
  for (const FileDigest& f : files) {
    text += f.sha256 + "  " + std::to_string(f.size) + "  " + f.path + "\n";
  }
  return text;
}

StatusOr<Manifest> DigestArtifacts(artifacts::ArtifactStore& store, const std::string& root) {
  std::vector<artifacts::ArtifactEntry> files;
  RETURN_IF_ERROR(Collect(store, root, &files));
  if (files.empty()) return NotFound("No files under '" + root + "' to sign.");
  Manifest m;
  for (const auto& f : files) {
    ASSIGN_OR_RETURN(std::string local, store.LocalFile(f.path));
    ASSIGN_OR_RETURN(std::string sha, FileSha256(local));
    std::string relative = f.path.substr(std::min(f.path.size(), root.size() + 1));
    m.files.push_back({relative, f.file_size, sha});
  }
  std::sort(m.files.begin(), m.files.end(),
            [](const FileDigest& a, const FileDigest& b) { return a.path < b.path; });
  m.digest = Sha256Hex(m.Text());
  return m;
}

std::string KeyPair::KeyId() const { return Sha256Hex(public_key).substr(0, 16); }

StatusOr<KeyPair> GenerateKeys(Env* env, const std::string& dir, bool force) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  std::string secret_path = dir + "/signing.key";
  ASSIGN_OR_RETURN(FileInfo existing, env->Stat(secret_path));
  if (!force && existing.exists) {
    return AlreadyExists("A signing key already exists at " + secret_path +
                         "; pass --force to replace it (versions signed with it then fail to "
                         "verify).");
  }
  RETURN_IF_ERROR(env->CreateDirectories(dir));
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  KeyPair keys{Hex(pk, sizeof(pk)), Hex(sk, sizeof(sk))};
  sodium_memzero(sk, sizeof(sk));
  // Created private: the secret key is never world-readable, not even
  // briefly. Each file is replaced whole; LoadKeys refuses a pair that a
  // failure between the two writes left mismatched.
  RETURN_IF_ERROR(env->WriteFileAtomically(secret_path, keys.secret_key + "\n", 0600));
  RETURN_IF_ERROR(env->WriteFileAtomically(dir + "/signing.pub", keys.public_key + "\n", 0644));
  return keys;
}

StatusOr<KeyPair> LoadKeys(Env* env, const std::string& dir) {
  constexpr uint64_t kMaxKeyFileBytes = 4096;
  StatusOr<std::string> secret = env->ReadFile(dir + "/signing.key", kMaxKeyFileBytes);
  StatusOr<std::string> pub = env->ReadFile(dir + "/signing.pub", kMaxKeyFileBytes);
  if (!secret.ok() || !pub.ok()) {
    Status why = secret.ok() ? pub.status() : secret.status();
    if (why.code() != StatusCode::kNotFound) return why;
    return NotFound("No signing key in " + dir + ": create one with `cairn keys generate`.");
  }
  KeyPair keys{std::string(Trim(*pub, " \t\r\n")), std::string(Trim(*secret, " \t\r\n"))};
  // A libsodium ed25519 secret key ends with its public key.
  constexpr size_t kPublicHex = 2 * crypto_sign_PUBLICKEYBYTES;
  if (keys.secret_key.size() != 2 * crypto_sign_SECRETKEYBYTES ||
      keys.public_key.size() != kPublicHex ||
      keys.secret_key.compare(keys.secret_key.size() - kPublicHex, kPublicHex, keys.public_key) !=
          0) {
    return FailedPrecondition("The signing key pair in " + dir +
                              " is malformed or signing.pub does not match signing.key: "
                              "regenerate it with `cairn keys generate --force`.");
  }
  return keys;
}

ModelSigner::ModelSigner(store::MetadataStore* store, artifacts::ArtifactStore* artifacts, Env* env,
                         std::string keys_dir, bool require_signed)
    : store_(store),
      artifacts_(artifacts),
      env_(env),
      keys_dir_(std::move(keys_dir)),
      require_signed_(require_signed) {}

Status ModelSigner::Init() {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  std::vector<store::Migration> migrations = {store::DdlMigration(1, "signatures", kSchema)};
  return store_->Migrate("signing", migrations);
}

// A key that exists but is broken counts: signing then fails with why,
// rather than versions being registered unsigned without a word.
bool ModelSigner::CanSign() const {
  return LoadKeys(env_, keys_dir_).status().code() != StatusCode::kNotFound;
}

StatusOr<std::string> ModelSigner::Sign(int64_t model_key, int64_t version,
                                        const std::string& storage_location) {
  ASSIGN_OR_RETURN(KeyPair keys, LoadKeys(env_, keys_dir_));
  auto root = artifacts::ServedArtifactPath(storage_location);
  if (!root.ok()) {
    return FailedPrecondition("Cannot sign files this server does not hold (" + storage_location +
                              ").");
  }
  ASSIGN_OR_RETURN(Manifest manifest, DigestArtifacts(*artifacts_, *root));
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  if (!Unhex(keys.secret_key, sk, sizeof(sk))) {
    return FailedPrecondition("The signing key in " + keys_dir_ + " is malformed.");
  }
  std::string message = kMessagePrefix + manifest.digest;
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk);
  sodium_memzero(sk, sizeof(sk));
  std::string signature = Hex(sig, sizeof(sig));
  int64_t now = env_->NowMillis();
  RETURN_IF_ERROR(store_->Write([&](SqlSession& db) {
    return db
        .Execute(
            "INSERT INTO model_signatures (model_key, version, digest, manifest, signature, "
            "public_key, signed_time) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model_key, "
            "version) DO UPDATE SET digest = excluded.digest, manifest = excluded.manifest, "
            "signature = excluded.signature, public_key = excluded.public_key, signed_time = "
            "excluded.signed_time",
            {model_key, version, manifest.digest, manifest.Text(), signature, keys.public_key, now})
        .status();
  }));
  return manifest.digest;
}

namespace {

// A version's signature record, checked against this server's key: what
// both Verify and VerifyFile start from.
struct SignatureRecord {
  bool found = false;
  std::string digest;
  std::string key_id;
  Manifest manifest;
  std::vector<std::string> problems;  // Empty when the record is intact.
};

StatusOr<SignatureRecord> CheckRecord(store::MetadataStore* store, Env* env,
                                      const std::string& keys_dir, int64_t model_key,
                                      int64_t version) {
  SignatureRecord out;
  SqlRows rows;
  RETURN_IF_ERROR(store->Read([&](SqlSession& db) -> Status {
    ASSIGN_OR_RETURN(rows, db.Query("SELECT digest, manifest, signature, public_key FROM "
                                    "model_signatures WHERE model_key = ? AND version = ?",
                                    {model_key, version}));
    return Status::Ok();
  }));
  if (rows.empty()) {
    out.problems.push_back(
        "the version is not signed (register it while a signing key exists, "
        "or sign it with `cairn models sign`)");
    return out;
  }
  out.found = true;
  out.digest = rows.Text(0, 0);
  out.manifest = ParseManifest(rows.Text(0, 1));
  KeyPair signer{rows.Text(0, 3), ""};
  out.key_id = signer.KeyId();
  // Only the key this server trusts counts: a row re-signed with another key
  // (by someone with write access to the database) must not pass.
  auto trusted = LoadKeys(env, keys_dir);
  if (!trusted.ok() || trusted->public_key != signer.public_key) {
    out.problems.push_back("signed with key " + out.key_id + ", which is not this server's key" +
                           (trusted.ok() ? " (" + trusted->KeyId() + ")" : ""));
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sig[crypto_sign_BYTES];
  std::string message = kMessagePrefix + out.digest;
  if (!Unhex(signer.public_key, pk, sizeof(pk)) || !Unhex(rows.Text(0, 2), sig, sizeof(sig)) ||
      crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), pk) != 0) {
    out.problems.push_back(
        "the signature does not match the recorded digest (the signature "
        "record was altered)");
  }
  if (out.manifest.digest != out.digest) {
    out.problems.push_back("the recorded file list does not match the signed digest");
  }
  return out;
}

}  // namespace

StatusOr<Verification> ModelSigner::Verify(int64_t model_key, int64_t version,
                                           const std::string& storage_location) {
  Verification out;
  ASSIGN_OR_RETURN(SignatureRecord record,
                   CheckRecord(store_, env_, keys_dir_, model_key, version));
  out.problems = std::move(record.problems);
  if (!record.found) return out;
  out.signed_version = true;
  out.key_id = record.key_id;
  out.digest = record.digest;
  const std::string& digest = record.digest;
  const Manifest& signed_manifest = record.manifest;
  auto root = artifacts::ServedArtifactPath(storage_location);
  if (!root.ok()) {
    out.problems.push_back("its files are not held by this server (" + storage_location + ")");
    return out;
  }
  auto now = DigestArtifacts(*artifacts_, *root);
  if (!now.ok()) {
    out.problems.push_back("its files are gone: " + now.status().message());
    return out;
  }
  if (now->digest != digest) {
    std::map<std::string, const FileDigest*> before, after;
    for (const auto& f : signed_manifest.files) before[f.path] = &f;
    for (const auto& f : now->files) after[f.path] = &f;
    for (const auto& [path, f] : before) {
      auto it = after.find(path);
      if (it == after.end()) {
        out.problems.push_back("file " + path + " was removed");
      } else if (it->second->sha256 != f->sha256) {
        out.problems.push_back("file " + path + " was modified");
      }
    }
    for (const auto& [path, f] : after) {
      if (!before.contains(path)) out.problems.push_back("file " + path + " was added");
    }
  }
  out.ok = out.problems.empty();
  return out;
}

StatusOr<std::vector<std::string>> ModelSigner::VerifyFile(int64_t model_key, int64_t version,
                                                           const std::string& relative_path,
                                                           const std::string& local_file) {
  ASSIGN_OR_RETURN(SignatureRecord record,
                   CheckRecord(store_, env_, keys_dir_, model_key, version));
  std::vector<std::string> problems = std::move(record.problems);
  if (!record.found) return problems;
  auto signed_file = std::find_if(record.manifest.files.begin(), record.manifest.files.end(),
                                  [&](const FileDigest& f) { return f.path == relative_path; });
  if (signed_file == record.manifest.files.end()) {
    problems.push_back("file " + relative_path + " was added after signing");
    return problems;
  }
  auto sha = FileSha256(local_file);
  if (!sha.ok()) {
    problems.push_back("file " + relative_path + " cannot be read");
  } else if (*sha != signed_file->sha256) {
    problems.push_back("file " + relative_path + " was modified");
  }
  return problems;
}

}  // namespace cairn::signing
