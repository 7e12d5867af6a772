// What a page reads of a recommendation (`recommendations.Recommendation`): its expected effect on the
// metric it was ranked on, its effects on the others, and the driver change a what-if starts from.
import type { DriverChange, MetricImpact, Recommendation } from "../../api/types";

/** The expected change of the metric the recommendation was ranked on (its tradeoff's primary metric). */
export function primaryImpact(r: Recommendation): MetricImpact | undefined {
  return r.impact.metrics.find((m) => m.metric === r.tradeoff.primary_metric);
}

/** Its expected changes of every other metric that could be estimated. */
export function sideImpacts(r: Recommendation): MetricImpact[] {
  return r.impact.metrics.filter((m) => m.metric !== r.tradeoff.primary_metric && m.change != null);
}

export type WhatIfOp = Exclude<DriverChange["op"], "restore">;

export interface WhatIfStart {
  feature: string;
  op: WhatIfOp;
  value: string;
  scope: string;
}

/** The what-if a recommendation starts from: the first driver change its counterfactual applied (a
 * roll-back of a change event applies none: then its driver, to fill in), in the recommendation's scope. */
export function whatIfDefaults(rec: Recommendation | undefined, fallbackScope: string): WhatIfStart {
  const scope = rec ? rec.scope.join(";") : fallbackScope;
  const change = rec?.impact.changes.find((c): c is DriverChange & { op: WhatIfOp } => c.op !== "restore");
  if (change) return { feature: change.feature, op: change.op, value: change.value == null ? "" : String(change.value), scope };
  return { feature: rec?.feature ?? "", op: "set", value: "", scope };
}
