// Backup targets: RPO against target, last verification; back up now and verify.
import { useState } from "preact/hooks";
import { may } from "../api";
import { useSession } from "../session";
import { errorText, useNow, usePoll } from "../live";
import { ErrorLine } from "../widgets";
import { BackupRow } from "./overview";

export function BackupsPage() {
  const { api, principal } = useSession();
  const now = useNow(5000);
  const targets = usePoll([], () => api.backups.listBackupTargets({}), 5000);
  const [message, setMessage] = useState<string | undefined>();
  const canOperate = may.operate(principal.role);
  const run = async (what: string, call: () => Promise<{ id: string }>) => {
    try {
      const b = await call();
      setMessage(`${what}: ${b.id.slice(0, 8)} started`);
      targets.reload();
    } catch (e) {
      setMessage(`${what}: ${errorText(e)}`);
    }
  };
  return (
    <section aria-labelledby="backups-title">
      <header class="page-head"><h1 id="backups-title">Backups</h1></header>
      <ErrorLine error={targets.error} />
      {message && <p role="status">{message}</p>}
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Target</th><th scope="col">Last backup</th><th scope="col">RPO (achieved / target)</th>
            <th scope="col">Verified</th>{canOperate && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {targets.data && targets.data.backupTargets.length === 0 && <tr><td colSpan={5} class="muted">No backup targets.</td></tr>}
            {(targets.data?.backupTargets ?? []).map((t) => (
              <BackupRow key={t.name} t={t} now={now}>
                {canOperate && (
                  <td class="actions">
                    <button onClick={() => run(`backup of ${t.name}`, () => api.backups.createBackup({ target: t.name }))}>
                      Back up now</button>
                    {t.status?.lastSuccessId && (
                      <button onClick={() => run(`verification of ${t.name}`,
                        () => api.backups.verifyBackup({ id: t.status!.lastSuccessId }))}>Verify last</button>)}
                  </td>
                )}
              </BackupRow>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
