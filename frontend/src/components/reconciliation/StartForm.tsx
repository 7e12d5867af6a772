// Start a reconciliation (engineers): upload the two files or name two files on the server, with the
// options of `cxw reconcile`. The API checks files and columns before the run starts and answers with
// one line naming the file and column at fault, shown here as is.
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { useStartReconciliation } from "../../api/hooks";
import type { ReconciliationRun } from "../../api/types";
import { errorMessage } from "../States";

const split = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** "balance=0.01, deposit=1" → ["balance=0.01", "deposit=1"] (the API checks each). */
const tolerancesOf = (text: string) => split(text);

function TextField({ id, label, value, set, placeholder, grow }: {
  id: string; label: string; value: string; set: (v: string) => void; placeholder: string; grow?: boolean;
}) {
  return (
    <div className="field" style={grow ? { flex: 1 } : undefined}>
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => set(e.target.value)} placeholder={placeholder} />
    </div>
  );
}

export function StartForm({ previous }: { previous: ReconciliationRun[] }) {
  const navigate = useNavigate();
  const start = useStartReconciliation();
  const [source, setSource] = useState<"upload" | "server">("upload");
  const [legacyFile, setLegacyFile] = useState<File | null>(null);
  const [migratedFile, setMigratedFile] = useState<File | null>(null);
  const [legacyPath, setLegacyPath] = useState("");
  const [migratedPath, setMigratedPath] = useState("");
  const [key, setKey] = useState("");
  const [compare, setCompare] = useState("");
  const [tolerance, setTolerance] = useState("");
  const [reason, setReason] = useState("");
  const [customer, setCustomer] = useState("");
  const [previousId, setPreviousId] = useState("");
  const [name, setName] = useState("");

  const ready = split(key).length > 0 && (source === "upload" ? !!legacyFile && !!migratedFile : !!legacyPath.trim() && !!migratedPath.trim());

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const common = {
      reason_column: reason.trim() || null,
      customer_column: customer.trim() || null,
      previous_run_id: previousId ? Number(previousId) : null,
      name: name.trim() || null,
    };
    const onSuccess = (run: ReconciliationRun) => navigate(`/reconciliations/${run.id}`);
    if (source === "upload") {
      start.mutate(
        {
          kind: "upload",
          body: { legacy: legacyFile!, migrated: migratedFile!, key: split(key).join(","), compare: split(compare).join(","),
            tolerance: tolerancesOf(tolerance), key_normalize: "trim,case,zeros", ...common },
        },
        { onSuccess },
      );
    } else {
      const tolerances = Object.fromEntries(tolerancesOf(tolerance).map((t) => {
        const [col, value] = t.split("=");
        return [col.trim(), Number(value)];
      }));
      start.mutate(
        {
          kind: "server",
          body: { legacy_path: legacyPath.trim(), migrated_path: migratedPath.trim(), key: split(key), compare: split(compare),
            tolerances, key_normalize: "trim,case,zeros", ...common },
        },
        { onSuccess },
      );
    }
  };

  return (
    <form className="stack" onSubmit={submit} aria-label="Start a reconciliation">
      <div className="seg" role="group" aria-label="Where the files are">
        <button type="button" aria-pressed={source === "upload"} onClick={() => setSource("upload")}>Upload files</button>
        <button type="button" aria-pressed={source === "server"} onClick={() => setSource("server")}>Files on the server</button>
      </div>
      <div className="grid grid-2">
        {source === "upload" ? (
          <>
            <div className="field">
              <label htmlFor="r-legacy">Legacy records (CSV, CSV.gz or Parquet)</label>
              <input key="legacy-file" id="r-legacy" type="file" accept=".csv,.tsv,.txt,.gz,.parquet,.pq" onChange={(e) => setLegacyFile(e.target.files?.[0] ?? null)} />
            </div>
            <div className="field">
              <label htmlFor="r-migrated">Migrated records</label>
              <input key="migrated-file" id="r-migrated" type="file" accept=".csv,.tsv,.txt,.gz,.parquet,.pq" onChange={(e) => setMigratedFile(e.target.files?.[0] ?? null)} />
            </div>
          </>
        ) : (
          <>
            <TextField key="legacy-path" id="r-legacy-path" label="Legacy file on the server" value={legacyPath} set={setLegacyPath}
              placeholder="/data/migration/legacy.csv" />
            <TextField key="migrated-path" id="r-migrated-path" label="Migrated file on the server" value={migratedPath}
              set={setMigratedPath} placeholder="/data/migration/migrated.parquet" />
          </>
        )}
      </div>
      <div className="grid grid-3">
        <TextField id="r-key" label="Key column(s)" value={key} set={setKey} placeholder="account_id" />
        <TextField id="r-compare" label="Compare only (optional)" value={compare} set={setCompare} placeholder="every shared column" />
        <TextField id="r-tolerance" label="Tolerances (optional)" value={tolerance} set={setTolerance} placeholder="balance=0.01" />
        <TextField id="r-reason" label="Reason-code column (optional)" value={reason} set={setReason} placeholder="detected by name" />
        <TextField id="r-customer" label="Customer column (optional)" value={customer} set={setCustomer} placeholder="detected by name" />
        <div className="field">
          <label htmlFor="r-previous">Compare with run</label>
          <select id="r-previous" value={previousId} onChange={(e) => setPreviousId(e.target.value)}>
            <option value="">none</option>
            {previous.map((r) => <option key={r.id} value={r.id}>#{r.id} {r.name}</option>)}
          </select>
        </div>
      </div>
      <div className="row">
        <TextField id="r-name" label="Name (optional)" value={name} set={setName} placeholder="legacy vs migrated" grow />
        <button className="btn primary" type="submit" disabled={!ready || start.isPending} style={{ alignSelf: "flex-end" }}>
          {start.isPending ? "Checking the files…" : "Start reconciliation"}
        </button>
      </div>
      {start.isError && <div className="alert error" role="alert">{errorMessage(start.error)}</div>}
    </form>
  );
}
