#include "server/stores.h"

#include "artifacts/local/local_artifact_store.h"
#include "online/lmdb/lmdb_online_store.h"
#include "online/redis/redis_online_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace cairn::server {

StatusOr<std::unique_ptr<store::MetadataStore>> OpenStore(const ServerConfig& config) {
  store::MetadataStoreRegistry stores;
  store::RegisterSqliteStore(&stores);
  store::RegisterPostgresStore(&stores);
  auto store = stores.Open(config.EffectiveStoreUri());
  if (!store.ok()) {
    return Unavailable("cannot open the metadata store: " + store.status().message());
  }
  return store;
}

StatusOr<std::unique_ptr<online::OnlineStore>> OpenOnlineStore(const ServerConfig& config) {
  online::OnlineStoreRegistry stores;
  online::RegisterLmdbOnlineStore(&stores);
  online::RegisterRedisOnlineStore(&stores);
  auto store = stores.Open(config.EffectiveOnlineStoreUri());
  if (!store.ok()) {
    return Unavailable("cannot open the online store: " + store.status().message());
  }
  return store;
}

StatusOr<std::unique_ptr<artifacts::ArtifactStore>> OpenArtifactStore(const ServerConfig& config) {
  artifacts::ArtifactStoreRegistry stores;
  artifacts::RegisterLocalArtifactStore(&stores);
  auto store = stores.Open(config.EffectiveArtifactsUri());
  if (!store.ok()) {
    return Unavailable("cannot open the artifact store: " + store.status().message());
  }
  return store;
}

}  // namespace cairn::server
