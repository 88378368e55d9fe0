#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock/clock.h"

namespace flightdeck::gateway {
class Core;
class HttpCall;
}  // namespace flightdeck::gateway

namespace flightdeck::gateway::chatops {

class ChatStore;
class ChatWork;

struct ChatOpsOptions {
  std::vector<std::string> slack_secrets;      // FLIGHTDECK_SLACK_SIGNING_SECRET(_FILE)
  std::vector<std::string> mattermost_tokens;  // FLIGHTDECK_MATTERMOST_TOKEN(_FILE)
  // Slack's and Mattermost's requests are a few kilobytes; anything past this is refused (413)
  // before it is verified or parsed.
  size_t max_body_bytes = 64 * 1024;
};

// The chat front: Slack's and Mattermost's slash commands and Slack's button presses.
//   POST /v1/chatops/slack/commands      form; X-Slack-Signature verified before anything else
//   POST /v1/chatops/slack/interactions  form field `payload` (block_actions JSON); same check
//   POST /v1/chatops/mattermost/commands form; its `token` must be a configured one
// A bad signature, token or replay is 401 and nothing is done. A verified command is answered at
// once (Slack allows 3 s): an unlinked user or a malformed command gets its answer there and
// nothing else happens; otherwise an acknowledgement only the caller sees, and the command runs
// as durable work through the call core (chat_work.h), its answer posted to response_url. A
// button press is answered with an empty 200 and everything else, refusals included, goes to
// its response_url.
class ChatOpsFront {
 public:
  static bool Serves(const std::string& path);

  ChatOpsFront(Core& core, ChatStore& store, ChatWork& work, const Clock& clock, ChatOpsOptions options);
  void Handle(const std::shared_ptr<HttpCall>& call);

 private:
  void Take(const std::shared_ptr<HttpCall>& call, const std::string& platform, bool interaction,
            const std::string& replay_digest);

  Core& core_;
  ChatStore& store_;
  ChatWork& work_;
  const Clock& clock_;
  ChatOpsOptions options_;
};

}  // namespace flightdeck::gateway::chatops
