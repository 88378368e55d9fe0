#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

using State = v1::Release::State;

// SUCCEEDED, ROLLED_BACK, ABORTED, FAILED. (A SUCCEEDED release may still become ROLLED_BACK
// when the environment is rolled back past it; that is the only way out of a terminal state.)
bool IsTerminal(State state);
// Holds the (service, environment) lock: every non-terminal state.
bool IsInFlight(State state);

// The pipeline's legal transitions:
//   PENDING -> AWAITING_APPROVAL | CANARY | PROMOTING | ABORTED | ROLLING_BACK
//   AWAITING_APPROVAL -> PENDING (approved) | CANARY | PROMOTING | ABORTED | ROLLING_BACK
//   (ROLLING_BACK from these two when the first canary shift fails part-way)
//   CANARY -> CANARY (next step) | PROMOTING | ROLLING_BACK
//   PROMOTING -> VERIFYING | SUCCEEDED (rollback releases) | ROLLING_BACK
//   VERIFYING -> BAKING (the policy asks for a bake) | SUCCEEDED | ROLLING_BACK
//   BAKING -> SUCCEEDED | ROLLING_BACK
//   ROLLING_BACK -> ROLLED_BACK | ABORTED | FAILED
//   SUCCEEDED -> ROLLED_BACK
//   any non-terminal -> FAILED
bool CanTransition(State from, State to);
// OK, or FAILED_PRECONDITION naming the current state: "release is SUCCEEDED: cannot move to
// CANARY".
grpc::Status CheckTransition(State from, State to);

// Guards for the actions humans and pipelines take; FAILED_PRECONDITION naming the current
// state and what the action needs ("release is CANARY: approve needs AWAITING_APPROVAL").
grpc::Status CheckCanApprove(const v1::Release& release);
grpc::Status CheckCanPromote(const v1::Release& release);     // CANARY or BAKING (paused or not)
grpc::Status CheckCanAbort(const v1::Release& release);       // any non-terminal, not ROLLING_BACK
grpc::Status CheckCanRollBack(const v1::Release& release);    // SUCCEEDED
grpc::Status CheckCanObserve(const v1::Release& release);     // CANARY or BAKING
grpc::Status CheckCanVerify(const v1::Release& release);      // VERIFYING

std::string StateName(State state);  // "CANARY"

}  // namespace flightdeck::releases
