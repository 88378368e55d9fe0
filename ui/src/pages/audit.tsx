// The audit log (admins): every write, including refused ones.
import { useSession } from "../session";
import { usePoll } from "../live";
import { ErrorLine } from "../widgets";
import { clock } from "../format";

export function AuditPage() {
  const { api } = useSession();
  const audit = usePoll([], () => api.gateway.listAudit({ pageSize: 100 }), 10000);
  return (
    <section aria-labelledby="audit-title">
      <header class="page-head"><h1 id="audit-title">Audit log</h1></header>
      <ErrorLine error={audit.error} />
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
            <th scope="col">Target</th><th scope="col">Status</th></tr></thead>
          <tbody>
            {(audit.data?.entries ?? []).map((e) => (
              <tr key={String(e.id)}>
                <td>{clock(e.at)}</td><td>{e.actor} <span class="muted small">{e.role}</span></td>
                <td><code>{e.action}</code></td><td class="wrap">{e.target}</td>
                <td class={e.status >= 400 ? "error" : ""}>{e.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
