// Integration: an incident's answer stays bounded however many alerts and events it gathers;
// the rest is paged (ListIncidentAlerts, ListIncidentEvents), and every list refuses a page
// larger than its maximum, naming page_size.
#include <set>

#include "services/incidents/fingerprint.h"
#include "services/incidents/incident_store.h"
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

class PagesTest : public CoreTest {
 protected:
  // One incident with `n` firing alerts (one ALERT_ATTACHED event each, after OPENED).
  std::string IncidentWithAlerts(int n) {
    std::vector<AlertInput> alerts;
    for (int i = 0; i < n; ++i) {
      AlertInput a;
      a.labels = {{"alertname", "DiskFull"}, {"service", "checkout"}, {"environment", "production"},
                  {"instance", "db-" + std::to_string(i)}};
      a.fingerprint = FingerprintHex(a.labels);
      a.source = "native";
      alerts.push_back(a);
    }
    v1::IngestResponse out;
    grpc::Status s = intake_.Ingest(alerts, "alertmanager", &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.incident_ids_size(), 1);
    return out.incident_ids_size() == 1 ? out.incident_ids(0) : "";
  }
};

TEST_F(PagesTest, AnIncidentCarriesOnePageOfAlertsAndTimelineAndSaysThereIsMore) {
  ASSERT_TRUE(migrated_);
  const std::string id = IncidentWithAlerts(kDetailPage + 30);
  ASSERT_FALSE(id.empty());
  v1::Incident incident = Get(id);
  EXPECT_EQ(incident.alert_count(), kDetailPage + 30);
  EXPECT_EQ(incident.alerts_size(), kDetailPage);
  EXPECT_TRUE(incident.alerts_truncated());
  EXPECT_EQ(incident.timeline_size(), kDetailPage);
  EXPECT_TRUE(incident.timeline_truncated());
  EXPECT_EQ(incident.timeline_count(), kDetailPage + 30) << "OPENED and one ALERT_ATTACHED per other alert";
  // The newest: alerts newest first, the timeline's newest events oldest first.
  EXPECT_GT(std::stoll(incident.alerts(0).id()), std::stoll(incident.alerts(1).id()));
  EXPECT_LT(incident.timeline(0).id(), incident.timeline(1).id());
  EXPECT_NE(incident.timeline(0).kind(), "OPENED") << "the oldest events are the ones left out";

  // Paging reads every alert once, newest first, and every event once, oldest first.
  std::set<std::string> alert_ids;
  v1::ListIncidentAlertsRequest alerts_req;
  alerts_req.set_id(id);
  alerts_req.set_page_size(50);
  int pages = 0;
  do {
    v1::ListIncidentAlertsResponse page;
    grpc::ServerContext ctx;
    grpc::Status s = service_.ListIncidentAlerts(&ctx, &alerts_req, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const v1::Alert& a : page.alerts()) EXPECT_TRUE(alert_ids.insert(a.id()).second) << a.id();
    alerts_req.set_page_token(page.next_page_token());
    ++pages;
  } while (!alerts_req.page_token().empty() && pages < 10);
  EXPECT_EQ(alert_ids.size(), static_cast<size_t>(kDetailPage + 30));
  EXPECT_EQ(pages, 3);

  std::vector<v1::IncidentEvent> events;
  v1::ListIncidentEventsRequest events_req;
  events_req.set_id(id);
  pages = 0;
  do {
    v1::ListIncidentEventsResponse page;
    grpc::ServerContext ctx;
    grpc::Status s = service_.ListIncidentEvents(&ctx, &events_req, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    events.insert(events.end(), page.events().begin(), page.events().end());
    events_req.set_page_token(page.next_page_token());
    ++pages;
  } while (!events_req.page_token().empty() && pages < 10);
  ASSERT_EQ(events.size(), static_cast<size_t>(kDetailPage + 30));
  EXPECT_EQ(pages, 2) << "the default page is " << kDetailPage;
  EXPECT_EQ(events.front().kind(), "OPENED");
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].id(), events[i].id());
  EXPECT_EQ(events.back().id(), incident.timeline(kDetailPage - 1).id());
}

TEST_F(PagesTest, ASmallIncidentIsWholeAndItsListsFindItByNumber) {
  ASSERT_TRUE(migrated_);
  const std::string id = IncidentWithAlerts(3);
  v1::Incident incident = Get(id);
  EXPECT_EQ(incident.alerts_size(), 3);
  EXPECT_FALSE(incident.alerts_truncated());
  EXPECT_FALSE(incident.timeline_truncated());
  EXPECT_EQ(incident.timeline_count(), incident.timeline_size());

  // "INC-7" is also "7" (ids.h).
  v1::ListIncidentAlertsRequest req;
  req.set_id(id.substr(id.find('-') + 1));
  v1::ListIncidentAlertsResponse alerts;
  grpc::ServerContext ctx;
  grpc::Status s = service_.ListIncidentAlerts(&ctx, &req, &alerts);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(alerts.alerts_size(), 3);
  EXPECT_TRUE(alerts.next_page_token().empty());
}

TEST_F(PagesTest, PagesPastTheMaximumAndUnknownIncidentsAreRefusedNamingTheField) {
  ASSERT_TRUE(migrated_);
  const std::string id = IncidentWithAlerts(1);
  grpc::ServerContext ctx;
  v1::ListIncidentAlertsRequest alerts_req;
  alerts_req.set_id(id);
  alerts_req.set_page_size(kMaxPage + 1);
  v1::ListIncidentAlertsResponse alerts;
  grpc::Status s = service_.ListIncidentAlerts(&ctx, &alerts_req, &alerts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "page_size: must be between 1 and 500 (0 for the default 100)");

  v1::ListIncidentEventsRequest events_req;
  events_req.set_id(id);
  events_req.set_page_size(kMaxPage + 1);
  events_req.set_page_token("bogus");
  v1::ListIncidentEventsResponse events;
  s = service_.ListIncidentEvents(&ctx, &events_req, &events);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "page_size: must be between 1 and 500 (0 for the default 100); "
            "page_token: not a token returned by ListIncidentEvents");

  alerts_req.set_page_size(0);
  alerts_req.set_id("INC-99999");
  EXPECT_EQ(service_.ListIncidentAlerts(&ctx, &alerts_req, &alerts).error_code(), grpc::StatusCode::NOT_FOUND);
  events_req.set_id("INC-99999");
  events_req.set_page_size(0);
  events_req.clear_page_token();
  EXPECT_EQ(service_.ListIncidentEvents(&ctx, &events_req, &events).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::ListIncidentsRequest incidents_req;
  incidents_req.set_page_size(kMaxPage + 1);
  v1::ListIncidentsResponse incidents;
  s = service_.ListIncidents(&ctx, &incidents_req, &incidents);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("page_size:", 0), 0u) << s.error_message();
}

}  // namespace
}  // namespace flightdeck::incidents
