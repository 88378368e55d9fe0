#include "services/releases/state_machine.h"

namespace flightdeck::releases {
namespace {

using R = v1::Release;

grpc::Status Refuse(State current, const std::string& what) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "release is " + StateName(current) + ": " + what);
}

// One guard shape for the actions that need exactly one state.
grpc::Status RequireState(const v1::Release& release, State needed, const std::string& action) {
  if (release.state() == needed) return grpc::Status::OK;
  return Refuse(release.state(), action + " " + StateName(needed));
}

}  // namespace

bool IsTerminal(State state) {
  switch (state) {
    case R::SUCCEEDED:
    case R::ROLLED_BACK:
    case R::ABORTED:
    case R::FAILED:
      return true;
    default:
      return false;
  }
}

bool IsInFlight(State state) {
  switch (state) {
    case R::PENDING:
    case R::AWAITING_APPROVAL:
    case R::CANARY:
    case R::PROMOTING:
    case R::VERIFYING:
    case R::BAKING:
    case R::ROLLING_BACK:
      return true;
    default:
      return false;
  }
}

bool CanTransition(State from, State to) {
  if (to == R::FAILED) return IsInFlight(from);
  switch (from) {
    // ROLLING_BACK from here: the first canary shift failed part-way and must be undone.
    case R::PENDING:
      return to == R::AWAITING_APPROVAL || to == R::CANARY || to == R::PROMOTING ||
             to == R::ABORTED || to == R::ROLLING_BACK;
    // PENDING: approved, the pipeline starts the deploy next.
    case R::AWAITING_APPROVAL:
      return to == R::PENDING || to == R::CANARY || to == R::PROMOTING || to == R::ABORTED ||
             to == R::ROLLING_BACK;
    case R::CANARY:
      return to == R::CANARY || to == R::PROMOTING || to == R::ROLLING_BACK;
    case R::PROMOTING:
      return to == R::VERIFYING || to == R::SUCCEEDED || to == R::ROLLING_BACK;
    case R::VERIFYING:
      return to == R::BAKING || to == R::SUCCEEDED || to == R::ROLLING_BACK;
    case R::BAKING:
      return to == R::SUCCEEDED || to == R::ROLLING_BACK;
    case R::ROLLING_BACK:
      return to == R::ROLLED_BACK || to == R::ABORTED;
    case R::SUCCEEDED:
      return to == R::ROLLED_BACK;
    default:
      return false;
  }
}

grpc::Status CheckTransition(State from, State to) {
  if (CanTransition(from, to)) return grpc::Status::OK;
  return Refuse(from, "cannot move to " + StateName(to));
}

grpc::Status CheckCanApprove(const v1::Release& release) {
  return RequireState(release, R::AWAITING_APPROVAL, "approve needs");
}

grpc::Status CheckCanPromote(const v1::Release& release) {
  if (release.state() == R::CANARY || release.state() == R::BAKING) return grpc::Status::OK;
  return Refuse(release.state(), "promote needs CANARY or BAKING");
}

grpc::Status CheckCanAbort(const v1::Release& release) {
  if (release.state() == R::ROLLING_BACK) return Refuse(release.state(), "already rolling back");
  if (!IsInFlight(release.state())) {
    return Refuse(release.state(), "abort needs a release in flight");
  }
  return grpc::Status::OK;
}

grpc::Status CheckCanRollBack(const v1::Release& release) {
  return RequireState(release, R::SUCCEEDED, "rollback needs");
}

grpc::Status CheckCanObserve(const v1::Release& release) {
  if (release.state() == R::CANARY || release.state() == R::BAKING) return grpc::Status::OK;
  return Refuse(release.state(), "observations need CANARY or BAKING");
}

grpc::Status CheckCanVerify(const v1::Release& release) {
  return RequireState(release, R::VERIFYING, "verification needs");
}

std::string StateName(State state) {
  // An out-of-range number (a newer writer's state) still prints as something traceable.
  if (!v1::Release::State_IsValid(state)) return "STATE_" + std::to_string(static_cast<int>(state));
  return v1::Release::State_Name(state);
}

}  // namespace flightdeck::releases
