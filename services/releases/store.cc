#include "services/releases/store.h"

#include "common/db/db.h"

namespace flightdeck::releases {
namespace {

// Timestamps cross the wire as integer microseconds since the epoch so that cursors compare
// exactly (no float rounding, no text parsing).
constexpr char kColumns[] =
    "id::text, service, environment, version, commit_sha, image, state, created_by, trace_id, "
    "(extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from updated_at) * 1000000)::bigint";

void SetTimestamp(google::protobuf::Timestamp* ts, long long micros) {
  ts->set_seconds(micros / 1000000);
  ts->set_nanos(static_cast<int>((micros % 1000000) * 1000));
}

long long Micros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

void FromRow(const pqxx::row& row, v1::Release* r) {
  r->set_id(row[0].as<std::string>());
  r->set_service(row[1].as<std::string>());
  r->set_environment(row[2].as<std::string>());
  r->set_version(row[3].as<std::string>());
  r->set_commit_sha(row[4].as<std::string>());
  r->set_image(row[5].as<std::string>());
  v1::Release::State state = v1::Release::STATE_UNSPECIFIED;
  v1::Release::State_Parse(row[6].as<std::string>(), &state);
  r->set_state(state);
  r->set_created_by(row[7].as<std::string>());
  r->set_trace_id(row[8].as<std::string>());
  SetTimestamp(r->mutable_created_at(), row[9].as<long long>());
  SetTimestamp(r->mutable_updated_at(), row[10].as<long long>());
}

}  // namespace

ReleaseStore::ReleaseStore(db::Pool& pool) : pool_(pool) {
  pool_.Prepare("releases_insert",
                "INSERT INTO releases.releases (service, environment, version, commit_sha, image, "
                "state, created_by, trace_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
                "$6, $7, $8, timestamptz 'epoch' + $9::bigint * interval '1 microsecond', "
                "timestamptz 'epoch' + $9::bigint * interval '1 microsecond') RETURNING id::text");
  pool_.Prepare("releases_insert_event",
                "INSERT INTO releases.events (release_id, at, type, actor, message, data, trace_id) "
                "VALUES ($1::uuid, timestamptz 'epoch' + $2::bigint * interval '1 microsecond', "
                "$3, $4, $5, $6::jsonb, $7)");
  pool_.Prepare("releases_get",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE id = $1::uuid");
  pool_.Prepare(
      "releases_list",
      std::string("SELECT ") + kColumns +
          " FROM releases.releases"
          " WHERE ($1 = '' OR service = $1) AND ($2 = '' OR environment = $2)"
          "   AND ($3::bigint IS NULL OR (created_at, id) < (timestamptz 'epoch' + $3::bigint *"
          "        interval '1 microsecond', $4::uuid))"
          " ORDER BY created_at DESC, id DESC LIMIT $5");
}

grpc::Status ReleaseStore::Create(v1::Release* release) {
  return pool_.Transact("create release", [&](pqxx::transaction_base& tx) {
    long long at = Micros(release->created_at());
    pqxx::result r = db::Exec(tx, "releases_insert", release->service(), release->environment(),
                              release->version(), release->commit_sha(), release->image(),
                              v1::Release::State_Name(release->state()), release->created_by(),
                              release->trace_id(), at);
    release->set_id(r[0][0].as<std::string>());
    db::Exec(tx, "releases_insert_event", release->id(), at, std::string("CREATED"),
             release->created_by(),
             "release " + release->version() + " (" + release->commit_sha() + ") of " +
                 release->service() + " to " + release->environment() + " created",
             std::string("{}"), release->trace_id());
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::Get(const std::string& id, v1::Release* out) {
  return pool_.Transact("get release", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "releases_get", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + id + " not found");
    FromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::List(const ListQuery& query, std::vector<v1::Release>* out, bool* more) {
  return pool_.Transact("list releases", [&](pqxx::transaction_base& tx) {
    std::optional<long long> after_at;
    std::optional<std::string> after_id;
    if (query.after) {
      after_at = query.after->created_at_us;
      after_id = query.after->id;
    }
    // One extra row tells whether there is a next page.
    pqxx::result r = db::Exec(tx, "releases_list", query.service, query.environment, after_at,
                              after_id, query.limit + 1);
    out->clear();
    for (const pqxx::row& row : r) {
      if (static_cast<int>(out->size()) == query.limit) break;
      FromRow(row, &out->emplace_back());
    }
    *more = static_cast<int>(r.size()) > query.limit;
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::releases
