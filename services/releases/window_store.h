#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::db {
class Pool;
}
namespace pqxx {
class transaction_base;
}

namespace flightdeck::releases {

// A person's tick of a checklist item for one opening.
struct ChecklistTick {
  std::string item;
  std::string ticked_by;
  Clock::TimePoint ticked_at;
  std::string note;
};

// SQL for windows, their checklist ticks (migrations/releases/0006_windows.sql) and the release
// facts a checklist reads. Every method returns a status; none throws.
class WindowStore {
 public:
  explicit WindowStore(db::Pool& pool);

  // ALREADY_EXISTS when the name is taken.
  grpc::Status Create(const v1::Window& window);
  grpc::Status Get(const std::string& name, v1::Window* out);  // NOT_FOUND
  // Every window, by name (a deployment has a handful).
  grpc::Status List(std::vector<v1::Window>* out);
  // Deletes and returns it (NOT_FOUND); its ticks go with it.
  grpc::Status Delete(const std::string& name, v1::Window* out);

  // Records (or replaces) a tick for the opening that starts at occurrence_start.
  grpc::Status Tick(const std::string& window, Clock::TimePoint occurrence_start,
                    const ChecklistTick& tick);
  grpc::Status Ticks(const std::string& window, Clock::TimePoint occurrence_start,
                     std::vector<ChecklistTick>* out);

  // The post-window smoke run of one opening (migrations/releases/0007_window_smoke.sql).
  // NOT_FOUND when none was recorded for it yet.
  grpc::Status Smoke(const std::string& window, Clock::TimePoint occurrence_start,
                     v1::WindowSmokeResult* out);
  // The newest opening's run (NOT_FOUND: none yet).
  grpc::Status LastSmoke(const std::string& window, v1::WindowSmokeResult* out);
  // Records a started run (RUNNING). A row already there for the opening is kept: `*recorded`
  // says whether this call wrote it.
  grpc::Status StartSmoke(const std::string& window, const v1::WindowSmokeResult& started,
                          bool* recorded);
  // Moves the opening's run to its final state once: only the call that finds it RUNNING (or
  // finds no row) writes it, and runs `also` in the same transaction (the incident alert), so a
  // failure alerts once however often the job runs. `*finished` says whether this call did.
  grpc::Status FinishSmoke(const std::string& window, const v1::WindowSmokeResult& result,
                           const std::function<grpc::Status(pqxx::transaction_base&)>& also,
                           bool* finished);

  // When a ROLLBACK of the service last succeeded in the environment (nullopt: never).
  grpc::Status LastSucceededRollback(const std::string& service, const std::string& environment,
                                     std::optional<Clock::TimePoint>* out);

 private:
  db::Pool& pool_;
};

}  // namespace flightdeck::releases
