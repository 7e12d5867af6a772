// The run's files: the narrative report (Markdown, PDF), the chart, and every export behind the numbers.
import { useState } from "react";
import { download } from "../../api/client";
import { api } from "../../api/endpoints";
import type { ReconciliationSummary } from "../../api/types";
import { errorMessage } from "../States";
import { count } from "./format";

export function Downloads({ runId, summary }: { runId: number; summary: ReconciliationSummary }) {
  const [error, setError] = useState<string | null>(null);
  const paths = api.reconciliationPaths(runId);
  const get = (path: string, name: string) => async () => {
    setError(null);
    try {
      await download(path, `reconciliation-${runId}-${name}`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div className="stack">
      <div className="row" style={{ flexWrap: "wrap", gap: 8 }}>
        <button className="btn small" onClick={get(paths.markdown, "report.md")}>Report (Markdown)</button>
        <button className="btn small" onClick={get(paths.pdf, "report.pdf")}>Report (PDF)</button>
        <button className="btn small" onClick={get(paths.chart, "mismatches_by_reason.png")}>Chart (PNG)</button>
      </div>
      {error && <div className="small bad" role="alert">{error}</div>}
      <div className="table-wrap">
        <table className="tbl" aria-label="Exports">
          <thead>
            <tr>
              <th>File</th>
              <th>Holds</th>
              <th className="num">Rows</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {summary.exports.map((e) => (
              <tr key={e.name}>
                <td><code>{e.name}</code></td>
                <td className="small">{e.holds}</td>
                <td className="num">{count(e.rows)}</td>
                <td>
                  <button className="btn small" aria-label={`Download ${e.name}`} onClick={get(paths.export(e.name), e.name)}>
                    Download
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
