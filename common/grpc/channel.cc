#include "common/grpc/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "common/grpc/interceptors.h"
#include "common/grpc/transport.h"

namespace flightdeck::rpc {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const std::string& peer_identity) {
  grpc::ChannelArguments args;
  // After a peer restart, retry the connection within a second rather than gRPC's default 1-120 s
  // backoff, so a rolling restart does not turn into a minute of UNAVAILABLE.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetSslTargetNameOverride(peer_identity);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(MakeClientInterceptorFactory());
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, MakeChannelCredentials(), args, std::move(factories));
}

}  // namespace flightdeck::rpc
